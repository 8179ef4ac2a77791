#include "fp/actors/semver.hpp"

#include <algorithm>
#include <cctype>

namespace fp::actors::semver {

namespace {

// -- lexical helpers -----------------------------------------------------------------

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

bool all_digits(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

bool is_ident_char(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || c == '-';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    auto pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

// 'text' (built by appending: GCC 12 warns falsely on "..." + string&&).
std::string quote(std::string_view text) {
  std::string out{"'"};
  out += text;
  out += '\'';
  return out;
}

bool fail(std::string* why, std::string text) {
  if (why)
    *why = std::move(text);
  return false;
}

// A numeric identifier: digits, no leading zero, fits in 64 bits.
bool parse_number(std::string_view s, uint64_t& out, std::string_view what,
                  std::string* why) {
  if (!all_digits(s))
    return fail(why, std::string{what} + " must be a number");
  if (s.size() > 1 && s[0] == '0')
    return fail(why, std::string{what} + " must not have leading zeros");
  uint64_t v = 0;
  for (char c : s) {
    auto d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10)
      return fail(why, std::string{what} + " is too large");
    v = v * 10 + d;
  }
  out = v;
  return true;
}

bool parse_identifiers(std::string_view s, bool numeric_rules,
                       std::vector<std::string>& out, std::string_view what,
                       std::string* why) {
  for (auto id : split(s, '.')) {
    if (id.empty())
      return fail(why, std::string{what} + " has an empty identifier");
    if (!std::all_of(id.begin(), id.end(), is_ident_char))
      return fail(why, std::string{what} + " identifier '" + std::string{id}
                         + "' may hold only [0-9A-Za-z-]");
    if (numeric_rules && all_digits(id) && id.size() > 1 && id[0] == '0')
      return fail(why, std::string{what} + " identifier '" + std::string{id}
                         + "' must not have leading zeros");
    out.emplace_back(id);
  }
  return true;
}

// Section 11.4: numeric identifiers compare numerically and below
// alphanumeric ones; alphanumeric ones compare in ASCII order.
int compare_identifier(const std::string& a, const std::string& b) noexcept {
  bool an = all_digits(a), bn = all_digits(b);
  if (an && bn) {
    // No leading zeros: the longer number is the larger one.
    if (a.size() != b.size())
      return a.size() < b.size() ? -1 : 1;
    return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
  }
  if (an != bn)
    return an ? -1 : 1;
  auto c = a.compare(b);
  return c < 0 ? -1 : (c == 0 ? 0 : 1);
}

std::string join(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) {
    if (!out.empty())
      out += '.';
    out += id;
  }
  return out;
}

// -- range parsing -------------------------------------------------------------------

// A partial version of a range: missing or wildcard parts are nullopt.
struct partial {
  std::optional<uint64_t> major, minor, patch;
  std::vector<std::string> prerelease;

  bool any() const noexcept {
    return !major;
  }

