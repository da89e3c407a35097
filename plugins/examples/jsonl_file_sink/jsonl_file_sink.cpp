// A custom sink, built out of tree against the installed SDK: appends every
// op as one JSON line to a file, e.g.
//   {"op":"upsert","id":"42","version":7,"document":{"name":"lamp"}}
//   {"op":"delete","id":"43","version":0}
// Configuration: {"path": "/var/lib/indexer/products.jsonl"}.
#include <indexer/sink.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using indexer::sdk::LogLevel;
using indexer::sdk::Op;
using indexer::sdk::Results;
using indexer::sdk::Status;

std::string errno_text() {
    return std::strerror(errno);
}

// The validated "path" of the configuration; throws with the key's path.
std::string path_from_config(std::string_view config_json) {
    const auto config = nlohmann::json::parse(config_json, nullptr, /*allow_exceptions=*/false);
    if (!config.is_object()) {
        throw std::invalid_argument(R"(config: expected a JSON object such as {"path": "/tmp/out.jsonl"})");
    }
    for (const auto& item : config.items()) {
        if (item.key() != "path")
            throw std::invalid_argument("config." + item.key() + ": unknown key (known: path)");
    }
    const auto path = config.find("path");
    if (path == config.end()) throw std::invalid_argument("config.path: missing (the file to append to)");
    if (!path->is_string() || path->get_ref<const std::string&>().empty()) {
        throw std::invalid_argument("config.path: expected a non-empty string");
    }
    return path->get<std::string>();
}

// One line for one op. Throws nlohmann::json::exception or
// std::invalid_argument when the op cannot be written (the op is rejected).
std::string line_for(const Op& op) {
    nlohmann::ordered_json line;
    if (op.is_upsert()) {
        line["op"] = "upsert";
    } else if (op.is_delete()) {
        line["op"] = "delete";
    } else {
        throw std::invalid_argument("unknown op kind");
    }
    line["id"] = std::string(op.id());
    line["version"] = op.version();
    if (!op.target().empty()) line["target"] = std::string(op.target());
    if (op.is_upsert()) {
        // Parsed and dumped again: a pretty-printed document would otherwise
        // break the one-line-per-op format.
        auto document = nlohmann::ordered_json::parse(op.document());
        if (!document.is_object()) throw std::invalid_argument("the document is not a JSON object");
        line["document"] = std::move(document);
    }
    return line.dump() + '\n';  // throws on ids or strings that are not UTF-8
}

class JsonlFileSink final : public indexer::sdk::Sink {
public:
    JsonlFileSink(std::string_view instance, std::string_view config_json)
        : path_(path_from_config(config_json)) {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0)
            throw std::runtime_error("config.path: cannot open " + path_ + " for appending: " + errno_text());
        indexer::sdk::log(LogLevel::Info, "appending to " + path_ + " for " + std::string(instance));
    }
    ~JsonlFileSink() override { ::close(fd_); }

    void write(std::span<const Op> ops, Results& results) override {
        std::string lines;
        std::vector<std::size_t> in_lines;
        for (std::size_t i = 0; i < ops.size(); ++i) {
            try {
                lines += line_for(ops[i]);
                in_lines.push_back(i);
            } catch (const nlohmann::json::exception& e) {
                results.reject(i, std::string("cannot write the op as JSON: ") + e.what());
            } catch (const std::invalid_argument& e) {
                results.reject(i, e.what());
            }
        }
        // One append per batch. If it fails part way, the whole batch is
        // retried: a reader may see some lines twice, never a line missing.
        if (const std::string error = append(lines); !error.empty()) {
            results.retry_unanswered(error);
            return;
        }
        for (std::size_t i : in_lines) results.ok(i);
    }

    Status flush(std::string& error) override {
        if (::fsync(fd_) == 0) return Status::Ok;
        error = "fsync " + path_ + ": " + errno_text();
        return Status::Retry;
    }

private:
    // "" when every byte was written, otherwise why not.
    std::string append(std::string_view bytes) const {
        while (!bytes.empty()) {
            const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return "write " + path_ + ": " + errno_text();
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return {};
    }

    std::string path_;
    int fd_ = -1;
};

}  // namespace

INDEXER_SINK_PLUGIN(JsonlFileSink, "jsonl_file", JSONL_FILE_SINK_VERSION)
