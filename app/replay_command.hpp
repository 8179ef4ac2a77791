#pragma once

// `fleetprompt replay`: re-runs the subscription handlers of chosen
// signals of one organization under a new correlation.

#include <vector>

#include "fp/config/cli.hpp"

namespace fp::app {

/// The command's flags.
std::vector<config::flag_spec> replay_flags();

/// `fleetprompt replay --org SLUG (--signal ID | --since RFC3339
/// [--type PREFIX])`: prints one line per replayed signal and a summary.
/// Exit codes: 0 done, 1 failed (database, unknown organization or
/// signal), 2 bad usage.
int run_replay(const config::command_line& cli);

} // namespace fp::app
