// Micro-benchmarks of the per-byte stages of the backup pipeline, beside
// their ceiling (memcpy). Every benchmark reports bytes/s of the plaintext it
// consumes, on 16 KiB and 1 MiB buffers (the chunker also on 16 MiB with the
// repository's default parameters).
//
//   build-bench/lifeboat_microbench --benchmark_min_time=0.2
//   ... --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// The reference machine's two vCPUs behave like hyperthreads of one core,
// so a compile running beside a benchmark can move its numbers by 30% or
// more: use repetitions and compare medians.
//
// All inputs and keys are deterministic (seeded generators, fixed key
// bytes), so two runs measure the same work. Random data is incompressible;
// text-like data is lines drawn from a fixed pool and compresses ~3.6x with
// zstd at lifeboat's default level at 1 MiB (~2x at 16 KiB), like the source
// files and logs of the bench dataset (3.58x for zstd -b3 on its text sample).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "chunk/fastcdc.h"
#include "compress/zstd.h"
#include "crypto/aead.h"
#include "crypto/keyed_hash.h"
#include "repo/id.h"
#include "repo/keys.h"
#include "repo/pack.h"
#include "util/buffer_pool.h"
#include "util/bytes.h"

namespace lb = lifeboat;

namespace {

constexpr int64_t kKiB = 1024;
constexpr int64_t kMiB = 1024 * 1024;

// splitmix64: small, fast, and fully determined by its seed.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
};

lb::Bytes random_data(size_t n, uint64_t seed) {
  SplitMix64 rng{seed};
  lb::Bytes b(n);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng.next();
    std::memcpy(b.data() + i, &v, std::min<size_t>(8, n - i));
  }
  return b;
}

// Source-code- and log-like text, built the way gen_dataset.sh builds its
// small files: a 3,000-word vocabulary, a pool of 20,000 lines made from it,
// and the text drawn line by line from that pool.
lb::Bytes text_data(size_t n, uint64_t seed) {
  SplitMix64 rng{seed};
  std::vector<std::string> words;
  for (int i = 0; i < 3000; ++i) {
    std::string w;
    size_t len = 3 + rng.below(8);
    for (size_t k = 0; k < len; ++k) w.push_back(static_cast<char>('a' + rng.below(26)));
    words.push_back(std::move(w));
  }
  auto word = [&] { return words[rng.below(words.size())]; };
  std::vector<std::string> pool;
  for (int i = 0; i < 20000; ++i) {
    std::string indent(4 * rng.below(5), ' ');
    std::string num = std::to_string(rng.below(100000));
    switch (rng.below(6)) {
      case 0: pool.push_back(indent + word() + "_" + word() + " = " + word() + "(" + word() + ", " + num + ");"); break;
      case 1: pool.push_back(indent + "if (" + word() + " != " + word() + ") {"); break;
      case 2: pool.push_back(indent + "// " + word() + " " + word() + " " + word() + " " + word()); break;
      case 3: pool.push_back(indent + "return " + word() + "->" + word() + "(" + num + ");"); break;
      case 4: pool.push_back(indent + "}"); break;
      default: pool.push_back(num + " INFO [" + word() + "." + word() + "] " + word() + " id=" + num + " " + word()); break;
    }
  }
  std::string s;
  s.reserve(n + 256);
  while (s.size() < n) {
    s += pool[rng.below(pool.size())];
    s += '\n';
  }
  s.resize(n);
  return lb::to_bytes(s);
}

lb::crypto::Key256 fixed_key(uint8_t salt) {
  lb::crypto::Key256 k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 7 + salt);
  return k;
}

lb::repo::MasterKey fixed_master_key() {
  lb::repo::MasterKey m;
  lb::repo::DataKey d;
  d.epoch = 1;
  d.key = fixed_key(1);
  m.data_keys.push_back(d);
  m.id_key = fixed_key(2);
  return m;
}

lb::chunk::GearTable fixed_gear_table() {
  SplitMix64 rng{0x6765617274626c65ULL};
  lb::chunk::GearTable t;
  for (auto& v : t) v = rng.next();
  return t;
}

void set_bytes(benchmark::State& state, size_t per_iteration) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(per_iteration));
}

void sizes(benchmark::internal::Benchmark* b) { b->Arg(16 * kKiB)->Arg(1 * kMiB); }

// ------------------------------------------------------------------ ceiling

void BM_Memcpy(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  lb::Bytes src = random_data(n, 1), dst(n);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), n);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, n);
}
BENCHMARK(BM_Memcpy)->Apply(sizes);

// ------------------------------------------------------------------ chunking

// Chunks the whole buffer, calling cut() until it is consumed.
size_t chunk_all(const lb::chunk::FastCdc& cdc, const lb::Bytes& data) {
  size_t off = 0, chunks = 0;
  while (off < data.size()) {
    off += cdc.cut(lb::ByteSpan(data.data() + off, data.size() - off));
    ++chunks;
  }
  return chunks;
}

// The gear hash's raw rate: min_size = 64 and an average far above the
// buffer, so nearly every byte is hashed and cut points are rare.
void BM_FastCdcScan(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  lb::chunk::ChunkerParams p{.min_size = 64, .avg_size = 4 * kMiB, .max_size = 8 * kMiB, .normalization = 2};
  lb::chunk::FastCdc cdc(fixed_gear_table(), p);
  lb::Bytes data = random_data(n, 2);
  for (auto _ : state) benchmark::DoNotOptimize(chunk_all(cdc, data));
  set_bytes(state, n);
}
BENCHMARK(BM_FastCdcScan)->Apply(sizes);

