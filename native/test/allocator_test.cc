#include <random>
#include <set>
#include <vector>

#include "allocator.h"
#include "check.h"

using tray::Allocator;

TEST(allocator, aligns_and_fills) {
  Allocator a(1024);
  const uint64_t x = a.Allocate(1);
  const uint64_t y = a.Allocate(65);
  CHECK_EQ(x % 64, 0u);
  CHECK_EQ(y % 64, 0u);
  CHECK_EQ(a.allocated(), 64u + 128u);
  CHECK(a.Allocate(1024) == Allocator::kInvalidOffset);
  CHECK(a.Allocate(1024 - 192) != Allocator::kInvalidOffset);
  CHECK(a.Allocate(1) == Allocator::kInvalidOffset);
}

TEST(allocator, zero_size_takes_one_unit) {
  Allocator a(128);
  const uint64_t x = a.Allocate(0);
  const uint64_t y = a.Allocate(0);
  CHECK(x != y);
  CHECK(a.Allocate(0) == Allocator::kInvalidOffset);
}

TEST(allocator, coalesces_both_neighbours) {
  Allocator a(64 * 3);
  const uint64_t x = a.Allocate(64), y = a.Allocate(64), z = a.Allocate(64);
  a.Free(x, 64);
  a.Free(z, 64);
  CHECK_EQ(a.free_blocks(), 2u);
  a.Free(y, 64);
  CHECK_EQ(a.free_blocks(), 1u);
  CHECK_EQ(a.largest_free(), 192u);
  CHECK_EQ(a.Allocate(192), 0u);
}

TEST(allocator, best_fit_picks_smallest_block) {
  Allocator a(64 * 10);
  std::vector<uint64_t> blocks;
  for (int i = 0; i < 10; ++i) blocks.push_back(a.Allocate(64));
  a.Free(blocks[1], 64 * 1);                      // hole of 1 unit at 1
  a.Free(blocks[3], 64);
  a.Free(blocks[4], 64);                          // hole of 2 units at 3
  a.Free(blocks[6], 64);
  a.Free(blocks[7], 64);
  a.Free(blocks[8], 64);                          // hole of 3 units at 6
  CHECK_EQ(a.Allocate(128), blocks[3]);
  CHECK_EQ(a.Allocate(64), blocks[1]);
  CHECK_EQ(a.Allocate(192), blocks[6]);
}

TEST(allocator, random_workload_never_overlaps) {
  const uint64_t capacity = 1 << 20;
  Allocator a(capacity);
  std::mt19937_64 rng(42);
  std::vector<std::pair<uint64_t, uint64_t>> live;
  std::set<std::pair<uint64_t, uint64_t>> ranges;
  for (int step = 0; step < 20000; ++step) {
    if (live.empty() || rng() % 3 != 0) {
      const uint64_t size = 1 + rng() % 5000;
      const uint64_t offset = a.Allocate(size);
      if (offset == Allocator::kInvalidOffset) continue;
      const uint64_t rounded = Allocator::RoundUp(size);
      CHECK(offset + rounded <= capacity);
      auto next = ranges.lower_bound({offset, 0});
      if (next != ranges.end()) CHECK(offset + rounded <= next->first);
      if (next != ranges.begin()) {
        auto prev = std::prev(next);
        CHECK(prev->first + prev->second <= offset);
      }
      ranges.insert({offset, rounded});
      live.push_back({offset, size});
    } else {
      const size_t index = rng() % live.size();
      a.Free(live[index].first, live[index].second);
      ranges.erase({live[index].first, Allocator::RoundUp(live[index].second)});
      live[index] = live.back();
      live.pop_back();
    }
  }
  for (auto& block : live) a.Free(block.first, block.second);
  CHECK_EQ(a.allocated(), 0u);
  CHECK_EQ(a.free_blocks(), 1u);
  CHECK_EQ(a.largest_free(), capacity);
}

TEST(allocator, peek_says_where_allocate_would_place_a_block) {
  Allocator a(1024);
  const uint64_t x = a.Allocate(256);
  a.Allocate(64);
  a.Free(x, 256);  // a 256-byte hole at 0, 704 bytes free after the second block
  CHECK_EQ(a.Peek(200), x);  // best fit: the hole
  CHECK_EQ(a.Peek(300), 320u);
  CHECK(a.Peek(1000) == Allocator::kInvalidOffset);
  CHECK_EQ(a.allocated(), 64u);  // peeking allocates nothing
  CHECK_EQ(a.Allocate(200), x);
}
