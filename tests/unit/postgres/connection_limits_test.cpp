#include <indexer/postgres/connection_limits.hpp>

#include <libpq-fe.h>

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

using indexer::postgres::ConnectionLimits;
using indexer::postgres::limited_connection_string;
using namespace std::chrono_literals;

namespace {

// The settings libpq reads from `conninfo`; {"error": message} when it cannot.
std::map<std::string, std::string> read_by_libpq(const std::string& conninfo) {
    char* error = nullptr;
    const std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> parsed(
        PQconninfoParse(conninfo.c_str(), &error), &PQconninfoFree);
    if (!parsed) {
        std::map<std::string, std::string> failed{{"error", error != nullptr ? error : "?"}};
        PQfreemem(error);
        return failed;
    }
    std::map<std::string, std::string> settings;
    for (const PQconninfoOption* option = parsed.get(); option->keyword != nullptr; ++option) {
        if (option->val != nullptr) settings[option->keyword] = option->val;
    }
    return settings;
}

const ConnectionLimits kLimits{10s, 30s};

}  // namespace

TEST(LimitedConnectionString, AddsTheTimeoutsAndKeepalivesToAUrl) {
    const auto settings = read_by_libpq(limited_connection_string("postgresql://u@db:5433/shop", kLimits));
    EXPECT_EQ(settings.at("host"), "db");
    EXPECT_EQ(settings.at("port"), "5433");
    EXPECT_EQ(settings.at("dbname"), "shop");
    EXPECT_EQ(settings.at("user"), "u");
    EXPECT_EQ(settings.at("connect_timeout"), "10");
    EXPECT_EQ(settings.at("options"), "-c statement_timeout=30000");
    EXPECT_EQ(settings.at("keepalives"), "1");
    EXPECT_EQ(settings.at("keepalives_idle"), "30");
    EXPECT_EQ(settings.at("keepalives_interval"), "10");
    EXPECT_EQ(settings.at("keepalives_count"), "3");
    EXPECT_EQ(settings.at("tcp_user_timeout"), "60000");
}

TEST(LimitedConnectionString, KeepsWhatTheUserWroteInEitherForm) {
    const auto from_url = read_by_libpq(limited_connection_string(
        "postgresql://db/shop?connect_timeout=5&keepalives=0&options=-c%20statement_timeout%3D0", kLimits));
    EXPECT_EQ(from_url.at("connect_timeout"), "5");
    EXPECT_EQ(from_url.at("keepalives"), "0");
    EXPECT_EQ(from_url.at("options"), "-c statement_timeout=0");

    const auto from_pairs = read_by_libpq(
        limited_connection_string("host=db connect_timeout=7 options='-c search_path=shop'", kLimits));
    EXPECT_EQ(from_pairs.at("connect_timeout"), "7");
    EXPECT_EQ(from_pairs.at("options"), "-c search_path=shop -c statement_timeout=30000");
}

TEST(LimitedConnectionString, RoundsTheConnectTimeoutUpToLibpqsWholeSecondsAndMinimum) {
    const auto at = [](std::chrono::milliseconds timeout) {
        return read_by_libpq(limited_connection_string("host=db", ConnectionLimits{timeout, 0ms}));
    };
    EXPECT_EQ(at(500ms).at("connect_timeout"), "2");
    EXPECT_EQ(at(1s).at("connect_timeout"), "2");
    EXPECT_EQ(at(2500ms).at("connect_timeout"), "3");
    EXPECT_EQ(at(10min).at("connect_timeout"), "600");
    EXPECT_EQ(at(1s).at("options"), "-c statement_timeout=0");  // zero: no limit, even over a role's default
}

TEST(LimitedConnectionString, CarriesEveryPasswordThroughUnchanged) {
    for (const std::string& password :
         {std::string("p%ss"), std::string("p@ss/w:rd?#&="), std::string("with space"), std::string("it's"),
          std::string("say \"hi\""), std::string("back\\slash"), std::string("'\\'"),
          std::string("\xff\x01 bytes")}) {
        std::string encoded;
        std::string quoted = "'";
        for (const char c : password) {
            static constexpr char kHex[] = "0123456789ABCDEF";
            const auto byte = static_cast<unsigned char>(c);
            encoded += {'%', kHex[byte >> 4], kHex[byte & 15]};
            if (c == '\'' || c == '\\') quoted += '\\';
            quoted += c;
        }
        quoted += "'";
        for (const std::string& url : {"postgresql://u:" + encoded + "@db/shop",
                                       "host=db user=u password=" + quoted + " dbname=shop"}) {
            const auto settings = read_by_libpq(limited_connection_string(url, kLimits));
            ASSERT_TRUE(settings.contains("password")) << url << ": " << settings.begin()->second;
            EXPECT_EQ(settings.at("password"), password) << url;
            EXPECT_EQ(settings.at("host"), "db") << url;
        }
    }
}

TEST(LimitedConnectionString, LeavesAStringLibpqCannotReadAsItIs) {
    // A raw '%' in a URL: connecting reports libpq's own error (redacted).
    EXPECT_EQ(limited_connection_string("postgresql://u:50%zz@db/shop", kLimits),
              "postgresql://u:50%zz@db/shop");
    EXPECT_EQ(limited_connection_string("host=db password='unterminated", kLimits),
              "host=db password='unterminated");
}
