// LruEvictionPolicy: least recently used first. A list in use order plus an index into it.
#pragma once

#include <list>
#include <unordered_map>
#include <utility>

#include "eviction_policy.h"

namespace tray {

class LruEvictionPolicy : public EvictionPolicy {
 public:
  void Add(const ObjectId& id, uint64_t size) override;
  void Remove(const ObjectId& id) override;
  void Touch(const ObjectId& id) override;
  std::vector<ObjectId> ChooseVictims(uint64_t bytes) const override;
  size_t size() const override { return index_.size(); }
  uint64_t bytes() const override { return bytes_; }

 private:
  using Entry = std::pair<ObjectId, uint64_t>;
  std::list<Entry> order_;  // front: least recently used
  std::unordered_map<ObjectId, std::list<Entry>::iterator, ObjectIdHash> index_;
  uint64_t bytes_ = 0;
};

}  // namespace tray
