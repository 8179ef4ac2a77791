#include "validation.hpp"

#include "fp/config/cli.hpp"
#include "messages.hpp"
#include "value_parsers.hpp"

namespace fp::config::detail {

namespace {

// "(5s, from FLEETPROMPT_X)" or "(5s)".
std::string value_and_source(std::string_view shown, std::string_view source) {
  std::string out = "(";
  out.append(shown);
  if (!source.empty())
    out.append(", ").append(source);
  return out + ")";
}

} // namespace

std::string invalid_value_message(const setting_def& def, std::string_view value,
                                  std::string_view source,
                                  std::string_view expected) {
  std::string out = "invalid value ";
  if (!def.secret)
    out += quote(value) + " ";
  out.append("for --").append(def.key);
  if (!source.empty())
    out.append(" (").append(source).append(")");
  return out.append(": ").append(expected);
}

std::string validate_settings(const settings& s, const source_of_fn& source_of) {
  auto source = [&](std::string_view key) {
    return source_of ? source_of(key) : std::string{};
  };
  for (auto& def : setting_table()) {
    // An unset config file is the normal case, not an empty path.
    if (def.key == config_key && s.config_file.empty())
      continue;
    if (auto expected = def.check(s); !expected.empty())
      return invalid_value_message(def, def.show(s), source(def.key), expected);
  }
  // Timeouts being positive is already a per-setting rule above; the only
  // rule spanning two settings is the backoff order.
  if (s.restart_backoff_min > s.restart_backoff_max)
    return "--restart-backoff-min " +
           value_and_source(format_duration(s.restart_backoff_min),
                            source("restart-backoff-min")) +
           " must not exceed --restart-backoff-max " +
           value_and_source(format_duration(s.restart_backoff_max),
                            source("restart-backoff-max"));
  return {};
}

} // namespace fp::config::detail

namespace fp::config {

std::string validate(const settings& s) {
  return detail::validate_settings(s, nullptr);
}

} // namespace fp::config
