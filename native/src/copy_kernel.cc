#include "copy_kernel.h"

#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace tray {

bool CopyForward(const uint8_t* dst, const uint8_t* src) {
  // Forward, a load at src + i meets the stores made (dst - src) % 4096 bytes earlier at its page
  // offset; backward, those made 4096 minus that earlier. The farther, the longer since drained.
  const uintptr_t residue = (reinterpret_cast<uintptr_t>(dst) - reinterpret_cast<uintptr_t>(src)) & 4095;
  return residue == 0 || residue >= 2048;
}

#if defined(__x86_64__)
namespace {

// 128 bytes a step, destination 32-byte aligned, loads unaligned. The ends go through memcpy.
__attribute__((target("avx2"))) void StreamAvx2(uint8_t* dst, const uint8_t* src, size_t n, bool forward) {
  if (forward) {
    const size_t head = (32 - (reinterpret_cast<uintptr_t>(dst) & 31)) & 31;
    std::memcpy(dst, src, head);
    dst += head, src += head, n -= head;
    for (; n >= 128; dst += 128, src += 128, n -= 128) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
      const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 32));
      const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 64));
      const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 96));
      _mm256_stream_si256(reinterpret_cast<__m256i*>(dst), a);
      _mm256_stream_si256(reinterpret_cast<__m256i*>(dst + 32), b);
      _mm256_stream_si256(reinterpret_cast<__m256i*>(dst + 64), c);
      _mm256_stream_si256(reinterpret_cast<__m256i*>(dst + 96), d);
    }
    std::memcpy(dst, src, n);
  } else {
    uint8_t* d_end = dst + n;
    const uint8_t* s_end = src + n;
    const size_t tail = reinterpret_cast<uintptr_t>(d_end) & 31;
    d_end -= tail, s_end -= tail;
    std::memcpy(d_end, s_end, tail);
    size_t left = n - tail;
    for (; left >= 128; left -= 128) {
      d_end -= 128, s_end -= 128;
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s_end + 96));
      const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s_end + 64));
      const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s_end + 32));
      const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s_end));
      _mm256_stream_si256(reinterpret_cast<__m256i*>(d_end + 96), a);
      _mm256_stream_si256(reinterpret_cast<__m256i*>(d_end + 64), b);
      _mm256_stream_si256(reinterpret_cast<__m256i*>(d_end + 32), c);
      _mm256_stream_si256(reinterpret_cast<__m256i*>(d_end), d);
    }
    std::memcpy(dst, src, left);
  }
  _mm_sfence();  // the streamed stores are visible before whatever the caller does next (a seal)
}

// The same with 16-byte SSE2 registers, which every x86-64 has.
void StreamSse2(uint8_t* dst, const uint8_t* src, size_t n, bool forward) {
  if (forward) {
    const size_t head = (16 - (reinterpret_cast<uintptr_t>(dst) & 15)) & 15;
    std::memcpy(dst, src, head);
    dst += head, src += head, n -= head;
    for (; n >= 64; dst += 64, src += 64, n -= 64) {
      const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16));
      const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 32));
      const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 48));
      _mm_stream_si128(reinterpret_cast<__m128i*>(dst), a);
      _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 16), b);
      _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 32), c);
      _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 48), d);
    }
    std::memcpy(dst, src, n);
  } else {
    uint8_t* d_end = dst + n;
    const uint8_t* s_end = src + n;
    const size_t tail = reinterpret_cast<uintptr_t>(d_end) & 15;
    d_end -= tail, s_end -= tail;
    std::memcpy(d_end, s_end, tail);
    size_t left = n - tail;
    for (; left >= 64; left -= 64) {
      d_end -= 64, s_end -= 64;
      const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s_end + 48));
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s_end + 32));
      const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s_end + 16));
      const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s_end));
      _mm_stream_si128(reinterpret_cast<__m128i*>(d_end + 48), a);
      _mm_stream_si128(reinterpret_cast<__m128i*>(d_end + 32), b);
      _mm_stream_si128(reinterpret_cast<__m128i*>(d_end + 16), c);
      _mm_stream_si128(reinterpret_cast<__m128i*>(d_end), d);
    }
    std::memcpy(dst, src, left);
  }
  _mm_sfence();
}

bool HasAvx2() {
  static const bool has = [] {
    __builtin_cpu_init();  // may run before libgcc's own constructor did
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return has;
}

}  // namespace
#endif

void CopyBytes(uint8_t* dst, const uint8_t* src, size_t n) {
  const uintptr_t d = reinterpret_cast<uintptr_t>(dst);
  const uintptr_t s = reinterpret_cast<uintptr_t>(src);
  const bool overlap = d < s + n && s < d + n;
#if defined(__x86_64__)
  if (n >= kStreamCopyFrom && !overlap) {
    const bool forward = CopyForward(dst, src);
    if (HasAvx2()) {
      StreamAvx2(dst, src, n, forward);
    } else {
      StreamSse2(dst, src, n, forward);
    }
    return;
  }
#endif
  if (overlap) {
    std::memmove(dst, src, n);
  } else if (n != 0) {
    std::memcpy(dst, src, n);
  }
}

}  // namespace tray