  version floor() const {
    version v;
    v.major = major.value_or(0);
    v.minor = minor.value_or(0);
    v.patch = patch.value_or(0);
    if (patch)
      v.prerelease = prerelease;
    return v;
  }
};

bool is_wildcard(std::string_view s) noexcept {
  return s == "x" || s == "X" || s == "*";
}

bool parse_partial(std::string_view text, partial& out, std::string* why) {
  if (text.empty())
    return fail(why, "a version is missing");
  std::string_view core = text;
  std::string_view pre, build;
  // The pre-release starts at the first '-' after the core's numbers;
  // build metadata at the first '+'.
  if (auto plus = core.find('+'); plus != std::string_view::npos) {
    build = core.substr(plus + 1);
    core = core.substr(0, plus);
    if (build.empty())
      return fail(why, quote(text) + "': empty build metadata");
  }
  if (auto dash = core.find('-'); dash != std::string_view::npos) {
    pre = core.substr(dash + 1);
    core = core.substr(0, dash);
    if (pre.empty())
      return fail(why, quote(text) + "': empty pre-release");
  }
  auto parts = split(core, '.');
  if (parts.size() > 3)
    return fail(why, quote(text) + "' has more than three parts");
  std::optional<uint64_t>* slots[] = {&out.major, &out.minor, &out.patch};
  const char* names[] = {"major", "minor", "patch"};
  bool wild = false;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (is_wildcard(parts[i])) {
      wild = true;
      continue;
    }
    if (wild)
      return fail(why, quote(text)
                         + "': a number cannot follow a wildcard");
    uint64_t n = 0;
    std::string reason;
    if (!parse_number(parts[i], n, names[i], &reason))
      return fail(why, quote(text) + "': " + reason);
    *slots[i] = n;
  }
  if (!pre.empty()) {
    if (!out.patch)
      return fail(why, quote(text)
                         + "': a pre-release needs a full version");
    std::string reason;
    if (!parse_identifiers(pre, true, out.prerelease, "pre-release", &reason))
      return fail(why, quote(text) + "': " + reason);
  }
  if (!build.empty()) {
    std::vector<std::string> ignored;
    std::string reason;
    if (!parse_identifiers(build, false, ignored, "build metadata", &reason))
      return fail(why, quote(text) + "': " + reason);
  }
  return true;
}

// The lowest pre-release of `major.minor.patch` ("-0"): an exclusive upper
// bound that keeps the next release's pre-releases out as well.
version lowest(uint64_t major, uint64_t minor, uint64_t patch) {
  version v;
  v.major = major;
  v.minor = minor;
  v.patch = patch;
  v.prerelease = {"0"};
  return v;
}

using comparator = range::comparator;
using comparator_set = std::vector<comparator>;

// A set that matches nothing (e.g. "<0.0.0-0", ">*").
comparator_set none_set() {
  return {{"<", lowest(0, 0, 0)}};
}

// Appends the comparators of `op partial` to `out`.
void desugar(std::string_view op, const partial& p, comparator_set& out) {
  auto lo = p.floor();
  if (op == "^") {
    if (p.any())
      return;
    if (*p.major > 0 || !p.minor)
      out.push_back({">=", lo}), out.push_back({"<", lowest(*p.major + 1, 0, 0)});
    else if (*p.minor > 0 || !p.patch)
      out.push_back({">=", lo}),
        out.push_back({"<", lowest(0, *p.minor + 1, 0)});
    else
      out.push_back({">=", lo}), out.push_back({"<", lowest(0, 0, *p.patch + 1)});
    return;
  }
  if (op == "~") {
    if (p.any())
      return;
    out.push_back({">=", lo});
    if (p.minor)
      out.push_back({"<", lowest(*p.major, *p.minor + 1, 0)});
    else
      out.push_back({"<", lowest(*p.major + 1, 0, 0)});
    return;
  }
  // The exclusive end of the versions a partial covers (1.2 -> 1.3.0-0).
  auto next = [&p]() {
    return p.minor ? lowest(*p.major, *p.minor + 1, 0)
                   : lowest(*p.major + 1, 0, 0);
  };
  bool full = p.patch.has_value();
  if (op.empty() || op == "=") {
    if (p.any())
      return;
    if (full)
      out.push_back({"=", lo});
    else
      out.push_back({">=", lo}), out.push_back({"<", next()});
  } else if (op == ">") {
    if (p.any()) {
      auto n = none_set();
      out.insert(out.end(), n.begin(), n.end());
    } else if (full) {
      out.push_back({">", lo});
    } else {
      auto n = next();
      n.prerelease.clear();
      out.push_back({">=", n});
    }
  } else if (op == ">=") {
    if (!p.any())
      out.push_back({">=", lo});
  } else if (op == "<") {
    if (p.any()) {
      auto n = none_set();
      out.insert(out.end(), n.begin(), n.end());
    } else if (full) {
      out.push_back({"<", lo});
    } else {
      out.push_back({"<", lowest(lo.major, lo.minor, lo.patch)});
    }
  } else if (op == "<=") {
    if (p.any())
      return;
    if (full)
      out.push_back({"<=", lo});
    else
      out.push_back({"<", next()});
  }
}

bool is_op_char(char c) noexcept {
  return c == '<' || c == '>' || c == '=' || c == '^' || c == '~';
}

// Splits a comparator token into its operator and its version text.
bool split_op(std::string_view token, std::string_view& op,
              std::string_view& rest, std::string* why) {
  size_t n = 0;
  while (n < token.size() && is_op_char(token[n]))
    ++n;
  op = token.substr(0, n);
  rest = token.substr(n);
  static const std::string_view ops[] = {"", "=", "<", "<=", ">", ">=", "^",
                                         "~", "~>"};
  if (std::find(std::begin(ops), std::end(ops), op) == std::end(ops))
    return fail(why, std::string{"unknown operator "} + quote(op));
  if (op == "~>")
    op = "~";
  return true;
}

bool parse_set(std::string_view text, comparator_set& out, std::string* why) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
      ++i;
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])))
      ++i;
    if (i > start)
      tokens.push_back(text.substr(start, i - start));
  }
  if (tokens.empty())
    return true; // Any version.
  // Hyphen range: exactly "a - b".
  if (std::find(tokens.begin(), tokens.end(), "-") != tokens.end()) {
    if (tokens.size() != 3 || tokens[1] != "-")
      return fail(why, "a hyphen range is 'a - b'");
    partial from, to;
    if (!parse_partial(tokens[0], from, why) || !parse_partial(tokens[2], to, why))
      return false;
    if (!from.any())
      out.push_back({">=", from.floor()});
    if (to.any())
      return true;
    if (to.patch)
      out.push_back({"<=", to.floor()});
    else if (to.minor)
      out.push_back({"<", lowest(*to.major, *to.minor + 1, 0)});
    else
      out.push_back({"<", lowest(*to.major + 1, 0, 0)});
    return true;
  }
  for (size_t t = 0; t < tokens.size(); ++t) {
    std::string_view op, rest;
    if (!split_op(tokens[t], op, rest, why))
      return false;
    // ">= 1.2.3": an operator standing alone takes the next token.
    if (rest.empty() && !op.empty()) {
      if (t + 1 == tokens.size())
        return fail(why, std::string{"operator "} + quote(op) + " has no version");
      rest = tokens[++t];
      if (is_op_char(rest.front()))
        return fail(why, "two operators in a row");
    }
    if (!rest.empty() && (rest.front() == 'v' || rest.front() == 'V'))
      return fail(why, quote(rest) + "': no leading 'v'");
    partial p;
    if (!parse_partial(rest, p, why))
      return false;
    desugar(op, p, out);
  }
  return true;
}

