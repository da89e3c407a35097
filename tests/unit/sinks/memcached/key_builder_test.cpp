#include "indexer/sinks/memcached/key_builder.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace indexer::memcached_sink {
namespace {

BuiltKey build_ok(const KeyBuilder& builder, std::string_view id, std::string_view target = {}) {
    std::string error;
    auto key = builder.build(id, target, error);
    EXPECT_TRUE(key.has_value()) << error;
    return key.value_or(BuiltKey{});
}

std::string template_error(std::string_view text) {
    try {
        KeyTemplate::parse(text);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "no error";
}

TEST(KeyTemplate, ReplacesEveryIdPlaceholder) {
    EXPECT_EQ(KeyTemplate::parse("product:{id}").expand("42"), "product:42");
    EXPECT_EQ(KeyTemplate::parse("{id}").expand("42"), "42");
    EXPECT_EQ(KeyTemplate::parse("a:{id}:b:{id}").expand("7"), "a:7:b:7");
}

TEST(KeyTemplate, DoubledBracesAreLiteralBraces) {
    EXPECT_EQ(KeyTemplate::parse("{{x}}:{id}").expand("1"), "{x}:1");
}

TEST(KeyTemplate, HeadIsTheTextBeforeTheFirstId) {
    EXPECT_EQ(KeyTemplate::parse("product:{id}:v2").head(), "product:");
    EXPECT_EQ(KeyTemplate::parse("{id}").head(), "");
}

TEST(KeyTemplate, RejectsTemplatesThatCannotMakeDistinctKeys) {
    EXPECT_NE(template_error("product").find("needs an {id} placeholder"), std::string::npos);
    EXPECT_NE(template_error("product:{name}").find("unknown placeholder {name}"), std::string::npos);
    EXPECT_NE(template_error("product:{id").find("unclosed '{'"), std::string::npos);
    EXPECT_NE(template_error("product}:{id}").find("unmatched '}'"), std::string::npos);
    EXPECT_NE(template_error("my product:{id}").find("a space"), std::string::npos);
}

TEST(KeyProblem, AcceptsPrintableAndUtf8Keys) {
    EXPECT_FALSE(key_problem("product:42"));
    EXPECT_FALSE(key_problem("produit:été"));
    EXPECT_FALSE(key_problem(std::string(250, 'k')));
}

TEST(KeyProblem, NamesWhatMemcachedCannotStore) {
    EXPECT_EQ(key_problem(std::string(251, 'k')).value_or(""), "is 251 bytes, memcached allows 250");
    EXPECT_EQ(key_problem("a b").value_or(""), "contains a space at byte 1");
    EXPECT_EQ(key_problem("a\nb").value_or(""), "contains a newline at byte 1");
    EXPECT_EQ(key_problem(std::string("a\0b", 3)).value_or(""), "contains a NUL byte at byte 1");
    EXPECT_EQ(key_problem("a\x7f").value_or(""), "contains control byte 0x7f at byte 1");
}

TEST(KeyBuilder, PrependsThePrefixToTheTemplatedKey) {
    const KeyBuilder builder("shop1:", KeyTemplate::parse("product:{id}"), false);
    const BuiltKey key = build_ok(builder, "42");
    EXPECT_EQ(key.key, "shop1:product:42");
    EXPECT_FALSE(key.hashed);
    // Like libmemcached's namespace: the server is chosen without the prefix.
    EXPECT_EQ(key.key.substr(key.distribution_offset), "product:42");
}

TEST(KeyBuilder, HashesWithThePrefixWhenConfigured) {
    const KeyBuilder builder("shop1:", KeyTemplate::parse("product:{id}"), true);
    EXPECT_EQ(build_ok(builder, "42").distribution_offset, 0U);
}

TEST(KeyBuilder, TargetReplacesThePrefix) {
    const KeyBuilder builder("shop1:", KeyTemplate::parse("product:{id}"), false);
    const BuiltKey key = build_ok(builder, "42", "shop2:");
    EXPECT_EQ(key.key, "shop2:product:42");
    EXPECT_EQ(key.distribution_offset, 6U);
}

TEST(KeyBuilder, HashesKeysLongerThanMemcachedAllows) {
    const KeyBuilder builder("", KeyTemplate::parse("product:{id}"), false);
    const BuiltKey key = build_ok(builder, std::string(300, 'x'));
    EXPECT_TRUE(key.hashed);
    // sha256("product:" + 300 x), computed with Python's hashlib.
    EXPECT_EQ(key.key, "product:#sha256:a2e285346fa5a30826e9fd359e40bc71a2968d62a1240d5cbdfe08fa9f211d45");
    EXPECT_FALSE(key_problem(key.key));
}

TEST(KeyBuilder, HashesKeysWithForbiddenBytesAndKeepsThePrefixReadable) {
    const KeyBuilder builder("shop1:", KeyTemplate::parse("product:{id}"), false);
    const BuiltKey key = build_ok(builder, "has space");
    EXPECT_TRUE(key.hashed);
    // The digest covers the templated key, not the prefix.
    EXPECT_EQ(key.key,
              "shop1:product:#sha256:f79d45ce1670d4ee6c665b500c4ef81ca0c05e2d452d62ce32a97e8ed490402c");
    EXPECT_EQ(key.distribution_offset, 6U);
}

TEST(KeyBuilder, KeepsUtf8IdsAsTheyAre) {
    const KeyBuilder builder("", KeyTemplate::parse("product:{id}"), false);
    const BuiltKey key = build_ok(builder, "ünï");
    EXPECT_EQ(key.key, "product:ünï");
    EXPECT_FALSE(key.hashed);
}

TEST(KeyBuilder, HashesAtExactlyOneByteOverTheLimit) {
    const KeyBuilder builder("p:", KeyTemplate::parse("{id}"), false);
    EXPECT_FALSE(build_ok(builder, std::string(248, 'x')).hashed);
    EXPECT_TRUE(build_ok(builder, std::string(249, 'x')).hashed);
}

TEST(KeyBuilder, KeepsAKeyOfExactly250BytesAndHashesOneOf251) {
    const KeyBuilder builder("p:", KeyTemplate::parse("{id}"), false);
    const BuiltKey at_limit = build_ok(builder, std::string(248, 'x'));
    EXPECT_EQ(at_limit.key, "p:" + std::string(248, 'x'));
    EXPECT_EQ(at_limit.key.size(), 250U);
    const BuiltKey past_limit = build_ok(builder, std::string(249, 'x'));
    EXPECT_TRUE(past_limit.hashed);
    EXPECT_EQ(past_limit.key.substr(0, 10), "p:#sha256:");
    EXPECT_EQ(past_limit.key.size(), 2U + kHashedKeySuffixBytes);
}

TEST(KeyBuilder, AnIdSpelledLikeAHashedKeyGetsAKeyOfItsOwn) {
    const KeyBuilder builder("", KeyTemplate::parse("product:{id}"), false);
    const BuiltKey hashed = build_ok(builder, std::string(300, 'x'));
    ASSERT_EQ(hashed.key, "product:#sha256:a2e285346fa5a30826e9fd359e40bc71a2968d62a1240d5cbdfe08fa9f211d45");

    // The templated key of this id is literally the hashed key above.
    const BuiltKey lookalike =
        build_ok(builder, "#sha256:a2e285346fa5a30826e9fd359e40bc71a2968d62a1240d5cbdfe08fa9f211d45");
    EXPECT_NE(lookalike.key, hashed.key);
    EXPECT_TRUE(lookalike.hashed);
    // sha256("product:#sha256:a2e2...1d45"), computed with Python's hashlib.
    EXPECT_EQ(lookalike.key,
              "product:#sha256:d49f00459aad400a3634e1000427280c1a2cae3f7593d44e15b511f7b627b1ca");
}

TEST(KeyBuilder, HashesEveryKeyThatHoldsTheMarker) {
    const KeyBuilder builder("", KeyTemplate::parse("product:{id}"), false);
    EXPECT_TRUE(build_ok(builder, "a#sha256:b").hashed);
    EXPECT_TRUE(build_ok(builder, "#sha256:").hashed);
    EXPECT_FALSE(build_ok(builder, "a#sha256b").hashed);
    EXPECT_FALSE(build_ok(builder, "#SHA256:b").hashed);
    // Marker text split between the target and the id is a marker all the same.
    const KeyBuilder bare("", KeyTemplate::parse("{id}"), false);
    EXPECT_TRUE(build_ok(bare, "256:1", "t#sha").hashed);
}

TEST(KeyBuilder, HashesIdsWithSpacesControlBytesAndNulBytesToDistinctKeys) {
    const KeyBuilder builder("", KeyTemplate::parse("product:{id}"), false);
    // sha256 of "product:a b", "product:a\0b" and "product:a\0c", computed with Python's hashlib.
    EXPECT_EQ(build_ok(builder, "a b").key,
              "product:#sha256:a47c52f8d236b5e610bb5637b76b4faa7f1b9a8229cff0a86de13d2e6f70b5a7");
    EXPECT_EQ(build_ok(builder, std::string("a\0b", 3)).key,
              "product:#sha256:45cc67c99da7173ad6f2f05bccbbf231ba401116d7a9926aa408ff7a35a3d46d");
    EXPECT_EQ(build_ok(builder, std::string("a\0c", 3)).key,
              "product:#sha256:cf27ceafa345bd2173c80739612cb9e07fb0a8598a7caaaa1e02053b925f74b9");
    for (const std::string id : {"a\tb", "a\rb", "a\nb", "a\x01", "a\x1f", "a\x7f", "\x20"}) {
        const BuiltKey key = build_ok(builder, id);
        EXPECT_TRUE(key.hashed) << id;
        EXPECT_FALSE(key_problem(key.key)) << id;
    }
    EXPECT_NE(build_ok(builder, "a\tb").key, build_ok(builder, "a\nb").key);
}

TEST(KeyBuilder, KeepsInvalidUtf8AsItsBytes) {
    const KeyBuilder builder("", KeyTemplate::parse("product:{id}"), false);
    // memcached compares key bytes; bytes from 0x80 up are allowed whether or not they are UTF-8.
    for (const std::string id : {"\xff\xfe", "\xc3", "\xed\xa0\x80", "\xc0\xaf"}) {
        const BuiltKey key = build_ok(builder, id);
        EXPECT_EQ(key.key, "product:" + id);
        EXPECT_FALSE(key.hashed);
    }
}

TEST(KeyBuilder, RefusesAnEmptyId) {
    const KeyBuilder builder("", KeyTemplate::parse("product:{id}"), false);
    std::string error;
    EXPECT_FALSE(builder.build("", {}, error));
    EXPECT_EQ(error, "empty id");
}

TEST(KeyBuilder, RefusesATargetThatCannotPrefixKeys) {
    const KeyBuilder builder("", KeyTemplate::parse("product:{id}"), false);
    std::string error;
    EXPECT_FALSE(builder.build("1", "my shop:", error));
    EXPECT_NE(error.find("contains a space"), std::string::npos) << error;
    EXPECT_FALSE(builder.build("1", std::string(200, 't'), error));
    EXPECT_NE(error.find("too long"), std::string::npos) << error;
}

}  // namespace
}  // namespace indexer::memcached_sink
