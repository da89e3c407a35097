#include "indexer/sinks/elasticsearch/client.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "indexer/sinks/elasticsearch/bulk_request.hpp"
#include "indexer/sinks/elasticsearch/read_response.hpp"
#include "indexer/sinks/elasticsearch/targets.hpp"

namespace indexer::sinks::elasticsearch {
namespace {

using indexer::sdk::LogLevel;
using indexer::sdk::Op;
using indexer::sdk::Status;

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

TransportOptions transport_options(const Config& config) {
    TransportOptions options;
    options.connect_timeout = config.connect_timeout;
    options.request_timeout = config.request_timeout;
    options.auth = config.auth;
    options.tls = config.tls;
    options.accept_gzip = config.gzip;
    options.max_in_flight = config.max_in_flight_requests;
    return options;
}

// Index names may hold characters that a URL path must escape.
std::string path_segment(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 0x0F]);
        }
    }
    return out;
}

// A listing's cursor: "scroll:<page size>:<scroll id>".
constexpr std::string_view kCursorPrefix = "scroll:";
// How long a scroll's search context lives between two pages. A listing
// abandoned half way leaves it on the server for this long.
constexpr std::string_view kScrollKeepAlive = "5m";
// index.max_result_window's default also caps the size of a scroll page.
constexpr std::size_t kMaxScrollPage = 10'000;

std::string join(const std::vector<std::string>& parts);

std::string scroll_cursor(std::size_t size, std::string_view scroll_id) {
    return std::string(kCursorPrefix) + std::to_string(size) + ":" + std::string(scroll_id);
}

// The page size and scroll id of a cursor; false when it is not one of ours.
bool parse_scroll_cursor(std::string_view cursor, std::size_t& size, std::string_view& scroll_id) {
    if (cursor.substr(0, kCursorPrefix.size()) != kCursorPrefix) return false;
    cursor.remove_prefix(kCursorPrefix.size());
    const std::size_t colon = cursor.find(':');
    if (colon == 0 || colon == std::string_view::npos || colon > 5) return false;
    size = 0;
    for (const char c : cursor.substr(0, colon)) {
        if (c < '0' || c > '9') return false;
        size = size * 10 + static_cast<std::size_t>(c - '0');
    }
    scroll_id = cursor.substr(colon + 1);
    return size > 0 && size <= kMaxScrollPage && !scroll_id.empty();
}

std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& part : parts) {
        if (part.empty()) continue;
        out += (out.empty() ? "" : "; ") + part;
    }
    return out;
}

}  // namespace

struct Client::Request {
    enum class State { Waiting, InFlight, Split, Done };
    std::vector<std::size_t> ops;  // indices into the call's ops
    std::string body;              // NDJSON; emptied once compressed
    std::string wire;              // gzip of body
    bool gzipped = false;
    std::vector<std::size_t> after;  // requests that must be Done first
    std::size_t parent = kNone;      // the request this one is half of
    std::size_t open_children = 0;
    State state = State::Waiting;
    std::vector<bool> tried_hosts;
    std::size_t host = 0;
};

struct Client::Call {
    std::span<const Op> ops;
    std::vector<OpOutcome>& outcomes;
    std::deque<Request> requests;  // a deque: splitting appends without moving the others
    std::size_t unfinished = 0;
    bool answered = false;                 // some server answered over HTTP
    bool interrupted = false;              // the deadline passed or the host said stop
    std::vector<std::string> host_errors;  // the last transport error per host
};

Client::Client(Config config, Logger logger)
    : config_(std::move(config)),
      logger_(std::move(logger)),
      redact_(secrets_of(config_)),
      hosts_(config_.hosts.size(), config_.host_cooldown),
      transport_(transport_options(config_)) {}

Client::~Client() = default;

void Client::log(LogLevel level, const std::string& message) const {
    if (logger_) logger_(level, redact_(message));
}

