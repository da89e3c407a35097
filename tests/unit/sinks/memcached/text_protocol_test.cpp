#include "indexer/sinks/memcached/text_protocol.hpp"

#include <gtest/gtest.h>
#include <libmemcached-1.0/memcached.h>

#include <string>

namespace indexer::memcached_sink {
namespace {

TEST(TextProtocol, EncodesSetWithExptimeAndByteCount) {
    std::string out;
    append_set(out, "product:1", 60, R"({"a":"é"})");
    EXPECT_EQ(out, "set product:1 0 60 10\r\n{\"a\":\"é\"}\r\n");
}

TEST(TextProtocol, EncodesDeleteAndVersion) {
    std::string out;
    append_delete(out, "product:1");
    append_version(out);
    EXPECT_EQ(out, "delete product:1\r\nversion\r\n");
}

TEST(TextProtocol, SendsTtlsOverThirtyDaysAsUnixTime) {
    EXPECT_EQ(exptime_for(0, 1'700'000'000), 0U);
    EXPECT_EQ(exptime_for(3600, 1'700'000'000), 3600U);
    EXPECT_EQ(exptime_for(kMaxRelativeExptime, 1'700'000'000), kMaxRelativeExptime);
    EXPECT_EQ(exptime_for(kMaxRelativeExptime + 1, 1'700'000'000), 1'700'000'000U + kMaxRelativeExptime + 1);
}

TEST(TextProtocol, StoredAndDeletedAreOk) {
    EXPECT_EQ(interpret(Command::Set, parse_reply("STORED")).result.outcome, Outcome::Ok);
    EXPECT_EQ(interpret(Command::Delete, parse_reply("DELETED")).result.outcome, Outcome::Ok);
    EXPECT_EQ(interpret(Command::Version, parse_reply("VERSION 1.6.18")).result.outcome, Outcome::Ok);
}

TEST(TextProtocol, DeletingAMissingKeyIsOkWithTheNotFoundCode) {
    const Interpretation meaning = interpret(Command::Delete, parse_reply("NOT_FOUND"));
    EXPECT_EQ(meaning.result.outcome, Outcome::Ok);
    EXPECT_EQ(meaning.result.native_code, MEMCACHED_NOTFOUND);
    EXPECT_TRUE(meaning.in_sync);
}

TEST(TextProtocol, TooLargeForTheServerIsRejectedAndStaysInSync) {
    const Interpretation meaning =
        interpret(Command::Set, parse_reply("SERVER_ERROR object too large for cache"));
    EXPECT_EQ(meaning.result.outcome, Outcome::Reject);
    EXPECT_EQ(meaning.result.native_code, MEMCACHED_E2BIG);
    EXPECT_EQ(meaning.result.message, "SERVER_ERROR object too large for cache");
    EXPECT_TRUE(meaning.in_sync);
}

TEST(TextProtocol, ServerOutOfMemoryIsRetried) {
    const Interpretation meaning =
        interpret(Command::Set, parse_reply("SERVER_ERROR out of memory storing object"));
    EXPECT_EQ(meaning.result.outcome, Outcome::Retry);
    EXPECT_EQ(meaning.result.native_code, MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE);
    EXPECT_TRUE(meaning.in_sync);
}

TEST(TextProtocol, ClientErrorIsRejectedAndEndsTheConnection) {
    const Interpretation meaning = interpret(Command::Set, parse_reply("CLIENT_ERROR bad data chunk"));
    EXPECT_EQ(meaning.result.outcome, Outcome::Reject);
    EXPECT_EQ(meaning.result.message, "memcached refused the set request: CLIENT_ERROR bad data chunk");
    EXPECT_FALSE(meaning.in_sync);
}

TEST(TextProtocol, AReplyThatDoesNotFitTheCommandIsRetriedAndEndsTheConnection) {
    const Interpretation meaning = interpret(Command::Set, parse_reply("DELETED"));
    EXPECT_EQ(meaning.result.outcome, Outcome::Retry);
    EXPECT_EQ(meaning.result.native_code, MEMCACHED_PROTOCOL_ERROR);
    EXPECT_EQ(meaning.result.message, "unexpected reply \"DELETED\" to set");
    EXPECT_FALSE(meaning.in_sync);
    EXPECT_FALSE(interpret(Command::Delete, parse_reply("STOREDX")).in_sync);
}

TEST(TextProtocol, NotStoredIsRetried) {
    EXPECT_EQ(interpret(Command::Set, parse_reply("NOT_STORED")).result.outcome, Outcome::Retry);
}

}  // namespace
}  // namespace indexer::memcached_sink
