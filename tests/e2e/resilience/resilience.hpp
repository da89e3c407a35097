// Helpers of the resilience suite: a stream of id messages published while
// the test breaks things, the indexer's log read as a user reads it, the
// partitions a process holds according to that log, and the check that no
// offset was committed ahead of what the index holds.
#pragma once

#include "support/e2e.hpp"
#include "support/kafka_client.hpp"
#include "support/search_index.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace indexer::testing::resilience {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// ---------------------------------------------------------------------------
// Scratch resources

// Runs the clean-up steps when the test ends, also after a failed assertion.
class Cleanup {
public:
    Cleanup() = default;
    Cleanup(const Cleanup&) = delete;
    Cleanup& operator=(const Cleanup&) = delete;
    ~Cleanup() {
        for (auto step = steps_.rbegin(); step != steps_.rend(); ++step) {
            try {
                (*step)();
            } catch (const std::exception&) {
                // A scratch resource that outlives the test only costs space.
            }
        }
    }
    void add(std::function<void()> step) { steps_.push_back(std::move(step)); }

private:
    std::vector<std::function<void()>> steps_;
};

// The table every test of this suite announces: `rev` counts the updates of a
// row, so that a message can say which version of the row it announces.
inline void create_products(const Database& database, const std::string& table, int first, int last) {
    database.execute(fmt::format(
        "CREATE TABLE IF NOT EXISTS {0} (id bigint PRIMARY KEY, name text NOT NULL, rev integer NOT NULL, "
        "price numeric(10,2), tags text[]);"
        "INSERT INTO {0} (id, name, rev, price, tags) SELECT g, 'product ' || g, 0, g * 0.5, "
        "ARRAY['t' || (g % 7), 'ünï'] FROM generate_series({1}, {2}) g",
        table, first, last));
}

inline std::vector<std::string> id_range(int first, int last) {
    std::vector<std::string> ids;
    for (int id = first; id <= last; ++id) ids.push_back(std::to_string(id));
    return ids;
}

// postgresql://user@host:port/db with host:port replaced (to go through a TcpProxy).
inline std::string with_host_port(const std::string& url, const std::string& host_port) {
    const auto scheme = url.find("://");
    if (scheme == std::string::npos) throw std::invalid_argument("not a URL: " + url);
    const auto start = scheme + 3;
    auto end = url.find_first_of("/?", start);
    if (end == std::string::npos) end = url.size();
    const auto at = url.rfind('@', end);
    const auto host_start = (at != std::string::npos && at >= start) ? at + 1 : start;
    return url.substr(0, host_start) + host_port + url.substr(end);
}

// {host, port} of a postgresql:// URL (port 5432 when it names none).
inline std::pair<std::string, std::uint16_t> host_and_port(const std::string& url) {
    const auto scheme = url.find("://");
    if (scheme == std::string::npos) throw std::invalid_argument("not a URL: " + url);
    const auto start = scheme + 3;
    auto end = url.find_first_of("/?", start);
    if (end == std::string::npos) end = url.size();
    const auto at = url.rfind('@', end);
    const auto host_start = (at != std::string::npos && at >= start) ? at + 1 : start;
    const std::string authority = url.substr(host_start, end - host_start);
    const auto colon = authority.rfind(':');
    if (colon == std::string::npos) return {authority, 5432};
    return {authority.substr(0, colon), static_cast<std::uint16_t>(std::stoi(authority.substr(colon + 1)))};
}

// A port on 127.0.0.1 that nothing listens on right now, for the metrics and
// health endpoint (http.listen) of one indexer process: two processes, or two
// suites running at once, must not ask for the same one.
inline std::string free_listen_address() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                       ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    ::close(fd);
    if (!bound) throw std::runtime_error("no free port on 127.0.0.1");
    return "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
}

// ---------------------------------------------------------------------------
// A stream of changes and their announcements

// Announces every id of [first, last] once, in order, spread over `duration`;
// after every `update_every` ids it updates an id announced before (its rev
// goes up) and announces it again, and after every `delete_every` ids (0:
// never) it deletes one and announces that. Each message carries the row's
// rev at the time it was sent ({"id": 42, "rev": 3}; the indexer ignores the
// extra field), so that a test can tell which change a message stands for.
// Runs on its own thread from construction.
class StreamPublisher {
public:
    struct Options {
        std::string brokers;
        std::string postgres;
        std::string topic;
        std::string table;
        int first = 1;
        int last = 1000;
        int update_every = 10;
        int delete_every = 0;
        milliseconds duration = seconds(5);
    };

    explicit StreamPublisher(Options options) : options_(std::move(options)) {
        thread_ = std::thread([this] {
            try {
                run();
            } catch (...) {
                failure_ = std::current_exception();
            }
            done_ = true;
        });
    }
    ~StreamPublisher() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    StreamPublisher(const StreamPublisher&) = delete;
    StreamPublisher& operator=(const StreamPublisher&) = delete;