void Client::prepare() {
    if (config_.create_index_body.empty()) return;
    std::string why;
    switch (ensure_index(why)) {
        case IndexState::Ready:
            return;
        case IndexState::Pending:
            index_pending_ = true;
            log(LogLevel::Warn, "cannot create index \"" + config_.index +
                                    "\" yet, trying again before the next write: " + why);
            return;
        case IndexState::Refused:
            throw ConfigError("config.create_index: the server refused to create index \"" + config_.index +
                              "\": " + why);
    }
}

Client::IndexState Client::ensure_index(std::string& why, const indexer::sdk::WriteControl& control) {
    const std::size_t host = hosts_.pick();
    const std::string url = config_.hosts[host] + "/" + path_segment(config_.index);
    HttpRequest head;
    head.method = "HEAD";
    head.url = url;
    HttpResponse exists = transport_.perform(head, control);
    if (exists.abandoned) {
        why = exists.error;
        return IndexState::Pending;
    }
    if (exists.status == 0) {
        hosts_.failed(host);
        why = redact_(exists.error);
        return IndexState::Pending;
    }
    hosts_.answered(host);
    if (exists.status == 200) return IndexState::Ready;

    HttpRequest create;
    create.method = "PUT";
    create.url = url;
    create.body = config_.create_index_body;
    create.content_type = "application/json";
    const HttpResponse created = transport_.perform(create, control);
    if (created.abandoned) {
        why = created.error;
        return IndexState::Pending;
    }
    if (created.status == 0) {
        hosts_.failed(host);
        why = redact_(created.error);
        return IndexState::Pending;
    }
    if (created.status >= 200 && created.status < 300) {
        log(LogLevel::Info, "created index \"" + config_.index + "\"");
        return IndexState::Ready;
    }
    const auto error = nlohmann::json::parse(created.body, nullptr, false);
    // Another writer created it between our HEAD and PUT.
    if (created.status == 400 && error.is_object() && error.contains("error") && error["error"].is_object() &&
        error["error"].value("type", "") == "resource_already_exists_exception") {
        return IndexState::Ready;
    }
    why = redact_("PUT " + url + ": HTTP " + std::to_string(created.status) + ": " +
                  describe_error(created.body));
    return created.status == 429 || created.status >= 500 ? IndexState::Pending : IndexState::Refused;
}

WriteReport Client::write(std::span<const Op> ops, const indexer::sdk::WriteControl& control) {
    WriteReport report;
    if (ops.empty()) return report;
    if (index_pending_) {
        std::string why;
        const IndexState state = ensure_index(why, control);
        if (state != IndexState::Ready) {
            report.call_failure = "index \"" + config_.index + "\" is not created yet: " + why;
            return report;
        }
        index_pending_ = false;
    }
    report.outcomes.resize(ops.size());
    BulkPlan plan =
        plan_bulk(ops, config_.index, RequestLimits{config_.max_request_bytes, config_.max_request_ops});
    for (auto& rejected : plan.rejected) {
        report.outcomes[rejected.op] = OpOutcome{Status::Reject, 0, std::move(rejected.reason)};
    }

    Call call{ops, report.outcomes, {}, 0, false, false, std::vector<std::string>(config_.hosts.size())};
    for (auto& planned : plan.requests) {
        Request request;
        request.ops = std::move(planned.ops);
        request.body = std::move(planned.body);
        request.after = std::move(planned.after);
        call.requests.push_back(std::move(request));
    }
    call.unfinished = call.requests.size();

    while (call.unfinished > 0) {
        if (const std::string_view why = control.interrupted(); !why.empty()) {
            interrupt(call, why);
            break;
        }
        for (std::size_t r = 0; r < call.requests.size() && transport_.in_flight() < transport_.capacity();
             ++r) {
            const Request& request = call.requests[r];
            if (request.state != Request::State::Waiting) continue;
            const bool ready = std::all_of(request.after.begin(), request.after.end(), [&](std::size_t d) {
                return call.requests[d].state == Request::State::Done;
            });
            if (ready) start(call, r);
        }
        std::vector<Completion> completions = transport_.wait(control);
        // Nothing in flight and nothing startable cannot happen (a request
        // only waits for earlier ones); the check keeps a bug from spinning.
        if (completions.empty()) {
            if (!control.interrupted().empty()) continue;  // handled at the top
            break;
        }
        for (Completion& completion : completions) {
            on_answer(call, static_cast<std::size_t>(completion.tag), completion.response);
        }
    }
    for (auto& outcome : report.outcomes) {
        if (outcome.status == Status::Unset)
            outcome = {Status::Retry, 0, "internal error: the op was never sent"};
    }

    // An op that is retried must not be overtaken by a later op on the same
    // document: the host retries the later one too, after it.
    for (std::size_t i = 0; i < ops.size(); ++i) {
        const std::size_t previous = plan.previous_same_document[i];
        if (previous == BulkPlan::kNone) continue;
        if (report.outcomes[previous].status == Status::Retry && report.outcomes[i].status != Status::Retry) {
            report.outcomes[i] = OpOutcome{Status::Retry, report.outcomes[i].native_code,
                                           "an earlier op on the same document must be retried first"};
        }
    }

    if (!call.answered && !call.interrupted && plan.rejected.empty()) {
        std::string reason = join(call.host_errors);
        report.call_failure = reason.empty() ? "no server answered" : std::move(reason);
    }
    return report;
}

