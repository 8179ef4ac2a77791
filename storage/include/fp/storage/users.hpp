#pragma once

// The user repository: accounts in public.users. SQL lives here; callers
// (the CLI, storage tasks of the auth handlers) pass their session.

#include <optional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "fp/runtime/crypto.hpp"

namespace fp::storage {

class pg_session;

/// scrypt cost for stored passwords. Fixed rather than a setting: N = 2^15
/// (32 MiB) costs roughly 50 ms per hash, slow enough to make offline
/// guessing expensive and fast enough for interactive logins and the tests.
/// Stored hashes record their own parameters, so raising it later is safe.
inline constexpr runtime::scrypt_params password_cost{15, 8, 1};

/// One row of public.users.
struct user_record {
  std::string id;
  std::string email;
  std::string password_hash;
  bool platform_admin = false;
  bool disabled = false;
};

/// The login name of `email`: trimmed and lower-cased (ASCII).
std::string normalize_email(std::string_view email);

/// Empty when `email` looks like an address (one '@', non-empty parts,
/// at most 254 characters, no spaces), else a one-line reason.
std::string email_error(std::string_view email);

/// Creates a user with a hash of `password` (see `password_cost`); the hash
/// is computed here, so call it where blocking is allowed. Errors:
/// runtime::errc::invalid_argument for a bad email or a password shorter
/// than 8 characters, runtime::errc::conflict when the normalized email is
/// taken.
caf::expected<user_record> create_user(pg_session& db, std::string_view email,
                                       std::string_view password,
                                       bool platform_admin = false);

/// The user whose normalized email equals `normalize_email(email)`.
caf::expected<std::optional<user_record>>
find_user_by_email(pg_session& db, std::string_view email);

/// The user with id `id` (nullopt also for a malformed id).
caf::expected<std::optional<user_record>> find_user_by_id(pg_session& db,
                                                          std::string_view id);

/// True when `text` is a canonical lower- or upper-case UUID, so it can be
/// passed to a uuid parameter without a SQL error.
bool is_uuid(std::string_view text) noexcept;

} // namespace fp::storage
