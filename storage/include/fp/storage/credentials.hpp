#pragma once

// Installation credentials in {{schema}}.credentials
// (migrations/tenant/0006_installations.sql): secret config fields sealed
// with the key ring (runtime/secret_box.hpp). Plaintext goes in and comes
// out only through these functions; nothing here logs a value. The
// installer stores each secret field's JSON text (a string keeps its
// quotes), so a secret that is a number or an object keeps its type; the
// fingerprint is taken over that same text.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "fp/runtime/secret_box.hpp"

namespace fp::storage {

class pg_session;

/// What the API may show of a credential.
struct credential_info {
  std::string field;
  std::string key_id;
  std::string fingerprint;
  /// RFC 3339 UTC.
  std::string updated_at;
};

/// The additional authenticated data of a credential:
/// "org_<slug>/credentials/<installation>/<field>".
std::string credential_aad(std::string_view slug, std::string_view installation_id,
                           std::string_view field);

/// Seals `plaintext` and stores it as `field` of `installation_id`
/// (replacing an earlier value).
caf::expected<credential_info>
put_credential(pg_session& db, std::string_view slug, const runtime::key_ring& keys,
               std::string_view installation_id, std::string_view field,
               std::string_view plaintext);

/// Opens field `field` of `installation_id`; nullopt when unset. Errors:
/// the ring's (unknown key, tampered value) — never with the value.
caf::expected<std::optional<std::string>>
get_credential(pg_session& db, std::string_view slug, const runtime::key_ring& keys,
               std::string_view installation_id, std::string_view field);

/// The credentials of `installation_id` without values, by field.
caf::expected<std::vector<credential_info>>
list_credentials(pg_session& db, std::string_view slug,
                 std::string_view installation_id);

/// Deletes every credential of `installation_id`; returns how many.
caf::expected<int64_t> delete_credentials(pg_session& db, std::string_view slug,
                                          std::string_view installation_id);

/// What `reencrypt_all` did in one tenant.
struct reencrypt_report {
  int64_t credentials = 0;
  int64_t webhook_secrets = 0;
  /// Values that did not open (unknown key or tampered): left as they are
  /// and listed as "<table>/<row>" so an operator can act.
  std::vector<std::string> unreadable;
};

/// Re-seals every credential and webhook destination secret of tenant
/// `slug` not sealed with the ring's active key (plaintext webhook secrets
/// of older rows included), in the caller's transaction.
caf::expected<reencrypt_report>
reencrypt_tenant(pg_session& db, std::string_view slug, const runtime::key_ring& keys);

/// The AAD of a webhook destination secret: "org_<slug>/webhook_destinations/<id>".
std::string webhook_secret_aad(std::string_view slug, std::string_view destination_id);

/// How many stored values of one tenant one key seals.
struct sealed_count {
  /// Empty: webhook secrets still stored in plaintext (older rows).
  std::string key_id;
  int64_t credentials = 0;
  int64_t webhook_secrets = 0;
};

/// The values of tenant `slug` by the key that seals them, by key id (a
/// tenant not yet migrated to the credentials table counts only its webhook
/// secrets).
caf::expected<std::vector<sealed_count>> count_sealed(pg_session& db,
                                                      std::string_view slug);

} // namespace fp::storage
