#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace tray {

namespace {
std::atomic<uint64_t> segment_counter{0};

std::string ErrnoText(const std::string& what, int err) { return what + ": " + std::strerror(err); }
}  // namespace

bool MakeDirs(const std::string& dir) {
  if (dir.empty()) return true;
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) return false;
  }
  return true;
}

Status CheckPrivateDir(const std::string& dir) {
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) return Status(StatusCode::kIoError, ErrnoText("cannot stat " + dir, errno));
  std::string why;
  if (S_ISLNK(st.st_mode)) {
    why = "it is a symbolic link";
  } else if (!S_ISDIR(st.st_mode)) {
    why = "it is not a directory";
  } else if (st.st_uid != geteuid()) {
    why = "it belongs to uid " + std::to_string(st.st_uid) + ", not to this user (uid " + std::to_string(geteuid()) + ")";
  } else if ((st.st_mode & 022) != 0) {
    why = "it is writable by other users";
  }
  if (why.empty()) return Status::Ok();
  return Status(StatusCode::kIoError, "refusing to use " + dir + ": " + why +
                                          "; remove it (or choose another directory) and try again");
}

Segment::~Segment() { Close(); }

Status Segment::Open(const SegmentOptions& options) {
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t capacity = (options.capacity + page - 1) / page * page;
  struct statvfs vfs;
  if (statvfs(options.shm_dir.c_str(), &vfs) == 0) {
    shm_free_bytes_ = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  }
  const bool shm_fits = shm_free_bytes_ >= capacity;
  if (!options.force_fallback && shm_fits) {
    Status status = OpenIn(options.shm_dir, capacity, options.name);
    if (status.ok()) return status;
    if (options.fallback_dir.empty()) return status;
  }
  if (options.fallback_dir.empty()) {
    return Status(StatusCode::kObjectStoreFull,
                  options.shm_dir + " has " + std::to_string(shm_free_bytes_) + " bytes free, fewer than the " +
                      std::to_string(capacity) + " asked for, and no fallback directory is set");
  }
  if (!MakeDirs(options.fallback_dir)) {
    return Status(StatusCode::kIoError, ErrnoText("cannot create " + options.fallback_dir, errno));
  }
  Status owned = CheckPrivateDir(options.fallback_dir);
  if (!owned.ok()) return owned;
  Status status = OpenIn(options.fallback_dir, capacity, options.name);
  if (status.ok()) fallback_ = true;
  return status;
}

Status Segment::OpenIn(const std::string& dir, uint64_t capacity, const std::string& name) {
  std::string path = dir + "/" + name + "-" + std::to_string(getpid()) + "-" +
                     std::to_string(segment_counter.fetch_add(1));
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status(StatusCode::kIoError, ErrnoText("cannot create " + path, errno));
  if (ftruncate(fd, static_cast<off_t>(capacity)) != 0) {
    int err = errno;
    close(fd);
    unlink(path.c_str());
    return Status(StatusCode::kIoError, ErrnoText("cannot size " + path, err));
  }
  void* base = mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    int err = errno;
    close(fd);
    unlink(path.c_str());
    return Status(StatusCode::kIoError, ErrnoText("cannot map " + path, err));
  }
  base_ = static_cast<uint8_t*>(base);
  size_ = capacity;
  fd_ = fd;
  path_ = path;
  return Status::Ok();
}

void Segment::Close() {
  if (base_ != nullptr) munmap(base_, size_);
  if (fd_ >= 0) close(fd_);
  if (!path_.empty()) {
    unlink(path_.c_str());
    // A fallback directory we may have created: removed only when empty.
    if (fallback_) rmdir(path_.substr(0, path_.rfind('/')).c_str());
  }
  base_ = nullptr;
  fd_ = -1;
  path_.clear();
}

}  // namespace tray
