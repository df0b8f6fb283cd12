// copy_kernel.h: a copy of a large byte range at memory speed whatever the two addresses (plain
// C++, no Node). glibc's memcpy streams copies above its non-temporal threshold (3/4 of the
// shared cache: 192 MiB on these VMs) forward with non-temporal stores; when the destination is
// a little ahead of the source modulo 4 KiB, (dst - src) % 4096 in 1..~900, each load waits on
// an in-flight store to the same page offset (4 KiB aliasing) and the copy takes 3-4 times as
// long: 800 MB in 210 ms instead of 50 ms here. Where a put lands in the store decides that
// residue, so one put in four or five paid it, and a program alternating two objects paid it
// every other round. CopyBytes streams forward or backward, whichever direction puts the loads
// a page away from the recent stores.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tray {

// From this size on CopyBytes streams with non-temporal stores (the destination does not stay
// in the caches: it is larger than them); below it, it is memcpy.
constexpr size_t kStreamCopyFrom = size_t{32} << 20;

// dst[0, n) = src[0, n). Overlapping ranges are copied as memmove does.
void CopyBytes(uint8_t* dst, const uint8_t* src, size_t n);

// The direction CopyBytes streams in for these addresses: true forward, false backward.
bool CopyForward(const uint8_t* dst, const uint8_t* src);

}  // namespace tray
