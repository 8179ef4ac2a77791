#include "fp/runtime/cron.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <vector>

#include "fp/runtime/errc.hpp"

namespace fp::runtime {

using namespace std::chrono;

namespace {

struct field_spec {
  const char* name;
  int lo;
  int hi;
  /// Names accepted for lo, lo+1, ... (empty when none).
  std::vector<std::string_view> names;
};

const field_spec& spec_of(int index) {
  static const std::array<field_spec, 5> specs{{
    {"minute", 0, 59, {}},
    {"hour", 0, 23, {}},
    {"day of month", 1, 31, {}},
    {"month", 1, 12,
     {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
      "nov", "dec"}},
    // 7 is Sunday as well; folded to 0 after parsing.
    {"day of week", 0, 7, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
  }};
  return specs[static_cast<std::size_t>(index)];
}

caf::error bad(const field_spec& f, std::string_view item, std::string why) {
  return make_error(errc::invalid_argument,
                    "invalid cron " + std::string{f.name} + " \""
                      + std::string{item} + "\": " + why);
}

std::optional<int> parse_value(const field_spec& f, std::string_view text) {
  if (text.empty())
    return std::nullopt;
  if (std::isalpha(static_cast<unsigned char>(text[0]))) {
    if (text.size() != 3)
      return std::nullopt;
    std::string lower;
    for (char c : text)
      lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (std::size_t i = 0; i < f.names.size(); ++i)
      if (f.names[i] == lower)
        return f.lo + static_cast<int>(i);
    return std::nullopt;
  }
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size())
    return std::nullopt;
  return value;
}

/// Sets the bits of one field; `star` tells whether it starts with '*'.
caf::error parse_field(const field_spec& f, std::string_view text,
                       std::vector<bool>& bits, bool& star) {
  bits.assign(static_cast<std::size_t>(f.hi + 1), false);
  star = !text.empty() && text[0] == '*';
  while (true) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    if (item.empty())
      return bad(f, text, "empty list item");
    int step = 1;
    auto range = item;
    if (auto slash = item.find('/'); slash != std::string_view::npos) {
      auto step_text = item.substr(slash + 1);
      auto [ptr, ec] = std::from_chars(step_text.data(),
                                       step_text.data() + step_text.size(), step);
      if (ec != std::errc{} || ptr != step_text.data() + step_text.size()
          || step <= 0 || step > f.hi)
        return bad(f, item, "the step must be a number from 1 to "
                              + std::to_string(f.hi));
      range = item.substr(0, slash);
    }
    int first = f.lo;
    int last = f.hi;
    if (range == "*") {
      // the whole field
    } else if (auto dash = range.find('-'); dash != std::string_view::npos) {
      auto a = parse_value(f, range.substr(0, dash));
      auto b = parse_value(f, range.substr(dash + 1));
      if (!a || !b)
        return bad(f, item, "not a number or name");
      first = *a;
      last = *b;
      if (first > last)
        return bad(f, item, "the range runs backwards");
    } else {
      auto a = parse_value(f, range);
      if (!a)
        return bad(f, item, "not a number or name");
      first = *a;
      // "a/s" means from a to the end; a plain "a" is just a.
      last = item.find('/') != std::string_view::npos ? f.hi : first;
    }
    if (first < f.lo || last > f.hi)
      return bad(f, item, "out of range " + std::to_string(f.lo) + "-"
                            + std::to_string(f.hi));
    for (int v = first; v <= last; v += step)
      bits[static_cast<std::size_t>(v)] = true;
    if (comma == std::string_view::npos)
      break;
    text.remove_prefix(comma + 1);
  }
  return caf::none;
}

std::string_view expand_macro(std::string_view text) {
  if (text == "@yearly" || text == "@annually")
    return "0 0 1 1 *";
  if (text == "@monthly")
    return "0 0 1 * *";
  if (text == "@weekly")
    return "0 0 * * 0";
  if (text == "@daily" || text == "@midnight")
    return "0 0 * * *";
  if (text == "@hourly")
    return "0 * * * *";
  return {};
}

} // namespace

