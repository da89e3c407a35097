// Throughput of ways to write 300-byte values to memcached with every result
// observed: a plain libmemcached set loop, a pool of memcached_st clones on
// threads, and this sink's pipelined client. Usage:
//   indexer_bench_memcached_sink HOST:PORT[,HOST:PORT...] [OPS] [VALUE_BYTES]
// Not a test: numbers depend on the machine and its load.
#include <libmemcached-1.0/memcached.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "indexer/sinks/memcached/client.hpp"
#include "indexer/sinks/memcached/config.hpp"

namespace {

using namespace indexer::memcached_sink;
using Seconds = std::chrono::duration<double>;

std::vector<ServerAddress> servers_of(const std::string& list) {
    std::vector<ServerAddress> servers;
    std::size_t start = 0;
    while (start <= list.size()) {
        const std::size_t comma = list.find(',', start);
        servers.push_back(parse_server_address(list.substr(start, comma - start)));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return servers;
}

memcached_st* libmemcached_client(const std::vector<ServerAddress>& servers) {
    memcached_st* memc = memcached_create(nullptr);
    memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
    memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    for (const ServerAddress& server : servers) memcached_server_add(memc, server.host.c_str(), server.port);
    return memc;
}

void report(const char* name, std::size_t ops, std::size_t failed, Seconds elapsed) {
    std::printf("%-44s %9.0f ops/s  (%zu ops, %zu not OK, %.2f s)\n", name,
                static_cast<double>(ops) / elapsed.count(), ops, failed, elapsed.count());
}

void plain_loop(const std::vector<ServerAddress>& servers, const std::vector<std::string>& keys,
                const std::string& value) {
    memcached_st* memc = libmemcached_client(servers);
    std::size_t failed = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const std::string& key : keys) {
        if (memcached_set(memc, key.data(), key.size(), value.data(), value.size(), 0, 0) !=
            MEMCACHED_SUCCESS) {
            ++failed;
        }
    }
    report("libmemcached memcached_set loop, 1 conn", keys.size(), failed,
           std::chrono::steady_clock::now() - start);
    memcached_free(memc);
}

void clone_pool(const std::vector<ServerAddress>& servers, const std::vector<std::string>& keys,
                const std::string& value, std::size_t threads) {
    memcached_st* parent = libmemcached_client(servers);
    std::vector<memcached_st*> clones;
    for (std::size_t t = 0; t < threads; ++t) clones.push_back(memcached_clone(nullptr, parent));
    std::vector<std::size_t> failed(threads, 0);
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (std::size_t t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (std::size_t i = t; i < keys.size(); i += threads) {
                if (memcached_set(clones[t], keys[i].data(), keys[i].size(), value.data(), value.size(), 0,
                                  0) != MEMCACHED_SUCCESS) {
                    ++failed[t];
                }
            }
        });
    }
    for (auto& worker : workers) worker.join();
    const Seconds elapsed = std::chrono::steady_clock::now() - start;
    std::size_t total_failed = 0;
    for (std::size_t f : failed) total_failed += f;
    const std::string name = "libmemcached clone pool, " + std::to_string(threads) + " threads";
    report(name.c_str(), keys.size(), total_failed, elapsed);
    for (memcached_st* clone : clones) memcached_free(clone);
    memcached_free(parent);
}

void pipelined(const std::vector<ServerAddress>& servers, const std::vector<std::string>& ids,
               const std::string& value, std::size_t batch) {
    Config config;
    config.servers = servers;
    config.key_template = KeyTemplate::parse("bench:{id}");
    Client client(config);
    std::vector<WriteOp> ops;
    std::vector<OpResult> results;
    std::size_t failed = 0;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t first = 0; first < ids.size(); first += batch) {
        const std::size_t n = std::min(batch, ids.size() - first);
        ops.clear();
        for (std::size_t i = first; i < first + n; ++i)
            ops.push_back(WriteOp{OpKind::Upsert, ids[i], value, {}});
        results.assign(n, OpResult{});
        client.write(ops, results);
        for (const OpResult& result : results) failed += result.outcome == Outcome::Ok ? 0 : 1;
    }
    const std::string name = "sink pipelined client, batches of " + std::to_string(batch);
    report(name.c_str(), ids.size(), failed, std::chrono::steady_clock::now() - start);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s HOST:PORT[,HOST:PORT...] [OPS] [VALUE_BYTES]\n", argv[0]);
        return 2;
    }
    const std::vector<ServerAddress> servers = servers_of(argv[1]);
    const std::size_t count = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 100'000;
    const std::size_t value_bytes = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 300;
    const std::string value = "{\"v\":\"" + std::string(value_bytes > 8 ? value_bytes - 8 : 0, 'x') + "\"}";
    std::vector<std::string> ids;
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < count; ++i) {
        ids.push_back(std::to_string(i));
        keys.push_back("bench:" + ids.back());
    }
    std::printf("%zu servers, %zu-byte values\n", servers.size(), value.size());
    plain_loop(servers, keys, value);
    clone_pool(servers, keys, value, 2);
    clone_pool(servers, keys, value, 4);
    clone_pool(servers, keys, value, 8);
    pipelined(servers, ids, value, 100);
    pipelined(servers, ids, value, 1000);
    pipelined(servers, ids, value, 10000);
    return 0;
}
