#include "indexer/sinks/memcached/client.hpp"

#include <libmemcached-1.0/memcached.h>

#include <charconv>
#include <ctime>
#include <utility>

namespace indexer::memcached_sink {

Client::Client(Config config)
    : config_(std::move(config)),
      keys_(config_.prefix, config_.key_template, config_.hash_with_prefix),
      ring_(config_.servers, config_.distribution),
      listing_ids_(std::random_device{}()) {
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
    for (std::size_t i = 0; i < ops.size(); ++i) {
        const WriteOp& op = ops[i];
        Request request;
        const std::optional<std::size_t> server = place(request, op.id, op.target, results[i]);
        if (!server) continue;
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
        request.result_index = i;
        // Ops of one id share a key, hence a server and its in-order
        // connection: they apply in the order given.
        requests_[*server].push_back(std::move(request));
    }
    ExchangeOptions options = exchange_options(false);
    options.control = &control;
    run_exchange(channels_, requests_, results, options);
}

std::optional<std::size_t> Client::place(Request& request, std::string_view id, std::string_view target,
                                         OpResult& result) const {
    std::string error;
    std::optional<BuiltKey> key = keys_.build(id, target, error);
    if (!key) {
        result = OpResult{Outcome::Reject, MEMCACHED_BAD_KEY_PROVIDED, std::move(error)};
        return std::nullopt;
    }
    const std::size_t server = server_for(*key);
    request.key = std::move(key->key);
    return server;
}

void Client::read(std::span<const std::string_view> ids, std::string_view target, std::span<OpResult> results,
                  const indexer::sdk::WriteControl& control) {
    for (auto& queue : requests_) queue.clear();
    for (std::size_t i = 0; i < ids.size(); ++i) {
        Request request;
        const std::optional<std::size_t> server = place(request, ids[i], target, results[i]);
        if (!server) continue;
        request.command = Command::Get;
        request.result_index = i;
        requests_[*server].push_back(std::move(request));
    }
    ExchangeOptions options = exchange_options(false);
    options.control = &control;
    options.unfinished = "not read";
    run_exchange(channels_, requests_, results, options);
}

namespace {

constexpr std::string_view kCursorPrefix = "metadump:";

std::string listing_cursor(std::size_t server, std::uint64_t listing, std::uint64_t keys_read) {
    return std::string(kCursorPrefix) + std::to_string(server) + ":" + std::to_string(listing) + ":" +
           std::to_string(keys_read);
}

bool parse_number(std::string_view& text, std::uint64_t& number, bool last) {
    const std::size_t end = last ? text.size() : text.find(':');
    if (end == 0 || end == std::string_view::npos) return false;
    const auto [stop, error] = std::from_chars(text.data(), text.data() + end, number);
    if (error != std::errc{} || stop != text.data() + end) return false;
    text.remove_prefix(last ? end : end + 1);
    return true;
}

bool parse_listing_cursor(std::string_view cursor, std::uint64_t& server, std::uint64_t& listing,
                          std::uint64_t& keys_read) {
    if (cursor.substr(0, kCursorPrefix.size()) != kCursorPrefix) return false;
    cursor.remove_prefix(kCursorPrefix.size());
    return parse_number(cursor, server, false) && parse_number(cursor, listing, false) &&
           parse_number(cursor, keys_read, true);
}

}  // namespace

void Client::list(std::string_view cursor, std::string_view target, indexer::sdk::ListPage& page,
                  const indexer::sdk::WriteControl& control) {
    std::uint64_t server = 0;
    std::uint64_t listing = 0;
    std::uint64_t keys_read = 0;
    if (cursor.empty()) {
        listing = listing_ids_();
    } else if (!parse_listing_cursor(cursor, server, listing, keys_read) || server >= channels_.size()) {
        page.reject(
            "the cursor is not one of this sink's (expected metadump:<server>:<listing>:<keys read>)");
        return;
    }
    const std::string name = "memcached " + config_.servers[server].display();
    const bool resumes =
        listing_ && listing_->id == listing && listing_->server == server && listing_->keys_read == keys_read;
    if (!resumes) {
        if (keys_read != 0) {
            page.reject(name +
                        ": the dump this cursor continues is gone (a failure, another listing on this " +
                        "handle, or another handle); list again from the start");
            return;
        }
        // One dump at a time per client: a new listing ends the previous one.
        listing_ = Listing{
            listing, server, 0,
            std::make_unique<KeyDump>(config_.servers[server], config_.connect_timeout, config_.io_timeout)};
    }
    Listing& state = *listing_;
    std::string key;
    std::string error;
    while (!page.full()) {
        switch (state.dump->next(key, error, control)) {
            case KeyDump::Step::Key: {
                ++state.keys_read;
                KeyBuilder::KeyOrigin origin = keys_.origin_of(key, target);
                if (origin.kind == KeyBuilder::KeyOrigin::Kind::Id) page.add(std::move(origin.id));
                if (origin.kind == KeyBuilder::KeyOrigin::Kind::Hashed) page.add_unlisted();
                break;
            }
            case KeyDump::Step::End:
                listing_.reset();
                if (server + 1 < channels_.size())
                    page.set_next_cursor(listing_cursor(server + 1, listing, 0));
                return;
            case KeyDump::Step::Failed: {
                listing_.reset();
                std::string message = name + ": lru_crawler metadump: ";
                message += error;
                // A server's dump can start over only from its beginning.
                if (keys_read == 0) {
                    page.retry(std::move(message), MEMCACHED_FAILURE);
                } else {
                    message += "; list again from the start";
                    page.reject(std::move(message), MEMCACHED_FAILURE);
                }
                return;
            }
            case KeyDump::Step::Interrupted:
                // Nothing read: the same cursor still continues the dump.
                if (state.keys_read == keys_read) {
                    std::string message = name + ": not listed: ";
                    message += error;
                    page.retry(std::move(message), MEMCACHED_TIMEOUT);
                    return;
                }
                page.set_next_cursor(listing_cursor(server, listing, state.keys_read));
                return;
        }
    }
    page.set_next_cursor(listing_cursor(server, listing, state.keys_read));
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
