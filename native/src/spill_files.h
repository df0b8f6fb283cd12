// SpillFiles: the on-disk home of primary copies pushed out of memory.
//
// A batch of objects is written at once: objects smaller than `fuse_below` share one fused
// file, larger ones get a file each. Objects sit at 4 KiB-aligned file offsets so that freeing
// one punches a hole over whole blocks and gives its disk space back at once; a file is
// removed when its last object is freed. `limit_bytes` (0: none) caps the bytes on disk and
// reports OutOfDisk past it, as a full disk would.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "status.h"

namespace tray {

struct SpillLocation {
  uint64_t file = 0;    // 0: not spilled
  uint64_t offset = 0;  // in the file
  uint64_t size = 0;    // bytes of the object (data + metadata)
};

struct SpillItem {
  const uint8_t* data;
  uint64_t size;
};

class SpillFiles {
 public:
  SpillFiles(std::string dir, uint64_t fuse_below, uint64_t limit_bytes);
  ~SpillFiles();

  // Writes every item; on success `out` holds one location per item, in order. On failure
  // nothing stays on disk.
  Status Write(const std::vector<SpillItem>& items, std::vector<SpillLocation>* out);
  Status Read(const SpillLocation& location, uint8_t* dest) const;
  void Free(const SpillLocation& location);

  uint64_t disk_bytes() const { return disk_bytes_; }
  size_t file_count() const { return files_.size(); }
  const std::string& dir() const { return dir_; }

 private:
  struct File {
    std::string path;
    uint64_t live_objects = 0;
    uint64_t disk_bytes = 0;
  };
  Status WriteFile(const std::vector<const SpillItem*>& items, std::vector<SpillLocation*>& out);

  std::string dir_;
  uint64_t fuse_below_;
  uint64_t limit_bytes_;
  uint64_t next_file_ = 1;
  uint64_t disk_bytes_ = 0;
  bool dir_ready_ = false;
  std::unordered_map<uint64_t, File> files_;
};

}  // namespace tray
