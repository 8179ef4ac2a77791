#pragma once

// What the installer's operations (installer_jobs.cpp: install, upgrade,
// uninstall) and its resource steps (installer_resources.cpp: building,
// creating, changing and deleting what a package declares) share.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>

#include "fp/actors/package_manifest.hpp"
#include "fp/storage/installations.hpp"
#include "installer_internal.hpp"

namespace fp::actors::installer_detail {

/// Where one job works.
struct job_ctx {
  storage::pg_session& db;
  const tenant_ref& tenant;
  const runtime::key_ring& keys;
};

/// What a sequence of steps came to: fine, a step's failure (recorded on
/// the installation) or a transient error (the job retries).
struct outcome {
  caf::error transient;
  std::optional<step_failure> failure;
  bool ok() const noexcept {
    return !transient && !failure;
  }
};

/// The context message of `err`, else CAF's rendering.
std::string message_of(const caf::error& err);

/// `step` failed with `message` (and the schema issues behind it).
outcome fail(std::string step, std::string message,
             std::vector<schema_issue> issues = {});

/// A database or rule error met by `step`: transient errors retry the job,
/// others fail the step with `prefix` + the error's message.
outcome fail_on(std::string step, const caf::error& err, std::string prefix = {});

/// Runs one SQL statement without parameters (savepoints).
caf::error exec(storage::pg_session& db, const char* sql);

/// Runs the steps of `list` ("install", "upgrade", "uninstall").
outcome run_steps(job_ctx& c, const storage::installation_record& x,
                  const std::vector<manifest_step>& steps, const std::string& list,
                  const std::string& plain);

/// Checks permissions and config of `x` against `m` with its opened
/// secrets; `plain` receives the non-secret config with defaults applied.
outcome check_install(const storage::installation_record& x,
                      const package_manifest& m,
                      const std::vector<std::pair<std::string, std::string>>& secrets,
                      std::string& plain);

/// Creates everything `m` declares for `x` and runs its install steps.
outcome install_one(job_ctx& c, const storage::installation_record& x,
                    const package_manifest& m,
                    const std::vector<std::pair<std::string, std::string>>& secrets);

/// Installs the dependencies of `root` at manifest `m` that are missing.
outcome install_dependencies(job_ctx& c, const storage::installation_record& root,
                             const package_manifest& m);

/// Brings the resources of `x` to manifest `m` (matched by kind and name).
outcome diff_resources(job_ctx& c, const storage::installation_record& x,
                       const package_manifest& m, const std::string& plain,
                       const std::vector<std::pair<std::string, std::string>>& secrets);

/// Deletes every resource recorded for `x`.
caf::error delete_resources(job_ctx& c, const storage::installation_record& x);

} // namespace fp::actors::installer_detail
