#pragma once

// Retry delays: exponential backoff with full jitter. Pure arithmetic; the
// random draw is a parameter so the rule is testable, and a convenience
// overload draws it from a thread-local generator.

#include <chrono>

namespace fp::runtime {

/// Bounds of an exponential backoff.
struct backoff_policy {
  /// The ceiling of the first retry's delay; it doubles with each attempt.
  std::chrono::milliseconds min{1000};
  /// No delay exceeds this.
  std::chrono::milliseconds max{60 * 60 * 1000};
};

/// The largest delay after failed attempt `attempt` (1 = the first run):
/// min(max, min * 2^(attempt-1)), never negative, saturating instead of
/// overflowing for large attempts.
std::chrono::milliseconds backoff_ceiling(const backoff_policy& policy,
                                          int attempt) noexcept;

/// Full jitter: `unit` (a uniform draw in [0, 1]) scales the ceiling, so the
/// delay is uniformly spread over [0, backoff_ceiling(policy, attempt)].
/// Spreading retries over the whole range keeps many failed jobs from
/// retrying in lockstep. `unit` outside [0, 1] is clamped.
std::chrono::milliseconds backoff_delay(const backoff_policy& policy,
                                        int attempt, double unit) noexcept;

/// `backoff_delay` with a draw from a thread-local generator.
std::chrono::milliseconds backoff_delay(const backoff_policy& policy,
                                        int attempt);

} // namespace fp::runtime
