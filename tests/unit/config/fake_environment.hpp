// An environment for configuration tests that does not depend on (or change)
// the variables of the test process.
#pragma once

#include <indexer/config/interpolation.hpp>

#include <map>
#include <string>

namespace indexer::config::testing {

inline EnvironmentLookup fake_environment(std::map<std::string, std::string> variables = {}) {
    return [variables = std::move(variables)](const std::string& name) -> std::optional<std::string> {
        const auto found = variables.find(name);
        if (found == variables.end()) return std::nullopt;
        return found->second;
    };
}

}  // namespace indexer::config::testing
