// Runs a program (the `indexer` binary, a memcached server...) as a child
// process for the end-to-end suites: started, signalled, killed and waited for
// as a user would.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace indexer::testing {

class ChildProcess {
public:
    // Starts `program` with `arguments`; the environment is the test's plus
    // `environment`. stdout and stderr go to `log_file`; stdin reads
    // `stdin_file` when given, else /dev/null.
    ChildProcess(const std::string& program, const std::vector<std::string>& arguments,
                 const std::filesystem::path& log_file,
                 const std::map<std::string, std::string>& environment = {},
                 const std::optional<std::filesystem::path>& stdin_file = std::nullopt);
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    // Kills the process (SIGKILL) if it still runs.
    ~ChildProcess();

    pid_t pid() const noexcept { return pid_; }
    bool running();
    void signal(int signal_number);
    // Waits for the exit; returns the exit status (128 + signal when killed),
    // or nothing when it still runs after `timeout`.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    // Everything the process wrote so far.
    std::string output() const;
    const std::filesystem::path& log_file() const noexcept { return log_file_; }

private:
    pid_t pid_ = -1;
    std::optional<int> exit_status_;
    std::filesystem::path log_file_;
};

// Polls `condition` every 100 ms until it is true or `timeout` passed.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (condition()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

}  // namespace indexer::testing