    // Waits until every message is sent and acknowledged; rethrows a failure.
    void wait() {
        if (thread_.joinable()) thread_.join();
        if (failure_) std::rethrow_exception(failure_);
    }
    bool done() const noexcept { return done_; }
    // Messages sent so far.
    int sent() const noexcept { return sent_; }

private:
    void run() {
        pqxx::connection connection(options_.postgres);
        TestProducer producer(options_.brokers);
        std::mt19937 random(static_cast<unsigned>(options_.first * 7919 + options_.last));
        const int ids = options_.last - options_.first + 1;
        const int extra = (options_.update_every > 0 ? ids / options_.update_every : 0) +
                          (options_.delete_every > 0 ? ids / options_.delete_every : 0);
        const auto interval = std::chrono::microseconds(options_.duration) / std::max(1, ids + extra);
        const auto started = Clock::now();
        int count = 0;
        const auto announce = [&](long long id, long long rev) {
            std::this_thread::sleep_until(started + interval * count);
            producer.send(options_.topic, std::to_string(id),
                          fmt::format(R"({{"id": {}, "rev": {}}})", id, rev));
            ++count;
            sent_ = count;
            if (count % 50 == 0) producer.flush();
        };
        for (int id = options_.first; id <= options_.last && !stop_; ++id) {
            announce(id, 0);
            const int position = id - options_.first + 1;
            std::uniform_int_distribution<int> earlier(options_.first, id);
            if (options_.update_every > 0 && position % options_.update_every == 0) {
                const int target = earlier(random);
                pqxx::work tx(connection);
                const pqxx::result row = tx.exec(fmt::format(
                    "UPDATE {0} SET rev = rev + 1, name = 'product ' || id || ' rev ' || (rev + 1), "
                    "price = price + 1 WHERE id = {1} RETURNING rev",
                    options_.table, target));
                tx.commit();
                // The announcement follows the commit, as applications do.
                if (!row.empty()) announce(target, row[0][0].as<long long>());
            }
            if (options_.delete_every > 0 && position % options_.delete_every == 0) {
                const int target = earlier(random);
                pqxx::work tx(connection);
                tx.exec(fmt::format("DELETE FROM {0} WHERE id = {1}", options_.table, target));
                tx.commit();
                announce(target, -1);
            }
        }
        producer.flush();
    }

    Options options_;
    std::atomic<int> sent_{0};
    std::atomic<bool> done_{false};
    std::atomic<bool> stop_{false};
    std::exception_ptr failure_;
    std::thread thread_;
};

// ---------------------------------------------------------------------------
// The indexer's log

struct LogLine {
    std::string level;  // "info", "warning"... ("" for a line that is not JSON)
    std::string message;
};

// The process's log: one JSON object per line (the format when the output is
// not a terminal); other lines are kept whole as messages.
inline std::vector<LogLine> log_lines(const std::string& output) {
    std::vector<LogLine> lines;
    std::istringstream in(output);
    std::string text;
    while (std::getline(in, text)) {
        if (text.empty()) continue;
        const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
        if (parsed.is_object() && parsed.contains("message")) {
            lines.push_back({parsed.value("level", ""), parsed.value("message", "")});
        } else {
            lines.push_back({"", text});
        }
    }
    return lines;
}

// How many lines of `level_prefix` ("warn" matches "warning") contain `text`.
inline std::size_t count_logged(const std::string& output, const std::string& level_prefix,
                                const std::string& text) {
    std::size_t count = 0;
    for (const LogLine& line : log_lines(output)) {
        if (line.level.rfind(level_prefix, 0) == 0 && line.message.find(text) != std::string::npos) ++count;
    }
    return count;
}

inline bool logged(const std::string& output, const std::string& level_prefix, const std::string& text) {
    return count_logged(output, level_prefix, text) > 0;
}

// Lines telling that partitions were taken away (revoked, or lost to a
// session timeout).
inline std::vector<std::string> revocations(const std::string& output) {
    std::vector<std::string> found;
    for (const LogLine& line : log_lines(output)) {
        if (line.message.find(": revoked ") != std::string::npos ||
            line.message.find(": lost ") != std::string::npos ||
            line.message.find("dropping the assignment") != std::string::npos) {
            found.push_back(line.message);
        }
    }
    return found;
}

// The partition numbers of `topic` named in a message ("t[0], t[3]").
inline std::set<int> partitions_named(const std::string& message, const std::string& topic) {
    std::set<int> partitions;
    const std::string marker = topic + "[";
    for (auto at = message.find(marker); at != std::string::npos; at = message.find(marker, at + 1)) {
        std::size_t digits = at + marker.size();
        std::size_t end = digits;
        while (end < message.size() && message[end] >= '0' && message[end] <= '9') ++end;
        if (end > digits && end < message.size() && message[end] == ']')
            partitions.insert(std::stoi(message.substr(digits, end - digits)));
    }
    return partitions;
}

