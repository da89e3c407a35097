// indexer::kafka::extract_id on any key and value: never throws, and an id it
// accepts is well formed for its kind.
#include <indexer/kafka/message_id.hpp>

#include "fuzz_check.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>

using indexer::kafka::IdKind;

namespace {

bool is_integer_text(const std::string& text) {
    const std::size_t digits = !text.empty() && text[0] == '-' ? 1 : 0;
    return text.size() > digits && std::all_of(text.begin() + static_cast<std::ptrdiff_t>(digits), text.end(),
                                               [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider input(data, size);
    const bool has_key = input.ConsumeBool();
    const bool has_value = input.ConsumeBool();
    const bool custom_field = input.ConsumeBool();
    std::optional<std::string> key;
    if (has_key) key = input.ConsumeRandomLengthString(64);
    const std::string field = custom_field ? input.ConsumeRandomLengthString(16) : std::string("id");
    std::optional<std::string> value;
    if (has_value) value = input.ConsumeRemainingBytesAsString();

    const indexer::Result<indexer::kafka::MessageId> id = indexer::kafka::extract_id(key, value, field);
    if (!id.is_ok()) {
        FUZZ_CHECK(!id.error().empty());
        return 0;
    }
    FUZZ_CHECK(!id->text.empty());
    if (id->kind == IdKind::integer) FUZZ_CHECK(is_integer_text(id->text));
    return 0;
}
