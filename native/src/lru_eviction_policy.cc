#include "lru_eviction_policy.h"

namespace tray {

void LruEvictionPolicy::Add(const ObjectId& id, uint64_t size) {
  auto found = index_.find(id);
  if (found != index_.end()) {
    Touch(id);
    return;
  }
  order_.emplace_back(id, size);
  index_.emplace(id, std::prev(order_.end()));
  bytes_ += size;
}

void LruEvictionPolicy::Remove(const ObjectId& id) {
  auto found = index_.find(id);
  if (found == index_.end()) return;
  bytes_ -= found->second->second;
  order_.erase(found->second);
  index_.erase(found);
}

void LruEvictionPolicy::Touch(const ObjectId& id) {
  auto found = index_.find(id);
  if (found == index_.end()) return;
  order_.splice(order_.end(), order_, found->second);
}

std::vector<ObjectId> LruEvictionPolicy::ChooseVictims(uint64_t bytes) const {
  std::vector<ObjectId> victims;
  uint64_t chosen = 0;
  for (auto it = order_.begin(); it != order_.end() && chosen < bytes; ++it) {
    victims.push_back(it->first);
    chosen += it->second;
  }
  return victims;
}

std::unique_ptr<EvictionPolicy> MakeEvictionPolicy(const std::string& name) {
  if (name.empty() || name == "lru") return std::make_unique<LruEvictionPolicy>();
  return nullptr;
}

}  // namespace tray
