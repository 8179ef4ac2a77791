#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "fp/storage/pg_session.hpp"

namespace fp::storage {

/// One forward-only schema migration.
struct migration {
  int version = 0;
  std::string name;     // "nodes" for 0001_nodes.sql
  std::string sql;      // must not contain BEGIN/COMMIT: it runs in our transaction
  std::string checksum; // sha256 hex of `sql`
};

/// Version and name parsed from a migration file name.
struct migration_file_name {
  int version = 0;
  std::string name;
};

/// Parses `NNNN_name.sql`: 4 or more digits (a positive version), `_`, a
/// name of [a-z0-9_], `.sql`. nullopt for anything else.
std::optional<migration_file_name>
parse_migration_file_name(std::string_view file_name);

/// Builds a migration (checksum included) from a file name and its text;
/// nullopt when the name is invalid.
std::optional<migration> make_migration(std::string_view file_name,
                                        std::string sql);

/// The public-schema migrations compiled into this binary, by version.
const std::vector<migration>& public_migrations();

/// State of one migration in a database (named apart from the function
/// `migration_status`, which returns a list of them).
struct migration_state {
  int version = 0;
  std::string name;
  bool applied = false;
  std::string applied_at; // ISO 8601 UTC, empty when pending
  /// False when the applied text differs from ours, or when the database
  /// has a version this binary does not know (then `name` is the recorded
  /// one).
  bool checksum_ok = true;
};

/// Lists `known` (and unknown applied versions), by version. Read-only: a
/// database without `public.schema_migrations` has everything pending.
caf::expected<std::vector<migration_state>>
migration_status(pg_session& session, const std::vector<migration>& known);

/// Applies the pending migrations of `known` in version order, each in one
/// transaction together with its bookkeeping row, under a session-level
/// advisory lock that serialises concurrent migrators. Returns how many it
/// applied. Refuses with errc::migration_tampered (applying nothing) when an
/// applied migration's checksum changed or an applied version is unknown;
/// errc::migration_failed names the migration whose SQL failed.
caf::expected<int> apply_migrations(pg_session& session,
                                    const std::vector<migration>& known);

/// Pending public migrations (readiness). errc::migration_tampered when the
/// database does not match this binary.
caf::expected<int> pending_migration_count(pg_session& session);

} // namespace fp::storage