caf::expected<cron_schedule> cron_schedule::parse(std::string_view text) {
  auto trimmed = text;
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front())))
    trimmed.remove_prefix(1);
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back())))
    trimmed.remove_suffix(1);
  auto body = trimmed;
  if (!body.empty() && body[0] == '@') {
    body = expand_macro(body);
    if (body.empty())
      return make_error(errc::invalid_argument,
                        "unknown cron macro \"" + std::string{trimmed} + "\"");
  }
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < body.size()) {
    while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i])))
      ++i;
    auto start = i;
    while (i < body.size() && !std::isspace(static_cast<unsigned char>(body[i])))
      ++i;
    if (i > start)
      fields.push_back(body.substr(start, i - start));
  }
  if (fields.size() != 5)
    return make_error(errc::invalid_argument,
                      "a cron expression has 5 fields (minute hour "
                      "day-of-month month day-of-week), got "
                        + std::to_string(fields.size()));
  cron_schedule out;
  out.text_ = std::string{trimmed};
  std::vector<bool> bits;
  bool star = false;
  for (int f = 0; f < 5; ++f) {
    if (auto err = parse_field(spec_of(f), fields[static_cast<std::size_t>(f)],
                               bits, star))
      return err;
    for (std::size_t v = 0; v < bits.size(); ++v) {
      if (!bits[v])
        continue;
      switch (f) {
        case 0: out.minutes_.set(v); break;
        case 1: out.hours_.set(v); break;
        case 2: out.days_.set(v); break;
        case 3: out.months_.set(v); break;
        default: out.weekdays_.set(v % 7); break;
      }
    }
    if (f == 2)
      out.days_star_ = star;
    if (f == 4)
      out.weekdays_star_ = star;
  }
  return out;
}

bool cron_schedule::day_matches(year_month_day ymd, weekday wd) const {
  bool dom = days_.test(static_cast<unsigned>(ymd.day()));
  bool dow = weekdays_.test(wd.c_encoding());
  if (days_star_ || weekdays_star_)
    return dom && dow;
  return dom || dow;
}

bool cron_schedule::matches(sys_seconds t) const {
  auto day = floor<days>(t);
  year_month_day ymd{day};
  auto in_day = duration_cast<minutes>(t - day);
  auto h = static_cast<std::size_t>(in_day.count() / 60);
  auto m = static_cast<std::size_t>(in_day.count() % 60);
  return months_.test(static_cast<unsigned>(ymd.month()))
         && day_matches(ymd, weekday{day}) && hours_.test(h) && minutes_.test(m);
}

std::optional<sys_seconds>
cron_schedule::next_after(system_clock::time_point t) const {
  auto m = floor<minutes>(t) + minutes{1};
  auto limit = floor<days>(t) + days{3653};
  while (m < limit) {
    auto day = floor<days>(m);
    year_month_day ymd{day};
    if (!months_.test(static_cast<unsigned>(ymd.month()))) {
      auto next_month = year_month{ymd.year(), ymd.month()} + months{1};
      m = sys_days{next_month / 1};
      continue;
    }
    if (!day_matches(ymd, weekday{day})) {
      m = day + days{1};
      continue;
    }
    auto in_day = duration_cast<minutes>(m - day).count();
    auto h = in_day / 60;
    auto mm = in_day % 60;
    if (!hours_.test(static_cast<std::size_t>(h))) {
      m = day + hours{h + 1};
      continue;
    }
    while (mm < 60 && !minutes_.test(static_cast<std::size_t>(mm)))
      ++mm;
    if (mm == 60) {
      m = day + hours{h + 1};
      continue;
    }
    return sys_seconds{day + hours{h} + minutes{mm}};
  }
  return std::nullopt;
}

} // namespace fp::runtime
