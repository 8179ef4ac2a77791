#pragma once

// Private to the package routes: the registry logic that is not storage
// and not HTTP — SemVer ordering of stored versions, the latest version of
// a package, the dependencies of a stored manifest, and dependency
// resolution against the registry tables.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "fp/actors/dependency_resolver.hpp"
#include "fp/storage/packages.hpp"

namespace fp::net::package_detail {

/// Sorts `versions` by SemVer precedence, highest first (texts that do not
/// parse, which the registry never stores, go last).
void sort_by_precedence(std::vector<storage::package_version_record>& versions);

/// The highest non-yanked release of `versions` (texts), else the highest
/// non-yanked pre-release; empty when every version is yanked.
std::string latest_version(const std::vector<storage::package_version_summary>& versions);

/// The `dependencies` member (name -> range) of a manifest's JSON text;
/// empty when absent or unreadable.
std::map<std::string, std::string> manifest_dependencies(std::string_view manifest);

/// Resolves `root` at `range` against the registry through `db` (run it in
/// a db task). A database error ends the resolution and is returned as
/// the error; otherwise the resolver's result.
caf::expected<actors::resolution_result>
resolve_in_registry(storage::pg_session& db, const std::string& root,
                    const std::string& range, bool include_prerelease,
                    const actors::installed_versions& installed = {});

} // namespace fp::net::package_detail