bool test(const comparator& c, const version& v) {
  int r = compare(v, c.v);
  if (c.op == "=")
    return r == 0;
  if (c.op == "<")
    return r < 0;
  if (c.op == "<=")
    return r <= 0;
  if (c.op == ">")
    return r > 0;
  if (c.op == ">=")
    return r >= 0;
  return false;
}

} // namespace

// -- version ---------------------------------------------------------------------------

std::string version::without_build() const {
  auto out = std::to_string(major) + "." + std::to_string(minor) + "."
             + std::to_string(patch);
  if (!prerelease.empty()) {
    out += '-';
    out += join(prerelease);
  }
  return out;
}

std::string version::to_string() const {
  auto out = without_build();
  if (!build.empty()) {
    out += '+';
    out += join(build);
  }
  return out;
}

std::optional<version> parse(std::string_view text, std::string* why) {
  if (text.empty()) {
    fail(why, "empty version");
    return std::nullopt;
  }
  std::string_view core = text, pre, build;
  bool has_pre = false, has_build = false;
  if (auto plus = core.find('+'); plus != std::string_view::npos) {
    build = core.substr(plus + 1);
    core = core.substr(0, plus);
    has_build = true;
  }
  if (auto dash = core.find('-'); dash != std::string_view::npos) {
    pre = core.substr(dash + 1);
    core = core.substr(0, dash);
    has_pre = true;
  }
  auto parts = split(core, '.');
  if (parts.size() != 3) {
    fail(why, "expected MAJOR.MINOR.PATCH");
    return std::nullopt;
  }
  version v;
  if (!parse_number(parts[0], v.major, "major", why)
      || !parse_number(parts[1], v.minor, "minor", why)
      || !parse_number(parts[2], v.patch, "patch", why))
    return std::nullopt;
  if (has_pre
      && !parse_identifiers(pre, true, v.prerelease, "pre-release", why))
    return std::nullopt;
  if (has_build
      && !parse_identifiers(build, false, v.build, "build metadata", why))
    return std::nullopt;
  return v;
}

