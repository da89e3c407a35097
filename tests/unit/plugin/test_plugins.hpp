// Where the loader's test plugins are (tests/fixtures/plugins), and a
// scratch directory for tests that arrange plugin files themselves.
#pragma once

#include "support/test_services.hpp"

#include <filesystem>
#include <string>
#include <system_error>

namespace indexer::testing {

inline std::filesystem::path test_plugin_dir() {
    return INDEXER_TEST_PLUGIN_DIR;
}

// The path of the test plugin built as indexer-sink-NAME.so.
inline std::filesystem::path test_plugin(const std::string& name) {
    return test_plugin_dir() / ("indexer-sink-" + name + ".so");
}

// A fresh directory, removed with its content when the object goes.
class ScratchDirectory {
public:
    ScratchDirectory() : path_(std::filesystem::temp_directory_path() / unique_name("indexer_plugin_test")) {
        std::filesystem::create_directories(path_);
    }
    ~ScratchDirectory() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    ScratchDirectory(const ScratchDirectory&) = delete;
    ScratchDirectory& operator=(const ScratchDirectory&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }

    // Copies a test plugin here under another file name.
    std::filesystem::path copy_plugin(const std::string& from_name, const std::string& file_name) const {
        const std::filesystem::path target = path_ / file_name;
        std::filesystem::copy_file(test_plugin(from_name), target);
        return target;
    }

private:
    std::filesystem::path path_;
};

}  // namespace indexer::testing
