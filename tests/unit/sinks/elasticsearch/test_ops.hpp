// Builds arrays of ABI ops for the sink's unit tests; keeps their bytes alive.
#pragma once

#include <indexer/sink.hpp>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace indexer::sinks::elasticsearch::testing {

class TestOps {
public:
    TestOps& upsert(std::string id, std::string document, std::uint64_t version = 0,
                    std::string target = {}) {
        return add(INDEXER_SINK_UPSERT, std::move(id), std::move(document), version, std::move(target));
    }
    TestOps& remove(std::string id, std::uint64_t version = 0, std::string target = {}) {
        return add(INDEXER_SINK_DELETE, std::move(id), {}, version, std::move(target));
    }

    // Views over the ops; valid while this object lives and no op is added.
    std::vector<indexer::sdk::Op> views() const {
        std::vector<indexer::sdk::Op> out;
        out.reserve(raw_.size());
        for (const auto& op : raw_) out.emplace_back(op);
        return out;
    }

private:
    indexer_str keep(std::string text) {
        strings_.push_back(std::move(text));
        return indexer_str{strings_.back().data(), strings_.back().size()};
    }
    TestOps& add(std::uint32_t kind, std::string id, std::string document, std::uint64_t version,
                 std::string target) {
        indexer_sink_op op{};
        op.kind = kind;
        op.id = keep(std::move(id));
        op.document = keep(std::move(document));
        op.version = version;
        op.target = keep(std::move(target));
        raw_.push_back(op);
        return *this;
    }

    std::deque<std::string> strings_;
    std::vector<indexer_sink_op> raw_;
};

}  // namespace indexer::sinks::elasticsearch::testing
