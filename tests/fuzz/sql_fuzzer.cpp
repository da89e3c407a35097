// The SQL pieces of a configuration on any text: the parameter scanner never
// throws and returns numbers (never negative), sorted, without repeats; an identifier
// or table name that is accepted reads back the same from its quoted and its
// display form.
#include <indexer/config/sql.hpp>

#include "fuzz_check.hpp"

#include <cstdint>
#include <string_view>

namespace config = indexer::config;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    const std::vector<int> numbers = config::sql_parameter_numbers(text);
    for (std::size_t i = 0; i < numbers.size(); ++i) {
        FUZZ_CHECK(numbers[i] >= 0);  // $0 is reported too: the caller says it is wrong
        if (i > 0) FUZZ_CHECK(numbers[i - 1] < numbers[i]);
    }

    const indexer::Result<std::string> identifier = config::parse_sql_identifier(text);
    if (identifier.is_ok()) {
        FUZZ_CHECK(identifier->size() <= 63);
        const indexer::Result<std::string> again =
            config::parse_sql_identifier(config::quote_sql_identifier(identifier.value()));
        FUZZ_CHECK(again.is_ok() && again.value() == identifier.value());
    }

    const indexer::Result<config::TableName> table = config::parse_table_name(text);
    if (table.is_ok()) {
        const indexer::Result<config::TableName> quoted = config::parse_table_name(table->quoted());
        FUZZ_CHECK(quoted.is_ok() && quoted.value() == table.value());
        const indexer::Result<config::TableName> shown = config::parse_table_name(table->to_string());
        FUZZ_CHECK(shown.is_ok() && shown.value() == table.value());
    }
    return 0;
}
