// reduce_kernel.h: the elementwise reductions of @tray/train's collectives over raw pointers
// (plain C++, no Node). One pass reads both inputs and writes the result, so a reduction costs
// what a copy costs; the loops are written for the compiler to vectorise (-O3) and give the same
// bits as the JavaScript fallback (packages/train/src/collective/reduce.ts): IEEE float arithmetic
// in the tensor's own type, no fast-math, NaN propagating through min and max.
#pragma once

#include <cstddef>

namespace tray {

enum class ReduceKind : int { kSum = 0, kMin = 1, kMax = 2 };

// out[i] = a[i] op b[i] for i < n (a is the earlier rank's value: min and max keep a on ties and
// take b when b is NaN, as the JavaScript loop does); with divisor != 1 a sum is then divided by
// it (the last step of a mean). When out2 is not null the value is written there too (a rank's
// reduced part into its result and into the shared region in one pass). out may be a or b itself
// (in place); no other overlap is allowed.
void ReduceF32(ReduceKind kind, float* out, float* out2, const float* a, const float* b, size_t n, float divisor);
void ReduceF64(ReduceKind kind, double* out, double* out2, const double* a, const double* b, size_t n,
               double divisor);

}  // namespace tray
