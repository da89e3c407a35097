#include "conformance_battery.hpp"

#include <fmt/format.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

namespace indexer::sink_check {
namespace {

using plugin::OpKind;
using plugin::OpStatus;
using plugin::SinkHandle;
using plugin::SinkOp;
using plugin::SinkPlugin;
using plugin::SinkResult;
using plugin::WriteControl;

// --- A crash or a hang of the plugin still names the check it happened in ---

std::atomic<const char*> current_check{""};
std::atomic<unsigned> check_timeout_seconds{0};

void write_raw(std::string_view text) noexcept {
    while (!text.empty()) {
        const ssize_t n = ::write(STDOUT_FILENO, text.data(), text.size());
        if (n <= 0) return;
        text.remove_prefix(static_cast<std::size_t>(n));
    }
}

// The signals install_signal_handlers() catches, by name: strsignal() is not
// async-signal-safe.
std::string_view signal_name(int signal_number) noexcept {
    switch (signal_number) {
        case SIGSEGV:
            return "segmentation fault";
        case SIGBUS:
            return "bus error";
        case SIGFPE:
            return "floating point exception";
        case SIGILL:
            return "illegal instruction";
        case SIGABRT:
            return "aborted";
        default:
            return "a fatal signal";
    }
}

void on_fatal_signal(int signal_number) {
    write_raw("\nFAIL  ");
    write_raw(current_check.load());
    write_raw(": the process crashed (");
    write_raw(signal_name(signal_number));
    write_raw(")\n");
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
}

void on_alarm(int) {
    write_raw("\nFAIL  ");
    write_raw(current_check.load());
    write_raw(": still running after the timeout (the plugin hangs?)\n");
    ::_exit(1);
}

void install_signal_handlers() {
    for (int signal_number : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
        std::signal(signal_number, on_fatal_signal);
    std::signal(SIGALRM, on_alarm);
}

// --- Ops that own their bytes ------------------------------------------------

class Batch {
public:
    Batch& upsert(std::string id, std::string document, std::uint64_t version = 0) {
        owned_.push_back({OpKind::Upsert, std::move(id), std::move(document), version});
        return *this;
    }
    Batch& remove(std::string id, std::uint64_t version = 0) {
        owned_.push_back({OpKind::Delete, std::move(id), {}, version});
        return *this;
    }
    // Views into this batch: valid while it lives and is not appended to.
    std::vector<SinkOp> ops() const {
        std::vector<SinkOp> ops;
        ops.reserve(owned_.size());
        for (const auto& op : owned_) ops.push_back({op.kind, op.id, op.document, op.version, {}});
        return ops;
    }
    std::size_t size() const noexcept { return owned_.size(); }
    const std::string& id(std::size_t i) const { return owned_.at(i).id; }

    // Deletes of every id upserted here, in order.
    Batch deletes() const {
        Batch batch;
        for (const auto& op : owned_) {
            if (op.kind == OpKind::Upsert) batch.remove(op.id);
        }
        return batch;
    }

private:
    struct Owned {
        OpKind kind;
        std::string id;
        std::string document;
        std::uint64_t version;
    };
    std::vector<Owned> owned_;
};

struct Outcome {
    bool passed = false;
    std::string detail;
};

Outcome pass(std::string detail = {}) {
    return {true, std::move(detail)};
}
Outcome fail(std::string reason) {
    return {false, std::move(reason)};
}

std::string document(const std::string& id, std::size_t n, const std::string& run) {
    return nlohmann::json{{"id", id}, {"name", fmt::format("item {}", n)}, {"n", n}, {"run", run}}.dump();
}

class Battery {
public:
    Battery(std::shared_ptr<const SinkPlugin> plugin, std::string config, const BatteryOptions& options,
            std::ostream& out)
        : plugin_(std::move(plugin)),
          config_(std::move(config)),
          options_(options),
          out_(out),
          run_(fmt::format("sink-check-{}-{}", ::getpid(),
                           std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count())) {}

    int run() {
        install_signal_handlers();
        check_timeout_seconds = static_cast<unsigned>(options_.check_timeout.count());

        // A configuration the plugin refuses makes every later check moot.
        bool opened = false;
        check("opens with the given configuration", [&] {
            auto handle = open();
            if (!handle) return fail(handle.error());
            opened = true;
            return pass(fmt::format("instance '{}'", options_.instance));
        });
        check("refuses an unknown key ({\"this_key_does_not_exist\": 1})",
              [&] { return refuses(R"({"this_key_does_not_exist": 1})"); });
        check("refuses a configuration that is not an object ([])", [&] { return refuses("[]"); });
        if (!opened) {
            out_ << "the remaining checks need a sink that opens; not run\n";
            return failed_;
        }

        check("opens and closes 20 times", [&] { return open_and_close(20); });
        check("writes an empty batch", [&] { return empty_batch(); });
        check("upserts then deletes one id, in two batches", [&] { return upsert_then_delete(false); });
        check("upserts then deletes one id, in one batch", [&] { return upsert_then_delete(true); });
        check("deletes an id that was never written",
              [&] { return write_all_ok(Batch().remove(id("never-written")), "1 delete"); });
        Batch large;
        for (std::size_t i = 0; i < options_.large_batch; ++i) {
            const std::string large_id = id(fmt::format("large-{}", i));
            large.upsert(large_id, document(large_id, i, run_));
        }
        check(fmt::format("writes a batch of {} upserts", large.size()),
              [&] { return write_all_ok(large, fmt::format("{} ops", large.size())); });
        check(fmt::format("deletes the {} ids again", large.size()),
              [&] { return write_all_ok(large.deletes(), fmt::format("{} ops", large.size())); });
        check("writes unicode ids and documents", [&] { return unicode(); });
        check("accepts versions: newer, stale and a versioned delete", [&] { return versions(); });
        check("two handles write at once from two threads", [&] { return two_threads(); });
        check("honours a write's deadline", [&] { return deadline(large); });
        check("reads back what it wrote (ABI 1.2)", [&] { return read_back(); });
        check("lists what it wrote, every id once (ABI 1.2)", [&] { return list_back(); });
        check("flushes", [&] { return probe(&SinkHandle::flush, plugin_->has_flush(), "flush"); });
        check("reports health", [&] { return probe(&SinkHandle::health, plugin_->has_health(), "health"); });
        check("never leaves a result unset", [&] {
            if (unset_ != 0) return fail(fmt::format("{} of {} results were left unset", unset_, results_));
            return pass(fmt::format("0 of {} results", results_));
        });
        return failed_;
    }

private:
    void check(const std::string& name, const std::function<Outcome()>& body) {
        current_name_ = name;
        current_check = current_name_.c_str();
        out_.flush();
        ::alarm(check_timeout_seconds);
        const auto start = std::chrono::steady_clock::now();
        Outcome outcome;
        try {
            outcome = body();
        } catch (const std::exception& e) {
            outcome = fail(fmt::format("exception: {}", e.what()));
        }
        ::alarm(0);
        const auto elapsed =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
                .count();
        if (outcome.passed) {
            out_ << "PASS  " << name << "  (" << outcome.detail << (outcome.detail.empty() ? "" : ", ")
                 << elapsed << " ms)\n";
        } else {
            ++failed_;
            out_ << "FAIL  " << name << ": " << outcome.detail << '\n';
        }
        out_.flush();
    }

    std::string id(std::string_view suffix) const { return fmt::format("{}-{}", run_, suffix); }

    Result<SinkHandle> open() const { return plugin_->open(options_.instance, config_); }

    // Writes the batch through `handle`; passes when every op is OK.
    Outcome write_all_ok(SinkHandle& handle, const Batch& batch, const std::string& detail,
                         const WriteControl& control = {}) {
        const std::uint64_t unset_before = handle.results_left_unset();
        const std::vector<SinkOp> ops = batch.ops();
        const std::vector<SinkResult> results = handle.write(ops, control);
        std::lock_guard lock(counters_mutex_);
        unset_ += handle.results_left_unset() - unset_before;
        results_ += results.size();
        if (results.size() != ops.size()) {
            return fail(fmt::format("{} results for {} ops", results.size(), ops.size()));
        }
        std::size_t not_ok = 0;
        std::string examples;
        for (std::size_t i = 0; i < results.size(); ++i) {
            if (results[i].status == OpStatus::Ok) continue;
            if (++not_ok <= 3) {
                examples += fmt::format("; op #{} ({} {}): {} {} {}", i,
                                        ops[i].kind == OpKind::Upsert ? "upsert" : "delete", batch.id(i),
                                        plugin::to_string(results[i].status), results[i].native_code,
                                        results[i].message);
            }
        }
        if (not_ok != 0) return fail(fmt::format("{} of {} ops not OK{}", not_ok, ops.size(), examples));
        return pass(detail);
    }

    Outcome write_all_ok(const Batch& batch, const std::string& detail) {
        auto handle = open();
        if (!handle) return fail(handle.error());
        return write_all_ok(handle.value(), batch, detail);
    }

    // A far deadline and a stop token never set change nothing; a deadline
    // that passes mid-write makes the call return soon after it, with every
    // op OK or RETRY saying why. A plugin of ABI 1.0 cannot be interrupted:
    // noted, not failed.
    Outcome deadline(const Batch& large) {
        using Clock = std::chrono::steady_clock;
        auto handle = open();
        if (!handle) return fail(handle.error());
        const std::atomic<bool> stop{false};
        const std::string the_id = id("deadline");
        Batch one;
        one.upsert(the_id, document(the_id, 1, run_));
        auto outcome = write_all_ok(handle.value(), one, "",
                                    WriteControl{Clock::now() + std::chrono::seconds(60), &stop});
        if (!outcome.passed) return fail("with a 60 s deadline: " + outcome.detail);

        const std::vector<SinkOp> ops = large.ops();
        const auto started = Clock::now();
        const auto results = handle->write(ops, WriteControl{started + std::chrono::milliseconds(20), &stop});
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
        // What the interrupted write may have stored goes again.
        if (auto cleanup = write_all_ok(handle.value(), large.deletes().remove(the_id), ""); !cleanup.passed)
            return fail("deleting again: " + cleanup.detail);
        if (!handle->has_write_control()) {
            return pass("a plugin of ABI 1.0: its writes cannot be interrupted");
        }
        if (took > std::chrono::seconds(1)) {
            return fail(fmt::format("a write of {} ops with a 20 ms deadline returned after {} ms",
                                    ops.size(), took.count()));
        }
        std::size_t retried = 0;
        for (std::size_t i = 0; i < results.size(); ++i) {
            if (results[i].status == OpStatus::Ok) continue;
            if (results[i].status != OpStatus::Retry || results[i].message.empty()) {
                return fail(
                    fmt::format("op #{} past the deadline: {} \"{}\", expected OK or RETRY with a reason", i,
                                plugin::to_string(results[i].status), results[i].message));
            }
            ++retried;
        }
        return pass(fmt::format("{} of {} ops RETRY after a 20 ms deadline, returned in {} ms", retried,
                                ops.size(), took.count()));
    }

    Outcome refuses(std::string_view config) {
        auto handle = plugin_->open(options_.instance, config);
        if (handle) return fail("opened anyway; a sink must refuse a configuration it does not understand");
        if (handle.error().find("the plugin gave no reason") != std::string::npos) {
            return fail("refused without a reason: " + handle.error());
        }
        return pass(handle.error());
    }

    Outcome open_and_close(int times) {
        for (int i = 0; i < times; ++i) {
            auto handle = open();
            if (!handle) return fail(fmt::format("open #{}: {}", i + 1, handle.error()));
        }
        return pass(fmt::format("{} handles", times));
    }

    Outcome empty_batch() {
        auto handle = open();
        if (!handle) return fail(handle.error());
        const auto results = handle->write({});
        if (!results.empty()) return fail(fmt::format("{} results for no op", results.size()));
        return pass();
    }

    Outcome upsert_then_delete(bool one_batch) {
        const std::string the_id = id(one_batch ? "upsert-delete-one-batch" : "upsert-delete");
        auto handle = open();
        if (!handle) return fail(handle.error());
        Batch upsert;
        upsert.upsert(the_id, document(the_id, 1, run_));
        Batch remove;
        remove.remove(the_id);
        if (one_batch) return write_all_ok(handle.value(), Batch(upsert).remove(the_id), "2 ops");
        if (auto outcome = write_all_ok(handle.value(), upsert, ""); !outcome.passed) {
            return fail("upsert: " + outcome.detail);
        }
        if (auto outcome = write_all_ok(handle.value(), remove, ""); !outcome.passed) {
            return fail("delete: " + outcome.detail);
        }
        return pass("2 batches");
    }

    Outcome unicode() {
        const std::vector<std::string> ids = {id("ключ-🔑"), id("商品"), id("Ünïcødé-ß-ø")};
        Batch batch;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            const nlohmann::json doc = {{"id", ids[i]},
                                        {"title", "商品 🔑 ключ"},
                                        {"note", "naïve café — “quoted” \\ back\\slash\nnew line\ttab"},
                                        {"n", i}};
            batch.upsert(ids[i], doc.dump());
        }
        auto handle = open();
        if (!handle) return fail(handle.error());
        if (auto outcome = write_all_ok(handle.value(), batch, ""); !outcome.passed) {
            return fail("upsert: " + outcome.detail);
        }
        if (auto outcome = write_all_ok(handle.value(), batch.deletes(), ""); !outcome.passed) {
            return fail("delete: " + outcome.detail);
        }
        return pass(fmt::format("{} ids upserted and deleted", ids.size()));
    }

    Outcome versions() {
        const std::string the_id = id("versioned");
        auto handle = open();
        if (!handle) return fail(handle.error());
        const std::pair<const char*, Batch> steps[] = {
            {"upsert version 10", Batch().upsert(the_id, document(the_id, 10, run_), 10)},
            {"upsert version 11", Batch().upsert(the_id, document(the_id, 11, run_), 11)},
            {"stale upsert version 5 (must be OK: a newer version is there)",
             Batch().upsert(the_id, document(the_id, 5, run_), 5)},
            {"delete version 12", Batch().remove(the_id, 12)},
        };
        for (const auto& [step, batch] : steps) {
            if (auto outcome = write_all_ok(handle.value(), batch, ""); !outcome.passed) {
                return fail(fmt::format("{}: {}", step, outcome.detail));
            }
        }
        return pass("4 batches");
    }

    Outcome two_threads() {
        constexpr std::size_t kOpsPerThread = 500;
        auto first = open();
        auto second = open();
        if (!first) return fail(first.error());
        if (!second) return fail(second.error());
        Batch batches[2];
        for (std::size_t t = 0; t < 2; ++t) {
            for (std::size_t i = 0; i < kOpsPerThread; ++i) {
                const std::string the_id = id(fmt::format("thread-{}-{}", t, i));
                batches[t].upsert(the_id, document(the_id, i, run_));
            }
        }
        Outcome outcomes[2];
        std::thread other([&] { outcomes[1] = write_all_ok(second.value(), batches[1], ""); });
        outcomes[0] = write_all_ok(first.value(), batches[0], "");
        other.join();
        for (std::size_t t = 0; t < 2; ++t) {
            if (!outcomes[t].passed) return fail(fmt::format("thread {}: {}", t + 1, outcomes[t].detail));
        }
        for (std::size_t t = 0; t < 2; ++t) {
            if (auto outcome = write_all_ok(first.value(), batches[t].deletes(), ""); !outcome.passed) {
                return fail("cleaning up: " + outcome.detail);
            }
        }
        return pass(fmt::format("2 x {} upserts", kOpsPerThread));
    }

    // Upserts three ids and reads them back with one never written: three
    // found with a document, one not found.
    Outcome read_back() {
        if (!plugin_->has_read()) return pass("the plugin has no read: nothing can be verified against it");
        auto handle = open();
        if (!handle) return fail(handle.error());
        Batch batch;
        for (std::size_t i = 0; i < 3; ++i) {
            const std::string the_id = id(fmt::format("read-{}", i));
            batch.upsert(the_id, document(the_id, i, run_));
        }
        if (auto outcome = write_all_ok(handle.value(), batch, ""); !outcome.passed)
            return fail("upsert: " + outcome.detail);
        const std::vector<std::string> owned = {batch.id(0), batch.id(1), batch.id(2),
                                                id("read-never-written")};
        const std::vector<std::string_view> ids(owned.begin(), owned.end());
        auto results = handle->read(ids);
        if (auto cleanup = write_all_ok(handle.value(), batch.deletes(), ""); !cleanup.passed)
            return fail("deleting again: " + cleanup.detail);
        if (!results) return fail(results.error());
        if (results->size() != ids.size())
            return fail(fmt::format("{} results for {} ids", results->size(), ids.size()));
        for (std::size_t i = 0; i < ids.size(); ++i) {
            const plugin::ReadResult& result = (*results)[i];
            const plugin::ReadStatus expected =
                i < 3 ? plugin::ReadStatus::Found : plugin::ReadStatus::NotFound;
            if (result.status != expected) {
                return fail(fmt::format("id {}: {} {} \"{}\", expected {}", owned[i],
                                        plugin::to_string(result.status), result.native_code, result.message,
                                        plugin::to_string(expected)));
            }
            if (i < 3 && result.document.empty())
                return fail(fmt::format("id {}: found without a document", owned[i]));
        }
        return pass("3 found, 1 not found");
    }

    // Upserts 25 ids and lists the sink in pages of 10 until every one was
    // seen once (a search index shows new documents after its refresh: the
    // listing is tried again for a few seconds). A listing of a sink that
    // holds much more than this run wrote is stopped after a million ids.
    Outcome list_back() {
        if (!plugin_->has_list()) return pass("the plugin has no list: extra documents cannot be found");
        auto handle = open();
        if (!handle) return fail(handle.error());
        Batch batch;
        for (std::size_t i = 0; i < 25; ++i) {
            const std::string the_id = id(fmt::format("list-{}", i));
            batch.upsert(the_id, document(the_id, i, run_));
        }
        if (auto outcome = write_all_ok(handle.value(), batch, ""); !outcome.passed)
            return fail("upsert: " + outcome.detail);
        Outcome outcome = fail("not listed");
        for (int attempt = 0; attempt < 10 && !outcome.passed; ++attempt) {
            if (attempt != 0) std::this_thread::sleep_for(std::chrono::seconds(1));
            outcome = list_once(handle.value(), batch);
        }
        if (auto cleanup = write_all_ok(handle.value(), batch.deletes(), ""); !cleanup.passed)
            return fail("deleting again: " + cleanup.detail);
        return outcome;
    }

    Outcome list_once(SinkHandle& handle, const Batch& batch) {
        constexpr std::size_t kPage = 10;
        constexpr std::size_t kMostIds = 1'000'000;
        std::map<std::string, int> mine;
        for (std::size_t i = 0; i < batch.size(); ++i) mine[batch.id(i)] = 0;
        std::string cursor;
        std::size_t listed = 0;
        std::size_t pages = 0;
        do {
            auto page = handle.list(cursor, kPage);
            if (!page) return fail(page.error());
            if (page->status != OpStatus::Ok) {
                return fail(fmt::format("page {}: {} \"{}\"", pages + 1, plugin::to_string(page->status),
                                        page->message));
            }
            if (page->ids.size() > kPage)
                return fail(fmt::format("a page of {} ids for {}", page->ids.size(), kPage));
            for (const std::string& listed_id : page->ids) {
                if (auto it = mine.find(listed_id); it != mine.end()) ++it->second;
            }
            listed += page->ids.size();
            ++pages;
            cursor = page->next_cursor;
        } while (!cursor.empty() && listed < kMostIds);
        for (const auto& [the_id, times] : mine) {
            if (times != 1) return fail(fmt::format("id {} listed {} times, expected once", the_id, times));
        }
        return pass(fmt::format("{} ids in {} pages", listed, pages));
    }

    Outcome probe(Status (SinkHandle::*call)(), bool present, const char* what) {
        if (!present) return pass(fmt::format("the plugin has no {}: OK by definition", what));
        auto handle = open();
        if (!handle) return fail(handle.error());
        const std::string the_id = id(std::string("probe-") + what);
        if (auto outcome =
                write_all_ok(handle.value(), Batch().upsert(the_id, document(the_id, 0, run_)), "");
            !outcome.passed) {
            return fail("write before it: " + outcome.detail);
        }
        const Status status = (handle.value().*call)();
        if (!status.is_ok()) return fail(status.message());
        if (auto outcome = write_all_ok(handle.value(), Batch().remove(the_id), ""); !outcome.passed) {
            return fail("delete after it: " + outcome.detail);
        }
        return pass("OK after a write");
    }

    std::shared_ptr<const SinkPlugin> plugin_;
    std::string config_;
    BatteryOptions options_;
    std::ostream& out_;
    std::string run_;  // prefix of every id, unique to this run
    std::string current_name_;
    std::mutex counters_mutex_;
    std::uint64_t unset_ = 0;
    std::uint64_t results_ = 0;
    int failed_ = 0;
};

}  // namespace

int run_battery(const std::shared_ptr<const plugin::SinkPlugin>& plugin, const std::string& config_json,
                const BatteryOptions& options, std::ostream& out) {
    Battery battery(plugin, config_json, options, out);
    return battery.run();
}

}  // namespace indexer::sink_check