// The partitions of `topic` a process holds according to its log, replayed in
// order: an "assigned" line adds its partitions, a "revoked" or "lost" line
// removes them. With `group`, only the lines of that pipeline count.
inline std::set<int> held_partitions(const std::string& output, const std::string& topic,
                                     const std::string& group = "") {
    std::set<int> held;
    for (const LogLine& line : log_lines(output)) {
        const std::string& m = line.message;
        if (!group.empty() && m.find(group + ": ") == std::string::npos) continue;
        if (m.find("dropping the assignment") != std::string::npos) {
            held.clear();
        } else if (m.find(": assigned ") != std::string::npos) {
            for (int p : partitions_named(m, topic)) held.insert(p);
        } else if (m.find(": revoked ") != std::string::npos || m.find(": lost ") != std::string::npos) {
            for (int p : partitions_named(m, topic)) held.erase(p);
        }
    }
    return held;
}

inline std::string describe(const std::set<int>& partitions) {
    std::string text = "{";
    for (int p : partitions) text += (text.size() > 1 ? ", " : "") + std::to_string(p);
    return text + "}";
}

// ---------------------------------------------------------------------------
// Offsets against the index

// What the group had committed at one moment, and the rev of every document
// the index held right after (read directly from Elasticsearch).
struct Sample {
    Clock::time_point at;
    std::map<std::int32_t, std::int64_t> committed;
    std::map<std::string, long long> indexed_revs;
};

inline long long committed_total(const std::map<std::int32_t, std::int64_t>& committed) {
    long long total = 0;
    for (const auto& [partition, offset] : committed) total += offset > 0 ? offset : 0;
    return total;
}

// The committed offsets first, the index second: whatever the indexer wrote
// before committing is then in what is read.
inline Sample take_sample(const std::string& brokers, const std::string& group, const std::string& topic,
                          const SearchIndex& index, const std::vector<std::string>& ids) {
    Sample sample;
    sample.at = Clock::now();
    sample.committed = committed_offsets(brokers, group, topic);
    for (const auto& [id, document] : index.get(ids)) {
        if (document.contains("rev")) sample.indexed_revs[id] = document.at("rev").get<long long>();
    }
    return sample;
}

// Messages below their partition's committed offset whose change is not in
// the index read right after: each one was committed before it was written.
inline std::vector<std::string> committed_ahead_of_index(const Sample& sample,
                                                         const std::vector<ReadMessage>& messages) {
    std::vector<std::string> problems;
    for (const ReadMessage& message : messages) {
        const auto committed = sample.committed.find(message.partition);
        if (committed == sample.committed.end() || message.offset >= committed->second) continue;
        const nlohmann::json value = nlohmann::json::parse(message.value.value_or(""), nullptr, false);
        if (!value.is_object() || value.value("rev", -1LL) < 0) continue;  // deletes are not tracked
        const std::string id = std::to_string(value.at("id").get<long long>());
        const long long rev = value.at("rev").get<long long>();
        const auto indexed = sample.indexed_revs.find(id);
        if (indexed == sample.indexed_revs.end() || indexed->second < rev) {
            problems.push_back(
                fmt::format("partition {} offset {} (id {} rev {}) committed at {}, but the index holds {}",
                            message.partition, message.offset, id, rev, committed->second,
                            indexed == sample.indexed_revs.end() ? std::string("no document")
                                                                 : "rev " + std::to_string(indexed->second)));
        }
    }
    return problems;
}

// committed_ahead_of_index() over every sample: "" when no sample shows a
// commit ahead of the index, else the first one that does (its time relative
// to `outage`) and how many do.
inline std::string first_commit_ahead_of_index(const std::vector<const Sample*>& samples,
                                               const std::vector<ReadMessage>& messages,
                                               Clock::time_point outage) {
    std::string first;
    std::size_t offending = 0;
    for (const Sample* sample : samples) {
        const auto ahead = committed_ahead_of_index(*sample, messages);
        if (ahead.empty()) continue;
        if (offending++ == 0) {
            first = fmt::format("committed {} ms after the outage began, before the index had it:{}",
                                std::chrono::duration_cast<milliseconds>(sample->at - outage).count(),
                                summarize(ahead));
        }
    }
    if (offending == 0) return {};
    return fmt::format("{} of {} samples committed ahead of the index; the first {}", offending,
                       samples.size(), first);
}

// Polls until the group's committed offsets add up to `expected`.
inline long long wait_until_committed(const std::string& brokers, const std::string& group,
                                      const std::string& topic, long long expected, milliseconds timeout) {
    long long total = 0;
    (void)eventually(
        [&] {
            total = committed_total(committed_offsets(brokers, group, topic));
            return total >= expected;
        },
        timeout);
    return total;
}

}  // namespace indexer::testing::resilience