void Client::start(Call& call, std::size_t r) {
    Request& request = call.requests[r];
    if (request.tried_hosts.empty()) request.tried_hosts.assign(config_.hosts.size(), false);
    request.host = hosts_.pick(request.tried_hosts);
    request.tried_hosts[request.host] = true;
    if (config_.gzip && !request.gzipped && gzip_.compress(request.body, request.wire)) {
        request.gzipped = true;
        std::string().swap(request.body);  // a split rebuilds its halves from the ops
    }
    HttpRequest http;
    http.method = "POST";
    http.url = config_.hosts[request.host] + "/_bulk?" + std::string(kBulkFilterPath);
    http.body = request.gzipped ? request.wire : request.body;
    http.content_type = "application/x-ndjson";
    http.gzipped = request.gzipped;
    transport_.start(r, http);
    request.state = Request::State::InFlight;
}

// Every op without an answer yet becomes RETRY; the requests in flight were
// abandoned by the transport (their completions carry the same reason).
void Client::interrupt(Call& call, std::string_view why) {
    call.interrupted = true;
    for (auto& outcome : call.outcomes) {
        if (outcome.status == Status::Unset) outcome = {Status::Retry, 0, "not written: " + std::string(why)};
    }
}

void Client::on_answer(Call& call, std::size_t r, const HttpResponse& response) {
    Request& request = call.requests[r];
    const std::string& host = config_.hosts[request.host];
    if (response.abandoned) {
        // Not the host's fault: no failover, no cooldown.
        call.interrupted = true;
        const std::string message = "not written: " + redact_(response.error);
        for (std::size_t op : request.ops) call.outcomes[op] = OpOutcome{Status::Retry, 0, message};
        finish(call, r);
        return;
    }
    if (response.status == 0) {
        std::string error = redact_(response.error);
        if (hosts_.failed(request.host)) log(LogLevel::Warn, "host " + host + " does not answer: " + error);
        const bool untried = std::find(request.tried_hosts.begin(), request.tried_hosts.end(), false) !=
                             request.tried_hosts.end();
        call.host_errors[request.host] = error;
        if (untried) {
            // Fail over: the same request to the next host. Bulk writes are
            // idempotent (current documents, external versions), so a request
            // that a dying host may have half-applied can be sent again.
            request.state = Request::State::Waiting;
            return;
        }
        for (std::size_t op : request.ops) call.outcomes[op] = OpOutcome{Status::Retry, 0, error};
        finish(call, r);
        return;
    }
    call.answered = true;
    if (hosts_.answered(request.host)) log(LogLevel::Info, "host " + host + " answers again");

    std::vector<ItemContext> contexts;
    contexts.reserve(request.ops.size());
    for (std::size_t op : request.ops) {
        contexts.push_back(ItemContext{call.ops[op].is_delete(), call.ops[op].version() != 0});
    }
    ResponseMapping mapping = map_bulk_response(response.status, response.body, contexts);
    switch (mapping.action) {
        case ResponseAction::PerItem:
            for (std::size_t k = 0; k < request.ops.size(); ++k) {
                OpOutcome& outcome = mapping.items[k];
                if (!outcome.message.empty()) outcome.message = redact_(outcome.message);
                call.outcomes[request.ops[k]] = std::move(outcome);
            }
            finish(call, r);
            return;
        case ResponseAction::AllOps: {
            OpOutcome outcome = mapping.all;
            outcome.message = redact_("POST " + host + "/_bulk: " + outcome.message);
            for (std::size_t op : request.ops) call.outcomes[op] = outcome;
            finish(call, r);
            return;
        }
        case ResponseAction::Split: {
            log(LogLevel::Debug, "HTTP " + std::to_string(response.status) + " for a request of " +
                                     std::to_string(request.ops.size()) +
                                     " ops: sending each half on its own");
            const std::size_t half = request.ops.size() / 2;
            Request first;
            first.ops.assign(request.ops.begin(), request.ops.begin() + static_cast<std::ptrdiff_t>(half));
            Request second;
            second.ops.assign(request.ops.begin() + static_cast<std::ptrdiff_t>(half), request.ops.end());
            first.body = build_body(call.ops, first.ops, config_.index);
            second.body = build_body(call.ops, second.ops, config_.index);
            first.parent = second.parent = r;
            const std::size_t first_index = call.requests.size();
            if (share_documents(call.ops, first.ops, second.ops, config_.index))
                second.after.push_back(first_index);
            request.state = Request::State::Split;
            request.open_children = 2;
            std::string().swap(request.wire);
            std::string().swap(request.body);
            call.requests.push_back(std::move(first));
            call.requests.push_back(std::move(second));
            call.unfinished += 2;
            return;
        }
    }
}

