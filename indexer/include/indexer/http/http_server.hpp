// The operations endpoint of `indexer run` (cpp-httplib, Debian's
// libcpp-httplib-dev):
//
//   GET /metrics   the metrics registry in the Prometheus text format 0.0.4
//   GET /healthz   200 "ok" while the process runs
//   GET /readyz    200 when ready, else 503; a JSON body names every check
//                  (health/readiness.hpp) and those that fail
//
// It listens on `http.listen` (127.0.0.1:9464 by default: loopback unless
// the configuration says otherwise). GET and HEAD only, no request bodies,
// 8 KiB of request head that must arrive within 5 s, one request per
// connection, at most 256 connections: slow or hostile clients cannot keep
// scrapes and probes waiting (README, "Limits of the endpoint").
#pragma once

#include <indexer/health/readiness.hpp>
#include <indexer/metrics/registry.hpp>
#include <indexer/util/status.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace indexer::http {

// "127.0.0.1:9464" -> {"127.0.0.1", 9464}; "[::1]:9464" -> {"::1", 9464}.
Result<std::pair<std::string, std::uint16_t>> parse_listen_address(const std::string& address);

class HttpServer {
public:
    using ReadinessSource = std::function<health::ReadinessReport()>;

    // Binds `listen` (port 0: any free port) and serves on background threads.
    // An error when the address cannot be bound (in use, not local).
    static Result<std::unique_ptr<HttpServer>> start(const std::string& listen,
                                                     const metrics::Registry& registry);
    ~HttpServer();  // stops serving
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Until it is set, /readyz answers 503 "starting". Thread-safe.
    void set_readiness(ReadinessSource source);

    const std::string& host() const noexcept;
    std::uint16_t port() const noexcept;

    class Impl;

private:
    explicit HttpServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace indexer::http
