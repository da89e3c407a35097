// The `indexer` command line.
#include <indexer/cli/check_config_command.hpp>
#include <indexer/cli/dead_letters_command.hpp>
#include <indexer/cli/exit_codes.hpp>
#include <indexer/cli/plugins_command.hpp>
#include <indexer/cli/publish_command.hpp>
#include <indexer/cli/run_command.hpp>
#include <indexer/cli/verify_command.hpp>
#include <indexer/config/redaction.hpp>
#include <indexer/log/logging.hpp>
#include <indexer/version.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr const char* kExitCodes = R"(Exit codes:
  0    success; `run` stopped by SIGINT/SIGTERM after finishing its batches
  1    `run`: a pipeline failed while running; `check-config`: a check failed;
       `publish`: a message was not acknowledged; `dead-letters`: the topic
       could not be read, or a replayed message was not acknowledged;
       `verify`: the comparison could not finish (database or sink failing)
  2    the configuration is missing or invalid (every error is printed with its key path),
       or it has no pipeline of the name given (`verify`: or its source is a custom query)
  3    start-up failed: a plugin did not load or open, a query did not prepare
       (`verify`: or the sink plugin has no read/list)
  4    `verify`: the sink differs from the source (with --repair: some of the
       differences could not be repaired)
  64   the command line is wrong
  130  a second SIGINT/SIGTERM stopped `run` at once, without committing)";

