#include "indexer/sinks/memcached/exchange.hpp"

#include <libmemcached-1.0/memcached.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace indexer::memcached_sink {
namespace {

// Requests are encoded lazily, so a batch of large documents is never copied
// whole: the send buffer is topped up to this size as the socket drains.
constexpr std::size_t kSendBufferTarget = std::size_t{256} * 1024;
// A reply line longer than this means the stream is not what we think it is.
constexpr std::size_t kMaxReplyLine = std::size_t{64} * 1024;

struct Flight {
    ServerChannel* channel = nullptr;
    const std::vector<Request>* requests = nullptr;
    std::size_t encoded = 0;
    std::size_t answered = 0;
    std::string out;
    std::size_t out_offset = 0;
    std::string in;
    // The size the buffer must reach for the get reply under way (its header
    // announced a value of that length); 0 when none is.
    std::size_t awaited = 0;
    Clock::time_point deadline{};
    bool done = false;

    std::size_t pending_bytes() const noexcept { return out.size() - out_offset; }
};

class Exchange {
public:
    Exchange(std::span<OpResult> results, const ExchangeOptions& options)
        : results_(results), options_(options) {}

    void run(std::vector<Flight>& flights) {
        Clock::time_point now = Clock::now();
        for (Flight& flight : flights) start(flight, now);
        std::vector<pollfd> fds;
        std::vector<Flight*> owners;
        for (;;) {
            now = Clock::now();
            fds.clear();
            owners.clear();
            const std::string_view interrupted =
                options_.control != nullptr ? options_.control->interrupted() : std::string_view{};
            Clock::time_point wake = Clock::time_point::max();
            for (Flight& flight : flights) {
                if (flight.done) continue;
                if (!interrupted.empty()) {
                    fail(flight, std::string(options_.unfinished) + ": " + std::string(interrupted),
                         MEMCACHED_TIMEOUT, false, now);
                    continue;
                }
                if (now >= flight.deadline) {
                    fail(flight, timeout_reason(flight), MEMCACHED_TIMEOUT, true, now);
                    continue;
                }
                const Connection& connection = flight.channel->connection;
                short events = POLLOUT;
                if (connection.state() == Connection::State::Open) {
                    events = static_cast<short>(POLLIN | (flight.pending_bytes() > 0 ? POLLOUT : 0));
                }
                fds.push_back(pollfd{connection.fd(), events, 0});
                owners.push_back(&flight);
                wake = std::min(wake, flight.deadline);
            }
            if (fds.empty()) return;
            auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake - now).count();
            // The stop flag cannot wake poll(): wait in short slices when there is one.
            if (options_.control != nullptr)
                wait = std::min<long long>(wait, options_.control->wait_slice().count());
            const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long long>(wait, 0)));
            if (ready < 0 && errno != EINTR) {
                const std::string reason = "poll: " + std::system_category().message(errno);
                for (Flight* flight : owners) fail(*flight, reason, MEMCACHED_ERRNO, false, Clock::now());
                return;
            }
            now = Clock::now();
            for (std::size_t i = 0; ready > 0 && i < fds.size(); ++i) {
                if (fds[i].revents != 0) handle(*owners[i], fds[i].revents, now);
            }
        }
    }