void Client::finish(Call& call, std::size_t r) {
    Request& request = call.requests[r];
    request.state = Request::State::Done;
    std::string().swap(request.wire);
    std::string().swap(request.body);
    --call.unfinished;
    if (request.parent != kNone && --call.requests[request.parent].open_children == 0) {
        finish(call, request.parent);
    }
}

HttpResponse Client::on_any_host(std::string_view method, std::string_view path, std::string_view body,
                                 const indexer::sdk::WriteControl& control, bool fail_over,
                                 std::size_t& host) {
    std::vector<bool> tried(config_.hosts.size(), false);
    std::vector<std::string> errors;
    const std::size_t attempts = fail_over ? config_.hosts.size() : 1;
    for (std::size_t attempt = 0; attempt < attempts; ++attempt) {
        host = hosts_.pick(tried);
        tried[host] = true;
        HttpRequest request;
        request.method = method;
        request.url = config_.hosts[host] + std::string(path);
        request.body = body;
        if (!body.empty()) request.content_type = "application/json";
        HttpResponse response = transport_.perform(request, control);
        // Abandoned: not the host's doing, and no time left for another.
        if (response.abandoned) {
            response.error = redact_(response.error);
            return response;
        }
        if (response.status != 0) {
            if (hosts_.answered(host)) log(LogLevel::Info, "host " + config_.hosts[host] + " answers again");
            return response;
        }
        std::string error = redact_(response.error);
        if (hosts_.failed(host))
            log(LogLevel::Warn, "host " + config_.hosts[host] + " does not answer: " + error);
        errors.push_back(std::move(error));
    }
    HttpResponse none;
    none.error = join(errors);
    return none;
}

