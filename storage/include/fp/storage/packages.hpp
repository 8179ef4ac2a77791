#pragma once

// The package registry in `public` (migrations/public/0005_packages.sql):
// publishers, packages and immutable versions. Every function runs in the
// caller's transaction. Manifests are validated before they get here
// (actors/package_manifest.hpp); this layer stores and finds them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace fp::storage {

class pg_session;

/// One published version.
struct package_version_record {
  std::string package;
  std::string version;
  /// Canonical manifest JSON text.
  std::string manifest;
  std::string content_sha256;
  bool yanked = false;
  std::string yanked_reason;
  std::string published_by;
  /// RFC 3339 UTC.
  std::string published_at;
};

/// One package as listed.
struct package_record {
  std::string name;
  std::string publisher;
  std::string description;
  /// Highest non-yanked release (else highest non-yanked pre-release;
  /// empty when every version is yanked) — filled by the caller, which
  /// knows SemVer precedence.
  std::string latest_version;
  int64_t version_count = 0;
  std::string created_at;
  std::string updated_at;
};

/// What `publish_package_version` did.
enum class publish_outcome {
  /// A new version was stored.
  created,
  /// The same version with the same content existed: nothing changed.
  unchanged,
};

/// Who publishes.
struct publisher_identity {
  /// Platform admins may publish under any publisher (claiming none).
  bool platform_admin = false;
  /// Else the organization of the API key (scope `publish`): it must own
  /// the publisher, or the publisher must be unclaimed (then it is claimed).
  std::string org_id;
  /// Recorded as published_by ("user:<id>" or "api_key:<id>").
  std::string who;
};

/// Stores version `version` (text as published; `version_key` is it
/// without build metadata) of `package` with its canonical manifest and
/// sha256, creating the publisher and package rows as needed and updating
/// the package's description. Errors: runtime::errc::forbidden (the
/// publisher belongs to another organization), errc::conflict (the version
/// — or one differing only in build metadata — exists with a different
/// content_sha256; the message says so).
caf::expected<publish_outcome>
publish_package_version(pg_session& db, const publisher_identity& who,
                        std::string_view package, std::string_view version,
                        std::string_view version_key,
                        std::string_view description,
                        std::string_view canonical_manifest,
                        std::string_view content_sha256);

/// Filters of `list_packages`.
struct package_filter {
  /// Case-insensitive substring of the name or description; empty: all.
  std::string query;
  /// Only packages whose name sorts after this one (cursor).
  std::string after_name;
  int limit = 50;
};

/// Packages by name (latest_version left empty).
caf::expected<std::vector<package_record>>
list_packages(pg_session& db, const package_filter& filter);

/// Package `name`, or nullopt.
caf::expected<std::optional<package_record>>
find_package(pg_session& db, std::string_view name);

/// Every version of `package` (any order), manifests included.
caf::expected<std::vector<package_version_record>>
list_package_versions(pg_session& db, std::string_view package);

/// Version `version` (exact text, or the same without build metadata) of
/// `package`, or nullopt.
caf::expected<std::optional<package_version_record>>
find_package_version(pg_session& db, std::string_view package,
                     std::string_view version);

/// Sets the yanked flag (and reason) of a version; nullopt when absent.
/// Only platform admins or the publisher's organization may (checked by
/// the caller with `package_publisher_org`).
caf::expected<std::optional<package_version_record>>
set_package_version_yanked(pg_session& db, std::string_view package,
                           std::string_view version, bool yanked,
                           std::string_view reason);

/// One version as listings and resolution need it (no manifest).
struct package_version_summary {
  std::string package;
  std::string version;
  bool yanked = false;
};

/// The versions of each of `packages` (any order), without manifests: what
/// the caller needs to compute `latest_version` for a page of packages in
/// one query.
caf::expected<std::vector<package_version_summary>>
list_version_summaries(pg_session& db, const std::vector<std::string>& packages);

/// The organization owning the publisher of `package` ("" when unclaimed),
/// or nullopt when the package does not exist.
caf::expected<std::optional<std::string>>
package_publisher_org(pg_session& db, std::string_view package);

} // namespace fp::storage
