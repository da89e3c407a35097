#include "connection_gate.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <string_view>
#include <system_error>

namespace indexer::http {
namespace {

// Longer than any registered HTTP method: a request line without a space
// within it is not HTTP.
constexpr std::size_t kLongestMethod = 32;

bool iequals_prefix(std::string_view line, std::string_view name) {
    return line.size() >= name.size() && std::equal(name.begin(), name.end(), line.begin(),
                                                    [](char a, char b) { return (a | 0x20) == (b | 0x20); });
}

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
        text.remove_suffix(1);
    return text;
}

// Whether the head announces a body: any Transfer-Encoding, or a Content-Length other than 0.
bool announces_body(std::string_view head) {
    std::size_t start = head.find('\n');
    while (start != std::string_view::npos && start + 1 < head.size()) {
        const std::size_t end = head.find('\n', start + 1);
        const std::string_view line =
            head.substr(start + 1, end == std::string_view::npos ? std::string_view::npos : end - start - 1);
        if (iequals_prefix(line, "transfer-encoding:")) return true;
        if (iequals_prefix(line, "content-length:") &&
            trimmed(line.substr(std::string_view("content-length:").size())) != "0") {
            return true;
        }
        start = end;
    }
    return false;
}

}  // namespace

ConnectionGate::ConnectionGate(ConnectionLimits limits, Serve serve)
    : limits_(limits), serve_(std::move(serve)) {
    std::array<int, 2> pipe_ends{};
    if (::pipe2(pipe_ends.data(), O_NONBLOCK | O_CLOEXEC) != 0) {
        throw std::system_error(errno, std::generic_category(),
                                "http: cannot create the poller's wake-up pipe");
    }
    wake_read_ = pipe_ends[0];
    wake_write_ = pipe_ends[1];
    poller_ = std::thread([this] { poll_loop(); });
    for (std::size_t i = 0; i < limits_.workers; ++i) workers_.emplace_back([this] { work_loop(); });
}

ConnectionGate::~ConnectionGate() {
    stop();
    ::close(wake_read_);
    ::close(wake_write_);
}

void ConnectionGate::stop() {
    if (stopped_) return;
    stopped_ = true;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_poller();
    ready_changed_.notify_all();
    poller_.join();
    for (auto& worker : workers_) worker.join();
    for (const int socket : admitted_) ::close(socket);
    for (const auto& connection : waiting_) ::close(connection.socket);
    for (const auto& request : ready_) ::close(request.socket);
    admitted_.clear();
    waiting_.clear();
    ready_.clear();
}

void ConnectionGate::admit(int socket) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_ && open_connections_ < limits_.max_connections) {
            ++open_connections_;
            admitted_.push_back(socket);
            socket = -1;
        }
    }
    if (socket >= 0) {
        // No answer: writing one could block the accepting thread.
        spdlog::debug("http: {} connections open, closing a new one", limits_.max_connections);
        ::close(socket);
        return;
    }
    wake_poller();
}

void ConnectionGate::wake_poller() {
    const char byte = 0;
    // A full pipe already wakes the poller.
    [[maybe_unused]] const ssize_t written = ::write(wake_write_, &byte, 1);
}

void ConnectionGate::release(int socket) {
    ::close(socket);
    std::lock_guard lock(mutex_);
    --open_connections_;
}

