// Allocator: hands out 64-byte-aligned ranges of the store's segment by offset. It never touches
// the memory itself, so it is testable without a segment.
//
// Free space is kept in two ordered trees: by offset (to find and merge neighbours when a range
// is freed) and by (size, offset) (to find the smallest block that fits: best fit). Allocate
// and Free are O(log n) in the number of free blocks; nothing scans.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <utility>

namespace tray {

class Allocator {
 public:
  static constexpr uint64_t kAlignment = 64;
  static constexpr uint64_t kInvalidOffset = ~0ull;

  explicit Allocator(uint64_t capacity);

  // Rounds `size` up to the alignment (at least one unit) and returns the offset of a block of
  // that size, or kInvalidOffset when no free block is large enough.
  uint64_t Allocate(uint64_t size);
  // Where Allocate(size) would place the block now, or kInvalidOffset; allocates nothing.
  uint64_t Peek(uint64_t size) const;
  // Returns a block given by Allocate; `size` is the size passed to Allocate.
  void Free(uint64_t offset, uint64_t size);

  static uint64_t RoundUp(uint64_t size) {
    if (size == 0) return kAlignment;
    return (size + kAlignment - 1) & ~(kAlignment - 1);
  }

  uint64_t capacity() const { return capacity_; }
  uint64_t allocated() const { return allocated_; }
  uint64_t largest_free() const { return by_size_.empty() ? 0 : by_size_.rbegin()->first; }
  size_t free_blocks() const { return by_offset_.size(); }

 private:
  void InsertFree(uint64_t offset, uint64_t size);
  void EraseFree(std::map<uint64_t, uint64_t>::iterator it);

  uint64_t capacity_;
  uint64_t allocated_ = 0;
  std::map<uint64_t, uint64_t> by_offset_;              // offset -> size
  std::set<std::pair<uint64_t, uint64_t>> by_size_;     // (size, offset)
};

}  // namespace tray
