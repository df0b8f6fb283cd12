// cross_memory.cc: see cross_memory.h.
#include "cross_memory.h"

#include <cerrno>
#include <cstring>
#include <vector>

#if defined(__linux__)
#include <sys/uio.h>
#endif

namespace tray {
namespace {

// The bytes of one step: small enough that a peer's input chunk and the result chunk stay in L2
// between the read, the reduce and the writes to the peers.
constexpr size_t kChunkBytes = 128 * 1024;

#if defined(__linux__)
// One transfer, repeated over partial ones (the kernel may move fewer bytes than asked).
bool Transfer(bool write, int pid, uint64_t remote, void* local, size_t bytes, int rank, CrossError* error) {
  auto* at = static_cast<uint8_t*>(local);
  while (bytes > 0) {
    struct iovec l = {at, bytes};
    struct iovec r = {reinterpret_cast<void*>(static_cast<uintptr_t>(remote)), bytes};
    const ssize_t n = write ? process_vm_writev(pid, &l, 1, &r, 1, 0) : process_vm_readv(pid, &l, 1, &r, 1, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      error->err = errno;
      error->rank = rank;
      return false;
    }
    if (n == 0) {
      error->err = EFAULT;
      error->rank = rank;
      return false;
    }
    at += n;
    remote += static_cast<uint64_t>(n);
    bytes -= static_cast<size_t>(n);
  }
  return true;
}
#else
bool Transfer(bool, int, uint64_t, void*, size_t bytes, int rank, CrossError* error) {
  if (bytes == 0) return true;
  error->err = ENOSYS;
  error->rank = rank;
  return false;
}
#endif

void Kernel(ReduceKind kind, size_t elem_size, void* out, const void* a, const void* b, size_t n, double divisor) {
  if (elem_size == 4) {
    ReduceF32(kind, static_cast<float*>(out), nullptr, static_cast<const float*>(a), static_cast<const float*>(b), n,
              static_cast<float>(divisor));
  } else {
    ReduceF64(kind, static_cast<double*>(out), nullptr, static_cast<const double*>(a),
              static_cast<const double*>(b), n, divisor);
  }
}

}  // namespace

bool CrossRead(int pid, uint64_t remote, void* local, size_t bytes, int rank, CrossError* error) {
  return Transfer(false, pid, remote, local, bytes, rank, error);
}

bool CrossReduce(ReduceKind kind, double divisor, size_t elem_size, void* out, const void* own, int self,
                 int members, const int* pids, const uint64_t* ins, const uint64_t* outs, size_t n,
                 CrossError* error) {
  if (n == 0) return true;
  const size_t per_chunk = kChunkBytes / elem_size;
  // Two input chunks (the first step may have two remote inputs) and, past 2 members, the
  // running accumulator; thread-local so the allocation is paid once per thread.
  thread_local std::vector<uint8_t> scratch;
  scratch.resize(3 * kChunkBytes);
  uint8_t* in_a = scratch.data();
  uint8_t* in_b = in_a + kChunkBytes;
  uint8_t* acc = in_b + kChunkBytes;
  auto* out_bytes = static_cast<uint8_t*>(out);
  const auto* own_bytes = static_cast<const uint8_t*>(own);
  for (size_t first = 0; first < n; first += per_chunk) {
    const size_t m = first + per_chunk < n ? per_chunk : n - first;
    const size_t offset = first * elem_size;
    const size_t bytes = m * elem_size;
    // Member r's chunk: this member's from its input, a peer's read into `into`.
    auto input = [&](int r, uint8_t* into) -> const void* {
      if (r == self) return own_bytes + offset;
      if (!Transfer(false, pids[r], ins[r] + offset, into, bytes, r, error)) return nullptr;
      return into;
    };
    uint8_t* chunk_out = out_bytes + offset;
    const void* x = input(0, in_a);
    if (x == nullptr) return false;
    const void* y = input(1, in_b);
    if (y == nullptr) return false;
    if (members == 2) {
      // out may be own exactly: the kernel reads both inputs of an element before writing it.
      Kernel(kind, elem_size, chunk_out, x, y, m, divisor);
    } else {
      Kernel(kind, elem_size, acc, x, y, m, 1);
      for (int r = 2; r < members; r++) {
        const void* z = input(r, in_a);
        if (z == nullptr) return false;
        const bool last = r == members - 1;
        // The last step alone writes out, so an in-place out is read (as member self's input)
        // before it is written.
        Kernel(kind, elem_size, last ? static_cast<void*>(chunk_out) : acc, acc, z, m, last ? divisor : 1);
      }
    }
    for (int r = 0; r < members; r++) {
      if (r == self || outs[r] == 0) continue;
      if (!Transfer(true, pids[r], outs[r] + offset, chunk_out, bytes, r, error)) return false;
    }
  }
  return true;
}

}  // namespace tray
