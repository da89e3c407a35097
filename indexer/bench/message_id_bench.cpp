// Ways to read the id of a message, on 1M small messages ({"id": 123456} and
// KafkaSync delay wrappers): the nlohmann DOM, a nlohmann SAX handler that
// keeps only the top-level id, simdjson On Demand (when built with it), and
// the product's extract_id (the non-recursive scanner of util/json_scan.hpp).
// Not a test: numbers depend on the machine and its load.
#include <indexer/kafka/message_id.hpp>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#ifdef INDEXER_BENCH_SIMDJSON
#include <simdjson.h>
#endif

#include <optional>
#include <string>
#include <vector>

namespace {

constexpr std::size_t message_count = 1'000'000;

const std::vector<std::string>& messages(bool wrapper) {
    static const auto make = [](bool wrapped) {
        std::vector<std::string> values;
        values.reserve(message_count);
        for (std::size_t i = 0; i < message_count; ++i) {
            const std::string id = std::to_string(100'000 + i);
            values.push_back(wrapped ? R"({"payload": {"id": )" + id + R"(}, "created_at": 1700000000})"
                                     : R"({"id": )" + id + "}");
        }
        return values;
    };
    static const std::vector<std::string> plain = make(false);
    static const std::vector<std::string> wrapped = make(true);
    return wrapper ? wrapped : plain;
}

// Runs `read` over the 1M messages once per iteration.
template <class Read>
void over_messages(benchmark::State& state, Read read) {
    const auto& values = messages(state.range(0) != 0);
    for (auto _ : state) {
        for (const std::string& value : values) benchmark::DoNotOptimize(read(value));
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * values.size()));
    state.SetLabel(state.range(0) != 0 ? "wrapper" : "plain");
}

void ExtractIdScanner(benchmark::State& state) {
    over_messages(state, [](const std::string& value) {
        return indexer::kafka::extract_id(std::nullopt, value).is_ok();
    });
}

std::string dom_id(const std::string& value) {
    const auto parsed = nlohmann::json::parse(value, nullptr, false);
    if (!parsed.is_object()) return {};
    auto found = parsed.find("id");
    if (found == parsed.end()) {
        const auto payload = parsed.find("payload");
        if (payload == parsed.end() || !payload->is_object()) return {};
        found = payload->find("id");
        if (found == payload->end()) return {};
    }
    return found->is_number_integer() ? std::to_string(found->get<std::int64_t>()) : std::string();
}

void NlohmannDom(benchmark::State& state) {
    over_messages(state, dom_id);
}

// Keeps the integer id at depth 1 (or depth 2 inside "payload"); builds nothing else.
struct IdSax : nlohmann::json_sax<nlohmann::json> {
    int depth = 0;
    bool in_payload = false;
    bool id_next = false;
    std::string key_at_1;
    std::string id;

    bool null() override { return scalar(); }
    bool boolean(bool) override { return scalar(); }
    bool number_integer(number_integer_t) override { return scalar(); }
    bool number_unsigned(number_unsigned_t) override { return scalar(); }
    bool number_float(number_float_t, const string_t& text) override { return scalar(&text); }
    bool string(string_t&) override { return scalar(); }
    bool binary(binary_t&) override { return scalar(); }
    bool start_object(std::size_t) override {
        in_payload = depth == 1 && key_at_1 == "payload";
        id_next = false;
        ++depth;
        return true;
    }
    bool end_object() override {
        --depth;
        return true;
    }
    bool start_array(std::size_t) override {
        id_next = false;
        ++depth;
        return true;
    }
    bool end_array() override {
        --depth;
        return true;
    }
    bool key(string_t& name) override {
        if (depth == 1) key_at_1 = name;
        id_next = name == "id" && (depth == 1 || (depth == 2 && in_payload));
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
        return false;
    }

    bool scalar(const string_t* = nullptr) {
        if (id_next) id = "found";
        id_next = false;
        return true;
    }
};

void NlohmannSax(benchmark::State& state) {
    over_messages(state, [](const std::string& value) {
        IdSax sax;
        nlohmann::json::sax_parse(value, &sax);
        return sax.id;
    });
}

#ifdef INDEXER_BENCH_SIMDJSON
void SimdjsonOnDemand(benchmark::State& state) {
    simdjson::ondemand::parser parser;
    over_messages(state, [&parser](const std::string& value) {
        simdjson::padded_string padded(value);
        auto document = parser.iterate(padded);
        simdjson::ondemand::object object;
        if (document.get_object().get(object)) return std::string();
        std::string_view raw;
        auto id = object.find_field_unordered("id");
        if (id.error()) {
            auto payload = object.find_field_unordered("payload");
            simdjson::ondemand::object inner;
            if (payload.get_object().get(inner)) return std::string();
            if (inner.find_field_unordered("id").raw_json_token().get(raw)) return std::string();
        } else if (id.raw_json_token().get(raw)) {
            return std::string();
        }
        return std::string(raw);
    });
}
BENCHMARK(SimdjsonOnDemand)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);
#endif

BENCHMARK(ExtractIdScanner)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(NlohmannDom)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(NlohmannSax)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