int run_indexer(int argc, char** argv) {
    using namespace indexer::cli;
    indexer::log::setup_defaults();

    CLI::App app{
        "indexer: keeps Elasticsearch/OpenSearch indices and caches consistent with PostgreSQL.\n"
        "Consumes ids of changed rows from Kafka, reloads the rows and writes them through sink plugins."};
    app.set_version_flag("--version", std::string("indexer ") + indexer::kVersion);
    app.require_subcommand(1);
    app.footer(kExitCodes);

    RunOptions run_options;
    CLI::App* run =
        app.add_subcommand("run", "Run the pipelines and delayers of a configuration until stopped");
    run->add_option("-c,--config", run_options.config_file, "Configuration file (YAML or JSON)")->required();
    run->add_option("--pipeline", run_options.pipelines, "Run only this pipeline (repeatable)");
    run->add_option("--delayer", run_options.delayers, "Run only this delayer (repeatable)");
    run->add_option("--plugin-dir", run_options.plugin_dirs,
                    "Also search this plugin directory (repeatable)");

    std::filesystem::path check_file;
    std::vector<std::string> check_plugin_dirs;
    CLI::App* check = app.add_subcommand(
        "check-config",
        "Validate a configuration and probe Kafka, PostgreSQL and every sink, one line per check");
    check->add_option("-c,--config", check_file, "Configuration file (YAML or JSON)")->required();
    check->add_option("--plugin-dir", check_plugin_dirs, "Also search this plugin directory (repeatable)");

    std::vector<std::string> plugin_dirs;
    CLI::App* plugins =
        app.add_subcommand("plugins", "List the sink plugins found, with name, version and ABI");
    plugins->add_option("--plugin-dir", plugin_dirs,
                        "Also search this directory, before the others (repeatable)");

    PublishOptions publish_options;
    CLI::App* publish = app.add_subcommand("publish",
                                           "Announce changed rows of a pipeline's table: a delay and an "
                                           "instant message per id, keyed by the id");
    publish->add_option("-c,--config", publish_options.config_file, "Configuration file (YAML or JSON)")
        ->required();
    publish->add_option("--pipeline", publish_options.pipeline, "The pipeline whose topic gets the ids")
        ->required();
    publish->add_option("ids", publish_options.ids,
                        "Ids to announce; none, or -, reads them from stdin, one per line");
    CLI::Option* delay_topic = publish->add_option(
        "--delay-topic", publish_options.delay_topic,
        "Send the delay messages here (default: the topic of each delayer targeting the pipeline's "
        "topic, else <topic>-delay)");
    publish->add_flag("--no-delay", publish_options.no_delay, "Send only the instant messages")
        ->excludes(delay_topic);
    publish->add_option("--timeout", publish_options.timeout,
                        "How long a message may take to be acknowledged (default 60s)");

    DeadLettersOptions dead_letters_options;
    CLI::App* dead_letters = app.add_subcommand(
        "dead-letters",
        "List a pipeline's dead letters grouped by stage and reason, or replay them to its topic");
    dead_letters->footer(
        "Without --replay: reads the dead-letter topic to its current end and prints, per stage and\n"
        "reason (ids and quoted values masked), how many letters there are, how many were replayed\n"
        "and examples. --replay publishes each letter's original key, value and headers to the\n"
        "pipeline's topic, then commits its position under the consumer group\n"
        "<pipeline>.dead-letters-replay: a repeated replay publishes nothing twice. Letters whose\n"
        "value, key or headers were left out of the copy cannot be replayed and are counted.");
    dead_letters
        ->add_option("-c,--config", dead_letters_options.config_file, "Configuration file (YAML or JSON)")
        ->required();
    dead_letters
        ->add_option("--pipeline", dead_letters_options.pipeline, "The pipeline whose dead letters to read")
        ->required();
    dead_letters->add_flag("--json", dead_letters_options.json, "Print one JSON object instead of text");
    CLI::Option* replay =
        dead_letters->add_flag("--replay", dead_letters_options.replay,
                               "Publish the letters not yet replayed to the pipeline's topic again");
    dead_letters
        ->add_option("--reason", dead_letters_options.reason,
                     "With --replay: only the letters whose reason contains this text")
        ->needs(replay);
    dead_letters
        ->add_option("--timeout", dead_letters_options.timeout,
                     "With --replay: how long a message may take to be acknowledged (default 60s)")
        ->needs(replay);

    VerifyOptions verify_options;
    CLI::App* verify = app.add_subcommand(
        "verify", "Compare a pipeline's whole table with its sink: missing, stale and extra documents");
    verify->footer(
        "Reads every row of the table in id order and reads the same ids back from the sink (missing,\n"
        "stale), then lists the sink's ids and looks them up in the table (extra), a page of 1000 ids at\n"
        "a time. Each difference is checked again a second later before it is reported. Stale means\n"
        "another version (with source.version) or another document as JSON values. --repair upserts\n"
        "missing and stale rows and deletes extras through the sink's normal write path. Exit 0 in\n"
        "sync (or all repaired), 4 drift found, 1 the comparison could not finish.");
    verify->add_option("-c,--config", verify_options.config_file, "Configuration file (YAML or JSON)")
        ->required();
    verify->add_option("--pipeline", verify_options.pipeline, "The pipeline whose table and sink to compare")
        ->required();
    verify->add_flag("--repair", verify_options.repair,
                     "Write the fixes: upsert missing and stale rows, delete extra documents");
    verify->add_flag("--json", verify_options.json, "Print the report as one JSON object");
    verify->add_option("--plugin-dir", verify_options.plugin_dirs,
                       "Also search this plugin directory (repeatable)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        const int code = app.exit(error);
        return code == 0 ? kExitOk : kExitUsage;
    }

    try {
        if (run->parsed()) return run_command(run_options);
        if (check->parsed()) return check_config_command(check_file, check_plugin_dirs, std::cout);
        if (plugins->parsed()) return run_plugins_command(plugin_dirs, std::cout);
        if (publish->parsed()) return publish_command(publish_options);
        if (dead_letters->parsed()) return dead_letters_command(dead_letters_options, std::cout, std::cerr);
        if (verify->parsed()) return verify_command(verify_options, std::cout, std::cerr);
    } catch (const std::exception& error) {
        std::cerr << "indexer: " << indexer::config::redact(error.what()) << '\n';
        return kExitStartupFailed;
    }
    std::cout << app.help();
    return kExitUsage;
}

}  // namespace

// Nothing escapes main: an exception that got this far (a failed allocation
// while the command line is built, say) ends the process with a message and
// an exit code instead of std::terminate.
int main(int argc, char** argv) {
    try {
        return run_indexer(argc, argv);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "indexer: %s\n", error.what());
    } catch (...) {
        std::fputs("indexer: unknown error\n", stderr);
    }
    return indexer::cli::kExitStartupFailed;
}
