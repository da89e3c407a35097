// One non-blocking TCP connection to one memcached server. The caller drives
// it with poll(); nothing here blocks except name resolution.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "indexer/sinks/memcached/config.hpp"

namespace indexer::memcached_sink {

class Connection {
public:
    enum class State { Closed, Connecting, Open };

    explicit Connection(ServerAddress address);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    Connection(Connection&& other) noexcept;
    Connection& operator=(Connection&&) = delete;

    const ServerAddress& address() const noexcept { return address_; }
    State state() const noexcept { return state_; }
    int fd() const noexcept { return fd_; }

    // Resolves the address and starts connecting: Connecting or Open after
    // it, or an error (state Closed).
    std::optional<std::string> start_connect();
    // Called when the socket is writable (or failed) while Connecting: Open,
    // still Connecting (to the next address), or an error (Closed).
    std::optional<std::string> continue_connect();

    // True when an idle open connection can carry new requests: the server
    // has not closed it and nothing unrequested is waiting to be read.
    bool reusable();
    void close() noexcept;

    struct Io {
        std::size_t bytes = 0;  // 0 when the socket would block
        bool closed = false;    // the server closed the connection
        std::optional<std::string> error;
    };
    Io send(std::string_view data);
    // Appends what is available to `into`, about `max_bytes` at most.
    Io receive(std::string& into, std::size_t max_bytes = SIZE_MAX);

private:
    std::optional<std::string> connect_from(std::size_t first_address);

    ServerAddress address_;
    State state_ = State::Closed;
    int fd_ = -1;
    std::vector<sockaddr_storage> addresses_;
    std::vector<socklen_t> address_lengths_;
    std::size_t current_address_ = 0;
};

}  // namespace indexer::memcached_sink
