// The operations endpoint against clients that are slow, silent or send what
// it never serves, over raw loopback sockets.
#include <indexer/http/http_server.hpp>

#include "support/http.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace indexer::http {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// What the README promises (Operating, "Limits of the endpoint").
constexpr auto kHeadTimeout = 5s;
constexpr std::size_t kMaxConnections = 256;

// A client socket that writes exactly what a test says, as slowly as it says.
class RawClient {
public:
    explicit RawClient(std::uint16_t port) : socket_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = socket_ >= 0 &&
                     ::connect(socket_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    }
    ~RawClient() {
        if (socket_ >= 0) ::close(socket_);
    }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    bool connected() const { return connected_; }

    // Sends what the socket takes without waiting; returns the bytes sent.
    std::size_t send_some(const std::string& data) {
        std::size_t sent = 0;
        while (sent < data.size()) {
            const ssize_t n =
                ::send(socket_, data.data() + sent, data.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n <= 0) break;
            sent += static_cast<std::size_t>(n);
        }
        return sent;
    }

    // Everything received until the server closes the connection or `limit` passes.
    struct Received {
        std::string data;
        bool closed = false;  // end of stream or reset
    };
    Received read_until_closed(Clock::duration limit) {
        Received received;
        const auto deadline = Clock::now() + limit;
        while (Clock::now() < deadline) {
            pollfd descriptor{socket_, POLLIN, 0};
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (::poll(&descriptor, 1, static_cast<int>(left.count()) + 1) <= 0) continue;
            char buffer[4096];
            const ssize_t n = ::recv(socket_, buffer, sizeof buffer, 0);
            if (n <= 0) {
                received.closed = true;
                return received;
            }
            received.data.append(buffer, static_cast<std::size_t>(n));
        }
        return received;
    }

    // Whether the server has neither answered nor closed the connection yet.
    bool still_open_and_unanswered() {
        char byte = 0;
        const ssize_t n = ::recv(socket_, &byte, 1, MSG_DONTWAIT | MSG_PEEK);

        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }

private:
    int socket_;
    bool connected_ = false;
};

class SlowClientsTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto started = HttpServer::start("127.0.0.1:0", registry_);
        ASSERT_TRUE(started) << started.error();
        server_ = std::move(started.value());
        metrics_url_ = "http://127.0.0.1:" + std::to_string(server_->port()) + "/metrics";
    }

    std::uint16_t port() const { return server_->port(); }

    metrics::Registry registry_;
    std::unique_ptr<HttpServer> server_;
    std::string metrics_url_;
};

TEST_F(SlowClientsTest, MetricsAnswersWithinASecondWhileFiftySlowClientsHoldConnections) {
    // Half connect and send nothing; half send a request one byte at a time.
    std::vector<std::unique_ptr<RawClient>> silent;
    std::vector<std::unique_ptr<RawClient>> trickling;
    const auto connecting_since = Clock::now();
    for (int i = 0; i < 25; ++i) {
        silent.push_back(std::make_unique<RawClient>(port()));
        trickling.push_back(std::make_unique<RawClient>(port()));
        ASSERT_TRUE(silent.back()->connected() && trickling.back()->connected());
    }
    const std::string slow_request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaa";

    // Well inside the head timeout, so that every slow client is still connected at the end.
    const auto until = connecting_since + kHeadTimeout - 2s;
    std::size_t trickled = 0;
    int scrapes = 0;
    while (Clock::now() < until && trickled < slow_request.size()) {
        for (auto& client : trickling) client->send_some(slow_request.substr(trickled, 1));
        ++trickled;
        // A raw client, so that a scrape that hangs fails the test in 2 s, not in curl's 60.
        const auto before = Clock::now();
        RawClient scrape(port());
        scrape.send_some("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        const auto answer = scrape.read_until_closed(2s);
        const auto took = Clock::now() - before;
        EXPECT_TRUE(answer.closed) << "scrape " << scrapes;
        EXPECT_EQ(answer.data.substr(0, 12), "HTTP/1.1 200") << "scrape " << scrapes << ": " << answer.data;
        EXPECT_LT(took, 1s) << "scrape " << scrapes;
        ++scrapes;
        std::this_thread::sleep_for(200ms);
    }
    EXPECT_GE(scrapes, 8);
    for (auto& client : silent) EXPECT_TRUE(client->still_open_and_unanswered());
    for (auto& client : trickling) EXPECT_TRUE(client->still_open_and_unanswered());
}

TEST_F(SlowClientsTest, DisconnectsSilentAndTricklingClientsAfterTheHeadTimeout) {
    RawClient silent(port());
    RawClient trickling(port());
    ASSERT_TRUE(silent.connected() && trickling.connected());
    const auto connected = Clock::now();

    // A byte every 250 ms keeps every single read short; the head as a whole is still late.
    const std::string slow_request = "GET /metrics HTTP/1.1\r\nX-Slow: " + std::string(100, 'a');
    for (std::size_t i = 0; i < slow_request.size() && Clock::now() - connected < kHeadTimeout + 2s; ++i) {
        if (!trickling.still_open_and_unanswered() || trickling.send_some(slow_request.substr(i, 1)) == 0)
            break;
        std::this_thread::sleep_for(250ms);
    }
    const auto trickling_answer = trickling.read_until_closed(3s);
    const auto silent_answer = silent.read_until_closed(3s);
    const auto took = Clock::now() - connected;

    EXPECT_TRUE(trickling_answer.closed);
    EXPECT_TRUE(silent_answer.closed);
    EXPECT_EQ(trickling_answer.data.substr(0, 12), "HTTP/1.1 408") << trickling_answer.data;
    EXPECT_EQ(silent_answer.data.substr(0, 12), "HTTP/1.1 408") << silent_answer.data;
    EXPECT_GE(took, kHeadTimeout);
    EXPECT_LT(took, kHeadTimeout + 3s);
}

TEST_F(SlowClientsTest, RefusesAOneMegabytePostWithoutWaitingForItsBody) {
    RawClient client(port());
    ASSERT_TRUE(client.connected());
    const auto before = Clock::now();
    // The head announces 1 MiB and only a first part follows: a server that read
    // the body would wait for the rest until its read timeout.
    client.send_some("POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1048576\r\n\r\n" +
                     std::string(64 * 1024, 'x'));
    const auto answer = client.read_until_closed(3s);

    EXPECT_LT(Clock::now() - before, 1s);
    EXPECT_EQ(answer.data.substr(0, 12), "HTTP/1.1 405") << answer.data;
    EXPECT_NE(answer.data.find("Allow: GET, HEAD\r\n"), std::string::npos) << answer.data;
    EXPECT_TRUE(answer.closed);
}

TEST_F(SlowClientsTest, RefusesEveryMethodButGetAndHead) {
    for (const std::string method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "get"}) {
        EXPECT_EQ(testing::http(method, metrics_url_).status, 405) << method;
    }
}

