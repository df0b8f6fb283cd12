// addon.cc: the only bridge between JavaScript and the plain C++ store, and the only file that
// includes napi.h. TypeScript has validated every argument before it gets here (ids are 28-byte
// Uint8Arrays, sizes safe non-negative integers), so this file converts positional primitives
// and maps Status codes to the error classes TypeScript handed over in init(); it makes no
// decisions of its own.
//
// Two halves: NativeStore (the store itself, in the process that hosts it) and the mapping
// functions a client uses to see the store's segment (mapRange/detach/openSegment).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <napi.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "copy_kernel.h"
#include "object_store.h"
#include "cross_memory.h"
#include "reduce_kernel.h"

namespace {

using tray::ObjectId;
using tray::Status;
using tray::StatusCode;

// Per-environment state (main thread or worker thread each get their own).
struct AddonData {
  Napi::FunctionReference store_constructor;
  int64_t live_mappings = 0;  // views mapped by mapRange and not unmapped yet
  uint64_t owed_bytes = 0;    // external memory V8 took off for freed large views (Uncount)
  Napi::ObjectReference error_classes;  // { ObjectExistsError: class, ... }
};

AddonData* Data(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

const char* ErrorClassName(StatusCode code) {
  switch (code) {
    case StatusCode::kObjectExists: return "ObjectExistsError";
    case StatusCode::kObjectNotFound: return "ObjectNotFoundError";
    case StatusCode::kObjectNotSealed: return "ObjectNotSealedError";
    case StatusCode::kObjectInUse: return "ObjectInUseError";
    case StatusCode::kObjectStoreFull: return "ObjectStoreFullError";
    case StatusCode::kOutOfDisk: return "OutOfDiskError";
    default: return "ObjectStoreError";
  }
}

// Throws the TypeScript error class for `status` (a plain Error before init()).
void ThrowStatus(Napi::Env env, const Status& status) {
  AddonData* data = Data(env);
  if (data != nullptr && !data->error_classes.IsEmpty()) {
    Napi::Value cls = data->error_classes.Value().Get(ErrorClassName(status.code()));
    if (cls.IsFunction()) {
      Napi::Object error = cls.As<Napi::Function>().New({Napi::String::New(env, status.message())});
      Napi::Error(env, error).ThrowAsJavaScriptException();
      return;
    }
  }
  Napi::Error::New(env, status.message()).ThrowAsJavaScriptException();
}

ObjectId IdArg(const Napi::Value& value) {
  Napi::Uint8Array bytes = value.As<Napi::Uint8Array>();
  return ObjectId::FromBytes(bytes.Data());
}

uint64_t U64(const Napi::Value& value) { return static_cast<uint64_t>(value.As<Napi::Number>().DoubleValue()); }

class NativeStore : public Napi::ObjectWrap<NativeStore> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeStore",
                       {
                           InstanceMethod<&NativeStore::Create>("create"),
                           InstanceMethod<&NativeStore::Seal>("seal"),
                           InstanceMethod<&NativeStore::Get>("get"),
                           InstanceMethod<&NativeStore::Release>("release"),
                           InstanceMethod<&NativeStore::Delete>("delete"),
                           InstanceMethod<&NativeStore::Contains>("contains"),
                           InstanceMethod<&NativeStore::Abort>("abort"),
                           InstanceMethod<&NativeStore::Disconnect>("disconnect"),
                           InstanceMethod<&NativeStore::Stats>("stats"),
                           InstanceMethod<&NativeStore::Placement>("placement"),
                           InstanceMethod<&NativeStore::List>("list"),
                           InstanceMethod<&NativeStore::Info>("info"),
                           InstanceMethod<&NativeStore::Close>("close"),
                       });
  }

  // new NativeStore(capacity, shmDir, fallbackDir, forceFallback, spillDir, spillEnabled,
  //                 spillThreshold, fuseBelow, spillMinBatch, spillLimit, name)
  explicit NativeStore(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeStore>(info) {
    tray::StoreOptions options;
    options.segment.capacity = U64(info[0]);
    options.segment.shm_dir = info[1].As<Napi::String>().Utf8Value();
    options.segment.fallback_dir = info[2].As<Napi::String>().Utf8Value();
    options.segment.force_fallback = info[3].As<Napi::Boolean>().Value();
    options.spill_dir = info[4].As<Napi::String>().Utf8Value();
    options.spill_enabled = info[5].As<Napi::Boolean>().Value();
    options.spill_threshold = info[6].As<Napi::Number>().DoubleValue();
    options.spill_fuse_below = U64(info[7]);
    options.spill_min_batch = U64(info[8]);
    options.spill_limit = U64(info[9]);
    options.segment.name = info[10].As<Napi::String>().Utf8Value();
    Status status = store_.Open(options);
    if (!status.ok()) ThrowStatus(info.Env(), status);
  }

 private:
  bool Open(const Napi::CallbackInfo& info) {
    if (store_.is_open()) return true;
    Napi::Error::New(info.Env(), "the object store is closed").ThrowAsJavaScriptException();
    return false;
  }

  Napi::Value Create(const Napi::CallbackInfo& info) {
    if (!Open(info)) return info.Env().Undefined();
    uint64_t offset = 0;
    Status status = store_.Create(IdArg(info[0]), U64(info[1]), U64(info[2]), info[3].As<Napi::Boolean>().Value(),
                                  U64(info[4]), &offset);
    if (!status.ok()) {
      ThrowStatus(info.Env(), status);
      return info.Env().Undefined();
    }
    return Napi::Number::New(info.Env(), static_cast<double>(offset));
  }

  Napi::Value Seal(const Napi::CallbackInfo& info) {
    if (!Open(info)) return info.Env().Undefined();
    Status status = store_.Seal(IdArg(info[0]));
    if (!status.ok()) ThrowStatus(info.Env(), status);
    return info.Env().Undefined();
  }

  // get(id, client): [offset, dataSize, metadataSize], or null when not sealed yet, or
  // undefined when absent. Other failures (restoring from disk) throw.
  Napi::Value Get(const Napi::CallbackInfo& info) {
    if (!Open(info)) return info.Env().Undefined();
    Napi::Env env = info.Env();
    tray::ObjectLocation location;
    Status status = store_.Get(IdArg(info[0]), U64(info[1]), &location);
    if (status.code() == StatusCode::kObjectNotFound) return env.Undefined();
    if (status.code() == StatusCode::kObjectNotSealed) return env.Null();
    if (!status.ok()) {
      ThrowStatus(env, status);
      return env.Undefined();
    }
    Napi::Array result = Napi::Array::New(env, 3);
    result.Set(0u, Napi::Number::New(env, static_cast<double>(location.offset)));
    result.Set(1u, Napi::Number::New(env, static_cast<double>(location.data_size)));
    result.Set(2u, Napi::Number::New(env, static_cast<double>(location.metadata_size)));
    return result;
  }

  Napi::Value Release(const Napi::CallbackInfo& info) {
    if (!Open(info)) return info.Env().Undefined();
    Status status = store_.Release(IdArg(info[0]), U64(info[1]));
    return Napi::Boolean::New(info.Env(), status.ok());
  }

  // delete(id): true when deferred until the last reader releases it.
  Napi::Value Delete(const Napi::CallbackInfo& info) {
    if (!Open(info)) return info.Env().Undefined();
    bool deferred = false;
    Status status = store_.Delete(IdArg(info[0]), &deferred);
    if (!status.ok()) ThrowStatus(info.Env(), status);
    return Napi::Boolean::New(info.Env(), deferred);
  }

  Napi::Value Contains(const Napi::CallbackInfo& info) {
    if (!Open(info)) return info.Env().Undefined();
    return Napi::Boolean::New(info.Env(), store_.Contains(IdArg(info[0])));
  }

  Napi::Value Abort(const Napi::CallbackInfo& info) {
    if (!Open(info)) return info.Env().Undefined();
    Status status = store_.Abort(IdArg(info[0]), U64(info[1]));
    if (!status.ok()) ThrowStatus(info.Env(), status);
    return info.Env().Undefined();
  }

  Napi::Value Disconnect(const Napi::CallbackInfo& info) {
    if (!Open(info)) return info.Env().Undefined();
    store_.Disconnect(U64(info[0]));
    return info.Env().Undefined();
  }

  // placement(bytes): [fresh, readBytes]: whether a create of `bytes` now would go to pages the
  // store never used (1) or not (0), and the bytes of objects some client reads (object_store.h),
  // for the server's choice to have its clients collect garbage first.
  Napi::Value Placement(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(info)) return env.Undefined();
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, Napi::Number::New(env, store_.CreateWouldTouchFresh(U64(info[0])) ? 1 : 0));
    out.Set(1u, Napi::Number::New(env, static_cast<double>(store_.read_bytes())));
    return out;
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(info)) return env.Undefined();
    const tray::StoreStats s = store_.Stats();
    Napi::Object out = Napi::Object::New(env);
    auto num = [&](const char* key, uint64_t value) { out.Set(key, Napi::Number::New(env, static_cast<double>(value))); };
    num("capacity", s.capacity);
    num("usedBytes", s.used_bytes);
    num("pinnedBytes", s.pinned_bytes);
    num("numObjects", s.num_objects);
    num("numPinned", s.num_pinned);
    num("spilledBytes", s.spilled_bytes);
    num("spilledObjects", s.spilled_objects);
    num("restoredBytes", s.restored_bytes);
    num("restoredObjects", s.restored_objects);
    num("evictedBytes", s.evicted_bytes);
    num("evictedObjects", s.evicted_objects);
    num("spillDiskBytes", s.spill_disk_bytes);
    out.Set("fallbackToDisk", Napi::Boolean::New(env, s.fallback_to_disk));
    return out;
  }

  // list(limit): up to `limit` objects as { ids: Buffer (28 bytes each), sizes: Float64Array,
  // flags: Uint8Array (1 sealed, 2 primary, 4 spilled, 8 read by a client now) }, and `total`.
  // Flat arrays: a state API call lists thousands without an object per entry.
  Napi::Value List(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(info)) return env.Undefined();
    const auto& entries = store_.objects().entries();
    const size_t limit = std::min(static_cast<size_t>(U64(info[0])), entries.size());
    Napi::Buffer<uint8_t> ids = Napi::Buffer<uint8_t>::New(env, limit * tray::kObjectIdSize);
    Napi::Float64Array sizes = Napi::Float64Array::New(env, limit);
    Napi::Uint8Array flags = Napi::Uint8Array::New(env, limit);
    size_t i = 0;
    for (const auto& [id, entry] : entries) {
      if (i == limit) break;
      std::memcpy(ids.Data() + i * tray::kObjectIdSize, id.bytes, tray::kObjectIdSize);
      sizes[i] = static_cast<double>(entry.size());
      flags[i] = static_cast<uint8_t>((entry.sealed() ? 1 : 0) | (entry.primary ? 2 : 0) |
                                      (entry.in_memory ? 0 : 4) | (entry.ref_count > 0 ? 8 : 0));
      ++i;
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("ids", ids);
    out.Set("sizes", sizes);
    out.Set("flags", flags);
    out.Set("total", Napi::Number::New(env, static_cast<double>(entries.size())));
    return out;
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("segmentPath", store_.segment().path());
    out.Set("capacity", Napi::Number::New(env, static_cast<double>(store_.capacity())));
    out.Set("fallbackToDisk", store_.segment().fallback());
    out.Set("shmFreeBytes", Napi::Number::New(env, static_cast<double>(store_.segment().shm_free_bytes())));
    out.Set("spillDir", store_.spill_files() ? store_.spill_files()->dir() : std::string());
    return out;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    store_.Close();
    return info.Env().Undefined();
  }

  tray::ObjectStore store_;
};

