// zstd compression of whole blobs. Each thread keeps its own contexts, so
// the functions are thread-safe and allocation-free on the hot path.
#pragma once

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::compress {

inline constexpr int kDefaultLevel = 3;

// Appends the compressed form of `input` to `out`; returns its size.
size_t zstd_compress(ByteSpan input, int level, Bytes& out);

size_t zstd_compress_bound(size_t input_size);
// Compresses into `out`, which must hold zstd_compress_bound() bytes;
// returns the compressed size.
size_t zstd_compress_into(ByteSpan input, int level, MutableByteSpan out);

// Appends exactly `raw_size` decompressed bytes to `out`, or fails with
// kCorrupt if the frame is malformed or decompresses to another size.
Status zstd_decompress(ByteSpan input, size_t raw_size, Bytes& out);

}  // namespace lifeboat::compress
