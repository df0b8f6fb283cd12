#include <cstdint>
#include <cstring>
#include <vector>

#include "check.h"
#include "copy_kernel.h"

using tray::CopyBytes;
using tray::CopyForward;
using tray::kStreamCopyFrom;

namespace {

// A pattern no shifted copy of itself matches: a wrong offset or a missed end shows.
void Fill(std::vector<uint8_t>& v) {
  uint32_t x = 2463534242u;
  for (auto& b : v) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
}

}  // namespace

TEST(copy, streams_either_direction_by_the_page_residue) {
  alignas(4096) static uint8_t page[2 * 4096];
  CHECK(CopyForward(page + 4096, page));      // same page offset
  CHECK(!CopyForward(page + 88, page));       // a little ahead: loads would meet recent stores
  CHECK(!CopyForward(page + 2047, page));
  CHECK(CopyForward(page + 2048, page));
  CHECK(CopyForward(page, page + 88));        // a little behind
}

TEST(copy, large_copies_are_exact_at_every_residue_and_alignment) {
  const size_t n = kStreamCopyFrom + 4096 + 77;  // streamed, with ragged ends
  std::vector<uint8_t> src(n + 64);
  Fill(src);
  std::vector<uint8_t> dst(n + 8192);
  for (size_t src_shift : {0, 1, 31}) {
    for (size_t dst_shift : {0, 5, 88, 2100, 4095}) {
      std::memset(dst.data(), 0xEE, dst.size());
      CopyBytes(dst.data() + dst_shift, src.data() + src_shift, n);
      CHECK(std::memcmp(dst.data() + dst_shift, src.data() + src_shift, n) == 0);
      // Nothing outside the range is written.
      CHECK(dst_shift == 0 || dst[dst_shift - 1] == 0xEE);
      CHECK(dst[dst_shift + n] == 0xEE);
    }
  }
}

TEST(copy, small_and_empty_copies) {
  std::vector<uint8_t> src(1000), dst(1000, 0);
  Fill(src);
  CopyBytes(dst.data(), src.data(), 0);
  CHECK(dst[0] == 0);
  CopyBytes(dst.data() + 3, src.data(), 997);
  CHECK(std::memcmp(dst.data() + 3, src.data(), 997) == 0);
}

TEST(copy, overlapping_ranges_copy_as_memmove) {
  const size_t n = kStreamCopyFrom + 1000;
  std::vector<uint8_t> buf(n + 4096), want(n);
  Fill(buf);
  std::memcpy(want.data(), buf.data(), n);
  CopyBytes(buf.data() + 100, buf.data(), n);  // destination ahead, overlapping
  CHECK(std::memcmp(buf.data() + 100, want.data(), n) == 0);
  Fill(buf);
  std::memcpy(want.data(), buf.data() + 100, n);
  CopyBytes(buf.data(), buf.data() + 100, n);  // destination behind, overlapping
  CHECK(std::memcmp(buf.data(), want.data(), n) == 0);
}
