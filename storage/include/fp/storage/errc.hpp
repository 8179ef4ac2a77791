#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>

namespace fp::storage {

/// Errors of the storage layer. net/ maps them to HTTP status in one place.
enum class errc : uint8_t {
  none = 0,
  unavailable,           // cannot connect / connection lost (retries spent)
  overloaded,            // the pool's bounded queue is full
  serialization_failure, // 40001 / 40P01 still failing after the retries
  commit_unknown,        // connection lost during COMMIT: outcome unknown, never retried
  unique_violation,      // 23505; context names the constraint
  constraint_violation,  // other 23xxx; context names the constraint
  statement_timeout,     // 57014
  query_failed,          // any other SQL error; context carries SQLSTATE + message
  migration_failed,      // a migration's SQL failed; context names it
  migration_tampered,    // an applied migration's checksum changed, or the
                         // database has migrations this binary does not know
};

const char* to_string(errc code) noexcept;

/// Wraps a code and an optional context string into a `caf::error` of the
/// category "fp_store".
caf::error make_error(errc code, std::string context = {});

/// The storage `errc` carried by `err`; `errc::none` for no error or an
/// error of another category.
errc code_of(const caf::error& err) noexcept;

/// True when `err` belongs to the storage category.
bool is_storage_error(const caf::error& err) noexcept;

} // namespace fp::storage
