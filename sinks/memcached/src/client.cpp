#include "indexer/sinks/memcached/client.hpp"

#include <libmemcached-1.0/memcached.h>

#include <ctime>
#include <utility>

namespace indexer::memcached_sink {

Client::Client(Config config)
    : config_(std::move(config)),
      keys_(config_.prefix, config_.key_template, config_.hash_with_prefix),
      ring_(config_.servers, config_.distribution) {
    channels_.reserve(config_.servers.size());
    for (const ServerAddress& server : config_.servers) channels_.emplace_back(server);
    requests_.resize(config_.servers.size());
}

std::size_t Client::server_for(const BuiltKey& key) const {
    return ring_.server_for(std::string_view(key.key).substr(key.distribution_offset));
}

ExchangeOptions Client::exchange_options(bool contact_down_servers) const {
    return ExchangeOptions{config_.connect_timeout, config_.io_timeout, config_.dead_server_retry,
                           contact_down_servers, nullptr};
}

void Client::write(std::span<const WriteOp> ops, std::span<OpResult> results,
                   const indexer::sdk::WriteControl& control) {
    for (auto& queue : requests_) queue.clear();
    const std::uint32_t exptime =
        exptime_for(config_.ttl_seconds, static_cast<std::int64_t>(std::time(nullptr)));
    std::string error;
    for (std::size_t i = 0; i < ops.size(); ++i) {
        const WriteOp& op = ops[i];
        std::optional<BuiltKey> key = keys_.build(op.id, op.target, error);
        if (!key) {
            results[i] = OpResult{Outcome::Reject, MEMCACHED_BAD_KEY_PROVIDED, error};
            continue;
        }
        Request request;
        if (op.kind == OpKind::Upsert) {
            if (op.document.empty()) {
                results[i] =
                    OpResult{Outcome::Reject, MEMCACHED_INVALID_ARGUMENTS, "UPSERT without a document"};
                continue;
            }
            if (op.document.size() > config_.max_value_bytes) {
                results[i] = OpResult{Outcome::Reject, MEMCACHED_E2BIG,
                                      "document of " + std::to_string(op.document.size()) +
                                          " bytes exceeds max_value_bytes (" +
                                          std::to_string(config_.max_value_bytes) + ")"};
                continue;
            }
            request.command = Command::Set;
            request.value = op.document;
            request.exptime = exptime;
        } else {
            request.command = Command::Delete;
        }
        const std::size_t server = server_for(*key);
        request.key = std::move(key->key);
        request.result_index = i;
        // Ops of one id share a key, hence a server and its in-order
        // connection: they apply in the order given.
        requests_[server].push_back(std::move(request));
    }
    ExchangeOptions options = exchange_options(false);
    options.control = &control;
    run_exchange(channels_, requests_, results, options);
}

std::optional<std::string> Client::health() {
    std::vector<std::vector<Request>> probes(channels_.size());
    for (std::size_t s = 0; s < probes.size(); ++s) {
        Request probe;
        probe.command = Command::Version;
        probe.result_index = s;
        probes[s].push_back(std::move(probe));
    }
    std::vector<OpResult> answers(channels_.size());
    run_exchange(channels_, probes, answers, exchange_options(true));
    std::string failures;
    for (const OpResult& answer : answers) {
        if (answer.outcome == Outcome::Ok) continue;
        if (!failures.empty()) failures += "; ";
        failures += answer.message;
    }
    if (failures.empty()) return std::nullopt;
    return failures;
}

}  // namespace indexer::memcached_sink
