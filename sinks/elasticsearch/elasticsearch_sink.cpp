// The plugin: glue between the SDK and the sink's client. Everything that is
// not glue lives in indexer_sink_elasticsearch_core (src/).
#include <indexer/sink.hpp>

#include <string>
#include <string_view>

#include "indexer/sinks/elasticsearch/client.hpp"
#include "indexer/sinks/elasticsearch/config.hpp"

namespace {

namespace es = indexer::sinks::elasticsearch;
namespace sdk = indexer::sdk;

class ElasticsearchSink final : public sdk::Sink {
public:
    // Throws ConfigError on a bad configuration; the SDK turns it into an open error.
    ElasticsearchSink(std::string_view instance, std::string_view config_json)
        : client_(es::parse_config(config_json), logger(std::string(instance))) {
        client_.prepare();
    }

    void write_with_control(std::span<const sdk::Op> ops, sdk::Results& results,
                            const sdk::WriteControl& control) override {
        es::WriteReport report = client_.write(ops, control);
        if (report.call_failure) {
            results.retry_unanswered(std::move(*report.call_failure));
            return;
        }
        for (std::size_t i = 0; i < report.outcomes.size(); ++i) {
            es::OpOutcome& outcome = report.outcomes[i];
            results.set(i, outcome.status, outcome.native_code, std::move(outcome.message));
        }
    }

    // Writes through: a bulk item answered OK is in the shard's translog,
    // fsynced before the answer under the default
    // index.translog.durability=request, so there is nothing to flush.
    // Visibility to searches follows the index's refresh interval.
    sdk::Status flush(std::string& /*error*/) override { return sdk::Status::Ok; }

    sdk::Status health(std::string& error) override { return client_.health(error); }

    void read(std::span<const std::string_view> ids, std::string_view target, sdk::ReadResults& results,
              const sdk::WriteControl& control) override {
        client_.read(ids, target, results, control);
    }

    void list(std::string_view cursor, std::string_view target, sdk::ListPage& page,
              const sdk::WriteControl& control) override {
        client_.list(cursor, target, page, control);
    }

    void create_target(std::string_view suffix, sdk::TargetResult& result,
                       const sdk::WriteControl& control) override {
        client_.create_target(suffix, result, control);
    }

    void switch_target(std::string_view target, bool keep_old, sdk::TargetResult& result,
                       const sdk::WriteControl& control) override {
        client_.switch_target(target, keep_old, result, control);
    }

private:
    static es::Logger logger(const std::string& instance) {
        return [prefix = instance.empty() ? std::string{} : "[" + instance + "] "](
                   sdk::LogLevel level, const std::string& message) { sdk::log(level, prefix + message); };
    }

    es::Client client_;
};

}  // namespace

INDEXER_SINK_PLUGIN(ElasticsearchSink, "elasticsearch", "1.2.0")
