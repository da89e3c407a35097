// Reading memcached back: get replies (one per request, pipelined), the lines
// of `lru_crawler metadump`, and mapping a listed key back to its id.
#include "indexer/sinks/memcached/key_builder.hpp"
#include "indexer/sinks/memcached/text_protocol.hpp"

#include <gtest/gtest.h>
#include <libmemcached-1.0/memcached.h>

#include <string>

namespace indexer::memcached_sink {
namespace {

constexpr std::size_t kMaxValue = 1024;
constexpr std::size_t kMaxLine = 4096;

GetReply get(std::string_view buffer, std::string_view key = "p:1") {
    return parse_get_reply(buffer, key, kMaxValue, kMaxLine);
}

TEST(GetReply, EndAloneIsNotFound) {
    const GetReply reply = get("END\r\nVALUE p:2 0 1\r\n");
    EXPECT_EQ(reply.state, GetReply::State::Complete);
    EXPECT_EQ(reply.consumed, 5U);
    EXPECT_EQ(reply.outcome, Outcome::Ok);
    EXPECT_FALSE(reply.found);
}

TEST(GetReply, AValueIsReadByItsLengthEvenWhenItHoldsLineBreaks) {
    const std::string wire = "VALUE p:1 0 13\r\n{\"a\":\"\r\nEND\"}\r\nEND\r\nEND\r\n";
    const GetReply reply = get(wire);
    ASSERT_EQ(reply.state, GetReply::State::Complete);
    EXPECT_TRUE(reply.found);
    EXPECT_EQ(reply.value, "{\"a\":\"\r\nEND\"}");
    EXPECT_EQ(reply.consumed, wire.size() - 5);
    EXPECT_EQ(get("VALUE p:1 7 2 12345\r\nhi\r\nEND\r\n").value, "hi");  // flags and a cas are fine
}

TEST(GetReply, APartialReplyAsksForMoreAndSaysHowMuchOnceTheHeaderIsIn) {
    const std::string wire = "VALUE p:1 0 10\r\n0123456789\r\nEND\r\n";
    for (std::size_t cut = 0; cut < wire.size(); ++cut) {
        const GetReply reply = get(std::string_view(wire).substr(0, cut));
        EXPECT_EQ(reply.state, GetReply::State::Incomplete) << cut;
        if (cut >= 16) {
            EXPECT_EQ(reply.needed, wire.size()) << cut;
        }
    }
    EXPECT_EQ(get(wire).state, GetReply::State::Complete);
}

TEST(GetReply, RepliesThatDoNotFitTheRequestPutTheStreamOutOfSync) {
    for (const std::string_view wire :
         {"VALUE p:2 0 2\r\nhi\r\nEND\r\n", "VALUE p:1 0 -2\r\nhi\r\nEND\r\n",
          "VALUE p:1 0 99999999999999999999\r\n", "VALUE p:1 0 2\r\nhiXXEND\r\n",
          "VALUE p:1 0 2\r\nhi\r\nEOF\r\n", "VALUE p:1 0 2 1 extra\r\nhi\r\nEND\r\n",
          "VALUE p:1 x 2\r\nhi\r\nEND\r\n", "STORED\r\n", "ERROR\r\n",
          "CLIENT_ERROR bad command line format\r\n"}) {
        const GetReply reply = get(wire);
        EXPECT_EQ(reply.state, GetReply::State::Complete) << wire;
        EXPECT_NE(reply.outcome, Outcome::Ok) << wire;
        EXPECT_FALSE(reply.in_sync) << wire;
        EXPECT_FALSE(reply.message.empty()) << wire;
    }
    const GetReply too_large = get("VALUE p:1 0 1025\r\n");
    EXPECT_FALSE(too_large.in_sync);
    EXPECT_NE(too_large.message.find("1025 bytes"), std::string::npos);
}

TEST(GetReply, AServerErrorIsRetryAndKeepsTheStreamInSync) {
    const GetReply reply = get("SERVER_ERROR out of memory\r\nEND\r\n");
    EXPECT_EQ(reply.outcome, Outcome::Retry);
    EXPECT_TRUE(reply.in_sync);
    EXPECT_EQ(reply.native_code, MEMCACHED_SERVER_ERROR);
}

TEST(GetReply, AnEndlessLineIsRefused) {
    const GetReply reply = get(std::string(kMaxLine + 1, 'V'));
    EXPECT_EQ(reply.state, GetReply::State::Complete);
    EXPECT_FALSE(reply.in_sync);
}

TEST(Metadump, KeysAreDecodedAndTheDumpEndsAtEnd) {
    MetadumpLine line =
        parse_metadump_line("key=probe%2520x%3Aa%C3%A9 exp=-1 la=1796121372 cas=7 fetch=no cls=1 size=74");
    EXPECT_EQ(line.kind, MetadumpLine::Kind::Key);
    EXPECT_EQ(line.key, "probe%20x:a\xc3\xa9");
    EXPECT_EQ(parse_metadump_line("key=plain").key, "plain");
    EXPECT_EQ(parse_metadump_line("END").kind, MetadumpLine::Kind::End);
}

TEST(Metadump, BusyErrorsAndGarbageAreToldApart) {
    EXPECT_EQ(parse_metadump_line("BUSY currently processing crawler request").kind,
              MetadumpLine::Kind::Busy);
    EXPECT_EQ(parse_metadump_line("ERROR").kind, MetadumpLine::Kind::Error);
    EXPECT_EQ(parse_metadump_line("CLIENT_ERROR bad command line format").kind, MetadumpLine::Kind::Error);
    const std::string_view garbage_lines[] = {"",           "key=",        "key",
                                              "keys=a",     "key=a%",      "key=a%4",
                                              "key=a%zz b", "VALUE x 0 1", std::string_view("key\0=a", 6)};
    for (const std::string_view garbage : garbage_lines) {
        const MetadumpLine line = parse_metadump_line(garbage);
        EXPECT_EQ(line.kind, MetadumpLine::Kind::Invalid) << garbage;
        EXPECT_FALSE(line.message.empty());
    }
    // A NUL or a non-UTF-8 byte in a key is data, decoded as it is.
    EXPECT_EQ(parse_metadump_line("key=a%00%FF").key, std::string("a\0\xff", 3));
}

KeyBuilder builder(const std::string& prefix, const std::string& key_template) {
    return KeyBuilder(prefix, KeyTemplate::parse(key_template), false);
}

TEST(KeyOrigin, AKeyOfTheTemplateGivesBackItsId) {
    const KeyBuilder keys = builder("shop:", "product:{id}:v1");
    for (const std::string id : {"1", "caf\xc3\xa9", "a:b", "v1", "x\xff"}) {
        std::string error;
        const auto built = keys.build(id, {}, error);
        ASSERT_TRUE(built) << error;
        const KeyBuilder::KeyOrigin origin = keys.origin_of(built->key);
        EXPECT_EQ(origin.kind, KeyBuilder::KeyOrigin::Kind::Id) << id;
        EXPECT_EQ(origin.id, id);
    }
    const KeyBuilder twice = builder("", "{id}-{id}");
    EXPECT_EQ(twice.origin_of("ab-ab").id, "ab");
    EXPECT_EQ(twice.origin_of("ab-ac").kind, KeyBuilder::KeyOrigin::Kind::Foreign);
}

TEST(KeyOrigin, HashedKeysAreCountedAndOtherKeysAreForeign) {
    const KeyBuilder keys = builder("shop:", "product:{id}");
    std::string error;
    const auto hashed = keys.build(std::string(300, 'x'), {}, error);
    ASSERT_TRUE(hashed && hashed->hashed);
    EXPECT_EQ(keys.origin_of(hashed->key).kind, KeyBuilder::KeyOrigin::Kind::Hashed);
    for (const std::string_view key : {"other:product:1", "shop:item:1", "shop:product:", "shop:", "",
                                       "shop:product:#sha256:abc", "shop:product:a b"}) {
        EXPECT_EQ(keys.origin_of(key).kind, KeyBuilder::KeyOrigin::Kind::Foreign) << key;
    }
    // A target replaces the prefix, as for writes.
    EXPECT_EQ(keys.origin_of("tenant2:product:9", "tenant2:").id, "9");
    EXPECT_EQ(keys.origin_of("shop:product:9", "tenant2:").kind, KeyBuilder::KeyOrigin::Kind::Foreign);
}

}  // namespace
}  // namespace indexer::memcached_sink