int compare(const version& a, const version& b) noexcept {
  if (a.major != b.major)
    return a.major < b.major ? -1 : 1;
  if (a.minor != b.minor)
    return a.minor < b.minor ? -1 : 1;
  if (a.patch != b.patch)
    return a.patch < b.patch ? -1 : 1;
  // A pre-release is below its release.
  if (a.prerelease.empty() != b.prerelease.empty())
    return a.prerelease.empty() ? 1 : -1;
  auto n = std::min(a.prerelease.size(), b.prerelease.size());
  for (size_t i = 0; i < n; ++i)
    if (int c = compare_identifier(a.prerelease[i], b.prerelease[i]); c != 0)
      return c;
  if (a.prerelease.size() != b.prerelease.size())
    return a.prerelease.size() < b.prerelease.size() ? -1 : 1;
  return 0;
}

// -- range -----------------------------------------------------------------------------

std::optional<range> range::parse(std::string_view text, std::string* why) {
  range out;
  out.text_ = std::string{trim(text)};
  std::string_view rest = out.text_;
  for (;;) {
    auto bar = rest.find("||");
    auto piece = rest.substr(0, bar);
    if (piece.find('|') != std::string_view::npos) {
      fail(why, "'|' must be doubled ('||')");
      return std::nullopt;
    }
    comparator_set set;
    std::string reason;
    if (!parse_set(trim(piece), set, &reason)) {
      fail(why, "invalid range '" + out.text_ + "': " + reason);
      return std::nullopt;
    }
    if (bar != std::string_view::npos && trim(piece).empty()
        && !out.text_.empty()) {
      fail(why, "invalid range '" + out.text_ + "': empty alternative");
      return std::nullopt;
    }
    out.sets_.push_back(std::move(set));
    if (bar == std::string_view::npos)
      break;
    rest = rest.substr(bar + 2);
    if (trim(rest).empty()) {
      fail(why, "invalid range '" + out.text_ + "': empty alternative");
      return std::nullopt;
    }
  }
  return out;
}

bool range::satisfies(const version& v, bool include_prerelease) const {
  for (const auto& set : sets_) {
    bool all = std::all_of(set.begin(), set.end(),
                           [&v](const comparator& c) { return test(c, v); });
    if (!all)
      continue;
    if (!v.is_prerelease() || include_prerelease)
      return true;
    // A pre-release only when the set names one of the same release (the
    // "-0" bounds desugaring adds are not such a name: they are upper
    // bounds a pre-release of that release can never satisfy).
    for (const auto& c : set)
      if (c.v.is_prerelease() && c.v.major == v.major && c.v.minor == v.minor
          && c.v.patch == v.patch)
        return true;
  }
  return false;
}

std::optional<version> max_satisfying(const std::vector<version>& candidates,
                                      const range& r, bool include_prerelease) {
  std::optional<version> best;
  for (const auto& v : candidates)
    if (r.satisfies(v, include_prerelease) && (!best || compare(*best, v) < 0))
      best = v;
  return best;
}

} // namespace fp::actors::semver