// The repository's default parameters (512 KiB / 1 MiB / 8 MiB) over 16 MiB:
// the effective chunking rate, including the bytes skipped below min_size.
void BM_FastCdcDefaultParams(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  lb::repo::RepoKeys keys(fixed_master_key());
  lb::chunk::FastCdc cdc(keys.gear_table(), lb::chunk::ChunkerParams{});
  lb::Bytes data = random_data(n, 3);
  size_t chunks = 0;
  for (auto _ : state) {
    chunks = chunk_all(cdc, data);
    benchmark::DoNotOptimize(chunks);
  }
  state.counters["chunks"] = static_cast<double>(chunks);
  set_bytes(state, n);
}
BENCHMARK(BM_FastCdcDefaultParams)->Arg(16 * kMiB);

// ------------------------------------------------------------------ hashing

void BM_KeyedHash(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  lb::crypto::KeyedHash h(fixed_key(3));
  lb::Bytes data = random_data(n, 4);
  for (auto _ : state) benchmark::DoNotOptimize(h.hash(data));
  set_bytes(state, n);
}
BENCHMARK(BM_KeyedHash)->Apply(sizes);

void BM_Sha256(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  lb::Bytes data = random_data(n, 5);
  for (auto _ : state) benchmark::DoNotOptimize(lb::crypto::sha256(data));
  set_bytes(state, n);
}
BENCHMARK(BM_Sha256)->Apply(sizes);

// ------------------------------------------------------------------ compression

enum DataKind : int64_t { kText = 0, kRandom = 1 };

lb::Bytes make_data(int64_t kind, size_t n, uint64_t seed) {
  return kind == kText ? text_data(n, seed) : random_data(n, seed);
}

void sizes_by_kind(benchmark::internal::Benchmark* b) {
  b->ArgNames({"bytes", "random"});
  for (int64_t kind : {kText, kRandom})
    for (int64_t n : {16 * kKiB, 1 * kMiB}) b->Args({n, kind});
}

void BM_ZstdCompress(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  lb::Bytes data = make_data(state.range(1), n, 10);
  lb::Bytes out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(lb::compress::zstd_compress(data, lb::compress::kDefaultLevel, out));
  }
  state.counters["ratio"] = static_cast<double>(n) / static_cast<double>(out.size());
  set_bytes(state, n);
}
BENCHMARK(BM_ZstdCompress)->Apply(sizes_by_kind);

// Text only: lifeboat stores blobs raw when zstd does not pay, so random data
// is never decompressed.
void BM_ZstdDecompress(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  lb::Bytes data = text_data(n, 7), packed, out;
  lb::compress::zstd_compress(data, lb::compress::kDefaultLevel, packed);
  out.reserve(n);
  for (auto _ : state) {
    out.clear();
    if (!lb::compress::zstd_decompress(packed, n, out).ok()) state.SkipWithError("zstd_decompress failed");
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state, n);  // decompressed bytes produced
}
BENCHMARK(BM_ZstdDecompress)->Apply(sizes);

// ------------------------------------------------------------------ encryption

void BM_AeadSeal(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  lb::crypto::Aead aead(fixed_key(4));
  lb::Bytes data = random_data(n, 8), out, aad = lb::to_bytes("aad");
  out.reserve(n + lb::crypto::kAeadOverhead);
  for (auto _ : state) {
    out.clear();
    aead.seal(data, aad, out);
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state, n);
}
BENCHMARK(BM_AeadSeal)->Apply(sizes);

void BM_AeadOpen(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  lb::crypto::Aead aead(fixed_key(4));
  lb::Bytes data = random_data(n, 9), sealed, out, aad = lb::to_bytes("aad");
  aead.seal(data, aad, sealed);
  out.reserve(n);
  for (auto _ : state) {
    out.clear();
    if (!aead.open(sealed, aad, out).ok()) state.SkipWithError("Aead::open failed");
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state, n);
}
BENCHMARK(BM_AeadOpen)->Apply(sizes);

// ------------------------------------------------------------------ blob path

// PackWriter::add (compress when it pays, then seal) the way the backup
// uses it: pooled buffers reserved to the pack target, a pack finished
// (header sealed, buffer returned to the pool) every 16 MiB. Blob ids are
// fixed values: hashing is measured above.
void BM_PackWriterAdd(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  constexpr size_t kPackTarget = 16 * kMiB;
  lb::repo::RepoKeys keys(fixed_master_key());
  lb::Bytes data = make_data(state.range(1), n, 10);
  auto pool = lb::BufferPool::create(2);
  lb::repo::PackWriter writer(keys, lb::compress::kDefaultLevel, kPackTarget + (9 << 20), pool);
  lb::repo::Id id;
  uint64_t counter = 0, stored = 0;
  for (auto _ : state) {
    std::memcpy(id.bytes.data(), &++counter, sizeof counter);
    size_t before = writer.size();
    writer.add(lb::repo::BlobType::kData, id, data);
    stored += writer.size() - before;
    if (writer.size() >= kPackTarget) benchmark::DoNotOptimize(writer.finish().data->data());
  }
  state.counters["stored/raw"] =
      static_cast<double>(stored) / (static_cast<double>(n) * static_cast<double>(state.iterations()));
  set_bytes(state, n);
}
BENCHMARK(BM_PackWriterAdd)->Apply(sizes_by_kind);

}  // namespace

BENCHMARK_MAIN();
