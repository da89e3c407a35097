#include "support/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace indexer::testing {

ChildProcess::ChildProcess(const std::string& program, const std::vector<std::string>& arguments,
                           const std::filesystem::path& log_file,
                           const std::map<std::string, std::string>& environment,
                           const std::optional<std::filesystem::path>& stdin_file)
    : log_file_(log_file) {
    std::vector<std::string> env_strings;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string item(*entry);
        const std::string name = item.substr(0, item.find('='));
        if (environment.count(name) == 0) env_strings.push_back(item);
    }
    for (const auto& [name, value] : environment) env_strings.push_back(name + "=" + value);

    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& item : env_strings) envp.push_back(item.data());
    envp.push_back(nullptr);

    const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) throw std::runtime_error("cannot open " + log_file.string());
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        const int input_fd = ::open(stdin_file ? stdin_file->c_str() : "/dev/null", O_RDONLY);
        if (input_fd >= 0) ::dup2(input_fd, STDIN_FILENO);
        if (input_fd < 0 && stdin_file) ::_exit(126);  // never a test reading the wrong input
        ::execve(program.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(log_fd);
}

ChildProcess::~ChildProcess() {
    if (running()) {
        ::kill(pid_, SIGKILL);
        (void)wait(std::chrono::seconds(10));
    }
}

bool ChildProcess::running() {
    if (exit_status_) return false;
    int status = 0;
    const pid_t result = ::waitpid(pid_, &status, WNOHANG);
    if (result == 0) return true;
    if (result == pid_) {
        exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return false;
}

void ChildProcess::signal(int signal_number) {
    if (running()) ::kill(pid_, signal_number);
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return exit_status_;
}

std::string ChildProcess::output() const {
    std::ifstream in(log_file_);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

}  // namespace indexer::testing
