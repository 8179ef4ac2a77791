#include "fp/runtime/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace fp::runtime {

std::chrono::milliseconds backoff_ceiling(const backoff_policy& policy,
                                          int attempt) noexcept {
  auto lo = std::max<int64_t>(0, policy.min.count());
  auto hi = std::max<int64_t>(lo, policy.max.count());
  if (lo == 0)
    return std::chrono::milliseconds{0};
  auto ceiling = lo;
  // Doubling stops at the cap, so neither the shift nor the product can
  // overflow however large `attempt` is.
  for (int i = 1; i < attempt && ceiling < hi; ++i)
    ceiling = ceiling > hi / 2 ? hi : ceiling * 2;
  return std::chrono::milliseconds{std::min(ceiling, hi)};
}

std::chrono::milliseconds backoff_delay(const backoff_policy& policy,
                                        int attempt, double unit) noexcept {
  if (!(unit >= 0.0)) // also catches NaN
    unit = 0.0;
  unit = std::min(unit, 1.0);
  auto ceiling = static_cast<double>(backoff_ceiling(policy, attempt).count());
  return std::chrono::milliseconds{static_cast<int64_t>(std::llround(unit * ceiling))};
}

std::chrono::milliseconds backoff_delay(const backoff_policy& policy,
                                        int attempt) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> dist{0.0, 1.0};
  return backoff_delay(policy, attempt, dist(rng));
}

} // namespace fp::runtime
