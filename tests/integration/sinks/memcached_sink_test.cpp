// The memcached sink plugin, loaded through the ABI like the indexer loads it,
// against real memcached servers: the shared one (INDEXER_TEST_MEMCACHED) and,
// for stop/restart, private servers this suite starts on free ports.
#include <libmemcached-1.0/memcached.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <indexer/plugin/sink_handle.hpp>
#include <indexer/plugin/sink_plugin.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/stopped_write.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_services.hpp"

namespace indexer {
namespace {

using plugin::OpKind;
using plugin::OpStatus;
using plugin::SinkHandle;
using plugin::SinkOp;
using plugin::SinkPlugin;
using plugin::SinkResult;
using plugin::WriteControl;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// --- helpers ----------------------------------------------------------------

std::shared_ptr<const SinkPlugin> load_memcached_plugin() {
    const std::string path = std::string(INDEXER_PLUGIN_BUILD_DIR) + "/indexer-sink-memcached.so";
    auto plugin = SinkPlugin::load(path);
    if (!plugin) {
        ADD_FAILURE() << plugin.error() << " (build the target indexer_sink_memcached first)";
        return nullptr;
    }
    return plugin.value();
}

std::optional<SinkHandle> open_sink(const std::string& config_json) {
    const auto plugin = load_memcached_plugin();
    if (plugin == nullptr) return std::nullopt;
    auto handle = plugin->open("memcached-test", config_json);
    if (!handle) {
        ADD_FAILURE() << handle.error();
        return std::nullopt;
    }
    return std::move(handle.value());
}

SinkOp upsert(std::string_view id, std::string_view document) {
    return SinkOp{OpKind::Upsert, id, document, 0, {}};
}
SinkOp remove(std::string_view id) {
    return SinkOp{OpKind::Delete, id, {}, 0, {}};
}

// A plain libmemcached client that reads what the sink wrote. With several
// servers it uses the same distribution as the sink's default, so finding a
// key also proves the sink put it where libmemcached clients look for it.
class Reader {
public:
    explicit Reader(const std::vector<std::string>& servers) : memc_(memcached_create(nullptr)) {
        memcached_behavior_set(memc_, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                               MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
        for (const std::string& server : servers) {
            const std::size_t colon = server.rfind(':');
            const auto port = static_cast<in_port_t>(std::stoi(server.substr(colon + 1)));
            memcached_server_add(memc_, server.substr(0, colon).c_str(), port);
        }
    }
    ~Reader() { memcached_free(memc_); }
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    std::optional<std::string> get(const std::string& key) {
        std::size_t length = 0;
        std::uint32_t flags = 0;
        memcached_return_t rc = MEMCACHED_SUCCESS;
        char* value = memcached_get(memc_, key.data(), key.size(), &length, &flags, &rc);
        if (value == nullptr) {
            EXPECT_EQ(rc, MEMCACHED_NOTFOUND) << "reading " << key << ": " << memcached_strerror(memc_, rc);
            return std::nullopt;
        }
        std::string text(value, length);
        std::free(value);
        return text;
    }

    void set(const std::string& key, const std::string& value) {
        ASSERT_EQ(memcached_set(memc_, key.data(), key.size(), value.data(), value.size(), 0, 0),
                  MEMCACHED_SUCCESS);
    }

    // The index (in the constructor's list) of the server libmemcached picks.
    std::size_t server_of(const std::string& key) {
        return memcached_generate_hash(memc_, key.data(), key.size());
    }

private:
    memcached_st* memc_;
};

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

bool accepts_connections(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
}

// A memcached process of this test alone, stopped and restarted at will on
// its port. Never the shared server.
class PrivateMemcached {
public:
    PrivateMemcached() : port_(free_port()) { start(); }
    ~PrivateMemcached() { stop(); }
    PrivateMemcached(const PrivateMemcached&) = delete;
    PrivateMemcached& operator=(const PrivateMemcached&) = delete;

    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

