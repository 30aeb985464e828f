#include "util/buffer_pool.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

TEST(BufferPool, AcquireGivesEmptyBufferWithCapacity) {
  auto pool = BufferPool::create(4);
  auto b = pool->acquire(1000);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->empty());
  EXPECT_GE(b->capacity(), 1000u);
}

TEST(BufferPool, RecyclesReleasedBuffersCleared) {
  auto pool = BufferPool::create(4);
  Bytes* first;
  {
    auto b = pool->acquire(4096);
    first = b.get();
    b->assign(100, 0xab);
  }
  auto again = pool->acquire(16);
  EXPECT_EQ(again.get(), first);
  EXPECT_TRUE(again->empty());
  EXPECT_GE(again->capacity(), 4096u);  // the pages stay with the buffer
}

TEST(BufferPool, GrowsRecycledBufferToRequestedCapacity) {
  auto pool = BufferPool::create(1);
  pool->acquire(10).reset();
  auto b = pool->acquire(1 << 20);
  EXPECT_GE(b->capacity(), size_t{1} << 20);
}

// Buffers are told apart by their capacities: the pool keeps at most
// max_idle of them (last returned first out); the rest are freed.
TEST(BufferPool, KeepsAtMostMaxIdle) {
  auto pool = BufferPool::create(2);
  auto a = pool->acquire(1000), b = pool->acquire(2000), c = pool->acquire(3000);
  a.reset();
  b.reset();
  c.reset();  // the pool is full: freed
  auto x = pool->acquire(0), y = pool->acquire(0), z = pool->acquire(0);
  EXPECT_GE(x->capacity(), 2000u);
  EXPECT_LT(x->capacity(), 3000u);
  EXPECT_GE(y->capacity(), 1000u);
  EXPECT_LT(y->capacity(), 2000u);
  EXPECT_EQ(z->capacity(), 0u);
}

TEST(BufferPool, BufferMayOutliveThePool) {
  auto pool = BufferPool::create(2);
  auto b = pool->acquire(64);
  b->push_back(1);
  pool.reset();
  EXPECT_EQ(b->size(), 1u);
  b.reset();  // deleted, not returned to a dead pool
  SUCCEED();
}

TEST(BufferPool, GiveBackTakesOwnership) {
  auto pool = BufferPool::create(1);
  auto* raw = new Bytes();
  raw->reserve(777);
  pool->give_back(raw);
  auto b = pool->acquire(0);
  EXPECT_EQ(b.get(), raw);
}

// Each thread owns its buffer exclusively between acquire and release.
TEST(BufferPool, ConcurrentUseNeverSharesABuffer) {
  auto pool = BufferPool::create(3);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        auto b = pool->acquire(256);
        if (!b->empty()) failures++;
        b->assign(256, static_cast<uint8_t>(t));
        for (uint8_t v : *b)
          if (v != static_cast<uint8_t>(t)) failures++;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace lifeboat