void ConnectionGate::reject(int socket, int status, const char* reason, const char* extra_headers) {
    const std::string body = fmt::format("{}\n", reason);
    const std::string response = fmt::format(
        "HTTP/1.1 {} {}\r\n{}Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n"
        "Connection: close\r\n\r\n{}",
        status, reason, extra_headers, body.size(), body);
    // The answer is far smaller than a socket buffer; a client that does not
    // read it gets what fits, never a wait.
    [[maybe_unused]] const ssize_t sent =
        ::send(socket, response.data(), response.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    ::shutdown(socket, SHUT_WR);
    release(socket);
}

ConnectionGate::Progress ConnectionGate::receive(Waiting& connection) {
    std::array<char, 4096> buffer{};
    for (;;) {
        // One byte past the limit tells an oversized head from a full one.
        const std::size_t room = limits_.max_head_bytes + 1 - connection.received.size();
        const ssize_t got =
            ::recv(connection.socket, buffer.data(), std::min(room, buffer.size()), MSG_DONTWAIT);
        if (got == 0) {
            release(connection.socket);
            return Progress::kClosed;
        }
        if (got < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            release(connection.socket);
            return Progress::kClosed;
        }
        connection.received.append(buffer.data(), static_cast<std::size_t>(got));
        if (connection.received.size() > limits_.max_head_bytes) break;
    }

    const std::string_view received = connection.received;
    // The method is known before the rest of the head: anything but GET and
    // HEAD is refused at once, before its headers or body are read.
    const std::size_t space = received.substr(0, kLongestMethod + 1).find(' ');
    if (space == std::string_view::npos && received.size() > kLongestMethod) {
        reject(connection.socket, 400, "Bad Request", "");
        return Progress::kClosed;
    }
    if (space != std::string_view::npos) {
        const std::string_view method = received.substr(0, space);
        if (method != "GET" && method != "HEAD") {
            reject(connection.socket, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n");
            return Progress::kClosed;
        }
    }

    std::size_t end = received.find("\r\n\r\n");
    if (end != std::string_view::npos) end += 4;
    if (end == std::string_view::npos || end > limits_.max_head_bytes) {
        if (received.size() > limits_.max_head_bytes) {
            reject(connection.socket, 431, "Request Header Fields Too Large", "");
            return Progress::kClosed;
        }
        return Progress::kWaiting;
    }
    const std::string_view head = received.substr(0, end);
    if (announces_body(head)) {
        reject(connection.socket, 413, "Payload Too Large", "");
        return Progress::kClosed;
    }

    std::unique_lock lock(mutex_);
    if (ready_.size() >= limits_.max_queued_requests) {
        lock.unlock();
        reject(connection.socket, 503, "Service Unavailable", "Retry-After: 1\r\n");
        return Progress::kClosed;
    }
    // Bytes after the head belong to a pipelined request, which is never served:
    // the connection closes after one answer.
    ready_.push_back({connection.socket, std::string(head)});
    lock.unlock();
    ready_changed_.notify_one();
    return Progress::kHandedOver;
}

void ConnectionGate::poll_loop() {
    std::vector<pollfd> descriptors;
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
            const auto deadline = std::chrono::steady_clock::now() + limits_.head_timeout;
            for (const int socket : admitted_) waiting_.push_back({socket, deadline, {}});
            admitted_.clear();
        }

        descriptors.assign(1, pollfd{wake_read_, POLLIN, 0});
        auto next_deadline = std::chrono::steady_clock::time_point::max();
        for (const auto& connection : waiting_) {
            descriptors.push_back({connection.socket, POLLIN, 0});
            next_deadline = std::min(next_deadline, connection.deadline);
        }
        int timeout_ms = -1;
        if (!waiting_.empty()) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(next_deadline -
                                                                           std::chrono::steady_clock::now());
            timeout_ms = static_cast<int>(std::max<std::chrono::milliseconds::rep>(left.count(), 0));
        }
        const int events = ::poll(descriptors.data(), descriptors.size(), timeout_ms);
        if (events < 0 && errno != EINTR) {
            spdlog::error("http: poll failed: {}", std::error_code(errno, std::generic_category()).message());
            return;
        }
        if (descriptors[0].revents != 0) {
            std::array<char, 64> drained{};
            while (::read(wake_read_, drained.data(), drained.size()) > 0) {
            }
        }

        const auto now = std::chrono::steady_clock::now();
        std::vector<Waiting> still_waiting;
        still_waiting.reserve(waiting_.size());
        for (std::size_t i = 0; i < waiting_.size(); ++i) {
            Waiting& connection = waiting_[i];
            if (events > 0 && descriptors[i + 1].revents != 0 && receive(connection) != Progress::kWaiting) {
                continue;
            }
            if (now >= connection.deadline) {
                reject(connection.socket, 408, "Request Timeout", "");
                continue;
            }
            still_waiting.push_back(std::move(connection));
        }
        waiting_.swap(still_waiting);
    }
}

void ConnectionGate::work_loop() {
    for (;;) {
        Ready request;
        {
            std::unique_lock lock(mutex_);
            ready_changed_.wait(lock, [this] { return stopping_ || !ready_.empty(); });
            if (stopping_) return;
            request = std::move(ready_.front());
            ready_.pop_front();
        }
        serve_(request.socket, request.head);
        release(request.socket);
    }
}

}  // namespace indexer::http
