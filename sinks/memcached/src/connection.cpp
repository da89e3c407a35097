#include "indexer/sinks/memcached/connection.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace indexer::memcached_sink {
namespace {

std::string errno_text(const char* what, int error) {
    return std::string(what) + ": " + std::system_category().message(error);
}

}  // namespace

Connection::Connection(ServerAddress address) : address_(std::move(address)) {}

Connection::~Connection() {
    close();
}

Connection::Connection(Connection&& other) noexcept
    : address_(std::move(other.address_)),
      state_(std::exchange(other.state_, State::Closed)),
      fd_(std::exchange(other.fd_, -1)),
      addresses_(std::move(other.addresses_)),
      address_lengths_(std::move(other.address_lengths_)),
      current_address_(other.current_address_) {}

void Connection::close() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    state_ = State::Closed;
}

std::optional<std::string> Connection::start_connect() {
    close();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(address_.port);
    // Resolved on every connect so that a changed DNS entry is followed.
    const int rc = ::getaddrinfo(address_.host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) return std::string("resolve: ") + ::gai_strerror(rc);
    addresses_.clear();
    address_lengths_.clear();
    for (const addrinfo* it = found; it != nullptr; it = it->ai_next) {
        sockaddr_storage storage{};
        std::memcpy(&storage, it->ai_addr, it->ai_addrlen);
        addresses_.push_back(storage);
        address_lengths_.push_back(it->ai_addrlen);
    }
    ::freeaddrinfo(found);
    if (addresses_.empty()) return std::string("resolve: no address");
    return connect_from(0);
}

std::optional<std::string> Connection::connect_from(std::size_t first_address) {
    std::string last_error = "connect: no address left";
    for (std::size_t i = first_address; i < addresses_.size(); ++i) {
        const auto* address = reinterpret_cast<const sockaddr*>(&addresses_[i]);
        fd_ = ::socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd_ < 0) {
            last_error = errno_text("socket", errno);
            continue;
        }
        const int one = 1;
        // Requests are written in large pipelined chunks; small tails must not wait.
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        current_address_ = i;
        if (::connect(fd_, address, address_lengths_[i]) == 0) {
            state_ = State::Open;
            return std::nullopt;
        }
        if (errno == EINPROGRESS) {
            state_ = State::Connecting;
            return std::nullopt;
        }
        last_error = errno_text("connect", errno);
        close();
    }
    return last_error;
}

std::optional<std::string> Connection::continue_connect() {
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    if (error == 0) {
        state_ = State::Open;
        return std::nullopt;
    }
    close();
    // Several addresses (IPv6 and IPv4 for "localhost"): try the next one.
    if (current_address_ + 1 < addresses_.size()) return connect_from(current_address_ + 1);
    return errno_text("connect", error);
}

bool Connection::reusable() {
    if (state_ != State::Open) return false;
    pollfd probe{fd_, POLLIN, 0};
    const int ready = ::poll(&probe, 1, 0);
    // Readable while idle means closed by the server, or bytes nobody asked for.
    if (ready == 0) return true;
    close();
    return false;
}

Connection::Io Connection::send(std::string_view data) {
    Io io;
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
        io.bytes = static_cast<std::size_t>(n);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        io.error = errno_text("send", errno);
    }
    return io;
}

Connection::Io Connection::receive(std::string& into, std::size_t max_bytes) {
    Io io;
    char buffer[64 * 1024];
    while (io.bytes < max_bytes) {
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n > 0) {
            into.append(buffer, static_cast<std::size_t>(n));
            io.bytes += static_cast<std::size_t>(n);
            if (static_cast<std::size_t>(n) < sizeof buffer) return io;
            continue;
        }
        if (n == 0) {
            io.closed = true;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            io.error = errno_text("recv", errno);
        }
        return io;
    }
    return io;
}

}  // namespace indexer::memcached_sink
