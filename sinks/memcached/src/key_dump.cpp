#include "indexer/sinks/memcached/key_dump.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

#include "indexer/sinks/memcached/text_protocol.hpp"

namespace indexer::memcached_sink {
namespace {

using Clock = std::chrono::steady_clock;

// A metadump line is a key of at most 250 bytes, URI-encoded (three bytes
// each at worst), and a few short fields.
constexpr std::size_t kMaxLine = 4096;
// Read at most this much at once: the dump can be far larger than memory.
constexpr std::size_t kReadChunk = std::size_t{64} * 1024;

}  // namespace

KeyDump::KeyDump(ServerAddress address, std::chrono::milliseconds connect_timeout,
                 std::chrono::milliseconds io_timeout)
    : connection_(std::move(address)), connect_timeout_(connect_timeout), io_timeout_(io_timeout) {}

KeyDump::Step KeyDump::fail(std::string reason, std::string& error) {
    connection_.close();
    over_ = true;
    error = std::move(reason);
    return Step::Failed;
}

bool KeyDump::take_line(std::string_view& line) {
    const std::size_t end = in_.find('\n', consumed_);
    if (end == std::string::npos) return false;
    line = std::string_view(in_).substr(consumed_, end - consumed_);
    // Keys end in "\n", END in "\r\n".
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    consumed_ = end + 1;
    return true;
}

KeyDump::Step KeyDump::next(std::string& key, std::string& error, const indexer::sdk::WriteControl& control) {
    if (over_) return fail("the dump is over", error);
    if (!started_) {
        started_ = true;
        append_metadump(request_);
        if (auto failure = connection_.start_connect()) return fail(*failure, error);
    }
    Clock::time_point progress_deadline =
        Clock::now() +
        (connection_.state() == Connection::State::Connecting ? connect_timeout_ : io_timeout_);
    for (;;) {
        std::string_view line;
        if (sent_ == request_.size() && take_line(line)) {
            MetadumpLine parsed = parse_metadump_line(line);
            if (consumed_ >= kReadChunk) {
                in_.erase(0, consumed_);
                consumed_ = 0;
            }
            switch (parsed.kind) {
                case MetadumpLine::Kind::Key:
                    key = std::move(parsed.key);
                    return Step::Key;
                case MetadumpLine::Kind::End:
                    connection_.close();
                    over_ = true;
                    return Step::End;
                default:
                    return fail(std::move(parsed.message), error);
            }
        }
        if (in_.size() - consumed_ > kMaxLine) {
            return fail("a metadump line longer than " + std::to_string(kMaxLine) + " bytes", error);
        }
        if (const std::string_view why = control.interrupted(); !why.empty()) {
            error = std::string(why);
            return Step::Interrupted;
        }
        const Clock::time_point now = Clock::now();
        if (now >= progress_deadline) {
            return fail(connection_.state() == Connection::State::Connecting
                            ? "connect timed out after " + std::to_string(connect_timeout_.count()) + " ms"
                            : "no progress of the dump for " + std::to_string(io_timeout_.count()) + " ms",
                        error);
        }
        const bool connecting = connection_.state() == Connection::State::Connecting;
        short events = POLLOUT;
        if (!connecting) events = static_cast<short>(POLLIN | (sent_ < request_.size() ? POLLOUT : 0));
        pollfd fd{connection_.fd(), events, 0};
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(progress_deadline - now);
        const auto wait = std::min(left, control.wait_slice());
        const int ready = ::poll(&fd, 1, static_cast<int>(std::max<long long>(wait.count(), 0)));
        if (ready < 0 && errno != EINTR) return fail("poll: " + std::system_category().message(errno), error);
        if (ready <= 0) continue;
        if (connecting) {
            if (auto failure = connection_.continue_connect()) return fail(*failure, error);
            if (connection_.state() == Connection::State::Open)
                progress_deadline = Clock::now() + io_timeout_;
            continue;
        }
        if ((fd.revents & POLLOUT) != 0 && sent_ < request_.size()) {
            const Connection::Io io = connection_.send(std::string_view(request_).substr(sent_));
            if (io.error) return fail(*io.error, error);
            sent_ += io.bytes;
        }
        if ((fd.revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
            const Connection::Io io = connection_.receive(in_, kReadChunk);
            if (io.bytes > 0) progress_deadline = Clock::now() + io_timeout_;
            if (io.error) return fail(*io.error, error);
            // What arrived before the close is still read; a dump cut short is not.
            if (io.closed && io.bytes == 0 && in_.find('\n', consumed_) == std::string::npos) {
                return fail("connection closed by the server before the dump ended", error);
            }
        }
    }
}

}  // namespace indexer::memcached_sink
