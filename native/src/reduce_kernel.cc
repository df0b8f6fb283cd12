// reduce_kernel.cc: see reduce_kernel.h. Each case is its own loop with the operation known at
// compile time, so the compiler vectorises it; out aliasing an input exactly is safe because
// every iteration reads a[i] and b[i] before writing out[i] (GCC's runtime alias check lets a
// distance of 0 take the vector loop).
#include "reduce_kernel.h"

namespace tray {
namespace {

template <typename T>
struct Sum {
  static T Apply(T a, T b) { return a + b; }
};
template <typename T>
struct Min {
  // b != b: b is NaN. Written as a select so it vectorises (a compare and a blend).
  static T Apply(T a, T b) { return (b < a || b != b) ? b : a; }
};
template <typename T>
struct Max {
  static T Apply(T a, T b) { return (b > a || b != b) ? b : a; }
};

template <typename Op, typename T>
void Loop(T* out, T* out2, const T* a, const T* b, size_t n) {
  if (out2 == nullptr) {
    for (size_t i = 0; i < n; i++) out[i] = Op::Apply(a[i], b[i]);
  } else {
    for (size_t i = 0; i < n; i++) {
      const T v = Op::Apply(a[i], b[i]);
      out[i] = v;
      out2[i] = v;
    }
  }
}

// A sum then a division, rounded after each as the JavaScript fallback does (acc += x; acc /= n).
template <typename T>
void SumDivided(T* out, T* out2, const T* a, const T* b, size_t n, T divisor) {
  if (out2 == nullptr) {
    for (size_t i = 0; i < n; i++) {
      const T s = a[i] + b[i];
      out[i] = s / divisor;
    }
  } else {
    for (size_t i = 0; i < n; i++) {
      const T s = a[i] + b[i];
      const T v = s / divisor;
      out[i] = v;
      out2[i] = v;
    }
  }
}

template <typename T>
void Reduce(ReduceKind kind, T* out, T* out2, const T* a, const T* b, size_t n, T divisor) {
  switch (kind) {
    case ReduceKind::kSum:
      if (divisor != T(1)) return SumDivided(out, out2, a, b, n, divisor);
      return Loop<Sum<T>>(out, out2, a, b, n);
    case ReduceKind::kMin: return Loop<Min<T>>(out, out2, a, b, n);
    case ReduceKind::kMax: return Loop<Max<T>>(out, out2, a, b, n);
  }
}

}  // namespace

void ReduceF32(ReduceKind kind, float* out, float* out2, const float* a, const float* b, size_t n, float divisor) {
  Reduce(kind, out, out2, a, b, n, divisor);
}

void ReduceF64(ReduceKind kind, double* out, double* out2, const double* a, const double* b, size_t n,
               double divisor) {
  Reduce(kind, out, out2, a, b, n, divisor);
}

}  // namespace tray
