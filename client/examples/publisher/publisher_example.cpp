// Updates the price of some rows of the demo `products` table and announces
// them to the indexer the safe way: delay messages first, then the update in
// its transaction, then the instant messages (Publisher::bulk).
//
//   publisher_example --brokers 127.0.0.1:9092 --ids 1,2,3 --price 9.99
//                     --postgres postgresql://postgres@127.0.0.1:5432/indexer_demo
//
// Options: --topic (default products), --delay-topic (default <topic>-delay),
// --table (default products). Exit status 0 when the rows were updated and
// every message acknowledged, 1 otherwise, 2 for a wrong command line.
#include <indexer/client/publisher.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <exception>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char* kUsage =
    "usage: publisher_example --brokers HOST:PORT --postgres URL --ids ID,ID,... --price PRICE\n"
    "                         [--topic products] [--delay-topic TOPIC] [--table products]\n";

// "1,2,3" -> {1, 2, 3}; nothing when an item is not an integer.
std::optional<std::vector<std::int64_t>> parse_ids(std::string_view text) {
    std::vector<std::int64_t> ids;
    while (!text.empty()) {
        const std::string_view item = text.substr(0, text.find(','));
        std::int64_t id = 0;
        const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), id);
        if (error != std::errc{} || end != item.data() + item.size()) return std::nullopt;
        ids.push_back(id);
        text.remove_prefix(std::min(text.size(), item.size() + 1));
    }
    if (ids.empty()) return std::nullopt;
    return ids;
}

// PostgreSQL's array literal of integers: {1,2,3}.
std::string array_literal(const std::vector<std::int64_t>& ids) {
    std::string literal = "{";
    for (const std::int64_t id : ids) {
        if (literal.size() > 1) literal += ',';
        literal += std::to_string(id);
    }
    return literal + "}";
}

void print_failures(const char* stage, const indexer::client::SendReport& report) {
    for (const auto& failure : report.failed) {
        std::cerr << stage << " message of id " << failure.id << " to " << failure.topic
                  << " failed: " << failure.reason << '\n';
    }
    if (report.unacknowledged > 0) {
        std::cerr << report.unacknowledged << ' ' << stage << " message(s) not acknowledged in time\n";
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::map<std::string, std::string> options{{"--topic", "products"}, {"--table", "products"}};
    for (int i = 1; i < argc; i += 2) {
        const std::string name = argv[i];
        if (i + 1 >= argc || !name.starts_with("--")) {
            std::cerr << kUsage;
            return 2;
        }
        options[name] = argv[i + 1];
    }
    for (const char* required : {"--brokers", "--postgres", "--ids", "--price"}) {
        if (options.count(required) == 0) {
            std::cerr << "publisher_example: " << required << " is required\n" << kUsage;
            return 2;
        }
    }
    const auto ids = parse_ids(options["--ids"]);
    if (!ids) {
        std::cerr << "publisher_example: --ids wants integers separated by commas\n" << kUsage;
        return 2;
    }

    try {
        indexer::client::PublisherOptions publisher_options;
        publisher_options.brokers = options["--brokers"];
        publisher_options.topic = options["--topic"];
        publisher_options.delay_topic = options["--delay-topic"];  // empty: <topic>-delay
        indexer::client::Publisher publisher(publisher_options);
        pqxx::connection connection(options["--postgres"]);

        pqxx::result::size_type updated = 0;
        const std::vector<indexer::client::Id> announced(ids->begin(), ids->end());
        // Delay messages, acknowledged; then the update, committed; then the instant messages.
        const auto report = publisher.bulk(announced, [&] {
            pqxx::work transaction(connection);
            const pqxx::result result =
                transaction.exec_params("UPDATE " + transaction.quote_name(options["--table"]) +
                                            " SET price = $1::numeric WHERE id = ANY($2::bigint[])",
                                        options["--price"], array_literal(*ids));
            updated = result.affected_rows();
            transaction.commit();
        });

        std::cout << "updated " << updated << " row(s) of " << options["--table"] << "; " << report.delay.sent
                  << " delay message(s) to " << publisher.delay_topic() << ", " << report.instant.sent
                  << " instant message(s) to " << publisher.topic() << '\n';
        print_failures("delay", report.delay);
        print_failures("instant", report.instant);
        return report.ok() ? 0 : 1;
    } catch (const indexer::client::PublishError& error) {
        // Nothing was updated: bulk() runs the update only once the delay messages are safe.
        std::cerr << "publisher_example: " << error.what() << '\n';
        print_failures("delay", error.report());
        return 1;
    } catch (const std::exception& error) {
        // The update failed: no instant message was sent, the delay messages are harmless.
        std::cerr << "publisher_example: " << error.what() << '\n';
        return 1;
    }
}
