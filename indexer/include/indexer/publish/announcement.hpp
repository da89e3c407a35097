// The two messages an application sends for a changed row (DESIGN.md §1), in
// KafkaSync's formats, keyed by the id so that every message of one id lands in
// one partition:
//   instant, on the topic:        {"id": 42}
//   delay, on the delay topic:    {"payload": {"id": 42}, "created_at": 1700000000}
// Integer ids are JSON numbers, every other id a JSON string. Pure functions,
// shared by `indexer publish` and the C++ client library.
#pragma once

#include <indexer/kafka/message_id.hpp>
#include <indexer/util/status.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace indexer::publish {

// An id read as text (a command-line argument, a line of stdin): an integer
// when it is the canonical decimal form of a 64-bit signed integer ("42",
// "-7"), else a string ("007", "+1", "18446744073709551615", "sku-1"), so that
// the id the indexer receives is exactly the text given. Empty text and text
// that is not valid UTF-8 (it cannot be a JSON string) are errors.
Result<kafka::MessageId> id_from_text(std::string_view text);

// Ok when `id` can be sent: a non-empty, valid UTF-8 string, or an integer
// written as JSON writes one (optional '-', no leading zeros).
Status check_id(const kafka::MessageId& id);

// {"<id_field>": <id>}. Expects an id that passed check_id().
std::string instant_value(const kafka::MessageId& id, std::string_view id_field);

// {"payload": {"<id_field>": <id>}, "created_at": <created_at>}, created_at in
// seconds since the epoch. Expects an id that passed check_id().
std::string delay_value(const kafka::MessageId& id, std::string_view id_field, std::int64_t created_at);

// KafkaSync's name of the delay topic of `topic`: "<topic>-delay".
std::string default_delay_topic(std::string_view topic);

}  // namespace indexer::publish
