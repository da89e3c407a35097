// The memcached sink plugin: SDK glue only. The work is in the core library
// (include/indexer/sinks/memcached/).
#include <indexer/sink.hpp>

#include <string>
#include <vector>

#include "indexer/sinks/memcached/client.hpp"
#include "indexer/sinks/memcached/config.hpp"

namespace {

namespace sdk = indexer::sdk;
namespace core = indexer::memcached_sink;

sdk::Status to_sdk(core::Outcome outcome) {
    switch (outcome) {
        case core::Outcome::Ok:
            return sdk::Status::Ok;
        case core::Outcome::Reject:
            return sdk::Status::Reject;
        case core::Outcome::Retry:
            break;
    }
    return sdk::Status::Retry;
}

class MemcachedSink final : public sdk::Sink {
public:
    MemcachedSink(std::string_view instance, std::string_view config_json)
        : client_(core::parse_config(config_json)) {
        std::string servers;
        for (const core::ServerAddress& server : client_.config().servers) {
            servers += (servers.empty() ? "" : ", ") + server.display();
        }
        sdk::log(sdk::LogLevel::Info, "opened for " + std::string(instance) + ": " + servers);
    }

    void write_with_control(std::span<const sdk::Op> ops, sdk::Results& results,
                            const sdk::WriteControl& control) override {
        ops_.clear();
        positions_.clear();
        for (std::size_t i = 0; i < ops.size(); ++i) {
            const sdk::Op& op = ops[i];
            if (!op.is_upsert() && !op.is_delete()) {
                results.reject(i, "unknown op kind " + std::to_string(static_cast<unsigned>(op.kind())));
                continue;
            }
            ops_.push_back(core::WriteOp{op.is_upsert() ? core::OpKind::Upsert : core::OpKind::Delete,
                                         op.id(), op.document(), op.target()});
            positions_.push_back(i);
        }
        results_.assign(ops_.size(), core::OpResult{});
        client_.write(ops_, results_, control);
        for (std::size_t j = 0; j < results_.size(); ++j) {
            core::OpResult& result = results_[j];
            results.set(positions_[j], to_sdk(result.outcome), result.native_code, std::move(result.message));
        }
    }

    // Nothing to flush: an op is OK once memcached answered STORED/DELETED,
    // and memcached keeps nothing durable anyway (a restart or an eviction
    // loses it; the README says so).
    sdk::Status flush(std::string& /*error*/) override { return sdk::Status::Ok; }

    sdk::Status health(std::string& error) override {
        if (auto failure = client_.health()) {
            error = *failure;
            return sdk::Status::Retry;
        }
        return sdk::Status::Ok;
    }

    // Values are the documents as written; memcached keeps no row version,
    // so every version is 0.
    void read(std::span<const std::string_view> ids, std::string_view target, sdk::ReadResults& results,
              const sdk::WriteControl& control) override {
        results_.assign(ids.size(), core::OpResult{});
        client_.read(ids, target, results_, control);
        for (std::size_t i = 0; i < results_.size(); ++i) {
            core::OpResult& result = results_[i];
            if (result.outcome == core::Outcome::Ok) {
                if (result.found) {
                    results.found(i, std::move(result.value), 0, result.native_code);
                } else {
                    results.not_found(i, result.native_code);
                }
            } else if (result.outcome == core::Outcome::Reject) {
                results.reject(i, std::move(result.message), result.native_code);
            } else {
                results.retry(i, std::move(result.message), result.native_code);
            }
        }
    }

    void list(std::string_view cursor, std::string_view target, sdk::ListPage& page,
              const sdk::WriteControl& control) override {
        client_.list(cursor, target, page, control);
    }

private:
    core::Client client_;
    // Reused between calls.
    std::vector<core::WriteOp> ops_;
    std::vector<std::size_t> positions_;
    std::vector<core::OpResult> results_;
};

}  // namespace

INDEXER_SINK_PLUGIN(MemcachedSink, "memcached", "1.1.0")
