#include <indexer/http/http_server.hpp>

#include "connection_gate.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>

namespace indexer::http {
namespace {

// Scrapes and probes are small and rare: a few workers are plenty, as long as
// none of them waits for a slow client (see ConnectionGate).
constexpr ConnectionLimits kLimits{};
constexpr std::chrono::seconds kWriteTimeout{5};

// cpp-httplib's own pool would hand every accepted connection to a worker;
// the gate decides instead, so the listening thread passes connections on.
// httplib shuts the queue down when it stops listening: the gate stops then.
class PassOnTaskQueue final : public httplib::TaskQueue {
public:
    explicit PassOnTaskQueue(ConnectionGate& gate) : gate_(gate) {}
    void enqueue(std::function<void()> task) override { task(); }
    void shutdown() override { gate_.stop(); }

private:
    ConnectionGate& gate_;
};

bool wait_for(int socket, short event, std::chrono::microseconds timeout) {
    pollfd descriptor{socket, event, 0};
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left =
            std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        const int ready = ::poll(&descriptor, 1,
                                 static_cast<int>(std::max<std::chrono::milliseconds::rep>(left.count(), 0)));
        if (ready >= 0 || errno != EINTR) return ready > 0;
    }
}

void numeric_address(int socket, bool peer, std::string& ip, int& port) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    auto* raw = reinterpret_cast<sockaddr*>(&address);
    if ((peer ? ::getpeername(socket, raw, &length) : ::getsockname(socket, raw, &length)) != 0) return;
    std::array<char, NI_MAXHOST> host{};
    std::array<char, NI_MAXSERV> service{};
    if (::getnameinfo(raw, length, host.data(), host.size(), service.data(), service.size(),
                      NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        return;
    }
    ip = host.data();
    port = std::atoi(service.data());
}

// A connection whose request head the gate has already read: httplib reads
// the head from memory, and writes the answer to the socket.
class ReceivedHeadStream final : public httplib::Stream {
public:
    ReceivedHeadStream(int socket, const std::string& head, std::chrono::microseconds write_timeout)
        : socket_(socket), head_(head), write_timeout_(write_timeout) {}

    bool is_readable() const override { return offset_ < head_.size(); }
    bool is_writable() const override { return wait_for(socket_, POLLOUT, write_timeout_); }

    // Nothing after the head is read: the gate lets no request with a body through.
    ssize_t read(char* data, size_t size) override {
        const std::size_t count = std::min(size, head_.size() - offset_);
        std::memcpy(data, head_.data() + offset_, count);
        offset_ += count;
        return static_cast<ssize_t>(count);
    }
    ssize_t write(const char* data, size_t size) override {
        if (!is_writable()) return -1;
        for (;;) {
            const ssize_t sent = ::send(socket_, data, size, MSG_NOSIGNAL);
            if (sent >= 0 || errno != EINTR) return sent;
        }
    }
    void get_remote_ip_and_port(std::string& ip, int& port) const override {
        numeric_address(socket_, true, ip, port);
    }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
        numeric_address(socket_, false, ip, port);
    }
    socket_t socket() const override { return socket_; }

private:
    int socket_;
    const std::string& head_;
    std::size_t offset_ = 0;
    std::chrono::microseconds write_timeout_;
};

class GatedServer final : public httplib::Server {
public:
    GatedServer() : gate_(kLimits, [this](int socket, const std::string& head) { serve(socket, head); }) {
        new_task_queue = [this] { return new PassOnTaskQueue(gate_); };
        // The gate enforces these; httplib is told them too, so that no path of
        // its own reads more or waits longer.
        set_read_timeout(std::chrono::duration_cast<std::chrono::seconds>(kLimits.head_timeout));
        set_write_timeout(kWriteTimeout);
        set_keep_alive_max_count(1);
        set_keep_alive_timeout(1);
        set_payload_max_length(0);
    }

    // cpp-httplib 0.11 listens with a backlog of 5: a burst of slow clients
    // would make a scrape's connect wait for SYN retransmissions, a second or
    // more, before the gate ever sees it. Linux takes a new backlog from a
    // second listen().
    void widen_backlog() { ::listen(svr_sock_, SOMAXCONN); }

private:
    // Runs on the listening thread (PassOnTaskQueue): hands the socket over without waiting.
    bool process_and_close_socket(socket_t socket) override {
        gate_.admit(socket);
        return true;
    }

    void serve(int socket, const std::string& head) {
        ReceivedHeadStream stream(
            socket, head,
            std::chrono::seconds(write_timeout_sec_) + std::chrono::microseconds(write_timeout_usec_));
        bool connection_closed = false;
        process_request(stream, true, connection_closed, [](httplib::Request&) {});
    }

