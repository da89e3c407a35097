#include <indexer/postgres/id_type.hpp>

#include <gtest/gtest.h>

#include <string>

using indexer::postgres::canonical_id;
using indexer::postgres::id_kind_from_type_oid;
using indexer::postgres::IdKind;

namespace {

std::string canonical(IdKind kind, std::string_view id) {
    auto result = canonical_id(kind, id);
    EXPECT_TRUE(result.is_ok()) << "id \"" << id << "\": " << result.error();
    return result.is_ok() ? result.value() : std::string{"<invalid>"};
}

std::string rejection(IdKind kind, std::string_view id) {
    auto result = canonical_id(kind, id);
    EXPECT_FALSE(result.is_ok()) << "id \"" << id << "\" was accepted as " << (result ? result.value() : "");
    return result.error();
}

}  // namespace

TEST(IdKind, KnowsTheCommonTypesByOid) {
    EXPECT_EQ(id_kind_from_type_oid(21), IdKind::smallint);
    EXPECT_EQ(id_kind_from_type_oid(23), IdKind::integer);
    EXPECT_EQ(id_kind_from_type_oid(20), IdKind::bigint);
    EXPECT_EQ(id_kind_from_type_oid(2950), IdKind::uuid);
    EXPECT_EQ(id_kind_from_type_oid(25), IdKind::text);
    EXPECT_EQ(id_kind_from_type_oid(1043), IdKind::text);
    EXPECT_EQ(id_kind_from_type_oid(1700), IdKind::other);  // numeric
    EXPECT_EQ(id_kind_from_type_oid(1042), IdKind::other);  // bpchar pads, so the server decides
}

TEST(CanonicalId, WritesIntegersAsPostgresPrintsThem) {
    EXPECT_EQ(canonical(IdKind::bigint, "42"), "42");
    EXPECT_EQ(canonical(IdKind::bigint, "007"), "7");
    EXPECT_EQ(canonical(IdKind::bigint, "+15"), "15");
    EXPECT_EQ(canonical(IdKind::bigint, "-0"), "0");
    EXPECT_EQ(canonical(IdKind::bigint, "000"), "0");
    EXPECT_EQ(canonical(IdKind::integer, " 12\t\n"), "12");
    EXPECT_EQ(canonical(IdKind::smallint, "-0032"), "-32");
}

TEST(CanonicalId, AcceptsEachIntegerTypesExactBounds) {
    EXPECT_EQ(canonical(IdKind::smallint, "32767"), "32767");
    EXPECT_EQ(canonical(IdKind::smallint, "-32768"), "-32768");
    EXPECT_EQ(canonical(IdKind::integer, "2147483647"), "2147483647");
    EXPECT_EQ(canonical(IdKind::integer, "-2147483648"), "-2147483648");
    EXPECT_EQ(canonical(IdKind::bigint, "9223372036854775807"), "9223372036854775807");
    EXPECT_EQ(canonical(IdKind::bigint, "-9223372036854775808"), "-9223372036854775808");
}

TEST(CanonicalId, RejectsIntegersOneBeyondTheBounds) {
    EXPECT_NE(rejection(IdKind::smallint, "32768").find("out of range for type smallint"), std::string::npos);
    EXPECT_NE(rejection(IdKind::smallint, "-32769").find("out of range"), std::string::npos);
    EXPECT_NE(rejection(IdKind::integer, "2147483648").find("out of range for type integer"),
              std::string::npos);
    EXPECT_NE(rejection(IdKind::bigint, "9223372036854775808").find("out of range for type bigint"),
              std::string::npos);
    EXPECT_NE(rejection(IdKind::bigint, "-9223372036854775809").find("out of range"), std::string::npos);
    EXPECT_NE(rejection(IdKind::bigint, "123456789012345678901234567890").find("out of range"),
              std::string::npos);
}

TEST(CanonicalId, RejectsWhatIsNotAnInteger) {
    for (const char* id : {"abc", "1.5", "1e3", "", " ", "+", "-", "12a", "1 2", "0x1F", "١٢"}) {
        EXPECT_NE(rejection(IdKind::bigint, id).find("is not a valid bigint"), std::string::npos) << id;
    }
}

TEST(CanonicalId, WritesUuidsLowerCaseWithHyphens) {
    const std::string expected = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
    EXPECT_EQ(canonical(IdKind::uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), expected);
    EXPECT_EQ(canonical(IdKind::uuid, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"), expected);
    EXPECT_EQ(canonical(IdKind::uuid, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"), expected);
    EXPECT_EQ(canonical(IdKind::uuid, "a0eebc999c0b4ef8bb6d6bb9bd380a11"), expected);
    EXPECT_EQ(canonical(IdKind::uuid, "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11"), expected);
    EXPECT_EQ(canonical(IdKind::uuid, "{a0eebc999c0b4ef8bb6d6bb9bd380a11}"), expected);
}

TEST(CanonicalId, RejectsMalformedUuids) {
    for (const char* id : {"", "abc", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",  // one digit short
                           "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",           // one digit long
                           "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",            // not hex
                           "a0eebc9-99c0b-4ef8-bb6d-6bb9bd380a11",            // hyphen inside a group
                           "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",           // unclosed brace
                           "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",           // stray brace
                           "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",           // trailing hyphen
                           " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",           // whitespace
                           "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11"}) {        // double hyphen
        EXPECT_NE(rejection(IdKind::uuid, id).find("is not a valid uuid"), std::string::npos) << id;
    }
}

TEST(CanonicalId, KeepsTextAsIs) {
    for (const char* id : {"", " spaced ", R"(quote"back\slash)", "a,b{c}", "NULL", "Grüße 東京 🚀"}) {
        EXPECT_EQ(canonical(IdKind::text, id), id);
        EXPECT_EQ(canonical(IdKind::other, id), id);
    }
}

TEST(CanonicalId, RejectsBytesPostgresTextCannotHold) {
    using namespace std::string_view_literals;
    EXPECT_NE(rejection(IdKind::text, "a\0b"sv).find("NUL"), std::string::npos);
    EXPECT_NE(rejection(IdKind::text, "\xff").find("UTF-8"), std::string::npos);
    EXPECT_NE(rejection(IdKind::text, "\xc3").find("UTF-8"), std::string::npos);               // truncated
    EXPECT_NE(rejection(IdKind::text, "\xc0\xaf").find("UTF-8"), std::string::npos);           // overlong
    EXPECT_NE(rejection(IdKind::text, "\xed\xa0\x80").find("UTF-8"), std::string::npos);       // surrogate
    EXPECT_NE(rejection(IdKind::other, "\xf4\x90\x80\x80").find("UTF-8"), std::string::npos);  // > U+10FFFF
    EXPECT_NE(rejection(IdKind::bigint, "\xff").find("UTF-8"), std::string::npos);
}

TEST(CanonicalId, ShortensLongIdsInReasons) {
    const std::string long_id(500, 'x');
    const auto reason = rejection(IdKind::bigint, long_id);
    EXPECT_LT(reason.size(), 200U);
    EXPECT_NE(reason.find("(500 bytes)"), std::string::npos);
}
