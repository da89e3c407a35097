// Shared by the PostgreSQL integration tests: a connection for setting up data,
// tables with unique names that are dropped afterwards, and checks on batches.
#pragma once

#include <indexer/postgres/batch_loader.hpp>

#include <gtest/gtest.h>

#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "support/test_services.hpp"

namespace indexer::testing {

class PostgresTest : public ::testing::Test {
protected:
    void SetUp() override {
        INDEXER_REQUIRE_SERVICE(url, "INDEXER_TEST_POSTGRES");
        url_ = url;
        admin_ = std::make_unique<pqxx::connection>(url_);
    }

    void TearDown() override {
        if (!admin_) return;
        for (auto it = cleanup_.rbegin(); it != cleanup_.rend(); ++it) {
            try {
                exec(*it);
            } catch (const std::exception& error) {
                ADD_FAILURE() << "cleanup `" << *it << "` failed: " << error.what();
            }
        }
    }

    pqxx::result exec(const std::string& sql) {
        pqxx::nontransaction tx(*admin_);
        return tx.exec(sql);
    }

    // Creates a table with a unique name and drops it after the test.
    std::string create_table(const std::string& prefix, const std::string& columns) {
        const std::string name = unique_name(prefix);
        exec("CREATE TABLE " + name + " (" + columns + ")");
        cleanup_.push_back("DROP TABLE IF EXISTS " + name + " CASCADE");
        return name;
    }

    void drop_after_test(std::string sql) { cleanup_.push_back(std::move(sql)); }

    postgres::BatchLoader make_loader(postgres::Source source, std::size_t pool_size = 1,
                                      std::string pipeline = {}) {
        if (pipeline.empty()) pipeline = unique_name("pipeline");
        auto loader = postgres::BatchLoader::create({pipeline, url_, std::move(source), pool_size, {}, {}});
        if (!loader) throw std::runtime_error("BatchLoader::create failed: " + loader.error());
        return std::move(loader).value();
    }

    postgres::LoadedBatch load(postgres::BatchLoader& loader, const std::vector<std::string>& ids) {
        auto batch = loader.load(ids);
        if (!batch) throw std::runtime_error("load failed: " + batch.error());
        expect_every_request_accounted_once(batch.value(), ids.size());
        return std::move(batch).value();
    }

    // Every position of the request appears exactly once across rows, missing
    // and invalid: the contract the pipeline relies on to settle each message.
    static void expect_every_request_accounted_once(const postgres::LoadedBatch& batch, std::size_t count) {
        std::vector<int> seen(count, 0);
        for (const auto& row : batch.rows) {
            for (const auto index : row.request_indexes) ++seen.at(index);
        }
        for (const auto& missing : batch.missing) {
            for (const auto index : missing.request_indexes) ++seen.at(index);
        }
        for (const auto& invalid : batch.invalid) ++seen.at(invalid.request_index);
        for (std::size_t i = 0; i < count; ++i) EXPECT_EQ(seen[i], 1) << "request index " << i;
    }

    // Canonical id -> document of the batch's rows.
    static std::map<std::string, std::string> documents(const postgres::LoadedBatch& batch) {
        std::map<std::string, std::string> by_id;
        for (const auto& row : batch.rows) by_id[row.id] = row.document;
        return by_id;
    }

    static std::vector<std::string> missing_ids(const postgres::LoadedBatch& batch) {
        std::vector<std::string> ids;
        for (const auto& missing : batch.missing) ids.push_back(missing.id);
        return ids;
    }

    // Request index -> reason of the batch's invalid ids.
    static std::map<std::size_t, std::string> invalid_reasons(const postgres::LoadedBatch& batch) {
        std::map<std::size_t, std::string> reasons;
        for (const auto& invalid : batch.invalid) reasons[invalid.request_index] = invalid.reason;
        return reasons;
    }

    const std::string& url() const { return url_; }
    pqxx::connection& admin() { return *admin_; }

private:
    std::string url_;
    std::unique_ptr<pqxx::connection> admin_;
    std::vector<std::string> cleanup_;
};

}  // namespace indexer::testing
