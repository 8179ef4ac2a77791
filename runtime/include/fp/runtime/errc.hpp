#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>

namespace fp::runtime {

/// Domain-level error codes shared by every module. Each maps to exactly one
/// HTTP status in net/ (see fp/net/problem.hpp), so handlers can simply
/// `return errc::not_found;`.
enum class errc : uint8_t {
  none = 0,
  invalid_argument,   // 422: well-formed request, invalid values
  bad_request,        // 400: malformed request or JSON
  unauthorized,       // 401
  forbidden,          // 403
  not_found,          // 404
  conflict,           // 409
  payload_too_large,  // 413
  unsupported_media,  // 415
  rate_limited,       // 429
  unavailable,        // 503: a dependency (database) is down
  overloaded,         // 503: a bounded queue is full
  timeout,            // 504
  internal,           // 500
};

/// CAF error category of `errc`.
inline constexpr std::string_view errc_category_name = "fp";

/// Human-readable name of a code, e.g. "not_found".
const char* to_string(errc code) noexcept;

/// Wraps a code and an optional context string into a `caf::error`.
caf::error make_error(errc code, std::string context = {});

/// Builds an error of any module's category: the code, plus `context` as
/// the message when it is not empty. Every module's make_error uses this.
caf::error make_coded_error(caf::atom_value category, uint8_t code,
                            std::string context);

/// Returns the `errc` carried by `err`, or `errc::internal` for errors of
/// other categories (CAF's own, storage's) and `errc::none` for no error.
errc code_of(const caf::error& err) noexcept;

/// The context string attached by `make_error`, if any.
std::string context_of(const caf::error& err);

} // namespace fp::runtime
