#include "indexer/sinks/elasticsearch/gzip.hpp"

#include <zlib.h>

#include <limits>

namespace indexer::sinks::elasticsearch {

struct GzipCompressor::State {
    z_stream stream{};
    bool ready = false;
};

GzipCompressor::GzipCompressor() : state_(std::make_unique<State>()) {
    // Level 1: NDJSON compresses well even at the fastest level, and CPU is
    // better spent on the next request than on a few more percent.
    constexpr int kGzipWindow = 15 + 16;  // 16 selects the gzip wrapper
    state_->ready =
        deflateInit2(&state_->stream, Z_BEST_SPEED, Z_DEFLATED, kGzipWindow, 8, Z_DEFAULT_STRATEGY) == Z_OK;
}

GzipCompressor::~GzipCompressor() {
    if (state_->ready) deflateEnd(&state_->stream);
}

bool GzipCompressor::compress(std::string_view in, std::string& out) {
    if (!state_->ready || in.size() > std::numeric_limits<uInt>::max()) return false;
    z_stream& stream = state_->stream;
    if (deflateReset(&stream) != Z_OK) return false;
    out.resize(deflateBound(&stream, static_cast<uLong>(in.size())));
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    stream.avail_in = static_cast<uInt>(in.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    // deflateBound guarantees one Z_FINISH call suffices.
    if (deflate(&stream, Z_FINISH) != Z_STREAM_END) return false;
    out.resize(stream.total_out);
    return true;
}

}  // namespace indexer::sinks::elasticsearch
