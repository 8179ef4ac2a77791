#pragma once

// Tenant API keys in public.api_keys. A key reads
// "fpk_<8 hex>_<secret>": the first part is the stored, visible prefix
// that finds the row; only sha256(secret) is stored.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace fp::storage {

class pg_session;

/// True for "read", "write", "admin" and "publish" (publishing packages to
/// the registry; alone it grants nothing else).
bool valid_scope(std::string_view scope) noexcept;

/// One key as listed (never with a secret).
struct api_key_record {
  std::string id;
  std::string org_id;
  std::string name;
  std::string prefix;
  std::vector<std::string> scopes;
  /// RFC 3339 UTC; empty when unset.
  std::string created_at;
  std::string expires_at;
  std::string last_used_at;
  bool revoked = false;
};

/// A key with its secret, shown once after create and rotate.
struct issued_api_key {
  api_key_record record;
  /// The full key text "fpk_<8 hex>_<secret>".
  std::string key;
};

/// Creates a key in `org_id`. `scopes` must be valid (checked by the
/// caller); `expires_at` is an RFC 3339 time or empty. An unparsable
/// `expires_at` gives runtime::errc::invalid_argument.
caf::expected<issued_api_key>
create_api_key(pg_session& db, std::string_view org_id,
               std::string_view created_by, std::string_view name,
               const std::vector<std::string>& scopes,
               std::string_view expires_at);

/// The keys of `org_id`, newest first.
caf::expected<std::vector<api_key_record>> list_api_keys(pg_session& db,
                                                         std::string_view org_id);

/// Revokes key `id` of `org_id`. False when no such key exists in that
/// organization (keys of other organizations included).
caf::expected<bool> revoke_api_key(pg_session& db, std::string_view org_id,
                                   std::string_view id);

/// Gives key `id` of `org_id` a new secret; the old one stays valid for
/// `grace`. nullopt when no such unrevoked key exists in that organization.
caf::expected<std::optional<issued_api_key>>
rotate_api_key(pg_session& db, std::string_view org_id, std::string_view id,
               std::chrono::milliseconds grace);

/// What a presented key authenticates.
/// NOTIFY channel of changes that may make a verified key unusable (see
/// migration 0006_auth_notify.sql); the payload is the table changed.
inline constexpr std::string_view auth_channel = "fp_auth";

struct usable_api_key {
  std::string id;
  std::string org_id;
  std::string org_slug;
  /// The creator (empty when that user was deleted).
  std::string user_id;
  std::string email;
  std::vector<std::string> scopes;
  /// How much longer the key stays usable as presented: until its expiry
  /// or, for a previous secret, the end of the rotation grace. None when
  /// nothing ends it but revocation.
  std::optional<std::chrono::milliseconds> usable_for;
  /// This lookup recorded last_used_at (it was over a minute old).
  bool touched = false;
};

/// The key `presented` ("fpk_..._...") when it exists, is neither revoked
/// nor expired, belongs to an active organization and its secret matches
/// the current one or, within the rotation grace, the previous one.
/// Records last_used_at at most once a minute.
caf::expected<std::optional<usable_api_key>>
find_usable_api_key(pg_session& db, std::string_view presented);

/// Records that key `id` was used, unless that was recorded within the last
/// minute (for callers that verified the key without the database).
caf::error touch_api_key(pg_session& db, std::string_view id);

} // namespace fp::storage
