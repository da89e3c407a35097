#include <indexer/util/text.hpp>

#include <gtest/gtest.h>

namespace indexer {
namespace {

TEST(Excerpt, KeepsShortTextWhole) {
    EXPECT_EQ(excerpt("short", 5), "short");
    EXPECT_EQ(excerpt("", 0), "");
}

TEST(Excerpt, CutsOnACharacterBoundaryAndSaysItCut) {
    EXPECT_EQ(excerpt("abcdef", 3), "abc... (truncated from 6 bytes)");
    // "é" is two bytes: a cut after its first byte backs up before it.
    EXPECT_EQ(excerpt("\xc3\xa9\xc3\xa9", 3), "\xc3\xa9... (truncated from 4 bytes)");
    EXPECT_EQ(excerpt("\xf0\x9f\x98\x80x", 2), "... (truncated from 5 bytes)");
}

TEST(Excerpt, CutsInvalidUtf8WithoutReadingPastTheEnd) {
    EXPECT_EQ(excerpt(std::string(2000, '\x80'), 1000), "... (truncated from 2000 bytes)");
}

}  // namespace
}  // namespace indexer
