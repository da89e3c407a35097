// Streams `lru_crawler metadump all` from one memcached server, one key at a
// time, on a connection of its own. The server writes the dump as fast as it
// is read: between two calls it waits in the socket buffers, so memory stays
// bounded by them and by one line, however many keys the server holds.
#pragma once

#include <indexer/sink.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "indexer/sinks/memcached/config.hpp"
#include "indexer/sinks/memcached/connection.hpp"

namespace indexer::memcached_sink {

class KeyDump {
public:
    // No I/O: the first next() connects and asks for the dump.
    KeyDump(ServerAddress address, std::chrono::milliseconds connect_timeout,
            std::chrono::milliseconds io_timeout);

    enum class Step {
        Key,          // `key` holds the next key
        End,          // the dump is complete
        Failed,       // `error` says why; the dump is over
        Interrupted,  // `error` says why (deadline, stop); next() goes on from here
    };
    Step next(std::string& key, std::string& error, const indexer::sdk::WriteControl& control);

private:
    Step fail(std::string reason, std::string& error);
    // A complete line from the buffer, when there is one.
    bool take_line(std::string_view& line);

    Connection connection_;
    std::chrono::milliseconds connect_timeout_;
    std::chrono::milliseconds io_timeout_;
    bool started_ = false;
    bool over_ = false;
    std::string request_;
    std::size_t sent_ = 0;
    std::string in_;
    std::size_t consumed_ = 0;
};

}  // namespace indexer::memcached_sink
