// The `indexer` command line.
#include <indexer/cli/plugins_command.hpp>
#include <indexer/version.hpp>

#include <CLI/CLI.hpp>

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    CLI::App app{"indexer — keeps Elasticsearch/OpenSearch indices and caches consistent with PostgreSQL"};
    app.set_version_flag("--version", std::string("indexer ") + indexer::kVersion);
    app.require_subcommand(0, 1);

    std::vector<std::string> plugin_dirs;
    CLI::App* plugins =
        app.add_subcommand("plugins", "List the sink plugins found, with name, version and ABI");
    plugins->add_option("--plugin-dir", plugin_dirs,
                        "Also search this directory, before the others (repeatable)");

    CLI11_PARSE(app, argc, argv);
    if (plugins->parsed()) return indexer::cli::run_plugins_command(plugin_dirs, std::cout);
    if (app.get_subcommands().empty()) {
        std::cout << app.help();
    }
    return 0;
}
