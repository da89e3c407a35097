#include <indexer/config/loader.hpp>

#include "config_schema.hpp"

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

namespace indexer::config {
namespace {

// The two YAML mistakes that give yaml-cpp's least helpful messages.
std::string syntax_hint(std::string_view text, const YAML::Mark& mark) {
    if (mark.line < 0) return "";
    std::size_t start = 0;
    for (int line = 0; line < mark.line && start != std::string_view::npos; ++line) {
        start = text.find('\n', start);
        if (start != std::string_view::npos) ++start;
    }
    if (start == std::string_view::npos) return "";
    const std::string_view line = text.substr(start, text.find('\n', start) - start);
    const std::string_view indentation = line.substr(0, line.find_first_not_of(" \t"));
    if (indentation.find('\t') != std::string_view::npos) return " (YAML is indented with spaces, not tabs)";
    if (line.find("${") != std::string_view::npos && line.find_first_of("{[") < line.find("${")) {
        return " (inside {...} or [...], put a value with ${...} in quotes)";
    }
    return "";
}

}  // namespace

Result<Config> parse_config(std::string_view text, std::string_view origin,
                            const EnvironmentLookup& environment,
                            const std::filesystem::path& base_directory) {
    schema::Reader reader(std::string(origin), environment, base_directory);
    std::vector<YAML::Node> documents;
    try {
        documents = YAML::LoadAll(std::string(text));
    } catch (const YAML::Exception& error) {
        reader.error(error.mark, "", "invalid YAML: " + error.msg + syntax_hint(text, error.mark));
        return Status::error(reader.report());
    }
    if (documents.size() > 1) {
        reader.error(
            documents[1].Mark(), "",
            "a config file holds one YAML document, this one has " + std::to_string(documents.size()));
        return Status::error(reader.report());
    }
    const YAML::Node root = documents.empty() ? YAML::Node(YAML::NodeType::Null) : documents.front();
    Config config;
    config.origin = std::string(origin);
    config_schema().read(reader, root, YAML::Mark::null_mark(), "", config);
    if (reader.error_count() != 0) return Status::error(reader.report());
    return config;
}

Result<Config> load_config(const std::filesystem::path& file, const EnvironmentLookup& environment) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return Status::error("cannot read config file " + file.string() + ": " +
                             std::system_category().message(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return Status::error("cannot read config file " + file.string());
    std::error_code error;
    std::filesystem::path directory = std::filesystem::absolute(file, error).parent_path();
    if (error) directory = file.parent_path();
    return parse_config(text.str(), file.string(), environment, directory);
}

}  // namespace indexer::config
