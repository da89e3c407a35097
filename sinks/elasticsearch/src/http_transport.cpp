#include "indexer/sinks/elasticsearch/http_transport.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace indexer::sinks::elasticsearch {
namespace {

constexpr std::uint64_t kPerformTag = std::numeric_limits<std::uint64_t>::max();

void global_init_once() {
    // Safe to call from several threads with libcurl >= 7.84; the static
    // makes it happen once per loaded plugin.
    static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK)
        throw std::runtime_error(std::string("curl_global_init: ") + curl_easy_strerror(code));
}

size_t append_body(char* data, size_t size, size_t count, void* user) {
    static_cast<std::string*>(user)->append(data, size * count);
    return size * count;
}

std::string without_query(const std::string& url) {
    return url.substr(0, url.find('?'));
}

}  // namespace

struct HttpTransport::Impl {
    struct Slot {
        CURL* easy = nullptr;
        curl_slist* headers = nullptr;
        std::string url;
        std::string method;
        std::string response;
        char error[CURL_ERROR_SIZE] = {};
        std::uint64_t tag = 0;
        bool busy = false;
    };

    TransportOptions options;
    std::string authorization;  // "Authorization: ..." for api keys and tokens
    CURLM* multi = nullptr;
    std::vector<Slot> slots;
    std::size_t busy = 0;
    std::vector<Completion> finished;  // collected but not yet returned

    explicit Impl(TransportOptions opts) : options(std::move(opts)) {
        global_init_once();
        if (options.auth.kind == AuthKind::ApiKey)
            authorization = "Authorization: ApiKey " + options.auth.api_key;
        if (options.auth.kind == AuthKind::Bearer) {
            authorization = "Authorization: Bearer " + options.auth.bearer_token;
        }
        multi = curl_multi_init();
        if (multi == nullptr) throw std::runtime_error("curl_multi_init failed");
        slots.resize(std::max<std::size_t>(options.max_in_flight, 1));
        for (auto& slot : slots) {
            slot.easy = curl_easy_init();
            if (slot.easy == nullptr) throw std::runtime_error("curl_easy_init failed");
        }
    }

    ~Impl() {
        for (auto& slot : slots) {
            if (slot.busy) curl_multi_remove_handle(multi, slot.easy);
            curl_easy_cleanup(slot.easy);
            curl_slist_free_all(slot.headers);
        }
        curl_multi_cleanup(multi);
    }

