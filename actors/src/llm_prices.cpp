#include "fp/actors/llm.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "fp/runtime/errc.hpp"

namespace fp::actors::llm {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// A price in currency units per million tokens ("0.15") as micro-units:
// parsed digit by digit so 0.15 is exactly 150000, never 149999.
bool parse_units(std::string_view s, int64_t& out) {
  s = trim(s);
  if (s.empty())
    return false;
  int64_t whole = 0;
  int64_t frac = 0;
  int frac_digits = 0;
  bool dot = false;
  bool digits = false;
  for (char c : s) {
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
    digits = true;
    if (!dot) {
      if (whole > 1'000'000'000)
        return false;
      whole = whole * 10 + (c - '0');
    } else if (frac_digits < 6) {
      frac = frac * 10 + (c - '0');
      ++frac_digits;
    }
  }
  if (!digits)
    return false;
  while (frac_digits++ < 6)
    frac *= 10;
  out = whole * 1'000'000 + frac;
  return true;
}

} // namespace

caf::expected<price_table> price_table::parse(std::string_view text) {
  price_table out;
  size_t pos = 0;
  while (pos <= text.size()) {
    auto end = text.find_first_of(";\n", pos);
    if (end == std::string_view::npos)
      end = text.size();
    auto entry = trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (entry.empty())
      continue;
    auto fail = [&](const char* why) {
      return runtime::make_error(runtime::errc::invalid_argument,
                                 "bad price entry '" + std::string{entry}
                                   + "': " + why);
    };
    auto eq = entry.find('=');
    if (eq == std::string_view::npos)
      return fail("expected provider/model=<input>:<output>");
    auto key = trim(entry.substr(0, eq));
    auto slash = key.find('/');
    if (slash == std::string_view::npos || slash == 0
        || slash + 1 == key.size())
      return fail("expected provider/model before '='");
    auto value = entry.substr(eq + 1);
    auto colon = value.find(':');
    if (colon == std::string_view::npos)
      return fail("expected <input>:<output> prices");
    model_price p;
    if (!parse_units(value.substr(0, colon), p.input_per_mtok)
        || !parse_units(value.substr(colon + 1), p.output_per_mtok))
      return fail("prices must be non-negative decimal numbers");
    out.set(std::string{key}, p);
  }
  return out;
}

void price_table::set(std::string provider_model, model_price p) {
  prices_[std::move(provider_model)] = p;
}

model_price price_table::price_of(std::string_view provider,
                                  std::string_view model, bool* known) const {
  std::string key{provider};
  key += '/';
  auto base = key.size();
  key += model;
  if (auto i = prices_.find(key); i != prices_.end()) {
    if (known)
      *known = true;
    return i->second;
  }
  key.resize(base);
  key += '*';
  if (auto i = prices_.find(key); i != prices_.end()) {
    if (known)
      *known = true;
    return i->second;
  }
  if (known)
    *known = false;
  return {};
}

int64_t price_table::cost_micros(const model_price& p,
                                 const usage& u) noexcept {
  // micro-units per million tokens x tokens / 1e6, rounded up once over
  // the sum so two sub-micro halves do not each round up.
  // 128-bit: a large price times many tokens overflows 64 bits.
  __extension__ using wide = __int128;
  auto numer = static_cast<wide>(p.input_per_mtok) * u.input_tokens
               + static_cast<wide>(p.output_per_mtok) * u.output_tokens;
  if (numer <= 0)
    return 0;
  return static_cast<int64_t>((numer + 999'999) / 1'000'000);
}

} // namespace fp::actors::llm
