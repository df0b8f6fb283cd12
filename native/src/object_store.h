// ObjectStore: the plain C++ core of a node's store. It owns the segment, the allocator, the
// object table, the eviction and spill policies and the spill files, and keeps them consistent
// through the object lifecycle: create -> (write by the client) -> seal -> get/release ->
// delete, or create -> abort.
//
// Invariants:
//  - An object is a candidate for its policy (secondary: eviction, primary: spilling) exactly
//    while it is sealed, in memory, unread (ref_count 0) and not pending deletion.
//  - Memory is taken only through Reserve, which evicts secondaries and then spills primaries
//    (above the spill threshold, or when the allocator cannot fit a request) and otherwise fails
//    with ObjectStoreFull. Nothing read, unsealed, or primary-while-spilling-is-off is touched.
//  - Every reference a client holds is counted per client, so Disconnect gives back all of them
//    and aborts what the client created but did not seal.
// Single-threaded: the caller serialises calls (the addon runs on the JS thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "allocator.h"
#include "eviction_policy.h"
#include "object_table.h"
#include "segment.h"
#include "spill_files.h"
#include "status.h"

namespace tray {

struct StoreOptions {
  SegmentOptions segment;
  std::string spill_dir;
  bool spill_enabled = true;
  double spill_threshold = 0.8;          // fraction of capacity above which primaries spill
  uint64_t spill_fuse_below = 1 << 20;   // objects smaller than this share a spill file
  uint64_t spill_min_batch = 8 << 20;    // spill at least this much at once (fuses small ones)
  uint64_t spill_limit = 0;              // max bytes on disk, 0: as much as the disk holds
  std::string eviction_policy = "lru";
};

struct ObjectLocation {
  uint64_t offset = 0;
  uint64_t data_size = 0;
  uint64_t metadata_size = 0;
};

struct StoreStats {
  uint64_t capacity = 0;
  uint64_t used_bytes = 0;
  uint64_t pinned_bytes = 0;
  uint64_t num_objects = 0;
  uint64_t num_pinned = 0;
  uint64_t spilled_bytes = 0;
  uint64_t spilled_objects = 0;
  uint64_t restored_bytes = 0;
  uint64_t restored_objects = 0;
  uint64_t evicted_bytes = 0;
  uint64_t evicted_objects = 0;
  uint64_t spill_disk_bytes = 0;
  bool fallback_to_disk = false;
};

class ObjectStore {
 public:
  ObjectStore() = default;
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  Status Open(const StoreOptions& options);
  void Close();

  Status Create(const ObjectId& id, uint64_t data_size, uint64_t metadata_size, bool primary, uint64_t client,
                uint64_t* offset);
  Status Seal(const ObjectId& id);
  // Adds a reference for `client` and says where the object is; restores it from disk first if
  // it was spilled. NotFound: unknown or being deleted. NotSealed: created, not sealed yet.
  Status Get(const ObjectId& id, uint64_t client, ObjectLocation* location);
  Status Release(const ObjectId& id, uint64_t client);
  // `deferred`: still read by some client, removed when the last one releases it.
  Status Delete(const ObjectId& id, bool* deferred);
  bool Contains(const ObjectId& id) const;
  Status Abort(const ObjectId& id, uint64_t client);
  void Disconnect(uint64_t client);

  bool is_open() const { return segment_.base() != nullptr; }
  StoreStats Stats() const;
  const Segment& segment() const { return segment_; }
  const SpillFiles* spill_files() const { return spill_.get(); }
  uint64_t capacity() const { return allocator_ ? allocator_->capacity() : 0; }
  // The end of the furthest allocation ever made: the store's file has pages (warm memory) below
  // it, none above (a first write there allocates and zeroes each page).
  uint64_t touched_bytes() const { return touched_; }
  // True when a create of `bytes` now would go (in part) above touched_bytes(): to pages the
  // store never used. False when it would not, or would not fit without evicting or spilling.
  bool CreateWouldTouchFresh(uint64_t bytes) const;
  // Memory of objects some client reads (deleted ones whose delete waits for them included):
  // what a reader's garbage collector may give back, when the reads are views it dropped, and
  // the objects' owners then delete.
  uint64_t read_bytes() const { return read_bytes_; }
  // Every object the store holds (in memory, being created, or spilled), for listing.
  const ObjectTable& objects() const { return table_; }

 private:
  struct ClientState {
    std::unordered_map<ObjectId, uint32_t, ObjectIdHash> refs;
    std::unordered_set<ObjectId, ObjectIdHash> creating;
  };

  Status Reserve(uint64_t alloc_size, uint64_t* offset);
  Status Full(uint64_t alloc_size) const;
  uint64_t EvictSecondaries(uint64_t bytes);
  Status SpillPrimaries(uint64_t bytes, uint64_t* spilled);
  void UpdateCandidacy(const ObjectId& id, const ObjectEntry& entry);
  void Remove(const ObjectId& id, ObjectEntry* entry);
  void DropRef(const ObjectId& id, ObjectEntry* entry, uint32_t count);

  StoreOptions options_;
  Segment segment_;
  std::unique_ptr<Allocator> allocator_;
  std::unique_ptr<SpillFiles> spill_;
  std::unique_ptr<EvictionPolicy> evictable_;  // sealed, unread secondary copies
  std::unique_ptr<EvictionPolicy> spillable_;  // sealed, unread primary copies
  ObjectTable table_;
  std::unordered_map<uint64_t, ClientState> clients_;
  uint64_t in_memory_objects_ = 0;
  uint64_t touched_ = 0;
  uint64_t read_bytes_ = 0;
  StoreStats counters_;
};

}  // namespace tray
