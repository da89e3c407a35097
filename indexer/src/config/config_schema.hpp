// The one declaration of every configuration key (config_schema.cpp), shared by
// the loader, the redacted dump and the reference. Internal to src/config.
#pragma once

#include "schema.hpp"

#include <indexer/config/config.hpp>

namespace indexer::config {

const schema::ObjectSchema<Config>& config_schema();

}  // namespace indexer::config
