// Admission of connections to the operations endpoint, in front of cpp-httplib.
//
// cpp-httplib 0.11 gives each accepted connection to a worker that then waits
// for the request, and its ThreadPool queues without bound: a few clients that
// connect and send nothing (or one byte a second) hold every worker, and
// /metrics and /readyz stop answering. The gate instead waits for request heads
// on one poll() thread, answers what the endpoint never serves itself (other
// methods, request bodies, oversized heads) without reading further, and gives
// a worker only a connection whose whole head has arrived.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace indexer::http {

struct ConnectionLimits {
    std::size_t workers = 4;
    // Complete requests waiting for a worker; beyond it a request gets 503.
    std::size_t max_queued_requests = 16;
    // Every connection the gate holds (waiting for its head, queued, served);
    // a connection beyond it is closed as soon as it is accepted.
    std::size_t max_connections = 256;
    // Request line and headers; a request may have no body.
    std::size_t max_head_bytes = 8192;
    // From accept to the end of the head.
    std::chrono::milliseconds head_timeout{5000};
};

class ConnectionGate {
public:
    // serve(socket, head) runs on a worker with the request's head (request
    // line and headers up to the blank line) already read from the socket.
    // The gate closes the socket once serve returns.
    using Serve = std::function<void(int socket, const std::string& head)>;

    ConnectionGate(ConnectionLimits limits, Serve serve);
    ~ConnectionGate();  // stop()
    ConnectionGate(const ConnectionGate&) = delete;
    ConnectionGate& operator=(const ConnectionGate&) = delete;

    // Lets the requests being served finish, closes every other connection it
    // holds and joins its threads. Idempotent.
    void stop();

    // Takes ownership of an accepted socket. Never blocks.
    void admit(int socket);

private:
    struct Waiting {
        int socket;
        std::chrono::steady_clock::time_point deadline;
        std::string received;
    };
    struct Ready {
        int socket;
        std::string head;
    };
    enum class Progress { kWaiting, kHandedOver, kClosed };

    void poll_loop();
    void work_loop();
    Progress receive(Waiting& connection);
    void reject(int socket, int status, const char* reason, const char* extra_headers);
    void release(int socket);
    void wake_poller();

    const ConnectionLimits limits_;
    const Serve serve_;
    int wake_read_ = -1;
    int wake_write_ = -1;

    std::mutex mutex_;
    std::condition_variable ready_changed_;
    bool stopping_ = false;
    std::size_t open_connections_ = 0;
    std::vector<int> admitted_;  // handed from admit() to the poller
    std::deque<Ready> ready_;

    std::vector<Waiting> waiting_;  // the poller's alone
    bool stopped_ = false;          // stop()'s alone
    std::thread poller_;
    std::vector<std::thread> workers_;
};

}  // namespace indexer::http
