// One loaded sink plugin (a shared object that passed every ABI check).
#pragma once

#include <indexer/sink_plugin.h>
#include <indexer/plugin/sink_handle.hpp>
#include <indexer/util/status.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace indexer::plugin {

struct PluginInfo {
    std::string name;     // as the plugin declares it
    std::string version;  // the plugin's own version
    std::uint16_t abi_major = 0;
    std::uint16_t abi_minor = 0;
    std::filesystem::path path;
};

// Shared: every SinkHandle keeps its plugin loaded. A file is loaded and
// initialised once per process however often it is asked for (its init may
// keep the host API, so two inits of one library must not race).
class SinkPlugin : public std::enable_shared_from_this<SinkPlugin> {
public:
    // dlopen(RTLD_NOW | RTLD_LOCAL), then in order: the magic symbol and its
    // fields, the init symbol, init itself, the function table. Each error
    // names the file and the field, with what was found and what was expected.
    static Result<std::shared_ptr<const SinkPlugin>> load(const std::filesystem::path& file);

    SinkPlugin(const SinkPlugin&) = delete;
    SinkPlugin& operator=(const SinkPlugin&) = delete;
    ~SinkPlugin();

    const PluginInfo& info() const noexcept { return info_; }
    const std::string& name() const noexcept { return info_.name; }
    bool has_flush() const noexcept { return functions_.flush != nullptr; }
    bool has_health() const noexcept { return functions_.health != nullptr; }
    bool has_write_control() const noexcept { return functions_.write_with_control != nullptr; }
    bool has_read() const noexcept { return functions_.read != nullptr; }
    bool has_list() const noexcept { return functions_.list != nullptr; }
    bool has_create_target() const noexcept { return functions_.create_target != nullptr; }
    bool has_switch_target() const noexcept { return functions_.switch_target != nullptr; }

    // Opens the sink with its configuration (a JSON object as text). The
    // error names the instance (the pipeline) and carries the plugin's reason.
    Result<SinkHandle> open(std::string_view instance, std::string_view config_json) const;

private:
    friend class SinkHandle;
    SinkPlugin() = default;
    Status initialise();
    static void log_from_plugin(void* host_data, indexer_log_level level, const char* message) noexcept;

    void* library_ = nullptr;
    PluginInfo info_;
    indexer_host_api host_{};
    indexer_sink_functions functions_{};
};

}  // namespace indexer::plugin