    void configure(Slot& slot, const HttpRequest& request) {
        CURL* easy = slot.easy;
        curl_easy_reset(easy);
        curl_slist_free_all(slot.headers);
        slot.headers = nullptr;
        slot.response.clear();
        slot.error[0] = '\0';
        slot.url = request.url;
        slot.method = std::string(request.method);

        curl_easy_setopt(easy, CURLOPT_URL, slot.url.c_str());
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);  // credentials must not follow a redirect
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options.request_timeout.count()));
        curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(easy, CURLOPT_USERAGENT, "indexer-sink-elasticsearch");
        curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, slot.error);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &append_body);
        curl_easy_setopt(easy, CURLOPT_WRITEDATA, &slot.response);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, &slot);
        if (options.accept_gzip) curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "gzip");

        if (options.auth.kind == AuthKind::Basic) {
            curl_easy_setopt(easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
            curl_easy_setopt(easy, CURLOPT_USERNAME, options.auth.username.c_str());
            curl_easy_setopt(easy, CURLOPT_PASSWORD, options.auth.password.c_str());
        }
        const Tls& tls = options.tls;
        if (!tls.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, tls.ca_file.c_str());
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, tls.verify ? 1L : 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, tls.verify ? 2L : 0L);
        if (!tls.client_cert.empty()) curl_easy_setopt(easy, CURLOPT_SSLCERT, tls.client_cert.c_str());
        if (!tls.client_key.empty()) curl_easy_setopt(easy, CURLOPT_SSLKEY, tls.client_key.c_str());
        if (!tls.client_key_password.empty()) {
            curl_easy_setopt(easy, CURLOPT_KEYPASSWD, tls.client_key_password.c_str());
        }

        if (request.method == "HEAD") {
            curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
        } else if (request.method == "POST" || request.method == "PUT" || request.method == "DELETE") {
            if (request.method != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, slot.method.c_str());
            curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
            curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.empty() ? "" : request.body.data());
        } else {
            curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
        }

        // An empty "Expect:" stops curl from waiting for "100 Continue" on big bodies.
        slot.headers = curl_slist_append(slot.headers, "Expect:");
        if (!request.content_type.empty()) {
            slot.headers = curl_slist_append(slot.headers,
                                             ("Content-Type: " + std::string(request.content_type)).c_str());
        }
        if (request.gzipped) slot.headers = curl_slist_append(slot.headers, "Content-Encoding: gzip");
        if (!authorization.empty()) slot.headers = curl_slist_append(slot.headers, authorization.c_str());
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, slot.headers);
    }

    void start(std::uint64_t tag, const HttpRequest& request) {
        const auto free_slot =
            std::find_if(slots.begin(), slots.end(), [](const Slot& s) { return !s.busy; });
        if (free_slot == slots.end()) throw std::logic_error("HttpTransport::start: every slot is busy");
        configure(*free_slot, request);
        free_slot->tag = tag;
        const CURLMcode added = curl_multi_add_handle(multi, free_slot->easy);
        if (added != CURLM_OK) {
            HttpResponse response;
            response.error = free_slot->method + " " + without_query(free_slot->url) +
                             ": curl_multi_add_handle: " + curl_multi_strerror(added);
            finished.push_back(Completion{tag, std::move(response)});
            return;
        }
        free_slot->busy = true;
        ++busy;
    }

    void collect() {
        int queued = 0;
        while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
            if (message->msg != CURLMSG_DONE) continue;
            Slot* slot = nullptr;
            curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&slot));
            const CURLcode code = message->data.result;
            HttpResponse response;
            if (code == CURLE_OK) {
                curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &response.status);
                response.body = std::move(slot->response);
            } else {
                response.error =
                    slot->method + " " + without_query(slot->url) + ": " + curl_easy_strerror(code);
                if (slot->error[0] != '\0') response.error += std::string(" (") + slot->error + ")";
            }
            curl_multi_remove_handle(multi, slot->easy);
            slot->busy = false;
            --busy;
            finished.push_back(Completion{slot->tag, std::move(response)});
        }
    }

    std::vector<Completion> wait(const indexer::sdk::WriteControl& control) {
        while (finished.empty() && busy > 0) {
            if (const std::string_view why = control.interrupted(); !why.empty()) {
                end_all(why, /*abandoned=*/true);
                break;
            }
            int running = 0;
            const CURLMcode performed = curl_multi_perform(multi, &running);
            collect();
            if (!finished.empty()) break;
            if (performed != CURLM_OK) {
                end_all(std::string("curl_multi_perform: ") + curl_multi_strerror(performed),
                        /*abandoned=*/false);
                break;
            }
            // Short slices: the stop flag cannot wake curl, so it is polled.
            curl_multi_poll(multi, nullptr, 0, static_cast<int>(control.wait_slice().count()), nullptr);
        }
        std::vector<Completion> out;
        out.swap(finished);
        return out;
    }

    // Ends every request in flight unanswered (status 0), its connection
    // closed: curl cannot reuse one mid-transfer.
    //   abandoned: the caller must return now (deadline, stop); not the server's doing.
    //   otherwise: the multi handle itself broke; every request failed.
    void end_all(std::string_view reason, bool abandoned) {
        for (auto& slot : slots) {
            if (!slot.busy) continue;
            curl_multi_remove_handle(multi, slot.easy);
            slot.busy = false;
            --busy;
            HttpResponse response;
            response.abandoned = abandoned;
            const std::string request = slot.method + " " + without_query(slot.url);
            response.error = abandoned ? std::string(reason) + "; " + request + " was abandoned unanswered"
                                       : request + ": " + std::string(reason);
            finished.push_back(Completion{slot.tag, std::move(response)});
        }
    }
};

HttpTransport::HttpTransport(TransportOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpTransport::~HttpTransport() = default;

std::size_t HttpTransport::capacity() const noexcept {
    return impl_->slots.size();
}

std::size_t HttpTransport::in_flight() const noexcept {
    return impl_->busy;
}

void HttpTransport::start(std::uint64_t tag, const HttpRequest& request) {
    impl_->start(tag, request);
}

std::vector<Completion> HttpTransport::wait(const indexer::sdk::WriteControl& control) {
    return impl_->wait(control);
}

HttpResponse HttpTransport::perform(const HttpRequest& request, const indexer::sdk::WriteControl& control) {
    impl_->start(kPerformTag, request);
    for (;;) {
        auto& finished = impl_->finished;
        const auto mine = std::find_if(finished.begin(), finished.end(),
                                       [](const Completion& c) { return c.tag == kPerformTag; });
        if (mine != finished.end()) {
            HttpResponse response = std::move(mine->response);
            finished.erase(mine);
            return response;
        }
        // Completions of other requests stay queued for the next wait().
        std::vector<Completion> done = impl_->wait(control);
        finished.insert(finished.end(), std::make_move_iterator(done.begin()),
                        std::make_move_iterator(done.end()));
    }
}

}  // namespace indexer::sinks::elasticsearch