TEST_F(SlowClientsTest, RefusesAGetThatAnnouncesABody) {
    for (const std::string header :
         {"Content-Length: 5", "content-length:  12", "Transfer-Encoding: chunked"}) {
        RawClient client(port());
        ASSERT_TRUE(client.connected());
        client.send_some("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n" + header + "\r\n\r\n");
        const auto answer = client.read_until_closed(3s);
        EXPECT_EQ(answer.data.substr(0, 12), "HTTP/1.1 413") << header << ": " << answer.data;
    }
}

TEST_F(SlowClientsTest, ServesAGetWithAnEmptyBody) {
    RawClient client(port());
    ASSERT_TRUE(client.connected());
    client.send_some("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
    const auto answer = client.read_until_closed(3s);
    EXPECT_EQ(answer.data.substr(0, 12), "HTTP/1.1 200") << answer.data;
    EXPECT_TRUE(answer.data.ends_with("\r\n\r\nok\n")) << answer.data;
}

TEST_F(SlowClientsTest, RefusesAHundredKilobyteHeader) {
    RawClient client(port());
    ASSERT_TRUE(client.connected());
    const auto before = Clock::now();
    client.send_some("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(100 * 1024, 'a') +
                     "\r\n\r\n");
    const auto answer = client.read_until_closed(3s);
    EXPECT_LT(Clock::now() - before, 1s);
    EXPECT_EQ(answer.data.substr(0, 12), "HTTP/1.1 431") << answer.data;
    EXPECT_TRUE(answer.closed);
}

TEST_F(SlowClientsTest, ServesAHeadJustUnderTheLimitAndRefusesOneByteMore) {
    const std::string start = "GET /healthz HTTP/1.1\r\nX-Fill: ";
    const std::string end = "\r\n\r\n";
    const std::size_t limit = 8192;
    for (const std::size_t size : {limit, limit + 1}) {
        RawClient client(port());
        ASSERT_TRUE(client.connected());
        client.send_some(start + std::string(size - start.size() - end.size(), 'a') + end);
        const auto answer = client.read_until_closed(3s);
        EXPECT_EQ(answer.data.substr(0, 12), size == limit ? "HTTP/1.1 200" : "HTTP/1.1 431")
            << size << ": " << answer.data.substr(0, 200);
    }
}

TEST_F(SlowClientsTest, AnswersHeadWithTheHeadersOfGetAndNoBody) {
    RawClient client(port());
    ASSERT_TRUE(client.connected());
    client.send_some("HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const auto answer = client.read_until_closed(3s);
    EXPECT_EQ(answer.data.substr(0, 12), "HTTP/1.1 200") << answer.data;
    EXPECT_TRUE(answer.data.ends_with("\r\n\r\n")) << answer.data;
    EXPECT_TRUE(answer.closed);
}

TEST_F(SlowClientsTest, ClosesConnectionsBeyondTheLimitAtOnceAndServesAgainWhenTheyGo) {
    std::vector<std::unique_ptr<RawClient>> holding;
    for (std::size_t i = 0; i < kMaxConnections; ++i) {
        holding.push_back(std::make_unique<RawClient>(port()));
        ASSERT_TRUE(holding.back()->connected()) << i;
    }
    // The connections above are admitted in the order they were accepted: once the
    // last of them is held, a new one is over the limit.
    RawClient over(port());
    ASSERT_TRUE(over.connected());
    over.send_some("GET /healthz HTTP/1.1\r\n\r\n");
    const auto refused = over.read_until_closed(2s);
    EXPECT_TRUE(refused.closed);
    EXPECT_EQ(refused.data, "");

    holding.clear();
    const auto deadline = Clock::now() + 2s;
    long status = 0;
    while (status != 200 && Clock::now() < deadline) status = testing::http("GET", metrics_url_).status;
    EXPECT_EQ(status, 200);
}

}  // namespace
}  // namespace indexer::http
