#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fp/config/settings.hpp"

namespace fp::config {

// -- command line ---------------------------------------------------------------

/// A command-specific flag (e.g. migrate's --status, user create's --email).
/// `name` is written without the leading dashes. A setting key of the same
/// name takes precedence, so commands cannot shadow settings.
struct flag_spec {
  std::string name;
  bool takes_value = false;
  std::string help;
};

/// Result of parsing a command line.
struct command_line {
  /// Fully loaded and validated (best effort only when `help_requested`).
  settings values;
  /// Command-specific flags given, by name without dashes; "" for switches.
  /// A flag given twice keeps its last value.
  std::map<std::string, std::string> flags;
  /// Non-flag arguments in order (e.g. "user", "create"); everything after a
  /// bare `--` lands here too.
  std::vector<std::string> positional;
  /// `-h` or `--help` appeared anywhere before `--`.
  bool help_requested = false;
};

/// Looks up one environment variable; nullopt when it is not set.
using env_lookup =
  std::function<std::optional<std::string>(std::string_view name)>;

/// The real process environment (wraps `::getenv`).
env_lookup process_env();

/// Loads settings with precedence: built-in defaults < config file <
/// FLEETPROMPT_* env vars < flags. `args` excludes argv[0].
///
/// Settings flags may appear anywhere (before or after positionals), as
/// `--key value` or `--key=value`; a later flag overrides an earlier one.
/// `extra` lists the flags of the chosen command, accepted in addition to the
/// setting keys. Unknown flags are errors. An environment variable set to the
/// empty string counts as unset.
///
/// The config file is the value of `--config FILE` or FLEETPROMPT_CONFIG; if
/// neither is set, no file is read.
///
/// On failure returns a ONE-LINE error message naming the bad key and where
/// it came from, e.g. `invalid value "abc" for --db-pool-size (from
/// FLEETPROMPT_DB_POOL_SIZE): expected an integer 1..256` or `unknown setting
/// "lisen" in fleetprompt.conf:3`. When `-h`/`--help` is given, errors are
/// ignored and the result carries whatever could be loaded.
std::variant<command_line, std::string>
parse_command_line(const std::vector<std::string>& args,
                   const std::vector<flag_spec>& extra, const env_lookup& env);

// -- validation -----------------------------------------------------------------

/// Checks every per-setting rule (ranges, formats) against the values as they
/// are, plus the cross-field rules (restart-backoff-min <= restart-backoff-max;
/// read/idle/header timeouts > 0), so settings built in code obey the same
/// rules as loaded ones. Empty string = valid, otherwise a one-line message
/// naming the key.
std::string validate(const settings& s);

// -- help -----------------------------------------------------------------------

/// Help text listing every setting: flag, env var, value hint, default,
/// description; aligned columns, grouped like `settings`.
std::string settings_help();

/// Help text for a command's extra flags (one aligned line each).
std::string flags_help(const std::vector<flag_spec>& extra);

} // namespace fp::config
