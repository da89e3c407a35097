// The memcached sink's reply parsing on any byte stream, cut into lines the
// way the exchange cuts it: every line gets an outcome, a failure says why,
// and a line that is no reply of the command puts the stream out of sync.
#include <indexer/sinks/memcached/text_protocol.hpp>

#include "fuzz_check.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>

namespace mc = indexer::memcached_sink;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider input(data, size);
    const std::string commands = input.ConsumeRandomLengthString(16);
    const std::string stream = input.ConsumeRemainingBytesAsString();

    std::size_t position = 0;
    for (std::size_t n = 0;; ++n) {
        const std::size_t end = stream.find("\r\n", position);
        if (end == std::string::npos) break;
        const std::string_view line = std::string_view(stream).substr(position, end - position);
        position = end + 2;

        const char selector = commands.empty() ? '\0' : commands[n % commands.size()];
        const auto command = static_cast<mc::Command>(static_cast<unsigned char>(selector) % 3);
        const mc::Reply reply = mc::parse_reply(line);
        FUZZ_CHECK(reply.line == line);
        const mc::Interpretation meaning = mc::interpret(command, reply);
        if (meaning.result.outcome == mc::Outcome::Ok) {
            FUZZ_CHECK(meaning.in_sync);
        } else {
            FUZZ_CHECK(!meaning.result.message.empty());
        }
        if (reply.kind == mc::ReplyKind::Unknown) FUZZ_CHECK(!meaning.in_sync);
    }
    return 0;
}
