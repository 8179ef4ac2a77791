#pragma once

// Five-field cron expressions ("minute hour day-of-month month day-of-week")
// evaluated in UTC. Pure: parsing and "next time after t" only.
//
// Each field is `*` or a comma-separated list of items `n`, `a-b`, `*/s`,
// `a-b/s` or `a/s` (from a to the field's end). Months accept jan..dec and
// weekdays sun..sat (case-insensitive); weekday 7 is Sunday like 0. As in
// Vixie cron, when both day fields are restricted (neither starts with
// `*`), a day matches if EITHER matches. The macros @yearly (@annually),
// @monthly, @weekly, @daily (@midnight) and @hourly are accepted.

#include <bitset>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace fp::runtime {

class cron_schedule {
public:
  /// Parses `text`; errc::invalid_argument naming the bad field otherwise.
  static caf::expected<cron_schedule> parse(std::string_view text);

  /// The first whole minute strictly after `t` that matches, or nullopt
  /// when none exists within the next ten years (e.g. "0 0 30 2 *").
  std::optional<std::chrono::sys_seconds>
  next_after(std::chrono::system_clock::time_point t) const;

  /// True when minute `t` (seconds ignored) matches.
  bool matches(std::chrono::sys_seconds t) const;

  /// The expression as parsed.
  const std::string& text() const noexcept {
    return text_;
  }

private:
  bool day_matches(std::chrono::year_month_day ymd,
                   std::chrono::weekday wd) const;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;   // 1..31
  std::bitset<13> months_; // 1..12
  std::bitset<7> weekdays_; // 0 = Sunday
  bool days_star_ = true;
  bool weekdays_star_ = true;
};

} // namespace fp::runtime
