// The `indexer` command line.
#include <indexer/version.hpp>

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
    CLI::App app{"indexer — keeps Elasticsearch/OpenSearch indices and caches consistent with PostgreSQL"};
    app.set_version_flag("--version", std::string("indexer ") + indexer::kVersion);
    app.require_subcommand(0, 1);
    CLI11_PARSE(app, argc, argv);
    if (app.get_subcommands().empty()) {
        std::cout << app.help();
    }
    return 0;
}
