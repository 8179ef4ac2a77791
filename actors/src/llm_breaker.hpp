#pragma once

// Resilience parts of the LLM client: the circuit breaker of one provider,
// full-jitter backoff and Retry-After parsing. Pure (the clock is passed in).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace fp::actors::llm::resilience {

using clock = std::chrono::steady_clock;

/// Closed until `threshold` consecutive calls failed, then open for
/// `cooldown`; then half-open: one trial call passes, its success closes the
/// breaker, its failure opens it again. Not thread-safe (the client locks).
class circuit_breaker {
public:
  circuit_breaker(int threshold, std::chrono::milliseconds cooldown)
    : threshold_(threshold < 1 ? 1 : threshold), cooldown_(cooldown) {
  }

  /// May a call start now? A half-open breaker lets exactly one through.
  bool allow(clock::time_point now);

  void on_success();
  void on_failure(clock::time_point now);
  /// A call that says nothing about the provider's health (cancelled)
  /// ended: a half-open breaker lets the next trial through.
  void release() noexcept {
    trial_in_flight_ = false;
  }

  /// "closed", "open" or "half_open".
  std::string state(clock::time_point now) const;

private:
  enum class phase { closed, open, half_open };

  int threshold_;
  std::chrono::milliseconds cooldown_;
  phase phase_ = phase::closed;
  int failures_ = 0;
  clock::time_point opened_at_{};
  bool trial_in_flight_ = false;
};

/// Full jitter: uniform in [0, min(max, min * 2^(attempt-1))], at least 1 ms.
std::chrono::milliseconds backoff_delay(int attempt,
                                        std::chrono::milliseconds min,
                                        std::chrono::milliseconds max);

/// A Retry-After value (delta seconds, or an HTTP date relative to `now`);
/// nullopt when it is absent or unreadable.
std::optional<std::chrono::milliseconds>
parse_retry_after(std::string_view value,
                  std::chrono::system_clock::time_point now
                  = std::chrono::system_clock::now());

} // namespace fp::actors::llm::resilience
