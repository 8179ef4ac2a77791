#pragma once

// The single definition of every setting: flags, environment variables, the
// config file, validation and the help text are all derived from it.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "fp/config/settings.hpp"

namespace fp::config::detail {

/// Help-text grouping; mirrors the sections of `settings`.
enum class setting_group { general, database, http, actors, keys, logging };

/// One tunable.
struct setting_def {
  /// Flag `--key`, file key `key`, environment `FLEETPROMPT_KEY`.
  std::string_view key;
  /// Placeholder shown after the flag in the help text, e.g. "DURATION".
  std::string_view hint;
  std::string_view help;
  /// Accepted range for the help text, e.g. "1..256"; "" when not a range.
  std::string range;
  setting_group group = setting_group::general;
  /// Never echo the value in messages: it may carry a password or token.
  bool secret = false;
  /// Parses and range-checks `text` into the field. Returns what was
  /// expected (e.g. "expected an integer 1..256") or "" on success; the
  /// field is untouched on failure.
  std::function<std::string(settings&, std::string_view text)> assign;
  /// Range-checks the field as it is now, with the same wording as `assign`.
  std::function<std::string(const settings&)> check;
  /// The field as it would be written in a config file.
  std::function<std::string(const settings&)> show;
};

/// All settings, in help-text order.
const std::vector<setting_def>& setting_table();

/// The definition of `key`, or nullptr.
const setting_def* find_setting(std::string_view key);

/// Every key, for typo suggestions.
std::vector<std::string_view> setting_keys();

/// `FLEETPROMPT_` + key upper-cased with '-' turned into '_'.
std::string env_var_name(std::string_view key);

/// The key of the config-file path setting, which a config file cannot set.
inline constexpr std::string_view config_key = "config";

} // namespace fp::config::detail
