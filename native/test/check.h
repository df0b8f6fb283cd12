// A minimal test harness (no downloads): TEST(suite, name) registers a case, CHECK* record
// failures, and `store_tests <suite>` runs one suite and exits non-zero if any check failed.
#pragma once

#include <functional>
#include <iostream>
#include <string>
#include <vector>

namespace check {

struct Case {
  std::string suite;
  std::string name;
  std::function<void()> body;
};

std::vector<Case>& Registry();
extern int failures;

struct Register {
  Register(const char* suite, const char* name, std::function<void()> body) {
    Registry().push_back({suite, name, std::move(body)});
  }
};

}  // namespace check

#define CHECK_CONCAT2(a, b) a##b
#define CHECK_CONCAT(a, b) CHECK_CONCAT2(a, b)
#define TEST(suite, name)                                                                  \
  static void suite##_##name();                                                            \
  static check::Register CHECK_CONCAT(register_, __LINE__)(#suite, #name, suite##_##name); \
  static void suite##_##name()

#define CHECK(cond)                                                                         \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      ++check::failures;                                                                    \
      std::cerr << __FILE__ << ":" << __LINE__ << ": CHECK failed: " #cond << std::endl; \
    }                                                                                       \
  } while (0)

#define CHECK_EQ(a, b)                                                                           \
  do {                                                                                           \
    auto check_a = (a);                                                                          \
    auto check_b = (b);                                                                          \
    if (!(check_a == check_b)) {                                                                 \
      ++check::failures;                                                                         \
      std::cerr << __FILE__ << ":" << __LINE__ << ": CHECK_EQ failed: " #a " == " #b " (" << check_a \
                << " vs " << check_b << ")" << std::endl;                                        \
    }                                                                                            \
  } while (0)