// ---- client side: mapping ranges of a segment file ----

constexpr uint64_t kPopulateFrom = 1 << 20;

// V8 counts an ArrayBuffer's length as external memory, and an allocation that takes that past
// its limit (64 MiB over what was left after the last full collection) runs a full collection
// inside it: every get or create of an object over 64 MiB paid one or two (4-20 ms for 800 MB,
// in proportion to the heap, not the object). A view of the store is not this process's memory:
// its pages are the store's shared file, and dropped views are collected when the store asks
// for room (collect-garbage.ts). So large views are taken off the count: the length is
// subtracted just before the buffer is made (which adds it). When the buffer's memory goes V8
// subtracts it again; giving that back at once would be an increase, which can itself start a
// collection, so it is owed instead and netted against the next subtraction: the count is never
// raised by us, and is low by at most what was freed since the last large view was made.
constexpr uint64_t kUncountedFrom = 1 << 20;

void Uncount(Napi::Env env, uint64_t length) {
  if (length < kUncountedFrom) return;
  AddonData* data = Data(env);
  const uint64_t netted = data->owed_bytes < length ? data->owed_bytes : length;
  data->owed_bytes -= netted;
  int64_t adjusted = 0;
  if (length > netted) napi_adjust_external_memory(env, -static_cast<int64_t>(length - netted), &adjusted);
}