void Client::read(std::span<const std::string_view> ids, std::string_view target,
                  indexer::sdk::ReadResults& results, const indexer::sdk::WriteControl& control) {
    const std::string_view index = target.empty() ? std::string_view(config_.index) : target;
    std::string scratch;
    std::string refusal;
    if (index.empty()) refusal = "no index: the read has no target and config.index is not set";
    if (refusal.empty() && !append_json_string(scratch, index))
        refusal = "the target index is not valid UTF-8";
    if (!refusal.empty()) {
        for (std::size_t i = 0; i < ids.size(); ++i) results.reject(i, refusal);
        return;
    }
    // Ids go max_request_ops at a time; the request bodies stay small.
    std::vector<std::size_t> batch;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (auto problem = id_problem(ids[i])) {
            results.reject(i, std::move(*problem));
            continue;
        }
        batch.push_back(i);
        if (batch.size() >= config_.max_request_ops) {
            read_batch(ids, batch, index, results, control);
            batch.clear();
        }
    }
    if (!batch.empty()) read_batch(ids, batch, index, results, control);
}

void Client::read_batch(std::span<const std::string_view> ids, std::span<const std::size_t> batch,
                        std::string_view index, indexer::sdk::ReadResults& results,
                        const indexer::sdk::WriteControl& control) {
    // Interrupted: the SDK answers what is left RETRY with the reason.
    if (!control.interrupted().empty()) return;
    std::string body = "{\"ids\":[";
    for (std::size_t k = 0; k < batch.size(); ++k) {
        if (k != 0) body.push_back(',');
        append_json_string(body, ids[batch[k]]);
    }
    body += "]}";
    const std::string path = "/" + path_segment(index) + "/_mget";
    std::size_t host = 0;
    const HttpResponse response = on_any_host("POST", path, body, control, true, host);
    if (response.status == 0) {
        const std::string message = response.abandoned ? "not read: " + response.error : response.error;
        for (std::size_t i : batch) results.retry(i, message);
        return;
    }
    const MgetMapping mapping = map_mget_response(response.status, response.body, batch.size());
    const int code = static_cast<int>(response.status);
    if (mapping.all_not_found) {
        for (std::size_t i : batch) results.not_found(i, code);
        return;
    }
    if (!mapping.failure.empty()) {
        const std::string message = redact_("POST " + config_.hosts[host] + path + ": " + mapping.failure);
        for (std::size_t i : batch) results.retry(i, message, code);
        return;
    }
    for (std::size_t k = 0; k < batch.size(); ++k) {
        const DocumentOutcome& document = mapping.documents[k];
        switch (document.status) {
            case Status::Ok:
                results.found(batch[k], std::string(document.document), document.version,
                              document.native_code);
                break;
            case Status::NotFound:
                results.not_found(batch[k], document.native_code);
                break;
            default:
                results.retry(batch[k], redact_(document.message), document.native_code);
                break;
        }
    }
}