    ConnectionGate gate_;
};

std::string starting_body() {
    health::ReadinessReport report;
    report.checks.push_back({"start-up", false, "pipelines are starting"});
    return report.to_json();
}

}  // namespace

Result<std::pair<std::string, std::uint16_t>> parse_listen_address(const std::string& address) {
    const std::size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        return Status::error("listen address \"" + address + "\" is not host:port");
    }
    std::string host = address.substr(0, colon);
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']') {
            return Status::error("listen address \"" + address + "\": an IPv6 host is written [host]");
        }
        host = host.substr(1, host.size() - 2);
    }
    const std::string port_text = address.substr(colon + 1);
    unsigned port = 0;
    const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() ||
        port > 65535) {
        return Status::error("listen address \"" + address + "\": the port is not a number from 0 to 65535");
    }
    return std::make_pair(host, static_cast<std::uint16_t>(port));
}

class HttpServer::Impl {
public:
    Impl(const metrics::Registry& registry, std::string host) : registry_(registry), host_(std::move(host)) {
        // cpp-httplib's default adds SO_REUSEPORT, with which a second indexer on the
        // same host would share the port silently and answer every other scrape.
        server_.set_socket_options([](socket_t socket) {
            const int yes = 1;
            ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        });
        server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
            response.set_content(registry_.render(), std::string(metrics::kTextContentType).c_str());
        });
        server_.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
            response.set_content("ok\n", "text/plain; charset=utf-8");
        });
        server_.Get("/readyz", [this](const httplib::Request&, httplib::Response& response) {
            ReadinessSource source;
            {
                std::lock_guard lock(mutex_);
                source = readiness_;
            }
            if (!source) {
                response.status = 503;
                response.set_content(starting_body(), "application/json");
                return;
            }
            const health::ReadinessReport report = source();
            response.status = report.ready ? 200 : 503;
            response.set_content(report.to_json(), "application/json");
        });
        server_.set_exception_handler(
            [](const httplib::Request& request, httplib::Response& response, std::exception_ptr error) {
                std::string what = "unknown error";
                try {
                    std::rethrow_exception(std::move(error));
                } catch (const std::exception& exception) {
                    what = exception.what();
                } catch (...) {
                }
                spdlog::error("http: {} {}: {}", request.method, request.path, what);
                response.status = 500;
                response.set_content("internal error\n", "text/plain; charset=utf-8");
            });
    }

    ~Impl() {
        server_.stop();
        if (thread_.joinable()) thread_.join();
    }

    Status listen(std::uint16_t port) {
        if (port == 0) {
            const int bound = server_.bind_to_any_port(host_);
            if (bound <= 0) return Status::error("cannot listen on " + host_ + ": no free port");
            port_ = static_cast<std::uint16_t>(bound);
        } else {
            if (!server_.bind_to_port(host_, port)) {
                return Status::error(fmt::format(
                    "cannot listen on {}:{} (in use, or not an address of this host)", host_, port));
            }
            port_ = port;
        }
        server_.widen_backlog();
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        // stop() does nothing to a server whose thread has not begun listening yet.
        for (int waited_ms = 0; !server_.is_running(); ++waited_ms) {
            if (waited_ms == 5000) return Status::error("the HTTP server did not start listening");
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return Status::ok();
    }

    void set_readiness(ReadinessSource source) {
        std::lock_guard lock(mutex_);
        readiness_ = std::move(source);
    }

    const std::string& host() const noexcept { return host_; }
    std::uint16_t port() const noexcept { return port_; }

private:
    const metrics::Registry& registry_;
    std::string host_;
    std::uint16_t port_ = 0;
    GatedServer server_;
    std::mutex mutex_;
    ReadinessSource readiness_;
    std::thread thread_;
};

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& listen,
                                                      const metrics::Registry& registry) {
    auto address = parse_listen_address(listen);
    if (!address) return address.status();
    std::unique_ptr<Impl> impl;
    try {
        impl = std::make_unique<Impl>(registry, address->first);
    } catch (const std::system_error& error) {
        return Status::error(error.what());
    }
    INDEXER_RETURN_IF_ERROR(impl->listen(address->second));
    spdlog::info("serving /metrics, /healthz and /readyz on http://{}:{}",
                 impl->host().find(':') != std::string::npos ? "[" + impl->host() + "]" : impl->host(),
                 impl->port());
    return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;

void HttpServer::set_readiness(ReadinessSource source) {
    impl_->set_readiness(std::move(source));
}
const std::string& HttpServer::host() const noexcept {
    return impl_->host();
}
std::uint16_t HttpServer::port() const noexcept {
    return impl_->port();
}

}  // namespace indexer::http