void Recount(Napi::Env env, uint64_t length) {
  if (length >= kUncountedFrom) Data(env)->owed_bytes += length;
}

struct Mapping {
  void* address;
  size_t length;
  size_t view_length;  // the ArrayBuffer's (Uncount/Recount)
};

void FinalizeMapping(Napi::Env env, void* /*data*/, Mapping* mapping) {
  munmap(mapping->address, mapping->length);
  Data(env)->live_mappings -= 1;
  Recount(env, mapping->view_length);
  delete mapping;
}

Napi::Value OpenSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    Napi::Error::New(env, "cannot open store segment " + path + ": " + std::strerror(errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

Napi::Value CloseSegment(const Napi::CallbackInfo& info) {
  close(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// mapRange(fd, offset, length, shared): an ArrayBuffer over [offset, offset+length) of the
// file. shared=true: MAP_SHARED (a creator writing its object). shared=false: MAP_PRIVATE, so a
// write through the view copies the page for this view only and never reaches the store.
Napi::Value MapOwn(Napi::Env env, int fd, uint64_t offset, uint64_t length, bool shared) {
  if (length == 0) return Napi::ArrayBuffer::New(env, 0);
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t start = offset / page * page;
  const uint64_t span = offset + length - start;
  // A creator writes every page of its window: populating it in one call is much cheaper than
  // a page fault per page. Readers map lazily (a get must not cost in proportion to the size).
  int flags = shared ? MAP_SHARED : MAP_PRIVATE;
  if (shared && span >= kPopulateFrom) flags |= MAP_POPULATE;
  void* address = mmap(nullptr, span, PROT_READ | PROT_WRITE, flags, fd, static_cast<off_t>(start));
  if (address == MAP_FAILED) {
    Napi::Error::New(env, std::string("cannot map store segment range: ") + std::strerror(errno))
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* mapping = new Mapping{address, span, length};
  Data(env)->live_mappings += 1;
  Uncount(env, length);
  return Napi::ArrayBuffer::New(env, static_cast<uint8_t*>(address) + (offset - start), length, FinalizeMapping,
                                mapping);
}

Napi::Value MapRange(const Napi::CallbackInfo& info) {
  return MapOwn(info.Env(), info[0].As<Napi::Number>().Int32Value(), U64(info[1]), U64(info[2]),
                  info[3].As<Napi::Boolean>().Value());
}

// The whole segment mapped shared once per client; create() windows are cut from it, so a
// creator's pages stay mapped from one object to the next instead of faulting in anew.
struct SegmentMapping {
  uint8_t* base;
  size_t length;
  // One bit per kPopulatedChunk of the segment: set once a window populated all of that chunk.
  std::vector<uint64_t> populated;
};

void FinalizeSegment(Napi::Env env, SegmentMapping* mapping) {
  munmap(mapping->base, mapping->length);
  delete mapping;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

// A creator writes every page of its window, and the first write to a page of the segment
// (fresh in the store's file, or not yet mapped in this client) costs a page fault: ~200,000
// of them for 800 MB, several times the copy itself. MADV_POPULATE_WRITE allocates and maps
// the whole range in one call instead (on kernels before 5.14 it fails and the writes fault as
// before). On pages this client has mapped already it still walks every page: 31 ms for 800 MB
// against a 55-60 ms memcpy (/dev/shm, this machine), half the put's time again when the store
// reuses memory. So the chunks of the segment a window has populated whole are remembered and
// not populated again: this client's shared mapping keeps them (a page the kernel reclaims
// later only faults back in on the write, as without the call). Chunks a window covers only in
// part are populated each time (at most two per window).
constexpr uint64_t kPopulatedChunk = 2 << 20;

void PopulateForWrite(SegmentMapping& mapping, uint64_t offset, uint64_t length) {
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t end = offset + length;
  if (mapping.populated.empty()) mapping.populated.assign(mapping.length / kPopulatedChunk / 64 + 1, 0);
  auto bit = [&](uint64_t c) -> uint64_t& { return mapping.populated[c / 64]; };
  auto populate = [&](uint64_t from, uint64_t to) {
    const uint64_t start = from / page * page;
    if (madvise(mapping.base + start, to - start, MADV_POPULATE_WRITE) == 0) return;
    // Not populated (an old kernel, or no memory): the chunks marked for it are not either.
    for (uint64_t c = from / kPopulatedChunk; c * kPopulatedChunk < to; c++) bit(c) &= ~(1ull << (c % 64));
  };
  // The chunks [offset, end) touches, in runs of those not known to be populated.
  uint64_t run = UINT64_MAX;  // where the current run starts
  for (uint64_t c = offset / kPopulatedChunk; c * kPopulatedChunk < end; c++) {
    const uint64_t from = std::max(offset, c * kPopulatedChunk);
    const bool whole = from == c * kPopulatedChunk && end >= (c + 1) * kPopulatedChunk;
    if (whole && ((bit(c) >> (c % 64)) & 1) != 0) {
      if (run != UINT64_MAX) populate(run, from);
      run = UINT64_MAX;
      continue;
    }
    if (run == UINT64_MAX) run = from;
    if (whole) bit(c) |= 1ull << (c % 64);
  }
  if (run != UINT64_MAX) populate(run, end);
}

// mapSegment(fd, length): an opaque handle to a MAP_SHARED mapping of the whole file; unmapped
// when the handle is collected.
Napi::Value MapSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  const uint64_t length = U64(info[1]);
  void* address = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (address == MAP_FAILED) {
    Napi::Error::New(env, std::string("cannot map store segment: ") + std::strerror(errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::External<SegmentMapping>::New(env, new SegmentMapping{static_cast<uint8_t*>(address), length, {}},
                                             FinalizeSegment);
}

// window(handle, offset, length): a writable ArrayBuffer over [offset, offset+length) of a
// mapSegment mapping. It owns nothing: detach it when done (the creator does at seal/abort).
Napi::Value Window(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SegmentMapping* mapping = info[0].As<Napi::External<SegmentMapping>>().Data();
  const uint64_t offset = U64(info[1]);
  const uint64_t length = U64(info[2]);
  if (length == 0) return Napi::ArrayBuffer::New(env, 0);
  if (length >= kPopulateFrom) PopulateForWrite(*mapping, offset, length);
  Uncount(env, length);
  // The hint carries the length to give back (Recount) when the window is detached.
  return Napi::ArrayBuffer::New(
      env, mapping->base + offset, length,
      [](Napi::Env env, void*, uint64_t* counted) {
        Recount(env, *counted);
        delete counted;
      },
      new uint64_t(length));
}

// writeSegment(handle, offset, source): the bytes of a Uint8Array into a mapSegment mapping at
// `offset` (populated first, as a window is), with CopyBytes. No ArrayBuffer over the range is
// made: V8 counts each one's length as external memory, and one of 64 MiB or more may start a
// major collection as it is made (several ms for 800 MB) and another when it is detached.
Napi::Value WriteSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SegmentMapping* mapping = info[0].As<Napi::External<SegmentMapping>>().Data();
  const uint64_t offset = U64(info[1]);
  Napi::Uint8Array source = info[2].As<Napi::Uint8Array>();
  const uint64_t length = source.ByteLength();
  if (offset > mapping->length || length > mapping->length - offset) {
    Napi::RangeError::New(env, "writeSegment: the range is outside the segment").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (length == 0) return env.Undefined();
  if (length >= kPopulateFrom) PopulateForWrite(*mapping, offset, length);
  tray::CopyBytes(mapping->base + offset, source.Data(), length);
  return env.Undefined();
}

// ---- client side: reading views cut from one private mapping of the whole segment ----
//
// A get used to mmap the object's pages MAP_PRIVATE per view and munmap them when the view was
// collected: two syscalls, a page fault per page read, and one kernel map entry per view — most
// of a small get's cost. Now each client maps the segment MAP_PRIVATE once and cuts read views
// from it. Pages of that mapping read the store's file (its current contents) until a view is
// written: the kernel then copies that page into this process only (copy on write), and from
// then on the page is this process's snapshot. Such a page is fine for the views that already
// hold it, but wrong for anything later placed on the same bytes (the store reuses memory), and
// a later get must not see an earlier view's writes. So view() asks /proc/self/pagemap whether
// any page of the range is private (present and not file-backed, or swapped) and, when one is,
// maps that view on its own as before (mapRange). Reading pagemap's flags needs no privilege.
// Objects above kCutBelow bytes keep their own mapping too: their pagemap check would cost in
// proportion to their size, and a mapping costs the same whatever the size.
constexpr uint64_t kCutBelow = 1 << 20;
constexpr uint64_t kPagePresent = 1ull << 63;
constexpr uint64_t kPageSwapped = 1ull << 62;
constexpr uint64_t kPageFileOrShared = 1ull << 61;

struct PrivateSegment {
  uint8_t* base;
  size_t length;
  int pagemap;  // /proc/self/pagemap, or -1 when it cannot be read (then every view maps its own)
};

void FinalizePrivateSegment(Napi::Env /*env*/, PrivateSegment* segment) {
  munmap(segment->base, segment->length);
  if (segment->pagemap >= 0) close(segment->pagemap);
  delete segment;
}

// mapPrivateSegment(fd, length): an opaque handle to a MAP_PRIVATE mapping of the whole file,
// which view() cuts read views from; unmapped when the handle is collected.
Napi::Value MapPrivateSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  const uint64_t length = U64(info[1]);
  void* address = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
  if (address == MAP_FAILED) {
    Napi::Error::New(env, std::string("cannot map store segment: ") + std::strerror(errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  return Napi::External<PrivateSegment>::New(
      env, new PrivateSegment{static_cast<uint8_t*>(address), length, pagemap}, FinalizePrivateSegment);
}

// True when every page of [address, address+length) still reads the file: none was copied on
// write into this process. False when one was, or when pagemap cannot tell.
bool PagesReadFile(const PrivateSegment& segment, const uint8_t* address, uint64_t length) {
  if (segment.pagemap < 0) return false;
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t first = reinterpret_cast<uintptr_t>(address) / page;
  const uint64_t last = (reinterpret_cast<uintptr_t>(address) + length - 1) / page;
  uint64_t entries[kCutBelow / 4096 + 2];
  const uint64_t count = last - first + 1;
  if (count > sizeof(entries) / sizeof(entries[0])) return false;
  const ssize_t want = static_cast<ssize_t>(count * sizeof(uint64_t));
  if (pread(segment.pagemap, entries, want, static_cast<off_t>(first * sizeof(uint64_t))) != want) return false;
  for (uint64_t i = 0; i < count; i++) {
    const uint64_t e = entries[i];
    if ((e & kPageSwapped) != 0) return false;
    if ((e & kPagePresent) != 0 && (e & kPageFileOrShared) == 0) return false;
  }
  return true;
}

// cleanRanges(handle, offsets, lengths, out): for ranges [offsets[i], offsets[i]+lengths[i]) of
// the private mapping (Float64Arrays of one length, out a Uint8Array of it too), out[i] = 1 when
// every page of the range still reads the file, else 0 (written in this process, too large to
// cut, or not known). One pread of pagemap covers all of them when they lie within 32 MiB of one
// another (a batch of small gets, as the allocator places them), instead of one pread per view.
// A range found clean stays right to cut from the private mapping after this call even if the
// process writes into one of its pages meanwhile: the copy then holds the object's bytes, which
// the reference the store took for this client keeps unchanged.
Napi::Value CleanRanges(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PrivateSegment* segment = info[0].As<Napi::External<PrivateSegment>>().Data();
  Napi::Float64Array offsets = info[1].As<Napi::Float64Array>();
  Napi::Float64Array lengths = info[2].As<Napi::Float64Array>();
  Napi::Uint8Array out = info[3].As<Napi::Uint8Array>();
  const size_t n = offsets.ElementLength();
  if (lengths.ElementLength() != n || out.ElementLength() != n) {
    Napi::TypeError::New(env, "cleanRanges takes offsets, lengths and out of one length").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  constexpr uint64_t kSpanPages = 8192;
  uint64_t first = UINT64_MAX;
  uint64_t last = 0;
  for (size_t i = 0; i < n; i++) {
    out[i] = 0;
    const uint64_t offset = static_cast<uint64_t>(offsets[i]);
    const uint64_t length = static_cast<uint64_t>(lengths[i]);
    if (length == 0 || length >= kCutBelow || offset + length > segment->length) continue;
    first = std::min(first, offset / page);
    last = std::max(last, (offset + length - 1) / page);
  }
  if (segment->pagemap < 0 || first == UINT64_MAX || last - first + 1 > kSpanPages) return env.Undefined();
  const uint64_t base = reinterpret_cast<uintptr_t>(segment->base) / page;  // the mapping is page aligned
  const uint64_t count = last - first + 1;
  std::vector<uint64_t> entries(count);
  const ssize_t want = static_cast<ssize_t>(count * sizeof(uint64_t));
  if (pread(segment->pagemap, entries.data(), want, static_cast<off_t>((base + first) * sizeof(uint64_t))) != want) {
    return env.Undefined();
  }
  for (size_t i = 0; i < n; i++) {
    const uint64_t offset = static_cast<uint64_t>(offsets[i]);
    const uint64_t length = static_cast<uint64_t>(lengths[i]);
    if (length == 0 || length >= kCutBelow || offset + length > segment->length) continue;
    bool clean = true;
    for (uint64_t p = offset / page; p <= (offset + length - 1) / page && clean; p++) {
      const uint64_t e = entries[p - first];
      if ((e & kPageSwapped) != 0 || ((e & kPagePresent) != 0 && (e & kPageFileOrShared) == 0)) clean = false;
    }
    out[i] = clean ? 1 : 0;
  }
  return env.Undefined();
}

// view(handle, fd, offset, length): a read view of [offset, offset+length) of the segment, cut
// from the private mapping when it is small and no page of it was written in this process, else
// mapped on its own like mapRange(fd, offset, length, false). Writing through it never reaches
// the store nor another process, nor a later view (which then maps its own). Detach it when done.
Napi::Value View(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PrivateSegment* segment = info[0].As<Napi::External<PrivateSegment>>().Data();
  const uint64_t offset = U64(info[2]);
  const uint64_t length = U64(info[3]);
  if (length == 0) return Napi::ArrayBuffer::New(env, 0);
  uint8_t* address = segment->base + offset;
  // clean (optional): cleanRanges found the range clean just now, no need to ask pagemap again.
  const bool clean = info.Length() > 4 && info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
  if (length < kCutBelow && offset + length <= segment->length &&
      (clean || PagesReadFile(*segment, address, length))) {
    // No finalizer: the private mapping outlives every view cut from it, and a finalizer per
    // view is a weak reference V8 must track and call back.
    return Napi::ArrayBuffer::New(env, address, length);
  }
  return MapOwn(info.Env(), info[1].As<Napi::Number>().Int32Value(), offset, length, false);
}

// liveMappings(): views of this environment still mapped (each is one kernel map entry).
Napi::Value LiveMappings(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Data(info.Env())->live_mappings));
}

// detach(arrayBuffer): makes the buffer (and every view on it) empty; its mapping goes away.
Napi::Value Detach(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  if (!buffer.IsDetached()) buffer.Detach();
  return info.Env().Undefined();
}

// address(arrayBuffer): where its bytes are in this process (tests prove zero copy with it).
Napi::Value Address(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(reinterpret_cast<uintptr_t>(buffer.Data())));
}

// reduce(kind, divisor, out, a, b, out2): out = a op b elementwise (reduce_kernel.h: kind 0 sum,
// 1 min, 2 max; a sum divided by divisor when it is not 1; also into out2 unless it is null).
// Every array is a Float32Array, or every one a Float64Array, of one length: checked here too,
// since a wrong length would read or write past an array.
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::TypedArray out = info[2].As<Napi::TypedArray>();
  Napi::TypedArray a = info[3].As<Napi::TypedArray>();
  Napi::TypedArray b = info[4].As<Napi::TypedArray>();
  const bool dual = info[5].IsTypedArray();
  Napi::TypedArray out2 = dual ? info[5].As<Napi::TypedArray>() : out;
  const napi_typedarray_type type = out.TypedArrayType();
  const size_t n = out.ElementLength();
  if ((type != napi_float32_array && type != napi_float64_array) || a.TypedArrayType() != type ||
      b.TypedArrayType() != type || out2.TypedArrayType() != type || a.ElementLength() != n ||
      b.ElementLength() != n || out2.ElementLength() != n) {
    Napi::TypeError::New(env, "reduce takes Float32Arrays or Float64Arrays of one type and length")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const auto kind = static_cast<tray::ReduceKind>(info[0].As<Napi::Number>().Int32Value());
  const double divisor = info[1].As<Napi::Number>().DoubleValue();
  auto at = [](Napi::TypedArray t) { return static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset(); };
  if (type == napi_float32_array) {
    tray::ReduceF32(kind, reinterpret_cast<float*>(at(out)), dual ? reinterpret_cast<float*>(at(out2)) : nullptr,
                    reinterpret_cast<const float*>(at(a)), reinterpret_cast<const float*>(at(b)), n,
                    static_cast<float>(divisor));
  } else {
    tray::ReduceF64(kind, reinterpret_cast<double*>(at(out)), dual ? reinterpret_cast<double*>(at(out2)) : nullptr,
                    reinterpret_cast<const double*>(at(a)), reinterpret_cast<const double*>(at(b)), n, divisor);
  }
  return env.Undefined();
}

// The data pointer, element size and length of a Float32Array/Float64Array (SharedArrayBuffer
// backed too), or false when it is neither.
bool FloatArray(napi_env env, napi_value value, void** data, size_t* elem_size, size_t* length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, data, &buffer, &offset) != napi_ok) return false;
  if (type == napi_float32_array) *elem_size = 4;
  else if (type == napi_float64_array) *elem_size = 8;
  else return false;
  return true;
}

const char* ErrnoName(int err) {
  switch (err) {
    case ESRCH: return "ESRCH";
    case EPERM: return "EPERM";
    case EFAULT: return "EFAULT";
    case ENOSYS: return "ENOSYS";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    default: return "EIO";
  }
}

// A failed cross-memory call as an Error with code (ESRCH: the process is gone; EPERM: the kernel
// refuses; EFAULT: the address is not mapped there), errno and rank (the member it talked to).
void ThrowCross(Napi::Env env, const char* what, const tray::CrossError& e) {
  Napi::Error error = Napi::Error::New(env, std::string(what) + " with rank " + std::to_string(e.rank) +
                                                ": " + std::strerror(e.err) + " (" + ErrnoName(e.err) + ")");
  error.Value().Set("code", ErrnoName(e.err));
  error.Value().Set("errno", e.err);
  error.Value().Set("rank", e.rank);
  error.ThrowAsJavaScriptException();
}

// crossAddress(floatArray): where its first element is in this process, as a number (exact:
// user-space addresses are below 2^53), for a peer's crossRead / crossReduce.
Napi::Value CrossAddress(const Napi::CallbackInfo& info) {
  void* data;
  size_t elem_size, length;
  if (!FloatArray(info.Env(), info[0], &data, &elem_size, &length)) {
    Napi::TypeError::New(info.Env(), "crossAddress takes a Float32Array or Float64Array").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(data)));
}

// crossRead(pid, address, dest, rank): dest's bytes from process pid at address.
Napi::Value CrossRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* data;
  size_t elem_size, length;
  if (!FloatArray(env, info[2], &data, &elem_size, &length)) {
    Napi::TypeError::New(env, "crossRead takes a Float32Array or Float64Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  tray::CrossError e;
  if (!tray::CrossRead(info[0].As<Napi::Number>().Int32Value(),
                       static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue()), data, length * elem_size,
                       info[3].As<Napi::Number>().Int32Value(), &e)) {
    ThrowCross(env, "reading the tensor of the member", e);
  }
  return env.Undefined();
}

// crossReduce(kind, divisor, out, own, self, pids, ins, outs): cross_memory.h's CrossReduce;
// pids an Int32Array and ins/outs Float64Arrays of addresses, one per member (0 in outs: none).
Napi::Value CrossReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* out;
  void* own;
  size_t out_size, own_size, n, own_n;
  const bool arrays = FloatArray(env, info[2], &out, &out_size, &n) && FloatArray(env, info[3], &own, &own_size, &own_n);
  if (!arrays || out_size != own_size || n != own_n || !info[5].IsTypedArray() || !info[6].IsTypedArray() ||
      !info[7].IsTypedArray()) {
    Napi::TypeError::New(env, "crossReduce takes out and own of one float type and length, then pids, ins, outs")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Int32Array pids = info[5].As<Napi::Int32Array>();
  Napi::Float64Array ins = info[6].As<Napi::Float64Array>();
  Napi::Float64Array outs = info[7].As<Napi::Float64Array>();
  const int members = static_cast<int>(pids.ElementLength());
  const int self = info[4].As<Napi::Number>().Int32Value();
  if (members < 2 || ins.ElementLength() != pids.ElementLength() || outs.ElementLength() != pids.ElementLength() ||
      self < 0 || self >= members) {
    Napi::TypeError::New(env, "crossReduce takes one pid, input and output address per member (at least 2)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<uint64_t> in_at(members), out_at(members);
  for (int r = 0; r < members; r++) {
    in_at[r] = static_cast<uint64_t>(ins[r]);
    out_at[r] = static_cast<uint64_t>(outs[r]);
  }
  tray::CrossError e;
  if (!tray::CrossReduce(static_cast<tray::ReduceKind>(info[0].As<Napi::Number>().Int32Value()),
                         info[1].As<Napi::Number>().DoubleValue(), out_size, out, own, self, members, pids.Data(),
                         in_at.data(), out_at.data(), n, &e)) {
    ThrowCross(env, "the cross-memory reduce", e);
  }
  return env.Undefined();
}

// copy(target, targetOffset, source): target[targetOffset, +source.length) = source, for two
// Uint8Arrays (the caller checked that it fits): tray::CopyBytes, which a large copy into the
// store needs whatever the page offsets of the two ranges (copy_kernel.h).
Napi::Value Copy(const Napi::CallbackInfo& info) {
  Napi::Uint8Array target = info[0].As<Napi::Uint8Array>();
  const uint64_t offset = U64(info[1]);
  Napi::Uint8Array source = info[2].As<Napi::Uint8Array>();
  tray::CopyBytes(target.Data() + offset, source.Data(), source.ByteLength());
  return info.Env().Undefined();
}

// init(errorClasses): the TypeScript error classes native errors are thrown as.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Data(info.Env())->error_classes = Napi::Persistent(info[0].As<Napi::Object>());
  return info.Env().Undefined();
}

Napi::Object Module(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData(data);
  Napi::Function store = NativeStore::Define(env);
  data->store_constructor = Napi::Persistent(store);
  exports.Set("NativeStore", store);
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("openSegment", Napi::Function::New(env, OpenSegment));
  exports.Set("closeSegment", Napi::Function::New(env, CloseSegment));
  exports.Set("mapRange", Napi::Function::New(env, MapRange));
  exports.Set("detach", Napi::Function::New(env, Detach));
  exports.Set("liveMappings", Napi::Function::New(env, LiveMappings));
  exports.Set("mapSegment", Napi::Function::New(env, MapSegment));
  exports.Set("window", Napi::Function::New(env, Window));
  exports.Set("writeSegment", Napi::Function::New(env, WriteSegment));
  exports.Set("address", Napi::Function::New(env, Address));
  exports.Set("mapPrivateSegment", Napi::Function::New(env, MapPrivateSegment));
  exports.Set("view", Napi::Function::New(env, View));
  exports.Set("cleanRanges", Napi::Function::New(env, CleanRanges));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("crossAddress", Napi::Function::New(env, CrossAddress));
  exports.Set("crossRead", Napi::Function::New(env, CrossRead));
  exports.Set("crossReduce", Napi::Function::New(env, CrossReduce));
  exports.Set("copy", Napi::Function::New(env, Copy));
  return exports;
}

}  // namespace

NODE_API_MODULE(tray_store, Module)
