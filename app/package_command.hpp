#pragma once

// `fleetprompt package publish <file-or-dir>`: publishes a package manifest
// straight to the database as a platform admin (like `org create`).

#include "fp/config/cli.hpp"

namespace fp::app {

/// `fleetprompt package publish <file-or-dir>` (a directory means its
/// `fleetprompt.package.json`). Prints "published <name>@<version>" or
/// "unchanged <name>@<version>"; a one-line error and exit code 1 when the
/// manifest is invalid or the version exists with other content, 2 on bad
/// usage.
int run_package(const config::command_line& cli);

} // namespace fp::app
