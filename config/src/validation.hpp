#pragma once

// Whole-settings validation, shared by `validate` and the loader (which can
// say where each value came from).

#include <functional>
#include <string>
#include <string_view>

#include "fp/config/settings.hpp"
#include "setting_table.hpp"

namespace fp::config::detail {

/// Where a setting's value came from, e.g. "from FLEETPROMPT_LISTEN",
/// "from command line", "from app.conf:3", "built-in default"; "" if unknown.
using source_of_fn = std::function<std::string(std::string_view key)>;

/// `invalid value "abc" for --key (from X): expected ...`; the value is left
/// out for secret settings and the parenthesis when `source` is empty.
std::string invalid_value_message(const setting_def& def, std::string_view value,
                                  std::string_view source,
                                  std::string_view expected);

/// Per-setting rules, then cross-field rules; "" when valid.
std::string validate_settings(const settings& s, const source_of_fn& source_of);

} // namespace fp::config::detail
