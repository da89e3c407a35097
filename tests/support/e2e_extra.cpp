#include "support/e2e_extra.hpp"

#include "support/http.hpp"
#include "support/process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <pqxx/pqxx>

#include <regex>
#include <stdexcept>
#include <thread>

namespace indexer::testing {

Cleanup::~Cleanup() {
    try {
        action_();
    } catch (const std::exception&) {
        // Best effort: what is left behind has a unique name.
    }
}

std::map<std::string, nlohmann::json> query_documents(const Database& database, const std::string& query,
                                                      const std::string& id_array,
                                                      const std::string& id_column) {
    pqxx::connection connection(database.url());
    pqxx::nontransaction tx(connection);
    const pqxx::result result = tx.exec_params(
        "SELECT q." + tx.quote_name(id_column) + "::text, q.document::text FROM (" + query + ") AS q",
        id_array);
    std::map<std::string, nlohmann::json> documents;
    for (const auto& row : result) {
        if (row[1].is_null()) continue;
        documents[row[0].as<std::string>()] = nlohmann::json::parse(row[1].as<std::string>());
    }
    return documents;
}

std::vector<std::string> wait_until_index_holds(const SearchIndex& index,
                                                const std::map<std::string, nlohmann::json>& expected,
                                                std::chrono::milliseconds timeout) {
    std::vector<std::string> ids;
    ids.reserve(expected.size());
    for (const auto& [id, document] : expected) ids.push_back(id);
    std::vector<std::string> last;
    (void)eventually(
        [&] {
            const long count = index.count();
            if (count != static_cast<long>(expected.size())) {
                last = {"the index holds " + std::to_string(count) + " documents, " +
                        std::to_string(expected.size()) + " expected"};
                std::this_thread::sleep_for(std::chrono::milliseconds(200));
                return false;
            }
            last = differences(expected, index.get(ids));
            if (last.empty()) return true;
            // A full comparison is expensive: leave the indexer some time first.
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            return false;
        },
        timeout);
    return last;
}

void create_index(const std::string& base_url, const std::string& index, const nlohmann::json& body) {
    const HttpResponse response = http("PUT", base_url + "/" + index, body.dump());
    if (response.status != 200) {
        throw std::runtime_error("creating index " + index + ": " + std::to_string(response.status) + " " +
                                 response.body);
    }
}

std::map<std::string, long> document_versions(const std::string& base_url, const std::string& index,
                                              const std::vector<std::string>& ids) {
    const nlohmann::json request{{"ids", ids}};
    const HttpResponse response =
        http("POST", base_url + "/" + index + "/_mget?_source=false", request.dump());
    if (response.status != 200) throw std::runtime_error("_mget: " + response.body);
    std::map<std::string, long> versions;
    const nlohmann::json parsed = nlohmann::json::parse(response.body);  // outlives the loop
    for (const auto& doc : parsed.at("docs")) {
        if (doc.value("found", false))
            versions[doc.at("_id").get<std::string>()] = doc.at("_version").get<long>();
    }
    return versions;
}

std::int64_t committed_total(const std::string& brokers, const std::string& group, const std::string& topic) {
    std::int64_t total = 0;
    for (const auto& [partition, offset] : committed_offsets(brokers, group, topic))
        total += offset > 0 ? offset : 0;
    return total;
}

std::int64_t wait_until_committed(const std::string& brokers, const std::string& group,
                                  const std::string& topic, std::int64_t total,
                                  std::chrono::milliseconds timeout) {
    std::int64_t last = 0;
    (void)eventually(
        [&] {
            last = committed_total(brokers, group, topic);
            return last >= total;
        },
        timeout);
    return last;
}

std::string free_listen_address() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        ::close(fd);
        throw std::runtime_error("binding a free port failed");
    }
    ::close(fd);
    return "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
}

std::string json_string(const std::string& text) {
    return nlohmann::json(text).dump();
}

namespace {

std::string show(const std::optional<std::string>& text) {
    return text ? json_string(*text) : std::string("(absent)");
}

}  // namespace

std::vector<std::string> dead_letter_problems(const ReadMessage& letter, const ReadMessage& original,
                                              const std::string& source_topic, const std::string& pipeline,
                                              const std::string& stage, const std::string& reason_contains) {
    std::vector<std::string> problems;
    auto header = [&](const std::string& name) -> std::optional<std::string> {
        const auto found = letter.headers.find(name);
        if (found == letter.headers.end()) return std::nullopt;
        return found->second;
    };
    auto expect_header = [&](const std::string& name, const std::string& expected) {
        const auto value = header(name);
        if (value != expected)
            problems.push_back(name + " is " + show(value) + ", expected " + json_string(expected));
    };
    if (letter.key != original.key)
        problems.push_back("key is " + show(letter.key) + ", was " + show(original.key));
    if (letter.value != original.value)
        problems.push_back("value is " + show(letter.value) + ", was " + show(original.value));
    expect_header("indexer.stage", stage);
    expect_header("indexer.pipeline", pipeline);
    expect_header("indexer.source.topic", source_topic);
    expect_header("indexer.source.partition", std::to_string(original.partition));
    expect_header("indexer.source.offset", std::to_string(original.offset));
    const auto reason = header("indexer.reason");
    if (!reason || reason->empty()) {
        problems.push_back("indexer.reason is " + show(reason));
    } else if (!reason_contains.empty() && reason->find(reason_contains) == std::string::npos) {
        problems.push_back("indexer.reason " + json_string(*reason) + " does not mention " +
                           json_string(reason_contains));
    }
    return problems;
}

std::vector<BatchLine> batch_lines(const std::string& log) {
    static const std::regex line(
        R"((\d+) messages, (\d+) ids: (\d+) upserts, (\d+) deletes, (\d+) dead letters)");
    std::vector<BatchLine> lines;
    for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator(); ++it) {
        const std::smatch& match = *it;
        lines.push_back({std::stol(match[1].str()), std::stol(match[2].str()), std::stol(match[3].str()),
                         std::stol(match[4].str()), std::stol(match[5].str())});
    }
    return lines;
}

}  // namespace indexer::testing
