// The exit codes of the `indexer` command (documented in `indexer --help` and
// the README).
#pragma once

namespace indexer::cli {

inline constexpr int kExitOk = 0;
// run: a pipeline or delayer failed while running; check-config: a check failed;
// publish: a message was not acknowledged; verify: the comparison could not finish.
inline constexpr int kExitFailure = 1;
// The configuration file is missing or invalid.
inline constexpr int kExitConfigInvalid = 2;
// Start-up failed: a plugin did not load or open, a query did not prepare.
inline constexpr int kExitStartupFailed = 3;
// verify: the sink differs from the source (with --repair: some difference
// could not be repaired).
inline constexpr int kExitDrift = 4;
// The command line itself is wrong.
inline constexpr int kExitUsage = 64;
// A second SIGINT/SIGTERM: stopped at once, without finishing the batch in hand.
inline constexpr int kExitInterrupted = 130;

}  // namespace indexer::cli
