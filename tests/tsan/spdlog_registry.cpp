// Linked into the test executables of the tsan preset only.
//
// spdlog keeps its registry in a function-local static of the uninstrumented
// libspdlog, so the guard that orders its construction before every later use
// is invisible to ThreadSanitizer: when the first log line of a test comes from
// a thread of the code under test, every later line of the main thread looks
// like a race with that construction. The product's main thread sets logging
// up before starting any thread; this does the same for the test executables.
#include <spdlog/spdlog.h>

namespace {

[[maybe_unused]] const bool registry_built_first = [] {
    spdlog::default_logger();
    return true;
}();

}  // namespace