void Client::list(std::string_view cursor, std::string_view target, indexer::sdk::ListPage& page,
                  const indexer::sdk::WriteControl& control) {
    const bool first = cursor.empty();
    const std::string_view index = target.empty() ? std::string_view(config_.index) : target;
    std::size_t size = std::min(page.max_ids(), kMaxScrollPage);
    std::string path;
    std::string body;
    if (first) {
        if (index.empty()) {
            page.reject("no index: the listing has no target and config.index is not set");
            return;
        }
        path = "/" + path_segment(index) + "/_search?scroll=" + std::string(kScrollKeepAlive) + "&" +
               std::string(kScrollFilterPath);
        // _doc order is the cheapest; _source is not needed, only the ids.
        body = "{\"size\":" + std::to_string(size) + ",\"sort\":[\"_doc\"],\"_source\":false}";
    } else {
        std::string_view scroll_id;
        if (!parse_scroll_cursor(cursor, size, scroll_id)) {
            page.reject("the cursor is not one of this sink's (expected scroll:<size>:<scroll id>)");
            return;
        }
        if (size > page.max_ids()) {
            page.reject("the cursor continues a listing of pages of " + std::to_string(size) +
                        " ids, more than the " + std::to_string(page.max_ids()) + " asked for now");
            return;
        }
        path = "/_search/scroll?" + std::string(kScrollFilterPath);
        body = "{\"scroll\":\"" + std::string(kScrollKeepAlive) + "\",\"scroll_id\":";
        if (!append_json_string(body, scroll_id)) {
            page.reject("the cursor is not valid UTF-8");
            return;
        }
        body += "}";
    }
    std::size_t host = 0;
    // A continuation goes to one host only: if it was sent, the scroll may
    // have moved on, and the next host would answer the page after.
    const HttpResponse response = on_any_host("POST", path, body, control, first, host);
    const std::string request = "POST " + config_.hosts[host] + path.substr(0, path.find('?'));
    if (response.status == 0) {
        if (first) {
            page.retry(response.abandoned ? "not listed: " + response.error : response.error);
        } else {
            page.reject("the scroll cannot be continued, the outcome of its last request is unknown (" +
                        response.error + "); list again from the start");
        }
        return;
    }
    const int code = static_cast<int>(response.status);
    ScrollPage scroll = map_scroll_response(response.status, response.body);
    if (!scroll.failure.empty()) {
        if (first && scroll.index_missing) return;  // nothing to list: an empty, final page
        if (!scroll.scroll_id.empty()) clear_scroll(scroll.scroll_id, control);
        const std::string message = redact_(request + ": " + scroll.failure);
        if (first) {
            page.retry(message, code);
        } else {
            page.reject(message + "; list again from the start", code);
        }
        return;
    }
    if (scroll.ids.empty()) {
        clear_scroll(scroll.scroll_id, control);
        return;
    }
    if (scroll.ids.size() > page.max_ids()) {
        clear_scroll(scroll.scroll_id, control);
        page.reject(request + ": a page of " + std::to_string(scroll.ids.size()) + " ids for " +
                    std::to_string(page.max_ids()) + " asked for; list again from the start");
        return;
    }
    for (std::string& id : scroll.ids) page.add(std::move(id));
    page.set_next_cursor(scroll_cursor(size, scroll.scroll_id));
}

// Frees the scroll's search context now rather than at its expiry. Best
// effort: a failure only costs the server memory until then.
void Client::clear_scroll(const std::string& scroll_id, const indexer::sdk::WriteControl& control) {
    if (scroll_id.empty() || !control.interrupted().empty()) return;
    std::string body = "{\"scroll_id\":";
    if (!append_json_string(body, scroll_id)) return;
    body += "}";
    std::size_t host = 0;
    const HttpResponse response = on_any_host("DELETE", "/_search/scroll", body, control, true, host);
    if (response.status != 200 && response.status != 404) {
        log(LogLevel::Debug,
            "clearing a finished scroll failed, it expires within " + std::string(kScrollKeepAlive) + ": " +
                (response.status == 0 ? response.error : "HTTP " + std::to_string(response.status)));
    }
}

void Client::create_target(std::string_view suffix, indexer::sdk::TargetResult& result,
                           const indexer::sdk::WriteControl& control) {
    if (config_.index.empty()) {
        result.reject("config.index is not set: a reindex target is named after it");
        return;
    }
    if (suffix.empty()) {
        result.reject("the suffix is empty");
        return;
    }
    const std::string name = config_.index + "-" + std::string(suffix);
    if (auto problem = index_name_problem(name)) {
        std::string shown;
        if (!append_json_string(shown, name)) shown = "(not valid UTF-8)";
        result.reject("\"" + config_.index + "\" with the suffix makes " + shown +
                      ", not a valid index name: " + *problem);
        return;
    }
    const std::string path = "/" + index_list_path({name});
    const std::string_view body = config_.create_index_body.empty()
                                      ? std::string_view{"{}"}
                                      : std::string_view{config_.create_index_body};
    std::size_t host = 0;
    // One host only: a PUT that reached a server may have created the index,
    // and the next host would answer that it already exists.
    const HttpResponse response = on_any_host("PUT", path, body, control, false, host);
    if (response.status == 0) {
        result.retry(std::string(response.abandoned ? "not created: " : "") + response.error +
                     " (the index may have been created: reindex with a new suffix)");
        return;
    }
    TargetOutcome outcome = map_create_response(response.status, response.body, name);
    if (outcome.status == Status::Ok) {
        log(LogLevel::Info, "created reindex target \"" + name + "\"");
        result.ok(name, outcome.native_code);
        return;
    }
    const std::string message = redact_("PUT " + config_.hosts[host] + path + ": " + outcome.message);
    if (outcome.status == Status::Retry) {
        result.retry(message, outcome.native_code);
    } else {
        result.reject(message, outcome.native_code);
    }
}

