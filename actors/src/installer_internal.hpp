#pragma once

// Private to the installer sources: reading published manifests, moving an
// installation through its lifecycle (row, transition, signal together),
// credentials as config secrets, and small JSON helpers.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "fp/actors/dependency_resolver.hpp"
#include "fp/actors/installer.hpp"
#include "fp/actors/package_manifest.hpp"
#include "fp/storage/installations.hpp"

namespace fp::actors::installer_detail {

/// The JSON string literal of `text`.
std::string quote(std::string_view text);

/// The current time as RFC 3339 UTC with milliseconds.
std::string now_rfc3339();

/// Every published version of `package` as the resolver sees them.
std::vector<candidate_version> candidates_of(storage::pg_session& db,
                                             const std::string& package);

/// Versions of live, usable installations (installed, disabled,
/// upgrading), except `skip_id`.
caf::expected<installed_versions> installed_of(storage::pg_session& db,
                                               std::string_view slug,
                                               std::string_view skip_id = {});

/// The parsed manifest of `package` at `version`. errc::not_found when no
/// such version is published, errc::internal when it does not parse.
caf::expected<package_manifest> load_manifest(storage::pg_session& db,
                                              std::string_view package,
                                              std::string_view version);

/// A dependency map as JSON object text.
std::string dependencies_json(const std::map<std::string, std::string>& deps);

/// A manifest's limits as JSON object text (unset members absent), what
/// the installation row keeps and the engine enforces.
std::string limits_json(const manifest_limits& limits);

/// The secrets of installation `id` (field -> JSON text of the value),
/// opened with `keys`; fields starting with `prefix` only, the prefix
/// removed (pending values of an upgrade use "@next.").
caf::expected<std::vector<std::pair<std::string, std::string>>>
open_secrets(storage::pg_session& db, std::string_view slug,
             const runtime::key_ring& keys, std::string_view id,
             std::string_view prefix = {});

/// Prefix of credentials waiting for an upgrade to succeed.
inline constexpr std::string_view pending_prefix = "@next.";

/// Emits one lifecycle signal in the caller's transaction.
caf::error emit_signal(storage::pg_session& db, const tenant_ref& tenant,
                       const storage::signal_actor& actor,
                       const std::string& type, const std::string& payload,
                       const std::string& correlation_id);

/// Enqueues installer job `kind` for installation `id`.
caf::error enqueue_installer_job(storage::pg_session& db, const tenant_ref& tenant,
                                 std::string_view kind, const std::string& id);

/// Moves `x` to state `to` (updating its row with the rest of `x`),
/// records the transition and emits `signal_type` (when not empty) with
/// `payload` as `actor`.
caf::error transition(storage::pg_session& db, const tenant_ref& tenant,
                      storage::installation_record& x, std::string_view to,
                      std::string detail, const storage::signal_actor& actor,
                      const std::string& signal_type, const std::string& payload);

/// The signal payload {installation_id, package, version, ...extra}
/// (`extra`: members as JSON text without braces, may be empty).
std::string signal_payload(const storage::installation_record& x,
                           const std::string& extra = {});

/// A step failure: what went wrong where.
struct step_failure {
  std::string step;
  std::string message;
  std::vector<schema_issue> issues;
};

/// The error report JSON {step, message, issues, at}.
std::string error_json(const step_failure& f);

/// `{"step":..,"message":..}` for signal payloads.
std::string error_member(const step_failure& f);

/// A set of secret pairs from a request: inline config secrets and
/// `credentials`, validated against the schema's secret fields.
struct request_config {
  std::string plain = "{}";
  std::vector<std::pair<std::string, std::string>> secrets;
};
caf::expected<request_config>
split_request_config(const std::string& schema, const std::string& config,
                     const std::map<std::string, std::string>& credentials,
                     std::vector<schema_issue>* issues);

/// The members of `overlay` (JSON object) put over those of `base`.
std::string merge_objects(std::string_view base, std::string_view overlay);

/// True for errors a retry may fix (database unavailable, serialization
/// failures); the rest are a step's failure.
bool is_transient(const caf::error& err) noexcept;

} // namespace fp::actors::installer_detail
