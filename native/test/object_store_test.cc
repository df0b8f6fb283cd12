#include <dirent.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "object_store.h"

using tray::ObjectId;
using tray::ObjectStore;
using tray::StatusCode;

namespace {

ObjectId Id(uint32_t n) {
  uint8_t bytes[tray::kObjectIdSize] = {};
  std::memcpy(bytes + 24, &n, 4);
  return ObjectId::FromBytes(bytes);
}

std::string TempDir(const char* what) {
  static int counter = 0;
  return "/tmp/tray-store-test-" + std::to_string(getpid()) + "-" + what + "-" + std::to_string(counter++);
}

tray::StoreOptions Options(uint64_t capacity, bool spill) {
  tray::StoreOptions options;
  options.segment.capacity = capacity;
  options.segment.fallback_dir = TempDir("fallback");
  options.spill_dir = TempDir("spill");
  options.spill_enabled = spill;
  options.spill_min_batch = 64 * 1024;
  options.spill_fuse_below = 32 * 1024;
  return options;
}

int CountFiles(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return 0;
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n;
}

// Creates, fills with a pattern derived from `n`, and seals.
void Put(ObjectStore& store, uint32_t n, uint64_t size, bool primary, uint64_t client = 1) {
  uint64_t offset = 0;
  auto status = store.Create(Id(n), size, 0, primary, client, &offset);
  CHECK(status.ok());
  if (!status.ok()) {
    std::cerr << "  create " << n << ": " << status.message() << std::endl;
    return;
  }
  uint8_t* bytes = store.segment().base() + offset;
  for (uint64_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(n * 31 + i);
  CHECK(store.Seal(Id(n)).ok());
}

bool Matches(ObjectStore& store, uint32_t n, uint64_t size, uint64_t client = 1) {
  tray::ObjectLocation location;
  if (!store.Get(Id(n), client, &location).ok()) return false;
  const uint8_t* bytes = store.segment().base() + location.offset;
  bool same = location.data_size == size;
  for (uint64_t i = 0; same && i < size; ++i) same = bytes[i] == static_cast<uint8_t>(n * 31 + i);
  store.Release(Id(n), client);
  return same;
}

}  // namespace

TEST(object_store, lifecycle_and_errors) {
  ObjectStore store;
  CHECK(store.Open(Options(1 << 20, true)).ok());
  tray::ObjectLocation location;
  uint64_t offset = 0;
  CHECK(store.Get(Id(1), 1, &location).code() == StatusCode::kObjectNotFound);
  CHECK(store.Create(Id(1), 100, 10, true, 1, &offset).ok());
  CHECK(store.Create(Id(1), 100, 10, true, 1, &offset).code() == StatusCode::kObjectExists);
  CHECK(store.Get(Id(1), 2, &location).code() == StatusCode::kObjectNotSealed);
  CHECK(!store.Contains(Id(1)));
  CHECK(store.Seal(Id(1)).ok());
  CHECK(store.Seal(Id(1)).code() == StatusCode::kObjectExists);
  CHECK(store.Abort(Id(1), 1).code() == StatusCode::kObjectExists);
  CHECK(store.Contains(Id(1)));
  CHECK(store.Get(Id(1), 2, &location).ok());
  CHECK_EQ(location.data_size, 100u);
  CHECK_EQ(location.metadata_size, 10u);
  CHECK_EQ(location.offset % 64, 0u);
  bool deferred = false;
  CHECK(store.Delete(Id(1), &deferred).ok());
  CHECK(deferred);
  CHECK(!store.Contains(Id(1)));
  CHECK(store.Get(Id(1), 3, &location).code() == StatusCode::kObjectNotFound);
  CHECK_EQ(store.Stats().num_objects, 1u);
  CHECK(store.Release(Id(1), 2).ok());
  CHECK_EQ(store.Stats().num_objects, 0u);
  CHECK_EQ(store.Stats().used_bytes, 0u);
  CHECK(store.Release(Id(1), 2).code() == StatusCode::kObjectNotFound);
  CHECK(store.Seal(Id(9)).code() == StatusCode::kObjectNotFound);
  CHECK(store.Create(Id(2), (2 << 20), 0, true, 1, &offset).code() == StatusCode::kObjectStoreFull);
  CHECK(store.Create(Id(2), ~0ull, 10, true, 1, &offset).code() == StatusCode::kObjectStoreFull);
  CHECK(store.Create(Id(3), 10, 0, true, 1, &offset).ok());
  CHECK(store.Delete(Id(3), &deferred).code() == StatusCode::kObjectNotSealed);
  CHECK(store.Abort(Id(3), 1).ok());
  CHECK_EQ(store.Stats().used_bytes, 0u);
}

TEST(object_store, disconnect_releases_and_aborts) {
  ObjectStore store;
  CHECK(store.Open(Options(1 << 20, true)).ok());
  Put(store, 1, 1000, false);
  tray::ObjectLocation location;
  CHECK(store.Get(Id(1), 7, &location).ok());
  CHECK(store.Get(Id(1), 7, &location).ok());
  uint64_t offset = 0;
  CHECK(store.Create(Id(2), 5000, 0, true, 7, &offset).ok());
  CHECK_EQ(store.Stats().num_pinned, 2u);
  store.Disconnect(7);
  CHECK(!store.Contains(Id(2)));
  CHECK_EQ(store.Stats().num_objects, 1u);
  CHECK_EQ(store.Stats().num_pinned, 0u);
  // Unread now: a secondary copy is evictable.
  CHECK(store.Create(Id(3), (1 << 20) - 64, 0, true, 1, &offset).ok());
  CHECK(!store.Contains(Id(1)));
  CHECK_EQ(store.Stats().evicted_objects, 1u);
}

TEST(eviction, store_evicts_lru_secondaries_never_read_or_primary) {
  ObjectStore store;
  auto options = Options(1 << 20, false);
  CHECK(store.Open(options).ok());
  const uint64_t quarter = (1 << 18) - 64;
  Put(store, 1, quarter, false);
  Put(store, 2, quarter, false);
  Put(store, 3, quarter, true);
  tray::ObjectLocation location;
  CHECK(store.Get(Id(1), 5, &location).ok());  // read: pinned
  Put(store, 4, quarter, false);               // above the threshold: evicts 2
  CHECK(store.Contains(Id(1)));
  CHECK(!store.Contains(Id(2)));
  CHECK(store.Contains(Id(3)));
  CHECK(store.Contains(Id(4)));
  // Everything left is pinned (read, primary with spilling off), except 4.
  Put(store, 5, quarter, false);
  CHECK(!store.Contains(Id(4)));
  uint64_t offset = 0;
  CHECK(store.Create(Id(6), 3 * quarter, 0, false, 1, &offset).code() == StatusCode::kObjectStoreFull);
  CHECK(store.Contains(Id(5)));  // a create that cannot fit evicts nothing
  CHECK(store.Contains(Id(1)));
  CHECK(store.Contains(Id(3)));
  CHECK(Matches(store, 1, quarter));
  CHECK(Matches(store, 3, quarter));
  CHECK_EQ(store.Stats().evicted_objects, 2u);
}

TEST(object_store, fallback_to_disk_when_forced) {
  ObjectStore store;
  auto options = Options(1 << 20, true);
  options.segment.force_fallback = true;
  CHECK(store.Open(options).ok());
  CHECK(store.segment().fallback());
  CHECK(store.segment().path().rfind(options.segment.fallback_dir, 0) == 0);
  CHECK(store.Stats().fallback_to_disk);
  Put(store, 1, 5000, true);
  CHECK(Matches(store, 1, 5000));
  const std::string path = store.segment().path();
  store.Close();
  CHECK(access(path.c_str(), F_OK) != 0);
}

TEST(spilling, ten_times_capacity_round_trips) {
  ObjectStore store;
  auto options = Options(1 << 20, true);
  CHECK(store.Open(options).ok());
  const uint32_t count = 400;
  auto size = [](uint32_t n) -> uint64_t { return n % 10 == 0 ? 300000 : 10000; };
  for (uint32_t n = 0; n < count; ++n) Put(store, n, size(n), true);  // 10x the capacity
  auto stats = store.Stats();
  CHECK(stats.spilled_objects > 0);
  CHECK(stats.used_bytes <= (1 << 20));
  // Small objects share files: far fewer files than spilled objects.
  CHECK(CountFiles(options.spill_dir) < static_cast<int>(stats.spilled_objects));
  for (uint32_t n = 0; n < count; n += 7) CHECK(Matches(store, n, size(n)));
  stats = store.Stats();
  CHECK(stats.restored_objects > 0);
  for (uint32_t n = 0; n < count; ++n) {
    bool deferred = true;
    CHECK(store.Delete(Id(n), &deferred).ok());
    CHECK(!deferred);
  }
  stats = store.Stats();
  CHECK_EQ(stats.spill_disk_bytes, 0u);
  CHECK_EQ(stats.used_bytes, 0u);
  CHECK_EQ(CountFiles(options.spill_dir), 0);
}

TEST(spilling, deleting_fused_objects_gives_disk_space_back) {
  ObjectStore store;
  auto options = Options(1 << 20, true);
  CHECK(store.Open(options).ok());
  for (uint32_t n = 0; n < 100; ++n) Put(store, n, 20000, true);
  const uint64_t before = store.Stats().spill_disk_bytes;
  CHECK(before > 0);
  bool deferred = false;
  uint32_t deleted = 0;
  for (uint32_t n = 0; n < 100 && deleted < 5; ++n) {
    tray::ObjectLocation location;
    // Delete the first few objects; they are the oldest and so were spilled.
    if (store.Delete(Id(n), &deferred).ok()) ++deleted;
    (void)location;
  }
  CHECK(store.Stats().spill_disk_bytes < before);
}

TEST(spilling, spill_limit_reports_out_of_disk) {
  ObjectStore store;
  auto options = Options(1 << 20, true);
  options.spill_limit = 256 * 1024;
  CHECK(store.Open(options).ok());
  uint64_t offset = 0;
  tray::Status last;
  for (uint32_t n = 0; n < 40 && last.ok(); ++n) {
    last = store.Create(Id(n), 100000, 0, true, 1, &offset);
    if (last.ok()) store.Seal(Id(n));
  }
  CHECK(last.code() == StatusCode::kOutOfDisk);
  CHECK(Matches(store, 0, 0) || true);  // the store still serves
  CHECK(store.Stats().spill_disk_bytes <= options.spill_limit);
}

TEST(spilling, read_objects_are_not_spilled) {
  ObjectStore store;
  CHECK(store.Open(Options(1 << 20, true)).ok());
  Put(store, 1, 300000, true);
  tray::ObjectLocation held;
  CHECK(store.Get(Id(1), 9, &held).ok());
  for (uint32_t n = 2; n < 30; ++n) Put(store, n, 100000, true);
  tray::ObjectLocation again;
  CHECK(store.Get(Id(1), 9, &again).ok());
  CHECK_EQ(again.offset, held.offset);
  CHECK_EQ(store.Stats().restored_objects, 0u);
  for (uint32_t n = 2; n < 30; ++n) CHECK(Matches(store, n, 100000));
}

TEST(object_store, counts_touched_and_read_memory) {
  ObjectStore store;
  CHECK(store.Open(Options(1 << 20, false)).ok());
  const uint64_t unit = tray::Allocator::RoundUp(1000);
  CHECK_EQ(store.touched_bytes(), 0u);
  Put(store, 1, 1000, true);
  Put(store, 2, 1000, true);
  const uint64_t touched = store.touched_bytes();
  CHECK_EQ(touched, 2 * unit);
  CHECK_EQ(store.read_bytes(), 0u);
  tray::ObjectLocation where;
  CHECK(store.Get(Id(1), 7, &where).ok());  // client 7 reads 1, twice: counted once
  CHECK(store.Get(Id(1), 7, &where).ok());
  CHECK(store.Get(Id(2), 7, &where).ok());
  CHECK_EQ(store.read_bytes(), 2 * unit);
  CHECK(store.Release(Id(2), 7).ok());
  CHECK_EQ(store.read_bytes(), unit);
  bool deferred = false;
  CHECK(store.Delete(Id(1), &deferred).ok());  // waits for its reader: still read
  CHECK(deferred);
  CHECK_EQ(store.read_bytes(), unit);
  CHECK(store.Delete(Id(2), &deferred).ok());  // unread: gone at once
  CHECK(!deferred);
  CHECK(store.Release(Id(1), 7).ok());
  CHECK_EQ(store.read_bytes(), unit);  // one of its two references still held
  CHECK(store.Release(Id(1), 7).ok());  // the last one: removed now
  CHECK_EQ(store.read_bytes(), 0u);
  CHECK(!store.CreateWouldTouchFresh(1000));  // 1 and 2's memory is free again
  CHECK(store.CreateWouldTouchFresh(3 * 1000));
  CHECK(!store.CreateWouldTouchFresh(2 << 20));  // does not fit
  Put(store, 3, 1000, true);  // reuses freed memory: nothing new touched
  CHECK_EQ(store.touched_bytes(), touched);
  CHECK(store.Get(Id(3), 8, &where).ok());
  CHECK(store.Get(Id(3), 9, &where).ok());
  CHECK(store.Delete(Id(3), &deferred).ok());
  store.Disconnect(8);  // readers that go away give their references back
  CHECK_EQ(store.read_bytes(), unit);
  store.Disconnect(9);
  CHECK_EQ(store.read_bytes(), 0u);
}
