#include <indexer/http/http_server.hpp>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <charconv>
#include <chrono>
#include <mutex>
#include <thread>

namespace indexer::http {
namespace {

// Scrapes and probes are small and rare: a few workers are plenty.
constexpr std::size_t kWorkers = 4;

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
        server_.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
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
                    std::rethrow_exception(error);
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
    httplib::Server server_;
    std::mutex mutex_;
    ReadinessSource readiness_;
    std::thread thread_;
};

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& listen,
                                                      const metrics::Registry& registry) {
    auto address = parse_listen_address(listen);
    if (!address) return address.status();
    auto impl = std::make_unique<Impl>(registry, address->first);
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
