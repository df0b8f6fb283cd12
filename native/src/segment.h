// Segment: the one shared-memory file of a node's store, mapped into the store's process.
//
// The file lives under /dev/shm and is sized to the capacity with ftruncate, so it is sparse:
// tmpfs commits pages as they are first written, not up front. When /dev/shm has less free
// space than the capacity (containers often get 64 MiB), or when asked to, the file goes to a
// disk directory instead and `fallback()` says so; the caller warns the user. Clients open the
// same path and map the ranges they need.
#pragma once

#include <cstdint>
#include <string>

#include "status.h"

namespace tray {

struct SegmentOptions {
  uint64_t capacity = 0;
  std::string shm_dir = "/dev/shm";
  std::string fallback_dir;   // used when shm_dir cannot hold `capacity` or force_fallback
  bool force_fallback = false;
  std::string name = "tray-store";  // file name prefix; pid and a counter make it unique
};

class Segment {
 public:
  Segment() = default;
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  Status Open(const SegmentOptions& options);
  // Unmaps and removes the file. Idempotent.
  void Close();

  uint8_t* base() const { return base_; }
  uint64_t size() const { return size_; }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  bool fallback() const { return fallback_; }
  // Free bytes of the shm directory seen when opening (for the fallback warning).
  uint64_t shm_free_bytes() const { return shm_free_bytes_; }

 private:
  Status OpenIn(const std::string& dir, uint64_t capacity, const std::string& name);

  uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  int fd_ = -1;
  std::string path_;
  bool fallback_ = false;
  uint64_t shm_free_bytes_ = 0;
};

// Creates `dir` and its parents (mode 0700). Returns false with errno set on failure.
bool MakeDirs(const std::string& dir);

// Ok when `dir` is a real directory (not a symlink) owned by this user and writable by nobody
// else; otherwise why not (kIoError). Directories with fixed names under the shared tmp folder
// (the disk fallback, spill directories) are used only after this check: another user could have
// made them to read or replace the store's files.
Status CheckPrivateDir(const std::string& dir);

}  // namespace tray
