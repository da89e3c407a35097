#include "support/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <list>
#include <stdexcept>
#include <vector>

namespace indexer::testing {
namespace {

void set_nonblocking(int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int connect_upstream(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return -1;
    int fd = -1;
    for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(found);
    if (fd >= 0) {
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        set_nonblocking(fd);
    }
    return fd;
}

// One direction of a forwarded connection.
struct Pipe {
    int from = -1;
    int to = -1;
    std::string pending;  // read from `from`, not yet written to `to`
    bool eof = false;     // `from` is done sending
    bool shut = false;    // the end of data was passed on to `to`
};

struct Connection {
    Pipe up;    // client -> upstream
    Pipe down;  // upstream -> client
    bool broken = false;
    bool done() const { return broken || (up.shut && down.shut); }
};

constexpr std::size_t kChunk = 64 * 1024;

// Moves what it can in one direction without blocking.
void pump(Pipe& pipe, short revents_from, short revents_to, bool& broken,
          std::atomic<std::uint64_t>* counter) {
    if ((revents_from & (POLLIN | POLLHUP | POLLERR)) != 0 && pipe.pending.empty() && !pipe.eof) {
        char buffer[kChunk];
        const ssize_t n = read(pipe.from, buffer, sizeof buffer);
        if (n > 0) {
            pipe.pending.assign(buffer, static_cast<std::size_t>(n));
            if (counter != nullptr) *counter += static_cast<std::uint64_t>(n);
        } else if (n == 0) {
            pipe.eof = true;
        } else if (errno != EAGAIN && errno != EINTR) {
            broken = true;
            return;
        }
    }
    if (!pipe.pending.empty() && ((revents_to & POLLOUT) != 0 || revents_from != 0)) {
        const ssize_t n = send(pipe.to, pipe.pending.data(), pipe.pending.size(), MSG_NOSIGNAL);
        if (n > 0) {
            pipe.pending.erase(0, static_cast<std::size_t>(n));
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            broken = true;
            return;
        }
    }
    if (pipe.eof && pipe.pending.empty() && !pipe.shut) {
        shutdown(pipe.to, SHUT_WR);
        pipe.shut = true;
    }
}

}  // namespace

TcpProxy::TcpProxy(std::string upstream_host, std::uint16_t upstream_port)
    : upstream_host_(std::move(upstream_host)), upstream_port_(upstream_port) {}

std::unique_ptr<TcpProxy> TcpProxy::for_url(const std::string& url) {
    const auto scheme = url.find("://");
    std::string authority = url.substr(scheme == std::string::npos ? 0 : scheme + 3);
    authority = authority.substr(0, authority.find('/'));
    const auto colon = authority.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("TcpProxy::for_url: no port in " + url);
    return std::make_unique<TcpProxy>(authority.substr(0, colon),
                                      static_cast<std::uint16_t>(std::stoi(authority.substr(colon + 1))));
}

TcpProxy::~TcpProxy() {
    stop();
}

void TcpProxy::reset_counters() noexcept {
    accepted_ = 0;
    max_open_ = 0;
    bytes_up_ = 0;
}

void TcpProxy::start() {
    if (thread_.joinable()) return;
    // Close-on-exec everywhere: a child process the test starts (the indexer)
    // must not inherit the listener, or connections would still be accepted
    // into its backlog after stop() and hang instead of being refused.
    const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0) throw std::runtime_error(std::string("TcpProxy: socket: ") + std::strerror(errno));
    const int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port_);
    if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        listen(listener, 64) != 0) {
        const std::string reason = std::strerror(errno);
        close(listener);
        throw std::runtime_error("TcpProxy: cannot listen on 127.0.0.1:" + std::to_string(port_) + ": " +
                                 reason);
    }
    socklen_t length = sizeof address;
    getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    set_nonblocking(listener);
    int wake[2];
    if (pipe2(wake, O_CLOEXEC) != 0) {
        close(listener);
        throw std::runtime_error("TcpProxy: pipe failed");
    }
    wake_write_ = wake[1];
    thread_ = std::thread([this, listener, wake_read = wake[0]] { run(listener, wake_read); });
}

void TcpProxy::pause(bool paused) {
    paused_ = paused;
    if (!thread_.joinable()) return;
    const char byte = 'p';  // poll again with the new state
    [[maybe_unused]] const ssize_t n = write(wake_write_, &byte, 1);
}

void TcpProxy::stop() {
    if (!thread_.joinable()) return;
    const char byte = 's';
    [[maybe_unused]] const ssize_t n = write(wake_write_, &byte, 1);
    thread_.join();
    close(wake_write_);
    wake_write_ = -1;
}

void TcpProxy::run(int listener, int wake) {
    std::list<Connection> connections;
    std::vector<pollfd> fds;
    for (;;) {
        fds.clear();
        fds.push_back({wake, POLLIN, 0});
        fds.push_back({listener, POLLIN, 0});
        const bool paused = paused_;
        for (auto& c : connections) {
            const auto events = [paused](const Pipe& in, const Pipe& out) {
                short e = 0;
                if (paused) return e;
                if (in.pending.empty() && !in.eof) e |= POLLIN;
                if (!out.pending.empty()) e |= POLLOUT;
                return e;
            };
            fds.push_back({c.up.from, events(c.up, c.down), 0});    // the client's socket
            fds.push_back({c.down.from, events(c.down, c.up), 0});  // the upstream socket
        }
        if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) break;
        if (fds[0].revents != 0) {
            char byte = 0;
            if (read(wake, &byte, 1) != 1 || byte == 's') break;
            continue;
        }
        std::size_t k = 2;
        for (auto& c : connections) {
            if (paused) break;
            const short client = fds[k].revents;
            const short upstream = fds[k + 1].revents;
            k += 2;
            pump(c.up, client, upstream, c.broken, &bytes_up_);
            if (!c.broken) pump(c.down, upstream, client, c.broken, nullptr);
        }
        for (auto it = connections.begin(); it != connections.end();) {
            if (!it->done()) {
                ++it;
                continue;
            }
            close(it->up.from);
            close(it->down.from);
            it = connections.erase(it);
        }
        if ((fds[1].revents & POLLIN) != 0) {
            for (;;) {
                const int client = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
                if (client < 0) break;
                const int upstream = connect_upstream(upstream_host_, upstream_port_);
                if (upstream < 0) {
                    close(client);
                    continue;
                }
                set_nonblocking(client);
                ++accepted_;
                Connection c;
                c.up.from = c.down.to = client;
                c.up.to = c.down.from = upstream;
                connections.push_back(std::move(c));
                if (connections.size() > max_open_) max_open_ = connections.size();
            }
        }
    }
    for (auto& c : connections) {
        close(c.up.from);
        close(c.down.from);
    }
    close(listener);
    close(wake);
}

}  // namespace indexer::testing
