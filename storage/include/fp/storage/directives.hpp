#pragma once

// Directives, directive policies and webhook destinations in the tenant
// tables of migrations/tenant/0003_directives.sql. Every function takes the
// tenant's validated slug and runs in the caller's transaction.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "fp/runtime/secret_box.hpp"
#include "fp/storage/signals.hpp"

namespace fp::storage {

class pg_session;

// -- directives ---------------------------------------------------------------------

/// One stored directive.
struct directive_record {
  std::string id;
  std::string type;
  /// JSON object text.
  std::string params = "{}";
  std::string state;
  /// Empty: none.
  std::string idempotency_key;
  std::string correlation_id;
  /// Empty: none.
  std::string causation_id;
  /// The signal of the latest transition (causation of the next one).
  std::string last_signal_id;
  /// Who proposed it.
  signal_actor actor;
  /// "member", "admin" or "owner".
  std::string approver_role = "admin";
  /// Who approved, rejected or cancelled it; empty otherwise.
  std::string decided_by;
  std::string reason;
  /// JSON text of the executor's result; empty: none.
  std::string result;
  std::string error;
  /// JSON array text: [{attempt, error, at}, ...].
  std::string attempt_errors = "[]";
  /// RFC 3339 UTC.
  std::string created_at;
  std::string updated_at;
};

/// The outcome of `insert_directive`.
struct inserted_directive {
  directive_record record;
  /// False when a live (not failed) directive with the same idempotency key
  /// existed; `record` is that one.
  bool created = true;
};

/// Inserts `d` (id, type, params, state, keys, actor, approver_role set by
/// the caller) unless its idempotency key names a live directive.
caf::expected<inserted_directive>
insert_directive(pg_session& db, std::string_view slug,
                 const directive_record& d);

/// Directive `id`, locked FOR UPDATE when `lock`; nullopt when absent.
caf::expected<std::optional<directive_record>>
find_directive(pg_session& db, std::string_view slug, std::string_view id,
               bool lock = false);

/// Filters of `list_directives`.
struct directive_filter {
  /// Empty: any.
  std::string state;
  std::string type;
  /// Only the directives of this correlation; empty: any.
  std::string correlation_id;
  /// Only directives with an id below this one (cursor); empty: from the
  /// newest.
  std::string before_id;
  int limit = 50;
};

/// Directives newest first.
caf::expected<std::vector<directive_record>>
list_directives(pg_session& db, std::string_view slug,
                const directive_filter& filter);

/// What a transition changes besides the state.
struct directive_update {
  std::string state;
  std::string last_signal_id;
  /// Empty fields are left unchanged.
  std::string decided_by;
  std::string reason;
  /// JSON text.
  std::string result;
  std::string error;
};

/// Writes a transition of directive `id`.
caf::error update_directive(pg_session& db, std::string_view slug,
                            std::string_view id, const directive_update& u);

/// Appends one failed attempt to the directive's `attempt_errors`.
caf::error append_directive_attempt_error(pg_session& db, std::string_view slug,
                                          std::string_view id, int attempt,
                                          std::string_view error);

// -- policies -----------------------------------------------------------------------

/// A tenant's override of the policy of one directive type.
struct directive_policy_row {
  std::string type;
  /// "auto" or "approval".
  std::string mode;
  std::string approver_role;
  std::string updated_at;
};

/// The override for `type`, or nullopt.
caf::expected<std::optional<directive_policy_row>>
find_directive_policy(pg_session& db, std::string_view slug,
                      std::string_view type);

/// Every override, by type.
caf::expected<std::vector<directive_policy_row>>
list_directive_policies(pg_session& db, std::string_view slug);

/// Creates or replaces the override of `row.type`.
caf::expected<directive_policy_row>
upsert_directive_policy(pg_session& db, std::string_view slug,
                        const directive_policy_row& row);

// -- webhook destinations -----------------------------------------------------------

/// An allowlisted webhook destination.
struct webhook_destination {
  std::string id;
  std::string url;
  std::string description;
  /// "whsec_<base64>" in plaintext; only filled where a caller needs it
  /// (signing, the answer of create). At rest it is sealed with the key
  /// ring under webhook_secret_aad (storage/credentials.hpp).
  std::string secret;
  /// The installation that created it; empty: created through the API.
  std::string installation_id;
  std::string created_at;
};

/// Creates a destination. `secret` empty: a fresh one; otherwise it must be
/// a usable "whsec_<base64>" secret (else runtime::errc::invalid_argument,
/// without the value). The secret is stored sealed with `keys`; a null ring
/// stores it in plaintext (tools and tests without master keys only).
/// `installation_id` (empty: none) records the installation that created
/// it. A URL already on the list gives runtime::errc::conflict.
caf::expected<webhook_destination>
create_webhook_destination(pg_session& db, std::string_view slug,
                           const runtime::key_ring* keys, std::string_view url,
                           std::string_view description,
                           std::string_view secret = {},
                           std::string_view installation_id = {});

/// Every destination, without secrets, oldest first.
caf::expected<std::vector<webhook_destination>>
list_webhook_destinations(pg_session& db, std::string_view slug);

/// Deletes destination `id`; false when there is none.
caf::expected<bool> delete_webhook_destination(pg_session& db,
                                               std::string_view slug,
                                               std::string_view id);

/// Destination `id` with its secret opened by `keys` (a row written before
/// secrets were sealed passes through as it is), or nullopt. A sealed
/// secret that does not open (null ring, unknown key, tampered) gives
/// runtime::errc::internal naming the destination, never the value.
caf::expected<std::optional<webhook_destination>>
find_webhook_destination(pg_session& db, std::string_view slug,
                         const runtime::key_ring* keys, std::string_view id);

/// The destination (with secret, opened as by `find_webhook_destination`)
/// whose URL is the longest prefix of `url`, or nullopt when `url` is on no
/// destination's list.
caf::expected<std::optional<webhook_destination>>
match_webhook_destination(pg_session& db, std::string_view slug,
                          const runtime::key_ring* keys, std::string_view url);

/// A fresh secret "whsec_<base64 of 24 random bytes>".
std::string new_webhook_secret();

// -- what triggers directives ------------------------------------------------------

/// What `signal.handle` needs of a subscription.
struct subscription_target {
  std::string directive_type;
  /// JSON object text.
  std::string params = "{}";
  bool enabled = true;
};

/// The directive target of subscription `id`, or nullopt when absent.
caf::expected<std::optional<subscription_target>>
find_subscription_target(pg_session& db, std::string_view slug,
                         std::string_view id);

/// What a directive needs of the signal that caused it.
struct trigger_signal {
  std::string id;
  std::string type;
  /// JSON object text.
  std::string payload;
  std::string correlation_id;
};

/// Signal `id` of tenant `slug`, or nullopt when absent.
caf::expected<std::optional<trigger_signal>>
find_trigger_signal(pg_session& db, std::string_view slug, std::string_view id);

// -- JSON members -------------------------------------------------------------------

/// One member of a JSON object as PostgreSQL sees it.
struct json_member {
  /// False when absent.
  bool present = false;
  /// jsonb_typeof: "object", "array", "string", "number", "boolean", "null".
  std::string kind;
  /// Strings unquoted; other values as JSON text.
  std::string text;
};

/// Members `names` of the JSON object `json` (in the order of `names`);
/// runtime::errc::invalid_argument when `json` is no JSON object.
caf::expected<std::vector<json_member>>
json_members(pg_session& db, std::string_view json,
             const std::vector<std::string>& names);

} // namespace fp::storage
