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

/// True when the "<id>:<key>,..." list `keys` has an item with id `id`.
bool names_key(std::string_view keys, std::string_view id) {
  while (!keys.empty()) {
    auto comma = keys.find(',');
    auto item = keys.substr(0, comma);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    if (item.substr(0, item.find(':')) == id)
      return true;
    keys = comma == std::string_view::npos ? std::string_view{}
                                           : keys.substr(comma + 1);
  }
  return false;
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
  // With keys only from --master-keys the active id must be one of them
  // (with a key file the ring checks it when it reads the file). Ids only:
  // the keys themselves are never echoed.
  if (!s.active_key_id.empty() && s.key_file.empty() && !s.master_keys.empty() &&
      !names_key(s.master_keys, s.active_key_id))
    return "--active-key-id " +
           value_and_source(s.active_key_id, source("active-key-id")) +
           " names no key of --master-keys";
  // Timeouts being positive is already a per-setting rule above; the other
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
