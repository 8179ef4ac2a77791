#pragma once

// Browser sessions in public.sessions. Only hashes (sha256) of the cookie
// token and of the CSRF token are stored.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace fp::storage {

class pg_session;

/// A session just created: the only time its secrets exist in clear.
struct new_session {
  std::string id;
  /// The cookie value (256 random bits, base64url).
  std::string token;
  std::string csrf_token;
  /// RFC 3339 UTC.
  std::string expires_at;
};

/// Creates a session for `user_id` valid for `ttl`. A non-empty
/// `replaced_token` (the cookie the login request carried) is revoked in
/// the same transaction, so a planted session id never survives a login.
caf::expected<new_session> create_session(pg_session& db,
                                          std::string_view user_id,
                                          std::chrono::milliseconds ttl,
                                          std::string_view remote_address,
                                          std::string_view replaced_token);

/// Revokes the session `id` (idempotent).
caf::error revoke_session(pg_session& db, std::string_view id);

/// A live session with its user and, when the selected organization is
/// active and the user still a member there, that tenant.
struct active_session {
  std::string id;
  std::string user_id;
  std::string email;
  bool platform_admin = false;
  std::string csrf_hash;
  std::string expires_at;
  /// Empty when no organization is selected or membership ended.
  std::string org_id;
  std::string org_slug;
  std::string org_role;
};

/// The unexpired, unrevoked session of an enabled user whose cookie token
/// is `token`; nullopt otherwise.
caf::expected<std::optional<active_session>>
find_active_session(pg_session& db, std::string_view token);

/// An active organization the user belongs to.
struct membership_record {
  std::string org_id;
  std::string org_slug;
  std::string role;
};

/// The membership of `user_id` in the active organization `slug`; nullopt
/// for unknown organizations and non-members alike.
caf::expected<std::optional<membership_record>>
find_membership(pg_session& db, std::string_view user_id,
                std::string_view slug);

/// Sets the session's selected organization.
caf::error select_org(pg_session& db, std::string_view session_id,
                      std::string_view org_id);

} // namespace fp::storage