void Client::switch_target(std::string_view target, bool keep_old, indexer::sdk::TargetResult& result,
                           const indexer::sdk::WriteControl& control) {
    const std::string& alias = config_.index;
    if (alias.empty()) {
        result.reject("config.index is not set: there is no name to switch");
        return;
    }
    if (auto problem = index_name_problem(alias)) {
        result.reject("config.index \"" + alias + "\" cannot be an alias: " + *problem);
        return;
    }
    if (auto problem = index_name_problem(target)) {
        result.reject("the target is not a valid index name: " + *problem);
        return;
    }
    if (target == alias) {
        result.reject("the target is config.index itself; switch to a name create_target returned");
        return;
    }
    std::size_t host = 0;
    const std::string state_path = "/" + index_list_path({alias}) + "/_alias";
    const HttpResponse answer = on_any_host("GET", state_path, {}, control, true, host);
    if (answer.status == 0) {
        result.retry(std::string(answer.abandoned ? "not switched: " : "") + answer.error);
        return;
    }
    NameState state = map_name_state(answer.status, answer.body, alias);
    const int state_code = static_cast<int>(answer.status);
    if (state.kind == NameState::Kind::Unknown) {
        const std::string message = redact_("GET " + config_.hosts[host] + state_path + ": " + state.failure);
        if (state.retry) {
            result.retry(message, state_code);
        } else {
            result.reject(message, state_code);
        }
        return;
    }
    const bool replace_index = state.kind == NameState::Kind::Index;
    if (replace_index && keep_old) {
        // Keeping an index that holds nothing is moot (the sink's own
        // create_index at open makes such an index on a first load): only
        // one that holds documents is refused.
        std::string why;
        const std::optional<std::uint64_t> documents = count_documents(alias, control, why);
        if (!documents) {
            result.retry("cannot tell whether index \"" + alias + "\" holds documents: " + why);
            return;
        }
        if (*documents != 0) {
            result.reject(
                "\"" + alias + "\" is a concrete index holding " + std::to_string(*documents) +
                    " documents, not an alias: the alias needs its name, so it cannot be kept (keep_old). "
                    "Reindex without keeping old indices (it is deleted in the same step that makes the "
                    "alias), "
                    "or copy it first (make it read-only, POST /" +
                    alias + "/_clone/<new name>) and delete it",
                state_code);
            return;
        }
    }
    std::vector<std::string> previous;
    for (auto& index : state.indices) {
        if (index != target) previous.push_back(std::move(index));
    }
    const bool already = state.kind == NameState::Kind::Alias && previous.empty() && !state.indices.empty();
    if (already) {
        // Done before (an earlier call whose answer was lost): nothing moves.
        index_pending_ = false;
        result.ok({}, state_code);
        return;
    }
    const std::string body = switch_actions(alias, target, previous, replace_index);
    const HttpResponse moved = on_any_host("POST", "/_aliases", body, control, true, host);
    if (moved.status == 0) {
        result.retry(std::string(moved.abandoned ? "not switched (the outcome is unknown): " : "") +
                     moved.error);
        return;
    }
    const TargetOutcome outcome = map_aliases_response(moved.status, moved.body, target);
    if (outcome.status != Status::Ok) {
        const std::string message = redact_("POST " + config_.hosts[host] + "/_aliases: " + outcome.message);
        if (outcome.status == Status::Retry) {
            result.retry(message, outcome.native_code);
        } else {
            result.reject(message, outcome.native_code);
        }
        return;
    }
    // The name is an alias now: never create a concrete index under it.
    index_pending_ = false;
    std::string list;
    for (const auto& index : previous) list += (list.empty() ? "" : ",") + index;
    log(LogLevel::Info,
        "\"" + alias + "\" now points to \"" + std::string(target) + "\"" +
            (list.empty() ? std::string(" (it did not exist before)") : " instead of " + list));
    if (replace_index || keep_old || previous.empty()) {
        result.ok(list, outcome.native_code);
        return;
    }
    const std::string delete_path = "/" + index_list_path(previous);
    const HttpResponse deleted = on_any_host("DELETE", delete_path, {}, control, true, host);
    if (deleted.status == 200 || deleted.status == 404) {
        result.ok(list, outcome.native_code);
        return;
    }
    const std::string why =
        deleted.status == 0 ? deleted.error
                            : "HTTP " + std::to_string(deleted.status) + ": " + describe_error(deleted.body);
    const std::string warning =
        redact_("the alias moved, but the old indices " + list + " could not be deleted (DELETE " +
                delete_path + ": " + why + "); delete them by hand");
    log(LogLevel::Warn, warning);
    result.ok(list, outcome.native_code, warning);
}

