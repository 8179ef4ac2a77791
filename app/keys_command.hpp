#pragma once

// `fleetprompt keys list|rotate`: the master keys sealing credentials and
// webhook secrets, and their rotation across every tenant.

#include <vector>

#include "fp/config/cli.hpp"

namespace fp::app {

/// The command's flags (`--no-new-key`).
std::vector<config::flag_spec> keys_flags();

/// `fleetprompt keys list`: every key id of the configured ring, which one
/// is active, and how many stored values each seals across all tenants
/// (plus values sealed with keys the ring lacks, and plaintext webhook
/// secrets of older rows).
///
/// `fleetprompt keys rotate [--no-new-key]`: adds a fresh active key to the
/// key file (not with --no-new-key, nor when the keys come only from
/// master_keys), then re-seals every tenant's credentials and webhook
/// secrets under the active key, one transaction per tenant, and prints the
/// counts. Exit code 1 when a value could not be opened (listed), 2 on bad
/// usage.
int run_keys(const config::command_line& cli);

} // namespace fp::app
