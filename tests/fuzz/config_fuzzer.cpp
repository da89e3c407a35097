// Configuration parsing, interpolation and redaction. Property: a secret never
// shows. The target builds a configuration that holds one known password in
// every place a secret may be (PostgreSQL URL, Kafka property, sink password,
// credentials of a sink host URL; written literally or through ${VAR}) and
// fills every other value and some keys with fuzzed text; neither the redacted
// dump nor any error message may contain the password. The redaction helpers
// get fuzzed text around a password too.
#include <indexer/config/interpolation.hpp>
#include <indexer/config/loader.hpp>
#include <indexer/config/redaction.hpp>

#include "fuzz_check.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>

namespace config = indexer::config;

namespace {

constexpr std::string_view kSecret = "Fz9s3cretPW";
constexpr std::string_view kSecretVariable = "FUZZ_SECRET_PW";

// A YAML double-quoted scalar holding `text`: the structure of the document
// stays the target's whatever the bytes. Bytes >= 0x80 stay raw (invalid UTF-8
// reaches the parser).
std::string yaml_quoted(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20 || byte == 0x7f) {
            char escape[8];
            std::snprintf(escape, sizeof escape, "\\x%02x", byte);
            out += escape;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

bool shows_secret(std::string_view text) {
    return text.find(kSecret) != std::string_view::npos;
}

void check_hidden(std::string_view output) {
    if (shows_secret(output)) {
        std::fprintf(stderr, "secret shown in:\n%.*s\n", static_cast<int>(output.size()), output.data());
        __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider input(data, size);
    const bool interpolated = input.ConsumeBool();
    std::vector<std::string> pieces;
    for (int i = 0; i < 12; ++i) pieces.push_back(input.ConsumeRandomLengthString(48));
    // Fuzzed text may not name the secret itself (then showing it would be right).
    for (const std::string& piece : pieces) {
        if (shows_secret(piece) || piece.find(kSecretVariable) != std::string::npos) return 0;
    }
    const std::string secret =
        interpolated ? "${" + std::string(kSecretVariable) + "}" : std::string(kSecret);
    const auto q = [&](std::size_t i) { return yaml_quoted(pieces[i]); };

    const std::string text =
        "kafka:\n"
        "  brokers: " +
        q(0) +
        "\n"
        "  properties:\n"
        "    sasl.password: " +
        secret +
        "\n"
        "    " +
        q(1) + ": " + q(2) +
        "\n"
        "postgres:\n"
        "  url: " +
        yaml_quoted("postgresql://indexer:" + secret + "@" + pieces[3]) +
        "\n"
        "pipelines:\n"
        "  - name: " +
        q(4) +
        "\n"
        "    topic: " +
        q(5) +
        "\n"
        "    source: {table: " +
        q(6) +
        "}\n"
        "    sink:\n"
        "      plugin: elasticsearch\n"
        "      config:\n"
        "        hosts: [" +
        yaml_quoted("https://elastic:" + secret + "@" + pieces[7]) +
        "]\n"
        "        password: " +
        secret +
        "\n"
        "        " +
        q(8) + ": " + q(9) + "\n";
    const config::EnvironmentLookup environment = [](const std::string& name) -> std::optional<std::string> {
        if (name == kSecretVariable) return std::string(kSecret);
        return std::nullopt;
    };

    const indexer::Result<config::Config> parsed = config::parse_config(text, "fuzz.yaml", environment);
    if (parsed.is_ok()) {
        check_hidden(config::to_redacted_yaml(parsed.value()));
    } else {
        check_hidden(parsed.error());
    }

    // The helpers on their own: a password followed by anything.
    check_hidden(
        config::redact_connection_string("postgresql://indexer:" + std::string(kSecret) + "@" + pieces[10]));
    check_hidden(config::redact_connection_string("password=" + std::string(kSecret) + " " + pieces[11]));
    check_hidden(
        config::redact_url_credentials(pieces[10] + " https://u:" + std::string(kSecret) + "@" + pieces[11]));

    // Interpolation of any text: never throws; an error says what is wrong.
    const indexer::Result<std::string> interpolated_text =
        config::interpolate(pieces[10] + pieces[11], environment);
    if (!interpolated_text.is_ok()) FUZZ_CHECK(!interpolated_text.error().empty());
    return 0;
}
