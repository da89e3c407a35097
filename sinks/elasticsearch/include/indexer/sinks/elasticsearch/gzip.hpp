// Gzip compression of request bodies (zlib), reusing one deflate state.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace indexer::sinks::elasticsearch {

class GzipCompressor {
public:
    GzipCompressor();
    ~GzipCompressor();
    GzipCompressor(const GzipCompressor&) = delete;
    GzipCompressor& operator=(const GzipCompressor&) = delete;

    // Replaces `out` with the gzip member of `in`. False only when zlib fails
    // (out of memory); the caller then sends the body uncompressed.
    bool compress(std::string_view in, std::string& out);

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace indexer::sinks::elasticsearch
