#include "check.h"

namespace check {
std::vector<Case>& Registry() {
  static std::vector<Case> cases;
  return cases;
}
int failures = 0;
}  // namespace check

int main(int argc, char** argv) {
  const std::string suite = argc > 1 ? argv[1] : "";
  int ran = 0;
  for (const auto& c : check::Registry()) {
    if (!suite.empty() && c.suite != suite) continue;
    const int before = check::failures;
    c.body();
    ++ran;
    std::cout << (check::failures == before ? "ok   " : "FAIL ") << c.suite << "." << c.name << std::endl;
  }
  std::cout << ran << " cases, " << check::failures << " failed checks" << std::endl;
  return (ran == 0 || check::failures > 0) ? 1 : 0;
}
