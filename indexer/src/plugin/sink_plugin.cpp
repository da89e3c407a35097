#include <indexer/plugin/sink_plugin.hpp>

#include <dlfcn.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <map>
#include <mutex>
#include <system_error>
#include <utility>

namespace indexer::plugin {
namespace {

// The smallest indexer_sink_info a loader can read the ABI version from, and
// the size of the ABI 1.0 layout (later minors may only append).
constexpr std::size_t kInfoVersionBytes = offsetof(indexer_sink_info, abi_minor) + sizeof(std::uint16_t);
constexpr std::size_t kInfoBytesV1_0 = offsetof(indexer_sink_info, plugin_version) + sizeof(const char*);
// open, write and close are required, so a table must reach past close.
constexpr std::size_t kRequiredTableBytes = offsetof(indexer_sink_functions, close) + sizeof(void*);

constexpr std::size_t kErrorBufferSize = 2048;

bool covers(std::uint32_t struct_size, std::size_t field_offset) {
    return struct_size >= field_offset + sizeof(void*);
}

Status file_error(const std::filesystem::path& path, std::string_view what) {
    return Status::error(fmt::format("{}: {}", path.string(), what));
}

// dlopen hands out one handle per file (dev, inode); so does this cache, so
// that init runs once per loaded library.
struct FileIdentity {
    dev_t device;
    ino_t inode;
    // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 flags the 0 a defaulted <=> compares with
    auto operator<=>(const FileIdentity&) const = default;
};

std::mutex& cache_mutex() {
    static std::mutex mutex;
    return mutex;
}

std::map<FileIdentity, std::weak_ptr<const SinkPlugin>>& loaded_plugins() {
    static std::map<FileIdentity, std::weak_ptr<const SinkPlugin>> cache;
    return cache;
}

spdlog::level::level_enum to_spdlog(indexer_log_level level) {
    switch (level) {
        case INDEXER_LOG_DEBUG:
            return spdlog::level::debug;
        case INDEXER_LOG_INFO:
            return spdlog::level::info;
        case INDEXER_LOG_WARN:
            return spdlog::level::warn;
        case INDEXER_LOG_ERROR:
            return spdlog::level::err;
    }
    return spdlog::level::warn;
}

}  // namespace

void SinkPlugin::log_from_plugin(void* host_data, indexer_log_level level, const char* message) noexcept {
    // Called from C code: nothing may escape.
    try {
        const auto* plugin = static_cast<const SinkPlugin*>(host_data);
        const std::string_view name = plugin == nullptr ? std::string_view{"?"} : plugin->info_.name;
        spdlog::log(to_spdlog(level), "[sink {}] {}", name, message == nullptr ? "" : message);
    } catch (...) {
    }
}

Result<std::shared_ptr<const SinkPlugin>> SinkPlugin::load(const std::filesystem::path& file) {
    std::error_code ec;
    std::filesystem::path path = std::filesystem::absolute(file, ec).lexically_normal();
    if (ec) path = file;

    struct stat file_status {};
    if (::stat(path.c_str(), &file_status) != 0) {
        return file_error(
            path, fmt::format("cannot read the plugin file: {}", std::system_category().message(errno)));
    }
    if (!S_ISREG(file_status.st_mode)) return file_error(path, "not a regular file");

    std::lock_guard lock(cache_mutex());
    const FileIdentity identity{file_status.st_dev, file_status.st_ino};
    auto& cache = loaded_plugins();
    if (auto it = cache.find(identity); it != cache.end()) {
        if (auto plugin = it->second.lock()) return plugin;
        cache.erase(it);
    }

    std::shared_ptr<SinkPlugin> plugin(new SinkPlugin());
    plugin->info_.path = path;
    ::dlerror();  // NOLINT(concurrency-mt-unsafe): glibc keeps dlerror's state per thread
    plugin->library_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (plugin->library_ == nullptr) {
        const char* reason = ::dlerror();  // NOLINT(concurrency-mt-unsafe): per thread in glibc
        return file_error(
            path, fmt::format("cannot load the shared object: {}", reason ? reason : "unknown error"));
    }
    INDEXER_RETURN_IF_ERROR(plugin->initialise());
    cache[identity] = plugin;
    return std::shared_ptr<const SinkPlugin>(std::move(plugin));
}

Status SinkPlugin::initialise() {
    const std::filesystem::path& path = info_.path;

    // 1. The magic, before anything of the plugin runs but this one function.
    auto magic = reinterpret_cast<indexer_sink_magic_fn>(::dlsym(library_, INDEXER_SINK_MAGIC_SYMBOL));
    if (magic == nullptr) {
        return file_error(path,
                          fmt::format("symbol {} is missing, expected the entry symbol of an indexer sink "
                                      "plugin (built against <indexer/sink_plugin.h>)",
                                      INDEXER_SINK_MAGIC_SYMBOL));
    }
    const indexer_sink_info* info = magic();
    if (info == nullptr) {
        return file_error(path, fmt::format("{}() returned NULL, expected a pointer to indexer_sink_info",
                                            INDEXER_SINK_MAGIC_SYMBOL));
    }
    if (info->struct_size < kInfoVersionBytes) {
        return file_error(path, fmt::format("indexer_sink_info.struct_size is {}, expected at least {}",
                                            info->struct_size, kInfoBytesV1_0));
    }
    if (info->abi_major != INDEXER_SINK_ABI_MAJOR) {
        return file_error(
            path, fmt::format("indexer_sink_info.abi_major is {}, expected {} (the plugin was built "
                              "for sink ABI {}.{}, this indexer speaks {}.{}; rebuild the plugin "
                              "against this indexer's SDK)",
                              info->abi_major, INDEXER_SINK_ABI_MAJOR, info->abi_major, info->abi_minor,
                              INDEXER_SINK_ABI_MAJOR, INDEXER_SINK_ABI_MINOR));
    }
    if (info->abi_minor > INDEXER_SINK_ABI_MINOR) {
        return file_error(
            path, fmt::format("indexer_sink_info.abi_minor is {}, expected at most {} (the plugin "
                              "needs sink ABI {}.{}, this indexer speaks {}.{}; upgrade the indexer)",
                              info->abi_minor, INDEXER_SINK_ABI_MINOR, info->abi_major, info->abi_minor,
                              INDEXER_SINK_ABI_MAJOR, INDEXER_SINK_ABI_MINOR));
    }
    if (info->struct_size < kInfoBytesV1_0) {
        return file_error(path, fmt::format("indexer_sink_info.struct_size is {}, expected at least {}",
                                            info->struct_size, kInfoBytesV1_0));
    }
    if (info->plugin_name == nullptr) {
        return file_error(path,
                          "indexer_sink_info.plugin_name is NULL, expected a name matching [a-z0-9_-]+");
    }
    const std::string_view name = info->plugin_name;
    bool valid_name = !name.empty();
    for (char c : name) {
        valid_name = valid_name && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
    }
    if (!valid_name) {
        return file_error(path,
                          fmt::format("indexer_sink_info.plugin_name is \"{}\", expected a name matching "
                                      "[a-z0-9_-]+",
                                      name));
    }
    if (info->plugin_version == nullptr) {
        return file_error(path, "indexer_sink_info.plugin_version is NULL, expected a version string");
    }
    info_.name = std::string(name);
    info_.version = info->plugin_version;
    info_.abi_major = info->abi_major;
    info_.abi_minor = info->abi_minor;

    // 2. The entry point.
    auto init = reinterpret_cast<indexer_sink_init_fn>(::dlsym(library_, INDEXER_SINK_INIT_SYMBOL));
    if (init == nullptr) {
        return file_error(path,
                          fmt::format("symbol {} is missing, expected it next to {} (the plugin declares "
                                      "sink ABI {}.{})",
                                      INDEXER_SINK_INIT_SYMBOL, INDEXER_SINK_MAGIC_SYMBOL, info_.abi_major,
                                      info_.abi_minor));
    }
    host_.struct_size = sizeof(indexer_host_api);
    host_.abi_major = INDEXER_SINK_ABI_MAJOR;
    host_.abi_minor = INDEXER_SINK_ABI_MINOR;
    host_.host_data = this;
    host_.log = &SinkPlugin::log_from_plugin;
    functions_ = indexer_sink_functions{};
    functions_.struct_size = sizeof(indexer_sink_functions);
    const int rc = init(&host_, &functions_);
    if (rc != 0) {
        return file_error(path,
                          fmt::format("{} returned {}, expected 0 (the plugin refused to initialise; its "
                                      "log lines may say why)",
                                      INDEXER_SINK_INIT_SYMBOL, rc));
    }

    // 3. The function table.
    const std::uint32_t table_size = functions_.struct_size;
    if (table_size > sizeof(indexer_sink_functions)) {
        return file_error(path,
                          fmt::format("indexer_sink_functions.struct_size is {}, expected at most {} (the "
                                      "size the host offered)",
                                      table_size, sizeof(indexer_sink_functions)));
    }
    if (table_size < kRequiredTableBytes) {
        return file_error(path, fmt::format("indexer_sink_functions.struct_size is {}, expected at least {} "
                                            "(open, write and close are required)",
                                            table_size, kRequiredTableBytes));
    }
    const std::pair<const char*, bool> required[] = {{"open", functions_.open != nullptr},
                                                     {"write", functions_.write != nullptr},
                                                     {"close", functions_.close != nullptr}};
    for (const auto& [field, present] : required) {
        if (!present) {
            return file_error(path,
                              fmt::format("indexer_sink_functions.{} is NULL, expected a function (it is "
                                          "required)",
                                          field));
        }
    }
    // Fields beyond struct_size are absent, whatever the plugin left there.
    if (!covers(table_size, offsetof(indexer_sink_functions, flush))) functions_.flush = nullptr;
    if (!covers(table_size, offsetof(indexer_sink_functions, health))) functions_.health = nullptr;
    // An ABI 1.0 plugin's table ends at health: its writes go through plain write.
    if (!covers(table_size, offsetof(indexer_sink_functions, write_with_control))) {
        functions_.write_with_control = nullptr;
    }
    // ABI 1.0 and 1.1 plugins end before read and list: nothing to verify against.
    if (!covers(table_size, offsetof(indexer_sink_functions, read))) functions_.read = nullptr;
    if (!covers(table_size, offsetof(indexer_sink_functions, list))) functions_.list = nullptr;
    // Plugins older than ABI 1.3 end before create_target and switch_target: nothing to reindex behind.
    if (!covers(table_size, offsetof(indexer_sink_functions, create_target)))
        functions_.create_target = nullptr;
    if (!covers(table_size, offsetof(indexer_sink_functions, switch_target)))
        functions_.switch_target = nullptr;
    return Status::ok();
}

SinkPlugin::~SinkPlugin() {
    // The plugin may keep &host_ until it is unloaded: unload first.
    if (library_ != nullptr) ::dlclose(library_);
}

Result<SinkHandle> SinkPlugin::open(std::string_view instance, std::string_view config_json) const {
    std::string instance_name(instance);
    std::array<char, kErrorBufferSize> error{};
    indexer_sink_handle* raw = nullptr;
    const char* config = config_json.empty() ? "" : config_json.data();
    const int rc =
        functions_.open(instance_name.c_str(), config, config_json.size(), &raw, error.data(), error.size());
    if (rc != 0) {
        error.back() = '\0';  // a plugin that forgot the terminator must not make us read past the buffer
        const std::string_view reason =
            error[0] == '\0' ? std::string_view{"the plugin gave no reason"} : std::string_view{error.data()};
        return Status::error(fmt::format("{}: sink '{}' could not open: {}", instance, info_.name, reason));
    }
    return SinkHandle(shared_from_this(), raw, std::move(instance_name));
}

}  // namespace indexer::plugin
