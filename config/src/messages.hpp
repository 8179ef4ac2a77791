#pragma once

// Building blocks of the one-line error messages.

#include <string>
#include <string_view>
#include <vector>

namespace fp::config::detail {

/// `text` in double quotes with quotes, backslashes and control characters
/// escaped, so a message always stays on one line; long text is shortened.
std::string quote(std::string_view text);

/// `; did you mean "x"?` for the candidate closest to a misspelled `name`,
/// or "" when nothing is close enough to be a plausible typo.
std::string did_you_mean(std::string_view name,
                         const std::vector<std::string_view>& candidates,
                         std::string_view prefix = "");

} // namespace fp::config::detail