std::optional<std::uint64_t> Client::count_documents(const std::string& index,
                                                     const indexer::sdk::WriteControl& control,
                                                     std::string& why) {
    const std::string base = "/" + index_list_path({index});
    std::size_t host = 0;
    // A refresh first: every acknowledged write counts, not only the visible ones.
    const HttpResponse refreshed = on_any_host("POST", base + "/_refresh", {}, control, true, host);
    if (refreshed.status != 200) {
        why = refreshed.status == 0
                  ? refreshed.error
                  : redact_("POST " + base + "/_refresh: HTTP " + std::to_string(refreshed.status) + ": " +
                            describe_error(refreshed.body));
        return std::nullopt;
    }
    const HttpResponse counted = on_any_host("GET", base + "/_count", {}, control, true, host);
    const auto body = nlohmann::json::parse(counted.body, nullptr, false);
    if (counted.status == 200 && body.is_object() && body.contains("count") &&
        body["count"].is_number_unsigned()) {
        return body["count"].get<std::uint64_t>();
    }
    why = counted.status == 0 ? counted.error
                              : redact_("GET " + base + "/_count: HTTP " + std::to_string(counted.status) +
                                        ": " + describe_error(counted.body));
    return std::nullopt;
}

Status Client::health(std::string& reason) {
    std::vector<bool> tried(config_.hosts.size(), false);
    std::vector<std::string> errors;
    for (std::size_t attempt = 0; attempt < config_.hosts.size(); ++attempt) {
        const std::size_t host = hosts_.pick(tried);
        tried[host] = true;
        HttpRequest probe;
        probe.url = config_.hosts[host] + "/_cluster/health";
        HttpResponse answer = transport_.perform(probe);
        if (answer.status == 0) {
            hosts_.failed(host);
            errors.push_back(redact_(answer.error));
            continue;
        }
        hosts_.answered(host);
        if (answer.status == 401 || answer.status == 403) {
            // Credentials that may write need not read cluster health: does the node answer at all?
            probe.url = config_.hosts[host] + "/";
            answer = transport_.perform(probe);
        }
        if (answer.status == 200) {
            const auto body = nlohmann::json::parse(answer.body, nullptr, false);
            const std::string status =
                body.is_object() && body.contains("status") && body["status"].is_string()
                    ? body["status"].get<std::string>()
                    : "";
            if (status != "red") return Status::Ok;
            errors.push_back("GET " + probe.url + ": the cluster's health is red");
            break;  // every host is in the same cluster
        }
        errors.push_back(redact_("GET " + probe.url + ": " +
                                 (answer.status == 0 ? answer.error
                                                     : "HTTP " + std::to_string(answer.status) + ": " +
                                                           describe_error(answer.body))));
    }
    reason = join(errors);
    return Status::Retry;
}

}  // namespace indexer::sinks::elasticsearch
