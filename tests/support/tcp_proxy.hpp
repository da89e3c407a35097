// A TCP forwarder for tests that need a server to go away and come back
// without stopping the shared service: the suite points a client at the
// proxy, then stops it (connections are refused, open ones are cut) and
// starts it again on the same port.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace indexer::testing {

class TcpProxy {
public:
    // Forwards 127.0.0.1:port() to upstream_host:upstream_port once started.
    TcpProxy(std::string upstream_host, std::uint16_t upstream_port);
    // "http://host:port" as in INDEXER_TEST_ELASTICSEARCH.
    static std::unique_ptr<TcpProxy> for_url(const std::string& url);
    ~TcpProxy();
    TcpProxy(const TcpProxy&) = delete;
    TcpProxy& operator=(const TcpProxy&) = delete;

    // Listens: on a free port the first time, on the same port after stop().
    // Throws std::runtime_error when the port cannot be bound.
    void start();
    // Stops listening and closes every forwarded connection.
    void stop();
    // While paused the proxy still accepts connections but forwards nothing:
    // a server that hangs. Resuming forwards what waited.
    void pause(bool paused);

    std::uint16_t port() const noexcept { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

    // Counters since construction (or the last reset).
    std::uint64_t connections_accepted() const noexcept { return accepted_; }
    std::uint64_t max_open_connections() const noexcept { return max_open_; }
    std::uint64_t bytes_to_upstream() const noexcept { return bytes_up_; }
    void reset_counters() noexcept;

private:
    void run(int listener, int wake);

    std::string upstream_host_;
    std::uint16_t upstream_port_;
    std::uint16_t port_ = 0;
    int wake_write_ = -1;
    std::atomic<bool> paused_{false};
    std::thread thread_;
    std::atomic<std::uint64_t> accepted_{0};
    std::atomic<std::uint64_t> max_open_{0};
    std::atomic<std::uint64_t> bytes_up_{0};
};

}  // namespace indexer::testing
