#include "object_store.h"

#include <algorithm>
#include <vector>

namespace tray {

namespace {
std::string Bytes(uint64_t n) { return std::to_string(n) + " bytes"; }
}  // namespace

Status ObjectStore::Open(const StoreOptions& options) {
  options_ = options;
  Status status = segment_.Open(options.segment);
  if (!status.ok()) return status;
  allocator_ = std::make_unique<Allocator>(std::min(options.segment.capacity, segment_.size()));
  spill_ = std::make_unique<SpillFiles>(options.spill_dir, options.spill_fuse_below, options.spill_limit);
  evictable_ = MakeEvictionPolicy(options.eviction_policy);
  spillable_ = MakeEvictionPolicy(options.eviction_policy);
  if (!evictable_ || !spillable_) {
    segment_.Close();
    return Status(StatusCode::kIoError, "unknown eviction policy " + options.eviction_policy);
  }
  counters_.capacity = allocator_->capacity();
  counters_.fallback_to_disk = segment_.fallback();
  return Status::Ok();
}

void ObjectStore::Close() {
  spill_.reset();
  segment_.Close();
}

void ObjectStore::UpdateCandidacy(const ObjectId& id, const ObjectEntry& entry) {
  const bool candidate = entry.sealed() && entry.in_memory && entry.ref_count == 0 && !entry.delete_pending;
  EvictionPolicy* own = entry.primary ? spillable_.get() : evictable_.get();
  if (candidate) {
    own->Add(id, entry.alloc_size);
  } else {
    own->Remove(id);
  }
}

void ObjectStore::Remove(const ObjectId& id, ObjectEntry* entry) {
  (entry->primary ? spillable_ : evictable_)->Remove(id);
  if (entry->in_memory) {
    allocator_->Free(entry->offset, entry->alloc_size);
    --in_memory_objects_;
  } else {
    spill_->Free(entry->spill);
  }
  table_.Erase(id);
}

Status ObjectStore::Create(const ObjectId& id, uint64_t data_size, uint64_t metadata_size, bool primary,
                           uint64_t client, uint64_t* offset) {
  if (table_.Find(id) != nullptr) return Status(StatusCode::kObjectExists, "object " + id.Hex() + " already exists");
  const uint64_t total = data_size + metadata_size;
  if (total < data_size || total > allocator_->capacity()) {
    return Status(StatusCode::kObjectStoreFull, "object " + id.Hex() + " of " + Bytes(total) +
                                                    " is larger than the store's capacity of " +
                                                    Bytes(allocator_->capacity()));
  }
  const uint64_t alloc_size = Allocator::RoundUp(total);
  Status status = Reserve(alloc_size, offset);
  if (!status.ok()) return status;
  ObjectEntry* entry = table_.Insert(id);
  entry->offset = *offset;
  entry->data_size = data_size;
  entry->metadata_size = metadata_size;
  entry->alloc_size = alloc_size;
  entry->primary = primary;
  entry->creator = client;
  ++in_memory_objects_;
  clients_[client].creating.insert(id);
  return Status::Ok();
}

bool ObjectStore::CreateWouldTouchFresh(uint64_t bytes) const {
  const uint64_t size = Allocator::RoundUp(bytes);
  const uint64_t offset = allocator_->Peek(size);
  return offset != Allocator::kInvalidOffset && offset + size > touched_;
}

Status ObjectStore::Seal(const ObjectId& id) {
  ObjectEntry* entry = table_.Find(id);
  if (entry == nullptr) return Status(StatusCode::kObjectNotFound, "object " + id.Hex() + " was not created");
  if (entry->sealed()) return Status(StatusCode::kObjectExists, "object " + id.Hex() + " is already sealed");
  entry->state = ObjectState::kSealed;
  auto creator = clients_.find(entry->creator);
  if (creator != clients_.end()) creator->second.creating.erase(id);
  UpdateCandidacy(id, *entry);
  return Status::Ok();
}

Status ObjectStore::Get(const ObjectId& id, uint64_t client, ObjectLocation* location) {
  ObjectEntry* entry = table_.Find(id);
  if (entry == nullptr || entry->delete_pending) {
    return Status(StatusCode::kObjectNotFound, "object " + id.Hex() + " is not in the store");
  }
  if (!entry->sealed()) return Status(StatusCode::kObjectNotSealed, "object " + id.Hex() + " is not sealed yet");
  if (!entry->in_memory) {
    uint64_t offset = 0;
    Status status = Reserve(entry->alloc_size, &offset);
    if (!status.ok()) return status;
    // Reserve may have rehashed nothing (it never inserts), but evictions erase other entries:
    // look ours up again to be safe.
    entry = table_.Find(id);
    status = spill_->Read(entry->spill, segment_.base() + offset);
    if (!status.ok()) {
      allocator_->Free(offset, entry->alloc_size);
      return status;
    }
    spill_->Free(entry->spill);
    entry->spill = SpillLocation{};
    entry->offset = offset;
    entry->in_memory = true;
    ++in_memory_objects_;
    counters_.restored_bytes += entry->size();
    counters_.restored_objects += 1;
  }
  if (entry->ref_count == 0) read_bytes_ += entry->alloc_size;
  entry->ref_count += 1;
  clients_[client].refs[id] += 1;
  UpdateCandidacy(id, *entry);
  location->offset = entry->offset;
  location->data_size = entry->data_size;
  location->metadata_size = entry->metadata_size;
  return Status::Ok();
}

void ObjectStore::DropRef(const ObjectId& id, ObjectEntry* entry, uint32_t count) {
  const uint32_t was = entry->ref_count;
  entry->ref_count -= std::min(entry->ref_count, count);
  if (was > 0 && entry->ref_count == 0) read_bytes_ -= entry->alloc_size;
  if (entry->ref_count == 0 && entry->delete_pending) {
    Remove(id, entry);
    return;
  }
  UpdateCandidacy(id, *entry);
  if (entry->ref_count == 0) (entry->primary ? spillable_ : evictable_)->Touch(id);
}

Status ObjectStore::Release(const ObjectId& id, uint64_t client) {
  auto state = clients_.find(client);
  if (state == clients_.end()) return Status(StatusCode::kObjectNotFound, "object " + id.Hex() + " is not held");
  auto held = state->second.refs.find(id);
  if (held == state->second.refs.end()) {
    return Status(StatusCode::kObjectNotFound, "object " + id.Hex() + " is not held by this client");
  }
  if (--held->second == 0) state->second.refs.erase(held);
  ObjectEntry* entry = table_.Find(id);
  if (entry != nullptr) DropRef(id, entry, 1);
  return Status::Ok();
}

Status ObjectStore::Delete(const ObjectId& id, bool* deferred) {
  *deferred = false;
  ObjectEntry* entry = table_.Find(id);
  if (entry == nullptr || entry->delete_pending) {
    return Status(StatusCode::kObjectNotFound, "object " + id.Hex() + " is not in the store");
  }
  if (!entry->sealed()) {
    return Status(StatusCode::kObjectNotSealed, "object " + id.Hex() + " is not sealed; its creator aborts it");
  }
  if (entry->ref_count > 0) {
    entry->delete_pending = true;
    UpdateCandidacy(id, *entry);
    *deferred = true;
    return Status::Ok();
  }
  Remove(id, entry);
  return Status::Ok();
}

bool ObjectStore::Contains(const ObjectId& id) const {
  const ObjectEntry* entry = table_.Find(id);
  return entry != nullptr && entry->sealed() && !entry->delete_pending;
}

Status ObjectStore::Abort(const ObjectId& id, uint64_t client) {
  ObjectEntry* entry = table_.Find(id);
  if (entry == nullptr) return Status(StatusCode::kObjectNotFound, "object " + id.Hex() + " was not created");
  if (entry->sealed()) {
    return Status(StatusCode::kObjectExists, "object " + id.Hex() + " is sealed; only unsealed objects can be aborted");
  }
  auto creator = clients_.find(entry->creator);
  if (creator != clients_.end()) creator->second.creating.erase(id);
  (void)client;
  Remove(id, entry);
  return Status::Ok();
}

void ObjectStore::Disconnect(uint64_t client) {
  auto found = clients_.find(client);
  if (found == clients_.end()) return;
  ClientState state = std::move(found->second);
  clients_.erase(found);
  for (const auto& held : state.refs) {
    ObjectEntry* entry = table_.Find(held.first);
    if (entry != nullptr) DropRef(held.first, entry, held.second);
  }
  for (const auto& id : state.creating) {
    ObjectEntry* entry = table_.Find(id);
    if (entry != nullptr && !entry->sealed()) Remove(id, entry);
  }
}

Status ObjectStore::Reserve(uint64_t alloc_size, uint64_t* offset) {
  const uint64_t capacity = allocator_->capacity();
  const auto threshold = static_cast<uint64_t>(options_.spill_threshold * static_cast<double>(capacity));
  // Fail before evicting anything when even giving up every candidate could not make room.
  const uint64_t movable = evictable_->bytes() + (options_.spill_enabled ? spillable_->bytes() : 0);
  if (allocator_->allocated() - movable + alloc_size > capacity) return Full(alloc_size);
  Status disk_status;
  if (allocator_->allocated() + alloc_size > threshold) {
    const uint64_t over = allocator_->allocated() + alloc_size - threshold;
    const uint64_t evicted = EvictSecondaries(over);
    if (evicted < over && options_.spill_enabled) {
      uint64_t spilled = 0;
      disk_status = SpillPrimaries(std::max(over - evicted, options_.spill_min_batch), &spilled);
    }
  }
  for (;;) {
    *offset = allocator_->Allocate(alloc_size);
    if (*offset != Allocator::kInvalidOffset) {
      touched_ = std::max(touched_, *offset + alloc_size);
      return Status::Ok();
    }
    if (EvictSecondaries(alloc_size) > 0) continue;
    if (options_.spill_enabled && disk_status.ok()) {
      uint64_t spilled = 0;
      disk_status = SpillPrimaries(std::max(alloc_size, options_.spill_min_batch), &spilled);
      if (disk_status.ok() && spilled > 0) continue;
    }
    if (!disk_status.ok()) return disk_status;
    return Full(alloc_size);
  }
}

Status ObjectStore::Full(uint64_t alloc_size) const {
  const StoreStats stats = Stats();
  return Status(StatusCode::kObjectStoreFull,
                "cannot fit " + Bytes(alloc_size) + ": " + Bytes(stats.used_bytes) + " of " + Bytes(stats.capacity) +
                    " used, " + Bytes(stats.pinned_bytes) + " pinned (read, unsealed" +
                    (options_.spill_enabled ? ")" : ", or primary copies with spilling off)"));
}

uint64_t ObjectStore::EvictSecondaries(uint64_t bytes) {
  uint64_t freed = 0;
  for (const ObjectId& id : evictable_->ChooseVictims(bytes)) {
    ObjectEntry* entry = table_.Find(id);
    freed += entry->alloc_size;
    counters_.evicted_bytes += entry->size();
    counters_.evicted_objects += 1;
    Remove(id, entry);
  }
  return freed;
}

Status ObjectStore::SpillPrimaries(uint64_t bytes, uint64_t* spilled) {
  *spilled = 0;
  std::vector<ObjectId> victims = spillable_->ChooseVictims(bytes);
  if (victims.empty()) return Status::Ok();
  std::vector<SpillItem> items;
  items.reserve(victims.size());
  for (const ObjectId& id : victims) {
    const ObjectEntry* entry = table_.Find(id);
    items.push_back(SpillItem{segment_.base() + entry->offset, entry->size()});
  }
  std::vector<SpillLocation> locations;
  Status status = spill_->Write(items, &locations);
  if (!status.ok()) return status;
  for (size_t i = 0; i < victims.size(); ++i) {
    ObjectEntry* entry = table_.Find(victims[i]);
    spillable_->Remove(victims[i]);
    allocator_->Free(entry->offset, entry->alloc_size);
    --in_memory_objects_;
    entry->in_memory = false;
    entry->spill = locations[i];
    *spilled += entry->alloc_size;
    counters_.spilled_bytes += entry->size();
    counters_.spilled_objects += 1;
  }
  return Status::Ok();
}

StoreStats ObjectStore::Stats() const {
  StoreStats stats = counters_;
  stats.used_bytes = allocator_->allocated();
  const uint64_t movable_bytes = evictable_->bytes() + (options_.spill_enabled ? spillable_->bytes() : 0);
  const uint64_t movable_objects = evictable_->size() + (options_.spill_enabled ? spillable_->size() : 0);
  stats.pinned_bytes = stats.used_bytes - std::min(stats.used_bytes, movable_bytes);
  stats.num_objects = table_.size();
  stats.num_pinned = in_memory_objects_ - std::min<uint64_t>(in_memory_objects_, movable_objects);
  stats.spill_disk_bytes = spill_ ? spill_->disk_bytes() : 0;
  return stats;
}

}  // namespace tray
