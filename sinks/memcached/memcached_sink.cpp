// Placeholder until the sink lands: loads, but refuses to open.
#include <indexer/sink.hpp>

#include <stdexcept>

namespace {
class PlaceholderSink final : public indexer::sdk::Sink {
public:
    PlaceholderSink(std::string_view, std::string_view) {
        throw std::runtime_error("the memcached sink is not built yet");
    }
    void write(std::span<const indexer::sdk::Op>, indexer::sdk::Results& results) override {
        results.retry_unanswered("not built yet");
    }
};
}  // namespace

INDEXER_SINK_PLUGIN(PlaceholderSink, "memcached", "0.0.0")
