// The memcached sink's reading back on any byte stream: get replies consumed
// one after another the way the exchange does (a complete reply consumes
// bytes, a value lies inside the stream and is as long as its header says, a
// failure has a message), and every line of a metadump classified, with a
// key only for a key line.
#include <indexer/sinks/memcached/text_protocol.hpp>

#include "fuzz_check.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>

namespace mc = indexer::memcached_sink;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider input(data, size);
    const std::string key = input.ConsumeRandomLengthString(16);
    const std::size_t max_value = input.ConsumeIntegralInRange<std::size_t>(0, 4096);
    const std::string stream = input.ConsumeRemainingBytesAsString();

    std::string_view rest = stream;
    for (int replies = 0; replies < 64; ++replies) {
        const mc::GetReply reply = mc::parse_get_reply(rest, key, max_value, 256);
        if (reply.state == mc::GetReply::State::Incomplete) {
            if (reply.needed != 0) FUZZ_CHECK(reply.needed > rest.size());
            break;
        }
        // Nothing consumed only when the stream is given up (an endless line).
        FUZZ_CHECK(reply.consumed <= rest.size());
        FUZZ_CHECK(reply.consumed > 0 || !reply.in_sync);
        if (reply.outcome == mc::Outcome::Ok) {
            FUZZ_CHECK(reply.in_sync);
            if (reply.found) {
                FUZZ_CHECK(reply.value.size() <= max_value);
                FUZZ_CHECK(reply.value.data() >= rest.data() &&
                           reply.value.data() + reply.value.size() <= rest.data() + reply.consumed);
            } else {
                FUZZ_CHECK(reply.value.empty());
            }
        } else {
            FUZZ_CHECK(!reply.message.empty());
        }
        if (!reply.in_sync) break;
        rest.remove_prefix(reply.consumed);
    }

    std::size_t position = 0;
    for (;;) {
        const std::size_t end = stream.find('\n', position);
        const std::string_view line = std::string_view(stream).substr(
            position, end == std::string::npos ? std::string::npos : end - position);
        const mc::MetadumpLine parsed = mc::parse_metadump_line(line);
        if (parsed.kind == mc::MetadumpLine::Kind::Key) {
            FUZZ_CHECK(!parsed.key.empty() && parsed.key.size() <= line.size());
        } else {
            FUZZ_CHECK(parsed.key.empty());
            if (parsed.kind != mc::MetadumpLine::Kind::End) FUZZ_CHECK(!parsed.message.empty());
        }
        if (end == std::string::npos) break;
        position = end + 1;
    }
    return 0;
}
