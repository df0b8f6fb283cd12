// cross_memory.h: the collectives' same-node path between member processes without a staging
// copy (plain C++, no Node). Linux cross-memory attach (process_vm_readv / process_vm_writev)
// moves bytes straight between two processes' private memory, one copy by the kernel, so a member
// reads its peers' tensors and writes their results where they are. Elsewhere, or where the
// kernel refuses (ptrace rules, seccomp), every call fails with errno set and the collectives
// keep to their shared region.
#pragma once

#include <cstddef>
#include <cstdint>

#include "reduce_kernel.h"

namespace tray {

// Where a call failed: the errno and the index (rank) of the member it talked to.
struct CrossError {
  int err = 0;
  int rank = -1;
};

// Reads `bytes` bytes at `remote` in process `pid` into `local`. False with `error` set on failure.
bool CrossRead(int pid, uint64_t remote, void* local, size_t bytes, int rank, CrossError* error);

// Member `self` of `members` reduces its part of every member's tensor, n elements of `elem_size`
// bytes (4: float, 8: double), in rank order (acc = in[0] op in[1], then acc op in[2], ...; a
// mean's last step divides by `divisor`), into `out` (local, which may be `own`, this member's
// input, exactly) and, unless outs[r] is 0, into member r's memory at outs[r]. Member r's input
// is at ins[r] in process pids[r] (own for r == self). Works in chunks that stay in cache: each
// peer's input chunk read once, the result chunk written once locally and once per peer, so per
// element a member reads its part of every input and writes every member's result, nothing more.
bool CrossReduce(ReduceKind kind, double divisor, size_t elem_size, void* out, const void* own, int self,
                 int members, const int* pids, const uint64_t* ins, const uint64_t* outs, size_t n,
                 CrossError* error);

}  // namespace tray
