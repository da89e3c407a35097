// The operations endpoint over real loopback sockets.
#include <indexer/http/http_server.hpp>

#include "support/http.hpp"

#include <prometheus/counter.h>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace indexer::http {
namespace {

using testing::http;

class HttpServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        prometheus::BuildCounter()
            .Name("demo_things_total")
            .Help("Things.")
            .Register(registry_.families())
            .Add({{"kind", "a"}})
            .Increment(5);
        auto started = HttpServer::start("127.0.0.1:0", registry_);
        ASSERT_TRUE(started) << started.error();
        server_ = std::move(started.value());
        base_ = "http://127.0.0.1:" + std::to_string(server_->port());
    }

    metrics::Registry registry_;
    std::unique_ptr<HttpServer> server_;
    std::string base_;
};

TEST_F(HttpServerTest, ServesTheRegistryOnMetrics) {
    const auto response = http("GET", base_ + "/metrics");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body,
              "# HELP demo_things_total Things.\n"
              "# TYPE demo_things_total counter\n"
              "demo_things_total{kind=\"a\"} 5\n");
}

TEST_F(HttpServerTest, AnswersHealthzWhileRunning) {
    const auto response = http("GET", base_ + "/healthz");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "ok\n");
}

TEST_F(HttpServerTest, AnswersReadyzWith503UntilReadinessIsKnown) {
    auto response = http("GET", base_ + "/readyz");
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(nlohmann::json::parse(response.body)["not_ready"], nlohmann::json::array({"start-up"}));

    bool ready = true;
    server_->set_readiness([&ready] {
        health::ReadinessReport report;
        report.ready = ready;
        report.checks.push_back({"pipeline p: sink", ready, ready ? "ok" : "connection refused"});
        return report;
    });
    response = http("GET", base_ + "/readyz");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(nlohmann::json::parse(response.body)["ready"], true);

    ready = false;
    response = http("GET", base_ + "/readyz");
    EXPECT_EQ(response.status, 503);
    const auto body = nlohmann::json::parse(response.body);
    EXPECT_EQ(body["not_ready"], nlohmann::json::array({"pipeline p: sink"}));
    EXPECT_EQ(body["checks"][0]["detail"], "connection refused");
}

TEST_F(HttpServerTest, AnswersOtherPathsWith404) {
    EXPECT_EQ(http("GET", base_ + "/").status, 404);
}

TEST_F(HttpServerTest, RefusesToStartOnAPortInUse) {
    auto second = HttpServer::start("127.0.0.1:" + std::to_string(server_->port()), registry_);
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().find("cannot listen on 127.0.0.1:" + std::to_string(server_->port())),
              std::string::npos)
        << second.error();
}

}  // namespace
}  // namespace indexer::http
