#include "allocator.h"

namespace tray {

Allocator::Allocator(uint64_t capacity) : capacity_(capacity & ~(kAlignment - 1)) {
  if (capacity_ > 0) InsertFree(0, capacity_);
}

void Allocator::InsertFree(uint64_t offset, uint64_t size) {
  by_offset_.emplace(offset, size);
  by_size_.emplace(size, offset);
}

void Allocator::EraseFree(std::map<uint64_t, uint64_t>::iterator it) {
  by_size_.erase({it->second, it->first});
  by_offset_.erase(it);
}

uint64_t Allocator::Allocate(uint64_t size) {
  size = RoundUp(size);
  auto fit = by_size_.lower_bound({size, 0});
  if (fit == by_size_.end()) return kInvalidOffset;
  const uint64_t block_size = fit->first;
  const uint64_t offset = fit->second;
  by_size_.erase(fit);
  by_offset_.erase(offset);
  if (block_size > size) InsertFree(offset + size, block_size - size);
  allocated_ += size;
  return offset;
}

uint64_t Allocator::Peek(uint64_t size) const {
  auto fit = by_size_.lower_bound({RoundUp(size), 0});
  return fit == by_size_.end() ? kInvalidOffset : fit->second;
}

void Allocator::Free(uint64_t offset, uint64_t size) {
  size = RoundUp(size);
  allocated_ -= size;
  uint64_t start = offset;
  uint64_t end = offset + size;
  auto next = by_offset_.lower_bound(offset);
  if (next != by_offset_.end() && next->first == end) {
    end += next->second;
    auto erase = next++;
    EraseFree(erase);
  }
  if (next != by_offset_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == start) {
      start = prev->first;
      EraseFree(prev);
    }
  }
  InsertFree(start, end - start);
}

}  // namespace tray
