#pragma once

// Dependency resolution for package installs: from one requested package
// (a name and a range), pick one version of every package it needs,
// transitively, so that every dependency range is satisfied by the chosen
// version. Highest versions first, backtracking on conflicts. Pure: the
// registry is read through a callback.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fp/actors/semver.hpp"

namespace fp::actors {

/// One published version as the resolver sees it.
struct candidate_version {
  semver::version version;
  std::string version_text;
  bool yanked = false;
  /// Package name -> range text.
  std::map<std::string, std::string> dependencies;
};

/// Every published version of `package` (any order; empty when unknown).
using version_source =
  std::function<std::vector<candidate_version>(const std::string& package)>;

/// Versions already installed in the organization (package -> version
/// text). A dependency satisfied by an installed version is kept at that
/// version; one that is installed in a version outside the range is a
/// conflict (upgrading a dependency is an explicit act).
using installed_versions = std::map<std::string, std::string>;

struct resolution {
  /// Package -> chosen version text, the root included.
  std::map<std::string, std::string> chosen;
  /// Packages to install, dependencies before their dependents (already
  /// installed ones left out); the root is last.
  std::vector<std::string> install_order;
};

/// Why resolution failed, spelled out for the user:
///   kind "not_found": no such package;
///   kind "no_match":  no non-yanked version satisfies a range ("no version
///                     of acme/b satisfies ^3.0 (required by acme/a 1.2.0);
///                     available: 1.0.0, 2.1.0");
///   kind "conflict":  two requirements no single version meets ("acme/c:
///                     acme/a 1.0.0 requires ^1.0, acme/b 2.0.0 requires
///                     ^2.0"), or an installed version outside a range;
///   kind "cycle":     a dependency cycle ("acme/a 1.0.0 -> acme/b 1.0.0 ->
///                     acme/a").
struct resolution_error {
  std::string kind;
  std::string message;
  /// The packages involved, in the order the message names them.
  std::vector<std::string> packages;
};

struct resolution_result {
  std::optional<resolution> ok;
  std::optional<resolution_error> error;
};

/// Resolves `root` at a version satisfying `root_range` (an exact version
/// or a range). Yanked versions are never chosen for ranges; an exact root
/// version that is yanked is refused too (installations of it live on, but
/// no new ones). Pre-releases only when `include_prerelease` (or the range
/// names one, per semver.hpp).
resolution_result resolve_dependencies(const std::string& root,
                                       const std::string& root_range,
                                       const version_source& source,
                                       const installed_versions& installed = {},
                                       bool include_prerelease = false);

} // namespace fp::actors
