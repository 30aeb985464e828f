// zstd compression of whole blobs. Each thread keeps its own contexts, so
// the functions are thread-safe and allocation-free on the hot path.
#pragma once

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::compress {

// The level of new repositories and of wal-push. Level 2 rather than zstd's
// own default of 3: on the benchmark dataset (docs/BENCHMARKS.md) it costs
// 11% less CPU for 0.7% more bytes, and still stores less than restic's
// default; a backup is CPU-bound, and `init --compression-level` chooses
// another.
inline constexpr int kDefaultLevel = 2;

// Appends the compressed form of `input` to `out`; returns its size.
size_t zstd_compress(ByteSpan input, int level, Bytes& out);

size_t zstd_compress_bound(size_t input_size);
// Compresses into `out`, which must hold zstd_compress_bound() bytes;
// returns the compressed size.
size_t zstd_compress_into(ByteSpan input, int level, MutableByteSpan out);

// Appends exactly `raw_size` decompressed bytes to `out`, or fails with
// kCorrupt if the frame is malformed or decompresses to another size.
Status zstd_decompress(ByteSpan input, size_t raw_size, Bytes& out);

// The same against a reference: `prefix` (an earlier version of the data)
// is taken as content that precedes `input`, so what the two share costs
// a few bytes of back-reference (zstd's "raw content prefix", as
// `zstd --patch-from`). Decompressing needs the very same prefix.
size_t zstd_compress_with_prefix(ByteSpan input, ByteSpan prefix, int level, MutableByteSpan out);
Status zstd_decompress_with_prefix(ByteSpan input, ByteSpan prefix, size_t raw_size, Bytes& out);

}  // namespace lifeboat::compress
