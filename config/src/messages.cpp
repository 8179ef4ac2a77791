#include "messages.hpp"

#include <algorithm>
#include <cstdio>

namespace fp::config::detail {

namespace {

// Values are echoed to help find typos, not to dump whole files.
constexpr size_t max_quoted = 80;

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string normalized(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '_')
      c = '-';
    else if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    out.push_back(c);
  }
  return out;
}

} // namespace

std::string quote(std::string_view text) {
  std::string out = "\"";
  size_t shown = 0;
  for (char c : text) {
    if (shown++ == max_quoted) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string did_you_mean(std::string_view name,
                         const std::vector<std::string_view>& candidates,
                         std::string_view prefix) {
  // Case and '_' vs '-' mistakes count as no distance at all: people write
  // db_pool_size after seeing FLEETPROMPT_DB_POOL_SIZE.
  auto wanted = normalized(name);
  std::string_view best;
  size_t best_distance = 3; // more than two edits is a different word
  for (auto candidate : candidates) {
    auto d = edit_distance(wanted, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  if (best.empty() || best_distance >= wanted.size())
    return {};
  std::string out = "; did you mean \"";
  out.append(prefix).append(best).append("\"?");
  return out;
}

} // namespace fp::config::detail
