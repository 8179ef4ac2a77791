// Pure parts of the job queue: retry backoff and cron schedules.

#include <catch2/catch.hpp>

#include <chrono>
#include <set>

#include "fp/runtime/backoff.hpp"
#include "fp/runtime/cron.hpp"
#include "fp/runtime/errc.hpp"

using namespace std::chrono;
using namespace std::chrono_literals;
using fp::runtime::backoff_policy;
using fp::runtime::cron_schedule;

namespace {

sys_seconds at(int y, unsigned mo, unsigned d, int h, int mi, int s = 0) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi}
         + seconds{s};
}

cron_schedule cron(const char* text) {
  auto c = cron_schedule::parse(text);
  if (!c)
    FAIL("cannot parse " << text << ": " << fp::runtime::context_of(c.error()));
  return *c;
}

sys_seconds next(const cron_schedule& c, sys_seconds t) {
  auto n = c.next_after(t);
  REQUIRE(n);
  return *n;
}

} // namespace

TEST_CASE("backoff ceilings double from min and stop at max", "[jobs][backoff]") {
  backoff_policy p{1000ms, 60000ms};
  CHECK(backoff_ceiling(p, 1) == 1000ms);
  CHECK(backoff_ceiling(p, 2) == 2000ms);
  CHECK(backoff_ceiling(p, 3) == 4000ms);
  CHECK(backoff_ceiling(p, 6) == 32000ms);
  CHECK(backoff_ceiling(p, 7) == 60000ms);
  CHECK(backoff_ceiling(p, 1000000) == 60000ms);
  CHECK(backoff_ceiling(p, 0) == 1000ms);
  CHECK(backoff_ceiling(backoff_policy{0ms, 10ms}, 5) == 0ms);
  // A max below min is treated as min.
  CHECK(backoff_ceiling(backoff_policy{500ms, 100ms}, 4) == 500ms);
}

TEST_CASE("full jitter spreads delays over [0, ceiling]", "[jobs][backoff]") {
  backoff_policy p{100ms, 10000ms};
  CHECK(backoff_delay(p, 3, 0.0) == 0ms);
  CHECK(backoff_delay(p, 3, 1.0) == 400ms);
  CHECK(backoff_delay(p, 3, 0.5) == 200ms);
  CHECK(backoff_delay(p, 3, -1.0) == 0ms);
  CHECK(backoff_delay(p, 3, 7.0) == 400ms);
  std::set<int64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    auto d = backoff_delay(p, 4);
    REQUIRE(d >= 0ms);
    REQUIRE(d <= 800ms);
    seen.insert(d.count() / 100);
  }
  // Jitter: the draws land in every eighth of the range.
  CHECK(seen.size() >= 8);
}

TEST_CASE("cron: fields, ranges, steps, lists and names", "[jobs][cron]") {
  auto every5 = cron("*/5 * * * *");
  CHECK(next(every5, at(2026, 3, 1, 10, 2, 30)) == at(2026, 3, 1, 10, 5));
  CHECK(next(every5, at(2026, 3, 1, 10, 5)) == at(2026, 3, 1, 10, 10));
  CHECK(next(every5, at(2026, 3, 1, 23, 58)) == at(2026, 3, 2, 0, 0));

  auto work = cron("30 9-17/4 * * mon-fri");
  // 2026-03-06 is a Friday.
  CHECK(next(work, at(2026, 3, 6, 9, 0)) == at(2026, 3, 6, 9, 30));
  CHECK(next(work, at(2026, 3, 6, 9, 30)) == at(2026, 3, 6, 13, 30));
  CHECK(next(work, at(2026, 3, 6, 17, 31)) == at(2026, 3, 9, 9, 30));

  auto list = cron("0,15,45 0 1 jan,JUL *");
  CHECK(next(list, at(2026, 1, 1, 0, 20)) == at(2026, 1, 1, 0, 45));
  CHECK(next(list, at(2026, 1, 1, 0, 45)) == at(2026, 7, 1, 0, 0));

  // Sunday as 0 and as 7.
  CHECK(next(cron("0 12 * * 0"), at(2026, 3, 2, 0, 0)) == at(2026, 3, 8, 12, 0));
  CHECK(next(cron("0 12 * * 7"), at(2026, 3, 2, 0, 0)) == at(2026, 3, 8, 12, 0));

  // Both day fields restricted: either matches (1st of the month or a
  // Monday).
  auto either = cron("0 0 1 * 1");
  CHECK(next(either, at(2026, 3, 1, 0, 0)) == at(2026, 3, 2, 0, 0));
  CHECK(next(either, at(2026, 3, 30, 0, 0)) == at(2026, 4, 1, 0, 0));

  // Leap day and a start with a step ("a/s").
  CHECK(next(cron("0 0 29 2 *"), at(2026, 3, 1, 0, 0)) == at(2028, 2, 29, 0, 0));
  CHECK(next(cron("10/20 * * * *"), at(2026, 3, 1, 0, 31)) == at(2026, 3, 1, 0, 50));

  CHECK(next(cron("@hourly"), at(2026, 3, 1, 0, 31)) == at(2026, 3, 1, 1, 0));
  CHECK(next(cron("@daily"), at(2026, 3, 1, 0, 31)) == at(2026, 3, 2, 0, 0));
  CHECK(cron("@daily").matches(at(2026, 3, 2, 0, 0)));
  CHECK_FALSE(cron("@daily").matches(at(2026, 3, 2, 0, 1)));
}

TEST_CASE("cron: a date that never comes has no next time", "[jobs][cron]") {
  CHECK_FALSE(cron("0 0 30 2 *").next_after(system_clock::now()));
  CHECK_FALSE(cron("0 0 31 4 *").next_after(system_clock::now()));
}

TEST_CASE("cron: invalid expressions are refused with a reason", "[jobs][cron]") {
  for (auto text : {"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *",
                    "* * 0 * *", "* * 32 * *", "* * * 13 *", "* * * * 8",
                    "*/0 * * * *", "5-1 * * * *", "a * * * *", "1,,2 * * * *",
                    "* * * foo *", "@often", "1- * * * *"}) {
    INFO(text);
    auto c = cron_schedule::parse(text);
    REQUIRE_FALSE(c);
    CHECK(fp::runtime::code_of(c.error()) == fp::runtime::errc::invalid_argument);
    CHECK_FALSE(fp::runtime::context_of(c.error()).empty());
  }
}
