#include <indexer/pipeline/sink_writer.hpp>

namespace indexer::pipeline {

WriteOutcome SinkWriter::write(std::span<const plugin::SinkOp> ops, const Waiter& wait) {
    const auto start = std::chrono::steady_clock::now();
    WriteOutcome outcome;
    outcome.results.resize(ops.size());

    // Positions (in `ops`) of the ops still to write, and their ops in order:
    // a retry keeps the relative order of the ops of one id.
    std::vector<std::size_t> pending(ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) pending[i] = i;
    std::vector<plugin::SinkOp> attempt_ops(ops.begin(), ops.end());

    backoff_.reset();
    while (!pending.empty()) {
        std::vector<plugin::SinkResult> results = sink_->write(attempt_ops);
        ++outcome.attempts;
        std::vector<std::size_t> still_pending;
        std::string reason;
        for (std::size_t i = 0; i < pending.size(); ++i) {
            if (results[i].status == plugin::OpStatus::Retry) {
                still_pending.push_back(pending[i]);
                if (reason.empty()) reason = results[i].message;
            }
            outcome.results[pending[i]] = std::move(results[i]);
        }
        if (still_pending.empty()) break;
        outcome.retried_ops += still_pending.size();
        if (!wait(backoff_.next(), reason, still_pending.size())) {
            outcome.abandoned = true;
            break;
        }
        pending = std::move(still_pending);
        attempt_ops.clear();
        for (std::size_t index : pending) attempt_ops.push_back(ops[index]);
    }
    outcome.elapsed =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    return outcome;
}

}  // namespace indexer::pipeline
