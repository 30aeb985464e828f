#include "util/bounded_queue.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <numeric>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

TEST(BoundedQueue, FifoOrder) {
  BoundedQueue<int> q(10);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.push(i));
  for (int i = 0; i < 5; ++i) {
    auto v = q.pop();
    ASSERT_TRUE(v);
    EXPECT_EQ(*v, i);
  }
}

TEST(BoundedQueue, CarriesMoveOnlyItems) {
  BoundedQueue<std::unique_ptr<int>> q(2);
  ASSERT_TRUE(q.push(std::make_unique<int>(5)));
  auto v = q.pop();
  ASSERT_TRUE(v && *v);
  EXPECT_EQ(**v, 5);
}

TEST(BoundedQueue, CloseDrainsThenEnds) {
  BoundedQueue<int> q(10);
  ASSERT_TRUE(q.push(1));
  ASSERT_TRUE(q.push(2));
  q.close();
  EXPECT_FALSE(q.push(3));
  EXPECT_EQ(q.pop(), 1);
  EXPECT_EQ(q.pop(), 2);
  EXPECT_EQ(q.pop(), std::nullopt);
  EXPECT_EQ(q.pop(), std::nullopt);
}

TEST(BoundedQueue, AbortDropsQueuedItems) {
  BoundedQueue<int> q(10);
  ASSERT_TRUE(q.push(1));
  ASSERT_TRUE(q.push(2));
  q.abort();
  EXPECT_EQ(q.pop(), std::nullopt);
  EXPECT_FALSE(q.push(3));
}

TEST(BoundedQueue, ItemHeavierThanCapacityIsAdmittedWhenEmpty) {
  BoundedQueue<int> q(10);
  ASSERT_TRUE(q.push(1, 100));
  EXPECT_EQ(q.pop(), 1);
  ASSERT_TRUE(q.push(2, 100));
  EXPECT_EQ(q.pop(), 2);
}

// The queue is full (weight 10 of 10): a push cannot succeed until an item
// is popped, so the only way the producer can return is the close, and it
// must return false. If weights were not enforced it would return true.
TEST(BoundedQueue, FullQueueBlocksProducerUntilClose) {
  BoundedQueue<int> q(10);
  ASSERT_TRUE(q.push(1, 6));
  ASSERT_TRUE(q.push(2, 4));
  std::atomic<int> result{-1};
  std::thread producer([&] { result = q.push(3, 1) ? 1 : 0; });
  q.close();
  producer.join();
  EXPECT_EQ(result.load(), 0);
  EXPECT_EQ(q.pop(), 1);
  EXPECT_EQ(q.pop(), 2);
  EXPECT_EQ(q.pop(), std::nullopt);
}

TEST(BoundedQueue, AbortWakesBlockedProducer) {
  BoundedQueue<int> q(1);
  ASSERT_TRUE(q.push(1));
  std::atomic<int> result{-1};
  std::thread producer([&] { result = q.push(2) ? 1 : 0; });
  q.abort();
  producer.join();
  EXPECT_EQ(result.load(), 0);
}

TEST(BoundedQueue, CloseWakesBlockedConsumer) {
  BoundedQueue<int> q(4);
  std::optional<int> got = 99;
  std::thread consumer([&] { got = q.pop(); });
  q.close();
  consumer.join();
  EXPECT_EQ(got, std::nullopt);
}

// A heavy item waits until the queue is empty, then is admitted even though
// it exceeds the capacity.
TEST(BoundedQueue, PopUnblocksHeavyProducer) {
  BoundedQueue<int> q(10);
  ASSERT_TRUE(q.push(1, 1));
  std::atomic<bool> pushed{false};
  std::thread producer([&] { pushed = q.push(2, 100); });
  EXPECT_EQ(q.pop(), 1);
  EXPECT_EQ(q.pop(), 2);  // blocks until the producer got in
  producer.join();
  EXPECT_TRUE(pushed.load());
}

// A producer blocked on a full queue sleeps until the consumers have drained
// it to half, then refills it in a burst (one wake-up, not one per pop).
TEST(BoundedQueue, BlockedProducerWakesAtHalf) {
  BoundedQueue<int> q(10);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.push(i, 1));
  std::atomic<bool> pushed{false};
  std::thread producer([&] { pushed = q.push(10, 1); });
  while (q.waiting_producers() == 0) std::this_thread::yield();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(q.pop(), i);  // 6 left: above half
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(pushed.load());
  EXPECT_EQ(q.pop(), 4);  // 5 left: half
  producer.join();
  EXPECT_TRUE(pushed.load());
  for (int i = 5; i <= 10; ++i) EXPECT_EQ(q.pop(), i);
}

TEST(BoundedQueue, ManyProducersOneConsumerKeepPerProducerOrder) {
  constexpr int kProducers = 4, kItems = 5000;
  BoundedQueue<std::pair<int, int>> q(64);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p)
    producers.emplace_back([&, p] {
      for (int i = 0; i < kItems; ++i) ASSERT_TRUE(q.push({p, i}, 1 + static_cast<size_t>(i % 7)));
    });
  std::thread closer([&] {
    for (auto& t : producers) t.join();
    q.close();
  });
  std::vector<int> next(kProducers, 0);
  int total = 0;
  while (auto item = q.pop()) {
    auto [p, i] = *item;
    ASSERT_EQ(i, next[p]) << "producer " << p;
    next[p]++;
    total++;
  }
  closer.join();
  EXPECT_EQ(total, kProducers * kItems);
}

TEST(BoundedQueue, ManyProducersManyConsumersDeliverEachItemOnce) {
  constexpr int kProducers = 3, kConsumers = 3, kItems = 4000;
  BoundedQueue<int> q(16);
  std::vector<std::atomic<int>> seen(kProducers * kItems);
  std::vector<std::thread> producers, consumers;
  for (int c = 0; c < kConsumers; ++c)
    consumers.emplace_back([&] {
      while (auto v = q.pop()) seen[static_cast<size_t>(*v)]++;
    });
  for (int p = 0; p < kProducers; ++p)
    producers.emplace_back([&, p] {
      for (int i = 0; i < kItems; ++i) ASSERT_TRUE(q.push(p * kItems + i, 3));
    });
  for (auto& t : producers) t.join();
  q.close();
  for (auto& t : consumers) t.join();
  for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i].load(), 1) << "item " << i;
}

}  // namespace
}  // namespace lifeboat
