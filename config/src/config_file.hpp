#pragma once

// Syntax of the config file; which keys exist is the setting table's business.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace fp::config::detail {

/// One `key = value` line, value unquoted and unescaped.
struct file_entry {
  std::string key;
  std::string value;
  size_t line = 0;
};

/// A parsed file: the entries before the first syntax error, and that error
/// ("" if none). Keeping the good prefix lets the caller report errors in
/// line order even when an earlier line has an unknown key.
struct parsed_file {
  std::vector<file_entry> entries;
  std::string error;
};

/// Parses config file text: UTF-8, `key = value` per line, `#` comment
/// lines, blank lines, optional double quotes around the value with `\"` and
/// `\\` escapes. `name` prefixes line numbers in messages ("name:3").
parsed_file parse_config_text(std::string_view text, std::string_view name);

/// Reads and parses the file at `path`. `origin` names where the path came
/// from ("--config" or "FLEETPROMPT_CONFIG") for the message when the file
/// cannot be read (then `entries` is empty).
parsed_file read_config_file(const std::string& path, std::string_view origin);

} // namespace fp::config::detail
