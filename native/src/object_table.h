// ObjectTable: every object the store knows, keyed by its 28-byte id, with its place in the
// segment (or on disk), its lifecycle state and who reads it. It holds facts only; ObjectStore
// decides what happens to them.
#pragma once

#include <cstdint>
#include <unordered_map>

#include "object_id.h"
#include "spill_files.h"

namespace tray {

enum class ObjectState : uint8_t { kCreated, kSealed };

struct ObjectEntry {
  uint64_t offset = 0;       // in the segment, valid while in_memory
  uint64_t data_size = 0;
  uint64_t metadata_size = 0;
  uint64_t alloc_size = 0;   // bytes taken from the allocator (aligned)
  ObjectState state = ObjectState::kCreated;
  bool primary = false;      // the owner's copy: spilled, never evicted
  bool in_memory = true;     // false while spilled
  bool delete_pending = false;  // deleted while read: goes when the last reader releases
  uint32_t ref_count = 0;    // references held by clients (gets not yet released)
  uint64_t creator = 0;      // client that created it
  SpillLocation spill;       // where it is on disk while !in_memory

  uint64_t size() const { return data_size + metadata_size; }
  bool sealed() const { return state == ObjectState::kSealed; }
};

class ObjectTable {
 public:
  using Map = std::unordered_map<ObjectId, ObjectEntry, ObjectIdHash>;

  ObjectEntry* Find(const ObjectId& id) {
    auto found = objects_.find(id);
    return found == objects_.end() ? nullptr : &found->second;
  }
  const ObjectEntry* Find(const ObjectId& id) const {
    auto found = objects_.find(id);
    return found == objects_.end() ? nullptr : &found->second;
  }
  // Inserts a fresh entry; returns nullptr when the id is already present.
  ObjectEntry* Insert(const ObjectId& id) {
    auto result = objects_.emplace(id, ObjectEntry{});
    return result.second ? &result.first->second : nullptr;
  }
  void Erase(const ObjectId& id) { objects_.erase(id); }
  size_t size() const { return objects_.size(); }
  const Map& entries() const { return objects_; }

 private:
  Map objects_;
};

}  // namespace tray
