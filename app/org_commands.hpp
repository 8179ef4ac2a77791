#pragma once

// The tenancy commands of the `fleetprompt` binary: `org create|list`,
// `doctor [--fix]`, and the tenant half of `migrate`.

#include <string>

#include "fp/config/cli.hpp"

namespace fp::app {

/// `fleetprompt org create --slug S --name N --owner EMAIL` and
/// `fleetprompt org list`.
int run_org(const config::command_line& cli);

/// `fleetprompt doctor [--fix]`: orphan tenant schemas and organizations
/// stuck in provisioning; `--fix` rolls them back.
int run_doctor(const config::command_line& cli);

/// After the public migrations: applies the tenant migrations to every
/// active tenant (batched, `tenant-migrate-*` settings) and prints a
/// summary. Returns 0 when every tenant is up to date.
int migrate_tenants(const config::settings& s, const std::string& url);

/// For `migrate --status`: prints how many tenants are behind, and which.
int print_tenant_status(const config::settings& s, const std::string& url);

} // namespace fp::app
