#include "indexer/sinks/elasticsearch/gzip.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

namespace indexer::sinks::elasticsearch {
namespace {

std::string gunzip(const std::string& in) {
    z_stream stream{};
    EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
    std::string out(in.size() * 50 + 1024, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    stream.avail_in = static_cast<uInt>(in.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
    out.resize(stream.total_out);
    inflateEnd(&stream);
    return out;
}

TEST(Gzip, BodiesRoundTripThroughAGzipMember) {
    GzipCompressor gzip;
    std::string ndjson;
    for (int i = 0; i < 500; ++i) {
        ndjson += "{\"index\":{\"_index\":\"p\",\"_id\":\"" + std::to_string(i) +
                  "\"}}\n{\"n\":" + std::to_string(i) + "}\n";
    }
    std::string compressed;
    ASSERT_TRUE(gzip.compress(ndjson, compressed));
    EXPECT_EQ(static_cast<unsigned char>(compressed[0]), 0x1F);  // gzip magic
    EXPECT_EQ(static_cast<unsigned char>(compressed[1]), 0x8B);
    EXPECT_LT(compressed.size(), ndjson.size() / 4);
    EXPECT_EQ(gunzip(compressed), ndjson);
    // The compressor is reused between requests.
    ASSERT_TRUE(gzip.compress("{}\n", compressed));
    EXPECT_EQ(gunzip(compressed), "{}\n");
    ASSERT_TRUE(gzip.compress("", compressed));
    EXPECT_EQ(gunzip(compressed), "");
}

}  // namespace
}  // namespace indexer::sinks::elasticsearch
