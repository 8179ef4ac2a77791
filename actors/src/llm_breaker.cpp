#include "llm_breaker.hpp"

#include <cctype>
#include <ctime>
#include <random>

namespace fp::actors::llm::resilience {

// -- circuit_breaker ---------------------------------------------------------------------

bool circuit_breaker::allow(clock::time_point now) {
  switch (phase_) {
    case phase::closed:
      return true;
    case phase::open:
      if (now - opened_at_ < cooldown_)
        return false;
      phase_ = phase::half_open;
      trial_in_flight_ = true;
      return true;
    case phase::half_open:
      if (trial_in_flight_)
        return false;
      trial_in_flight_ = true;
      return true;
  }
  return true;
}

void circuit_breaker::on_success() {
  phase_ = phase::closed;
  failures_ = 0;
  trial_in_flight_ = false;
}

void circuit_breaker::on_failure(clock::time_point now) {
  trial_in_flight_ = false;
  if (phase_ == phase::half_open || ++failures_ >= threshold_) {
    phase_ = phase::open;
    opened_at_ = now;
    failures_ = 0;
  }
}

std::string circuit_breaker::state(clock::time_point now) const {
  switch (phase_) {
    case phase::closed: return "closed";
    case phase::open:
      return now - opened_at_ < cooldown_ ? "open" : "half_open";
    case phase::half_open: return "half_open";
  }
  return "closed";
}

// -- backoff -----------------------------------------------------------------------------

std::chrono::milliseconds backoff_delay(int attempt,
                                        std::chrono::milliseconds min,
                                        std::chrono::milliseconds max) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto cap = min.count();
  for (int i = 1; i < attempt && cap < max.count(); ++i)
    cap *= 2;
  if (cap > max.count())
    cap = max.count();
  if (cap < 1)
    cap = 1;
  std::uniform_int_distribution<long long> pick{1, cap};
  return std::chrono::milliseconds{pick(rng)};
}

std::optional<std::chrono::milliseconds>
parse_retry_after(std::string_view value,
                  std::chrono::system_clock::time_point now) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front())))
    value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
    value.remove_suffix(1);
  if (value.empty())
    return std::nullopt;
  bool digits = true;
  for (char c : value)
    digits = digits && (std::isdigit(static_cast<unsigned char>(c)) || c == '.');
  if (digits) {
    try {
      auto secs = std::stod(std::string{value});
      return std::chrono::milliseconds{static_cast<long long>(secs * 1000)};
    } catch (...) {
      return std::nullopt;
    }
  }
  // IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT".
  std::tm tm{};
  std::string text{value};
  if (!strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S", &tm))
    return std::nullopt;
  auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
  auto delta = std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
  if (delta.count() < 0)
    delta = std::chrono::milliseconds{0};
  return delta;
}

} // namespace fp::actors::llm::resilience
