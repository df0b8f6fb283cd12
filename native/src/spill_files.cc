#include "spill_files.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "segment.h"

namespace tray {

namespace {
constexpr uint64_t kBlock = 4096;
uint64_t BlockRound(uint64_t size) { return (size + kBlock - 1) / kBlock * kBlock; }

Status IoStatus(const std::string& what, int err) {
  const bool full = err == ENOSPC || err == EDQUOT;
  return Status(full ? StatusCode::kOutOfDisk : StatusCode::kIoError, what + ": " + std::strerror(err));
}
}  // namespace

SpillFiles::SpillFiles(std::string dir, uint64_t fuse_below, uint64_t limit_bytes)
    : dir_(std::move(dir)), fuse_below_(fuse_below), limit_bytes_(limit_bytes) {}

SpillFiles::~SpillFiles() {
  for (auto& entry : files_) unlink(entry.second.path.c_str());
  if (dir_ready_) rmdir(dir_.c_str());  // only succeeds when empty: never removes others' files
}

Status SpillFiles::Write(const std::vector<SpillItem>& items, std::vector<SpillLocation>* out) {
  out->assign(items.size(), SpillLocation{});
  uint64_t needed = 0;
  for (const auto& item : items) needed += BlockRound(item.size);
  if (limit_bytes_ != 0 && disk_bytes_ + needed > limit_bytes_) {
    return Status(StatusCode::kOutOfDisk, "spilling " + std::to_string(needed) + " bytes would pass the spill limit of " +
                                              std::to_string(limit_bytes_) + " bytes in " + dir_);
  }
  if (!dir_ready_) {
    if (!MakeDirs(dir_)) return IoStatus("cannot create spill directory " + dir_, errno);
    Status owned = CheckPrivateDir(dir_);
    if (!owned.ok()) return owned;
    dir_ready_ = true;
  }
  std::vector<const SpillItem*> fused;
  std::vector<SpillLocation*> fused_out;
  std::vector<uint64_t> written;
  Status status;
  for (size_t i = 0; i < items.size() && status.ok(); ++i) {
    if (items[i].size < fuse_below_) {
      fused.push_back(&items[i]);
      fused_out.push_back(&(*out)[i]);
      continue;
    }
    std::vector<const SpillItem*> one{&items[i]};
    std::vector<SpillLocation*> one_out{&(*out)[i]};
    status = WriteFile(one, one_out);
    if (status.ok()) written.push_back((*out)[i].file);
  }
  if (status.ok() && !fused.empty()) {
    status = WriteFile(fused, fused_out);
    if (status.ok()) written.push_back(fused_out[0]->file);
  }
  if (!status.ok()) {
    for (uint64_t file : written) {
      auto found = files_.find(file);
      unlink(found->second.path.c_str());
      disk_bytes_ -= found->second.disk_bytes;
      files_.erase(found);
    }
    out->assign(items.size(), SpillLocation{});
  }
  return status;
}

Status SpillFiles::WriteFile(const std::vector<const SpillItem*>& items, std::vector<SpillLocation*>& out) {
  const uint64_t id = next_file_++;
  File file;
  file.path = dir_ + "/spill-" + std::to_string(getpid()) + "-" + std::to_string(id);
  int fd = open(file.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return IoStatus("cannot create " + file.path, errno);
  uint64_t offset = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const SpillItem* item = items[i];
    uint64_t done = 0;
    while (done < item->size) {
      ssize_t n = pwrite(fd, item->data + done, item->size - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int err = n < 0 ? errno : ENOSPC;
        close(fd);
        unlink(file.path.c_str());
        return IoStatus("cannot write " + file.path, err);
      }
      done += static_cast<uint64_t>(n);
    }
    *out[i] = SpillLocation{id, offset, item->size};
    offset += BlockRound(item->size);
  }
  close(fd);
  file.live_objects = items.size();
  file.disk_bytes = offset;
  disk_bytes_ += offset;
  files_.emplace(id, std::move(file));
  return Status::Ok();
}

Status SpillFiles::Read(const SpillLocation& location, uint8_t* dest) const {
  auto found = files_.find(location.file);
  if (found == files_.end()) return Status(StatusCode::kIoError, "spill file is gone");
  int fd = open(found->second.path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return IoStatus("cannot open " + found->second.path, errno);
  uint64_t done = 0;
  while (done < location.size) {
    ssize_t n = pread(fd, dest + done, location.size - done, static_cast<off_t>(location.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      close(fd);
      return IoStatus("cannot read " + found->second.path, err);
    }
    done += static_cast<uint64_t>(n);
  }
  close(fd);
  return Status::Ok();
}

void SpillFiles::Free(const SpillLocation& location) {
  auto found = files_.find(location.file);
  if (found == files_.end()) return;
  File& file = found->second;
  const uint64_t bytes = BlockRound(location.size);
  if (--file.live_objects == 0) {
    unlink(file.path.c_str());
    disk_bytes_ -= file.disk_bytes;
    files_.erase(found);
    return;
  }
  // Give the object's blocks back now rather than when the whole fused file goes.
  int fd = open(file.path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(location.offset),
              static_cast<off_t>(bytes));
    close(fd);
  }
  file.disk_bytes -= bytes;
  disk_bytes_ -= bytes;
}

}  // namespace tray
