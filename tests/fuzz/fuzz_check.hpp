// What every fuzz target uses to state a property: a violated property stops
// the run like a crash does, so that libFuzzer saves the input.
#pragma once

#include <cstdio>

#define FUZZ_CHECK(condition)                                                                       \
    do {                                                                                            \
        if (!(condition)) {                                                                         \
            std::fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #condition); \
            __builtin_trap();                                                                       \
        }                                                                                           \
    } while (false)