private:
    void start(Flight& flight, Clock::time_point now) {
        ServerChannel& channel = *flight.channel;
        if (!options_.contact_down_servers && now < channel.down_until) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(channel.down_until - now).count();
            fail(flight,
                 "marked down after: " + channel.down_reason + "; next attempt in " + std::to_string(left) +
                     " ms",
                 MEMCACHED_SERVER_TEMPORARILY_DISABLED, false, now);
            return;
        }
        Connection& connection = channel.connection;
        if (!connection.reusable()) {
            if (auto error = connection.start_connect()) {
                fail(flight, *error, MEMCACHED_CONNECTION_FAILURE, true, now);
                return;
            }
        }
        if (connection.state() == Connection::State::Connecting) {
            flight.deadline = now + options_.connect_timeout;
        } else {
            flight.deadline = now + options_.io_timeout;
            fill(flight);
        }
    }

    void handle(Flight& flight, short revents, Clock::time_point now) {
        if (flight.done) return;
        Connection& connection = flight.channel->connection;
        if (connection.state() == Connection::State::Connecting) {
            if (auto error = connection.continue_connect()) {
                fail(flight, *error, MEMCACHED_CONNECTION_FAILURE, true, now);
            } else if (connection.state() == Connection::State::Open) {
                flight.deadline = now + options_.io_timeout;
                fill(flight);
            } else {
                flight.deadline = now + options_.connect_timeout;
            }
            return;
        }
        bool progress = false;
        if ((revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
            const Connection::Io io = connection.receive(flight.in);
            if (io.bytes > 0) {
                progress = true;
                consume_replies(flight, now);
                if (flight.done) return;
            }
            if (io.error) {
                fail(flight, *io.error, MEMCACHED_READ_FAILURE, true, now);
                return;
            }
            if (io.closed) {
                fail(flight, "connection closed by the server", MEMCACHED_CONNECTION_FAILURE, true, now);
                return;
            }
        }
        if ((revents & POLLOUT) != 0 && flight.pending_bytes() > 0) {
            const Connection::Io io = connection.send(
                std::string_view(flight.out).substr(flight.out_offset, flight.pending_bytes()));
            if (io.error) {
                fail(flight, *io.error, MEMCACHED_WRITE_FAILURE, true, now);
                return;
            }
            flight.out_offset += io.bytes;
            progress = progress || io.bytes > 0;
            fill(flight);
        }
        if (progress) flight.deadline = now + options_.io_timeout;
    }

    void fill(Flight& flight) {
        if (flight.out_offset == flight.out.size()) {
            flight.out.clear();
            flight.out_offset = 0;
        } else if (flight.out_offset >= kSendBufferTarget) {
            flight.out.erase(0, flight.out_offset);
            flight.out_offset = 0;
        }
        const std::vector<Request>& requests = *flight.requests;
        while (flight.encoded < requests.size() && flight.pending_bytes() < kSendBufferTarget) {
            const Request& request = requests[flight.encoded++];
            switch (request.command) {
                case Command::Set:
                    append_set(flight.out, request.key, request.exptime, request.value);
                    break;
                case Command::Delete:
                    append_delete(flight.out, request.key);
                    break;
                case Command::Version:
                    append_version(flight.out);
                    break;
                case Command::Get:
                    append_get(flight.out, request.key);
                    break;
            }
        }
    }

    void consume_replies(Flight& flight, Clock::time_point now) {
        const std::vector<Request>& requests = *flight.requests;
        std::size_t position = 0;
        flight.awaited = 0;
        for (;;) {
            if (flight.answered < flight.encoded && requests[flight.answered].command == Command::Get) {
                if (!consume_get_reply(flight, position, now)) return;
                if (flight.awaited != 0) break;
                continue;
            }
            const std::size_t end = flight.in.find("\r\n", position);
            if (end == std::string::npos) break;
            const std::string_view line = std::string_view(flight.in).substr(position, end - position);
            position = end + 2;
            if (flight.answered >= flight.encoded) {
                fail(flight, "reply without a request: \"" + std::string(line.substr(0, 200)) + "\"",
                     MEMCACHED_PROTOCOL_ERROR, false, now);
                return;
            }
            const Request& request = requests[flight.answered];
            Interpretation meaning = interpret(request.command, parse_reply(line));
            OpResult& result = results_[request.result_index];
            result = std::move(meaning.result);
            if (result.outcome != Outcome::Ok) result.message = server_name(flight) + ": " + result.message;
            ++flight.answered;
            if (!meaning.in_sync) {
                fail(flight,
                     "connection dropped after an unexpected reply; this request's outcome is unknown",
                     MEMCACHED_PROTOCOL_ERROR, false, now);
                return;
            }
        }
        flight.in.erase(0, position);
        if (flight.in.size() > std::max(kMaxReplyLine, flight.awaited)) {
            fail(flight, "reply line longer than " + std::to_string(kMaxReplyLine) + " bytes",
                 MEMCACHED_PROTOCOL_ERROR, false, now);
            return;
        }
        if (flight.answered == requests.size()) {
            // Bytes after the last expected reply: the stream cannot be trusted.
            if (!flight.in.empty()) flight.channel->connection.close();
            flight.done = true;
            flight.channel->down_until = {};
            flight.channel->down_reason.clear();
        }
    }

    // Reads the reply to the get at the head of the flight from `position`:
    // false when the flight failed; true otherwise, with flight.awaited set
    // when the reply is not complete yet (position unchanged then).
    bool consume_get_reply(Flight& flight, std::size_t& position, Clock::time_point now) {
        const Request& request = (*flight.requests)[flight.answered];
        const GetReply reply = parse_get_reply(std::string_view(flight.in).substr(position), request.key,
                                               options_.max_value_bytes, kMaxReplyLine);
        if (reply.state == GetReply::State::Incomplete) {
            // Not 0 even when the header is not complete yet: the loop stops.
            flight.awaited = std::max<std::size_t>(reply.needed, 1);
            return true;
        }
        OpResult& result = results_[request.result_index];
        result = OpResult{reply.outcome, reply.native_code, reply.message};
        result.found = reply.found;
        result.value.assign(reply.value);
        if (result.outcome != Outcome::Ok) result.message = server_name(flight) + ": " + result.message;
        position += reply.consumed;
        ++flight.answered;
        if (!reply.in_sync) {
            fail(flight, "connection dropped after an unexpected reply; this request's outcome is unknown",
                 MEMCACHED_PROTOCOL_ERROR, false, now);
            return false;
        }
        return true;
    }

    // Every request of the flight still unanswered becomes RETRY: it may or
    // may not have been applied, and writing it again is harmless.
    void fail(Flight& flight, const std::string& reason, memcached_return_t code, bool mark_down,
              Clock::time_point now) {
        ServerChannel& channel = *flight.channel;
        channel.connection.close();
        if (mark_down) {
            channel.down_until = now + options_.dead_server_retry;
            channel.down_reason = reason;
        }
        const std::string message = server_name(flight) + ": " + reason;
        const std::vector<Request>& requests = *flight.requests;
        for (std::size_t i = flight.answered; i < requests.size(); ++i) {
            results_[requests[i].result_index] = OpResult{Outcome::Retry, static_cast<int>(code), message};
        }
        flight.answered = requests.size();
        flight.done = true;
    }

    std::string timeout_reason(const Flight& flight) const {
        if (flight.channel->connection.state() == Connection::State::Connecting) {
            return "connect timed out after " + std::to_string(options_.connect_timeout.count()) + " ms";
        }
        return "no progress for " + std::to_string(options_.io_timeout.count()) + " ms with " +
               std::to_string(flight.encoded - flight.answered) + " requests unanswered";
    }

    static std::string server_name(const Flight& flight) {
        return "memcached " + flight.channel->connection.address().display();
    }

    std::span<OpResult> results_;
    const ExchangeOptions& options_;
};

}  // namespace

void run_exchange(std::vector<ServerChannel>& channels, const std::vector<std::vector<Request>>& requests,
                  std::span<OpResult> results, const ExchangeOptions& options) {
    std::vector<Flight> flights;
    for (std::size_t s = 0; s < requests.size() && s < channels.size(); ++s) {
        if (requests[s].empty()) continue;
        Flight flight;
        flight.channel = &channels[s];
        flight.requests = &requests[s];
        flights.push_back(std::move(flight));
    }
    Exchange(results, options).run(flights);
}

}  // namespace indexer::memcached_sink