    void start() {
        ASSERT_LT(pid_, 0) << "already running";
        const std::string port = std::to_string(port_);
        pid_ = ::fork();
        ASSERT_GE(pid_, 0);
        if (pid_ == 0) {
            ::execlp("memcached", "memcached", "-u", "nobody", "-l", "127.0.0.1", "-p", port.c_str(), "-U",
                     "0", "-m", "64", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        for (int attempt = 0; attempt < 100; ++attempt) {
            if (accepts_connections(port_)) return;
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                FAIL() << "memcached on port " << port_ << " exited with status " << status;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        FAIL() << "memcached on port " << port_ << " did not accept connections within 5 s";
    }

    void stop() {
        if (pid_ < 0) return;
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

private:
    std::uint16_t port_;
    pid_t pid_ = -1;
};

std::string config_for(const std::vector<std::string>& servers, const std::string& extra = "") {
    std::string list;
    for (const std::string& server : servers) list += (list.empty() ? "\"" : ", \"") + server + "\"";
    return R"({"servers": [)" + list + R"(], "key_template": "product:{id}")" + extra + "}";
}

std::string document_for(const std::string& id) {
    return R"({"id":")" + id + R"(","name":"Crème brûlée ☕","price":4.5})";
}

// --- single server: the shared memcached -----------------------------------

class MemcachedSinkTest : public ::testing::Test {
protected:
    void SetUp() override {
        INDEXER_REQUIRE_SERVICE(server, "INDEXER_TEST_MEMCACHED");
        server_ = server;
        prefix_ = testing::unique_name("mc") + ":";
        reader_ = std::make_unique<Reader>(std::vector<std::string>{server_});
    }

    std::optional<SinkHandle> open(const std::string& extra = "") {
        return open_sink(config_for({server_}, R"(, "prefix": ")" + prefix_ + "\"" + extra));
    }
    std::string key(const std::string& id) const { return prefix_ + "product:" + id; }

    std::string server_;
    std::string prefix_;
    std::unique_ptr<Reader> reader_;
};

TEST_F(MemcachedSinkTest, UpsertStoresTheExactDocumentUnderTheTemplatedKey) {
    auto sink = open();
    ASSERT_TRUE(sink);
    const std::string document = document_for("1");
    const std::vector<SinkOp> ops = {upsert("1", document)};

    const auto results = sink->write(ops);

    ASSERT_EQ(results.size(), 1U);
    EXPECT_EQ(results[0].status, OpStatus::Ok) << results[0].message;
    EXPECT_EQ(reader_->get(key("1")), document);
}

TEST_F(MemcachedSinkTest, UpsertReplacesThePreviousDocument) {
    auto sink = open();
    ASSERT_TRUE(sink);
    reader_->set(key("2"), "old");
    const std::string document = document_for("2");
    const std::vector<SinkOp> ops = {upsert("2", document)};

    EXPECT_EQ(sink->write(ops)[0].status, OpStatus::Ok);
    EXPECT_EQ(reader_->get(key("2")), document);
}

TEST_F(MemcachedSinkTest, DeleteRemovesTheDocument) {
    auto sink = open();
    ASSERT_TRUE(sink);
    reader_->set(key("3"), document_for("3"));
    const std::vector<SinkOp> ops = {remove("3")};

    const auto results = sink->write(ops);

    EXPECT_EQ(results[0].status, OpStatus::Ok) << results[0].message;
    EXPECT_EQ(reader_->get(key("3")), std::nullopt);
}

TEST_F(MemcachedSinkTest, DeletingAnAbsentDocumentIsOk) {
    auto sink = open();
    ASSERT_TRUE(sink);
    const std::vector<SinkOp> ops = {remove("never-written")};

    const auto results = sink->write(ops);

    EXPECT_EQ(results[0].status, OpStatus::Ok) << results[0].message;
    EXPECT_EQ(results[0].native_code, MEMCACHED_NOTFOUND);
}

TEST_F(MemcachedSinkTest, OpsOfOneIdApplyInBatchOrder) {
    auto sink = open();
    ASSERT_TRUE(sink);
    const std::string first = document_for("4");
    const std::string last = R"({"id":"4","v":3})";
    const std::vector<SinkOp> ops = {upsert("4", first), remove("4"), upsert("4", last), upsert("5", first),
                                     remove("5")};

    const auto results = sink->write(ops);

    for (const SinkResult& result : results) EXPECT_EQ(result.status, OpStatus::Ok) << result.message;
    EXPECT_EQ(reader_->get(key("4")), last);
    EXPECT_EQ(reader_->get(key("5")), std::nullopt);
}

TEST_F(MemcachedSinkTest, DocumentExpiresAfterTheTtl) {
    auto sink = open(R"(, "ttl_seconds": 1)");
    ASSERT_TRUE(sink);
    const std::string document = document_for("6");
    const std::vector<SinkOp> ops = {upsert("6", document)};

    ASSERT_EQ(sink->write(ops)[0].status, OpStatus::Ok);
    EXPECT_EQ(reader_->get(key("6")), document);
    // memcached's clock ticks once a second: a 1 s TTL ends within 2 s.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));

    EXPECT_EQ(reader_->get(key("6")), std::nullopt);
}

TEST_F(MemcachedSinkTest, OversizedDocumentIsTheOnlyRejectOfItsBatch) {
    auto sink = open();
    ASSERT_TRUE(sink);
    std::vector<std::string> ids;
    std::vector<std::string> documents;
    for (int i = 0; i < 100; ++i) {
        ids.push_back("big-" + std::to_string(i));
        documents.push_back(document_for(ids.back()));
    }
    documents[37] = R"({"blob":")" + std::string(2 * 1024 * 1024, 'x') + R"("})";
    std::vector<SinkOp> ops;
    for (int i = 0; i < 100; ++i) ops.push_back(upsert(ids[i], documents[i]));

    const auto results = sink->write(ops);

    ASSERT_EQ(results.size(), 100U);
    for (int i = 0; i < 100; ++i) {
        if (i == 37) {
            EXPECT_EQ(results[i].status, OpStatus::Reject);
            EXPECT_NE(results[i].message.find("exceeds max_value_bytes (1048576)"), std::string::npos)
                << results[i].message;
            EXPECT_EQ(reader_->get(key(ids[i])), std::nullopt);
        } else {
            EXPECT_EQ(results[i].status, OpStatus::Ok) << i << ": " << results[i].message;
            EXPECT_EQ(reader_->get(key(ids[i])), documents[i]) << i;
        }
    }
}

TEST_F(MemcachedSinkTest, DocumentTheServerFindsTooLargeIsRejectedAndTheRestOfThePipelineWritten) {
    // The sink's own limit raised above the server's 1 MiB item size: the
    // server refuses, and the requests pipelined after it still get answers.
    auto sink = open(R"(, "max_value_bytes": 8388608)");
    ASSERT_TRUE(sink);
    const std::string big = R"({"blob":")" + std::string(3 * 1024 * 1024, 'y') + R"("})";
    const std::string small = document_for("after");
    const std::vector<SinkOp> ops = {upsert("before", small), upsert("huge", big), upsert("after", small),
                                     remove("before")};

    const auto results = sink->write(ops);

    EXPECT_EQ(results[0].status, OpStatus::Ok) << results[0].message;
    EXPECT_EQ(results[1].status, OpStatus::Reject);
    EXPECT_EQ(results[1].native_code, MEMCACHED_E2BIG);
    EXPECT_NE(results[1].message.find("SERVER_ERROR object too large for cache"), std::string::npos)
        << results[1].message;
    EXPECT_EQ(results[2].status, OpStatus::Ok) << results[2].message;
    EXPECT_EQ(results[3].status, OpStatus::Ok) << results[3].message;
    EXPECT_EQ(reader_->get(key("after")), small);
    EXPECT_EQ(reader_->get(key("before")), std::nullopt);
}

TEST_F(MemcachedSinkTest, TenThousandOpBatchIsWrittenWhole) {
    auto sink = open();
    ASSERT_TRUE(sink);
    std::vector<std::string> ids;
    std::vector<std::string> documents;
    for (int i = 0; i < 10'000; ++i) {
        ids.push_back(std::to_string(i));
        documents.push_back(document_for(ids.back()) + std::string(200, ' '));
    }
    std::vector<SinkOp> ops;
    for (int i = 0; i < 10'000; ++i) ops.push_back(upsert(ids[i], documents[i]));

    const auto results = sink->write(ops);

    ASSERT_EQ(results.size(), 10'000U);
    int ok = 0;
    int readable = 0;
    for (int i = 0; i < 10'000; ++i) {
        ok += results[i].status == OpStatus::Ok ? 1 : 0;
        readable += reader_->get(key(ids[i])) == documents[i] ? 1 : 0;
    }
    EXPECT_EQ(ok, 10'000);
    EXPECT_EQ(readable, 10'000);
}

TEST_F(MemcachedSinkTest, IdTooLongForAKeyIsStoredUnderItsHashedKey) {
    auto sink = open();
    ASSERT_TRUE(sink);
    const std::string id(300, 'x');
    const std::string document = document_for("long");
    const std::vector<SinkOp> ops = {upsert(id, document), upsert("has space", document)};

    const auto results = sink->write(ops);

    EXPECT_EQ(results[0].status, OpStatus::Ok) << results[0].message;
    EXPECT_EQ(results[1].status, OpStatus::Ok) << results[1].message;
    // README.md, "Keys": prefix + template head + "#sha256:" + sha256(templated key).
    EXPECT_EQ(
        reader_->get(prefix_ +
                     "product:#sha256:a2e285346fa5a30826e9fd359e40bc71a2968d62a1240d5cbdfe08fa9f211d45"),
        document);
    EXPECT_EQ(
        reader_->get(prefix_ +
                     "product:#sha256:f79d45ce1670d4ee6c665b500c4ef81ca0c05e2d452d62ce32a97e8ed490402c"),
        document);
}

TEST_F(MemcachedSinkTest, TargetReplacesThePrefix) {
    auto sink = open();
    ASSERT_TRUE(sink);
    const std::string other = testing::unique_name("mcother") + ":";
    const std::string document = document_for("7");
    const std::vector<SinkOp> ops = {SinkOp{OpKind::Upsert, "7", document, 0, other}};

    EXPECT_EQ(sink->write(ops)[0].status, OpStatus::Ok);
    EXPECT_EQ(reader_->get(other + "product:7"), document);
    EXPECT_EQ(reader_->get(key("7")), std::nullopt);
}

TEST_F(MemcachedSinkTest, HealthAnswersWhenTheServerDoes) {
    auto sink = open();
    ASSERT_TRUE(sink);
    const Status health = sink->health();
    EXPECT_TRUE(health.is_ok()) << health.message();
}

// A hung memcached: a proxy in front of the shared server that accepts
// connections and forwards nothing.
class MemcachedSinkHungServerTest : public MemcachedSinkTest {
protected:
    void SetUp() override {
        MemcachedSinkTest::SetUp();
        if (HasFatalFailure()) return;
        proxy_ = testing::TcpProxy::for_url(server_);
        proxy_->start();
        proxy_->pause(true);
    }
    std::optional<SinkHandle> open_behind_proxy() {
        return open_sink(config_for({"127.0.0.1:" + std::to_string(proxy_->port())},
                                    R"(, "prefix": ")" + prefix_ + R"(", "io_timeout_ms": 60000)"));
    }
    std::vector<SinkOp> ops() const { return {upsert("hung-1", R"({"a":1})"), remove("hung-2")}; }

    std::unique_ptr<testing::TcpProxy> proxy_;
};

TEST_F(MemcachedSinkHungServerTest, GivesRetryByTheWritesDeadlineLongBeforeTheIoTimeout) {
    auto sink = open_behind_proxy();
    ASSERT_TRUE(sink);
    const auto started = Clock::now();

    auto results = sink->write(ops(), WriteControl{started + milliseconds(500), nullptr});

    const auto took = Clock::now() - started;
    EXPECT_GE(took, milliseconds(450));
    EXPECT_LT(took, milliseconds(1500));
    ASSERT_EQ(results.size(), 2U);
    for (const SinkResult& result : results) {
        EXPECT_EQ(result.status, OpStatus::Retry);
        EXPECT_NE(result.message.find("deadline passed"), std::string::npos) << result.message;
    }
    // Not the server's fault: it is not marked down, the next write goes through.
    proxy_->pause(false);
    results = sink->write(ops());
    for (const SinkResult& result : results) EXPECT_EQ(result.status, OpStatus::Ok) << result.message;
}

TEST_F(MemcachedSinkHungServerTest, StopReturnsAWriteToAHungServerPromptly) {
    auto sink = open_behind_proxy();
    ASSERT_TRUE(sink);
    const auto batch = ops();
    // Under way once the hung server took the connection.
    const auto stopped =
        testing::stop_write_under_way(*sink, batch, [&] { return proxy_->connections_accepted() > 0; });

    ASSERT_TRUE(stopped.was_under_way);
    EXPECT_LT(stopped.after_stop, milliseconds(200));
    const auto& results = stopped.results;
    ASSERT_EQ(results.size(), 2U);
    for (const SinkResult& result : results) {
        EXPECT_EQ(result.status, OpStatus::Retry);
        EXPECT_NE(result.message.find("the host asked the write to stop"), std::string::npos)
            << result.message;
    }
}

TEST(MemcachedSinkOpen, InvalidConfigFailsWithTheKeyPath) {
    const auto plugin = load_memcached_plugin();
    ASSERT_NE(plugin, nullptr);

    const auto handle = plugin->open("memcached-test", R"({"servers": ["127.0.0.1:11211", "nohost"]})");

    ASSERT_FALSE(handle);
    EXPECT_NE(handle.error().find(R"(config.servers[1]: expected "host:port", got "nohost")"),
              std::string::npos)
        << handle.error();
}

// --- two private servers: consistent hashing, stop and restart ---------------

class MemcachedSinkTwoServersTest : public ::testing::Test {
protected:
    std::vector<std::string> servers() const { return {first_.address(), second_.address()}; }

    // ids and which server (0 or 1) libmemcached's ketama puts each on.
    void make_ids(int count) {
        Reader ring(servers());
        for (int i = 0; i < count; ++i) {
            ids_.push_back(testing::unique_name("two"));
            documents_.push_back(document_for(ids_.back()));
            placement_.push_back(ring.server_of("product:" + ids_.back()));
        }
    }
    std::vector<SinkOp> upserts() const {
        std::vector<SinkOp> ops;
        for (std::size_t i = 0; i < ids_.size(); ++i) ops.push_back(upsert(ids_[i], documents_[i]));
        return ops;
    }

    PrivateMemcached first_;
    PrivateMemcached second_;
    std::vector<std::string> ids_;
    std::vector<std::string> documents_;
    std::vector<std::size_t> placement_;
};

TEST_F(MemcachedSinkTwoServersTest, KeysLandWhereLibmemcachedKetamaLooksForThem) {
    auto sink = open_sink(config_for(servers()));
    ASSERT_TRUE(sink);
    make_ids(200);

    const auto results = sink->write(upserts());

    Reader ring(servers());
    Reader only_first({first_.address()});
    Reader only_second({second_.address()});
    std::size_t on_second = 0;
    for (std::size_t i = 0; i < ids_.size(); ++i) {
        EXPECT_EQ(results[i].status, OpStatus::Ok) << results[i].message;
        const std::string key = "product:" + ids_[i];
        EXPECT_EQ(ring.get(key), documents_[i]);
        Reader& holder = placement_[i] == 0 ? only_first : only_second;
        EXPECT_EQ(holder.get(key), documents_[i]) << key << " is not on server " << placement_[i];
        on_second += placement_[i];
    }
    EXPECT_GT(on_second, 0U);
    EXPECT_LT(on_second, ids_.size());
}

TEST_F(MemcachedSinkTwoServersTest, StoppedServerGetsRetryForExactlyItsOpsAndIsUsedAgainOnceBack) {
    auto sink =
        open_sink(config_for(servers(), R"(, "dead_server_retry_ms": 300, "connect_timeout_ms": 500)"));
    ASSERT_TRUE(sink);
    make_ids(200);
    for (const SinkResult& result : sink->write(upserts()))
        ASSERT_EQ(result.status, OpStatus::Ok) << result.message;

    second_.stop();
    const auto while_down = sink->write(upserts());
    const Status health_down = sink->health();

    for (std::size_t i = 0; i < ids_.size(); ++i) {
        if (placement_[i] == 1) {
            EXPECT_EQ(while_down[i].status, OpStatus::Retry) << ids_[i];
            EXPECT_NE(while_down[i].message.find(second_.address()), std::string::npos)
                << while_down[i].message;
        } else {
            EXPECT_EQ(while_down[i].status, OpStatus::Ok) << ids_[i] << ": " << while_down[i].message;
        }
    }
    EXPECT_FALSE(health_down.is_ok());
    EXPECT_NE(health_down.message().find(second_.address()), std::string::npos) << health_down.message();
    EXPECT_EQ(health_down.message().find(first_.address()), std::string::npos) << health_down.message();

    second_.start();
    // Past dead_server_retry_ms the server is tried again.
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    const auto after_restart = sink->write(upserts());

    Reader ring(servers());
    for (std::size_t i = 0; i < ids_.size(); ++i) {
        EXPECT_EQ(after_restart[i].status, OpStatus::Ok) << ids_[i] << ": " << after_restart[i].message;
        EXPECT_EQ(ring.get("product:" + ids_[i]), documents_[i]);
    }
    const Status health_up = sink->health();
    EXPECT_TRUE(health_up.is_ok()) << health_up.message();
}

TEST_F(MemcachedSinkTwoServersTest, AllServersDownGivesRetryForEveryOpWithoutCrashing) {
    auto sink = open_sink(config_for(servers()));
    ASSERT_TRUE(sink);
    make_ids(50);
    first_.stop();
    second_.stop();

    const auto results = sink->write(upserts());

    ASSERT_EQ(results.size(), 50U);
    for (const SinkResult& result : results) {
        EXPECT_EQ(result.status, OpStatus::Retry);
        EXPECT_FALSE(result.message.empty());
    }
}

}  // namespace
}  // namespace indexer
