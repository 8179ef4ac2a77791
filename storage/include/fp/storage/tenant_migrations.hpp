#pragma once

// Tenant-schema migrations: the files of storage/migrations/tenant, applied
// once per organization schema and recorded in public.tenant_migrations.
// Their text names tenant tables as `{{schema}}.table`; the placeholder
// becomes the quoted schema of a validated slug (quoted_tenant_schema)
// so no statement ever depends on search_path.

#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "fp/storage/migrations.hpp"
#include "fp/storage/pg_session.hpp"

namespace fp::storage {

/// The placeholder replaced by the quoted tenant schema.
inline constexpr std::string_view schema_placeholder = "{{schema}}";

/// The tenant migrations compiled into this binary, by version (built with
/// `make_migration`, so names and checksums follow the public ones; the
/// checksum covers the text before substitution, equal for every tenant).
const std::vector<migration>& tenant_migrations();

/// The tenant schema of `slug` as a quoted SQL identifier, "\"org_<slug>\"".
/// Only valid slugs reach here, so no escaping is needed, but quotes are
/// doubled anyway.
std::string quoted_tenant_schema(std::string_view slug);

/// `sql` with every `{{schema}}` replaced by `quoted_schema`.
std::string render_tenant_sql(std::string_view sql,
                              std::string_view quoted_schema);

/// Highest version in `known`; 0 when empty.
int latest_version(const std::vector<migration>& known) noexcept;

/// Applies the pending migrations of `known` to one tenant inside the
/// caller's open transaction: takes a transaction-level advisory lock on a
/// per-organization key (concurrent appliers of one tenant wait for each
/// other), skips versions already in public.tenant_migrations, runs the rest
/// and records them. Returns how many it applied. errc::migration_tampered
/// when an applied checksum differs; errc::migration_failed names the
/// failing migration.
caf::expected<int> apply_tenant_migrations_in_tx(
  pg_session& session, const std::string& org_id, std::string_view quoted_schema,
  const std::vector<migration>& known);

/// `apply_tenant_migrations_in_tx` in its own transaction (BEGIN ... COMMIT,
/// retried like `run_transaction`): all of one tenant's pending migrations
/// commit together, or none does.
caf::expected<int> apply_tenant_migrations(pg_session& session,
                                           const std::string& org_id,
                                           std::string_view quoted_schema,
                                           const std::vector<migration>& known);

} // namespace fp::storage
