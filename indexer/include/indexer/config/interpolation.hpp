// ${VAR} and ${VAR:-default} in configuration values, so that secrets and
// per-host endpoints stay out of the file.
#pragma once

#include <indexer/util/status.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace indexer::config {

// Looks up an environment variable: its value, or nullopt when it is unset.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The environment of this process (getenv).
EnvironmentLookup process_environment();

// Replaces every ${NAME} (NAME = [A-Za-z_][A-Za-z0-9_]*) by the variable's
// value and every ${NAME:-default} by the value, or by `default` when the
// variable is unset or empty. "$${" stands for a literal "${"; any other "$" is
// kept as written. Substituted text is not scanned again, and a default cannot
// contain another ${...}. Errors: an unset variable without a default, an
// unterminated "${", a malformed name or operator.
Result<std::string> interpolate(std::string_view text, const EnvironmentLookup& environment);

// Whether the text contains something interpolate() would replace.
bool has_interpolation(std::string_view text);

}  // namespace indexer::config
