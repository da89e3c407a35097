// The one HTTP client of the sink: libcurl's multi interface, a fixed pool of
// easy handles reused between calls (so connections persist), several
// requests in flight at once.
#pragma once

#include <indexer/sink.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "indexer/sinks/elasticsearch/config.hpp"

namespace indexer::sinks::elasticsearch {

struct HttpRequest {
    std::string_view method = "GET";  // GET, HEAD, POST, PUT or DELETE (with a body)
    std::string url;                  // never with credentials (they travel in headers)
    std::string_view body;            // must stay valid until the request completes
    std::string_view content_type;    // empty = no Content-Type
    bool gzipped = false;             // body is gzip: send Content-Encoding: gzip
};

struct HttpResponse {
    long status = 0;    // 0 = no answer (refused, timed out, reset...)
    std::string body;   // the answer's body, decompressed
    std::string error;  // for status 0: what curl saw, with the URL; no credentials
    // The caller's deadline passed or it was told to stop: the request was
    // dropped unfinished (status 0), which says nothing about the server.
    bool abandoned = false;
};

struct TransportOptions {
    std::chrono::milliseconds connect_timeout{5'000};
    std::chrono::milliseconds request_timeout{60'000};
    Auth auth;
    Tls tls;
    bool accept_gzip = true;
    std::size_t max_in_flight = 4;
};

struct Completion {
    std::uint64_t tag;
    HttpResponse response;
};

class HttpTransport {
public:
    // No I/O: connections open with the first requests.
    explicit HttpTransport(TransportOptions options);
    ~HttpTransport();
    HttpTransport(const HttpTransport&) = delete;
    HttpTransport& operator=(const HttpTransport&) = delete;

    std::size_t capacity() const noexcept;
    std::size_t in_flight() const noexcept;

    // Starts a request (requires in_flight() < capacity()). `tag` comes back
    // with its completion.
    void start(std::uint64_t tag, const HttpRequest& request);

    // Blocks until at least one started request has finished and returns all
    // that have. Returns nothing when nothing is in flight. When `control`
    // says to return (deadline, stop), every request still in flight is
    // dropped and comes back abandoned; stop is checked every 50 ms.
    std::vector<Completion> wait(const indexer::sdk::WriteControl& control = {});

    // One request from start to end (requires a free slot), bounded likewise.
    HttpResponse perform(const HttpRequest& request, const indexer::sdk::WriteControl& control = {});

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace indexer::sinks::elasticsearch
