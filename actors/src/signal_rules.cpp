#include "fp/actors/signal_rules.hpp"

namespace fp::actors {

namespace {

bool is_lower_word_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

/// `^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`
bool is_dotted_name(std::string_view s) noexcept {
  if (s.empty() || s[0] < 'a' || s[0] > 'z')
    return false;
  std::size_t dots = 0;
  char prev = 0;
  for (char c : s) {
    if (c == '.') {
      if (prev == '.')
        return false;
      ++dots;
    } else if (!is_lower_word_char(c)) {
      return false;
    }
    prev = c;
  }
  return dots > 0 && prev != '.';
}

std::string dotted_name_error(std::string_view s, std::string_view member) {
  if (s.empty())
    return std::string{member} + " must not be empty";
  if (s.size() > signal_text_limit)
    return std::string{member} + " must have at most 200 characters";
  if (!is_dotted_name(s))
    return std::string{member}
           + " must be dotted lowercase words, e.g. \"forum.post.created\"";
  return {};
}

bool printable_ascii(std::string_view s) noexcept {
  for (char c : s)
    if (c < 0x20 || c > 0x7e)
      return false;
  return true;
}

// Parses exactly `n` digits at `pos`.
bool digits(std::string_view s, std::size_t pos, std::size_t n,
            int& out) noexcept {
  if (pos + n > s.size())
    return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!is_digit(s[i]))
      return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

int days_in_month(int year, int month) noexcept {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
  if (month == 2
      && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
    return 29;
  return days[month - 1];
}

} // namespace

std::string signal_type_error(std::string_view type) {
  return dotted_name_error(type, "type");
}

std::string directive_type_error(std::string_view type) {
  return dotted_name_error(type, "directive_type");
}

std::string signal_payload_error(std::string_view payload, std::size_t limit) {
  if (payload.size() > limit)
    return "payload must be at most " + std::to_string(limit)
           + " bytes of JSON";
  auto first = payload.find_first_not_of(" \t\r\n");
  auto last = payload.find_last_not_of(" \t\r\n");
  if (first == std::string_view::npos || payload[first] != '{'
      || payload[last] != '}')
    return "payload must be a JSON object";
  // Walk the strings: jsonb refuses the NUL character.
  bool in_string = false;
  for (std::size_t i = first; i <= last; ++i) {
    char c = payload[i];
    if (!in_string) {
      if (c == '"')
        in_string = true;
      continue;
    }
    if (c == '"') {
      in_string = false;
    } else if (c == '\\' && i + 1 <= last) {
      if (payload[i + 1] == 'u' && payload.substr(i + 2, 4) == "0000")
        return "payload must not contain the character U+0000";
      ++i; // skip the escaped character
    }
  }
  return {};
}

std::string dedupe_key_error(std::string_view key) {
  if (key.size() > signal_text_limit)
    return "dedupe_key must have at most 200 characters";
  if (!printable_ascii(key))
    return "dedupe_key must be printable ASCII";
  return {};
}

std::string opaque_id_error(std::string_view id, std::string_view member) {
  if (id.size() > signal_text_limit)
    return std::string{member} + " must have at most 200 characters";
  if (!printable_ascii(id))
    return std::string{member} + " must be printable ASCII";
  return {};
}

bool is_rfc3339(std::string_view s) noexcept {
  // YYYY-MM-DD(T|t| )HH:MM:SS[.fraction](Z|z|(+|-)HH:MM)
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-'
      || !digits(s, 5, 2, month) || s[7] != '-' || !digits(s, 8, 2, day)
      || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
      || !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute)
      || s[16] != ':' || !digits(s, 17, 2, second))
    return false;
  if (year < 1 || month < 1 || month > 12 || day < 1
      || day > days_in_month(year, month) || hour > 23 || minute > 59
      || second > 59)
    return false;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    std::size_t start = ++pos;
    while (pos < s.size() && is_digit(s[pos]))
      ++pos;
    if (pos == start || pos - start > 9)
      return false;
  }
  auto zone = s.substr(pos);
  if (zone == "Z" || zone == "z")
    return true;
  int oh, om;
  return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-')
         && digits(zone, 1, 2, oh) && zone[3] == ':' && digits(zone, 4, 2, om)
         && oh <= 23 && om <= 59;
}

std::string rfc3339_error(std::string_view text, std::string_view member) {
  if (!is_rfc3339(text))
    return std::string{member}
           + " must be an RFC 3339 date-time, e.g. \"2026-01-02T03:04:05Z\"";
  return {};
}

std::string subscription_pattern_error(std::string_view pattern) {
  if (pattern == "*")
    return {};
  if (pattern.size() > signal_text_limit)
    return "pattern must have at most 200 characters";
  if (pattern.size() > 2 && pattern.substr(pattern.size() - 2) == ".*") {
    auto stem = pattern.substr(0, pattern.size() - 2);
    bool ok = !stem.empty() && stem[0] >= 'a' && stem[0] <= 'z';
    char prev = 0;
    for (char c : stem) {
      ok = ok && (is_lower_word_char(c) || (c == '.' && prev != '.'));
      prev = c;
    }
    if (ok && prev != '.')
      return {};
  } else if (is_dotted_name(pattern)) {
    return {};
  }
  return "pattern must be a signal type, \"<prefix>.*\" or \"*\"";
}

std::string type_prefix_error(std::string_view prefix) {
  if (prefix.size() > signal_text_limit)
    return "type must have at most 200 characters";
  for (char c : prefix)
    if (!is_lower_word_char(c) && c != '.')
      return "type may contain only a-z, 0-9, '_' and '.'";
  return {};
}

} // namespace fp::actors
