#pragma once

// Pure rules of package installations: the lifecycle state machine and the
// config migration an upgrade runs. No actors, no SQL.
//
//   requested -> installing -> installed | failed
//   installed <-> disabled
//   installed -> upgrading -> installed        (new version, or rolled back)
//   installed | disabled | failed -> uninstalling -> uninstalled
//   failed -> installing                       (retry of a failed install)

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "fp/actors/package_manifest.hpp"

namespace fp::actors {

enum class installation_state {
  requested,
  installing,
  installed,
  failed,
  disabled,
  upgrading,
  uninstalling,
  uninstalled,
};

const char* to_string(installation_state s) noexcept;
std::optional<installation_state> parse_installation_state(std::string_view text) noexcept;

/// True when the lifecycle allows `from` -> `to`.
bool installation_transition_allowed(installation_state from,
                                     installation_state to) noexcept;

/// The signal type of a lifecycle event: "package.install.requested",
/// "package.install.completed", "package.install.failed",
/// "package.upgrade.requested|completed|failed",
/// "package.uninstall.requested|completed|failed",
/// "package.installation.disabled|enabled".
/// `operation` is install | upgrade | uninstall | disable | enable;
/// `phase` is requested | completed | failed (ignored for disable/enable).
std::string installation_signal_type(std::string_view operation,
                                     std::string_view phase);

/// Applies `upgrade` steps of kind config.rename / config.set /
/// config.remove (other actions are skipped) to `config` (a JSON object
/// text) and returns the migrated config. A rename whose source is absent
/// does nothing; a rename onto an existing field replaces it. Errors:
/// runtime::errc::invalid_argument for a bad path or non-object config.
caf::expected<std::string> migrate_config(std::string_view config,
                                          const std::vector<manifest_step>& steps);

/// The full configuration an install or upgrade validates: `plain` with
/// every secret value of `secrets` (path -> JSON text) put back at its
/// path, then the schema's defaults applied.
caf::expected<std::string> merge_config(std::string_view config_schema,
                                        std::string_view plain,
                                        const std::vector<std::pair<std::string, std::string>>& secrets);

} // namespace fp::actors
