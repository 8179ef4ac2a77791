#pragma once

// Agent actors: one per agent under its tenant actor (kind "agent" in the
// actor directory). An agent actor is the parent of its execution actors
// (linked to it) and stays tiny while idle: runs read the agent's
// configuration in their own load transaction, so nothing is cached
// between runs.
//   describe           -> own status
//   (spawn, run)       adopt execution actor `run` (linked, counted)
//   reload             the agent changed: stop once idle
//   idle               internal: its idle timer falling due

#include <chrono>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "fp/runtime/actor_directory.hpp"

namespace fp::actors {

/// Spawns the actor of agent `agent_id` of tenant `slug` as a child of
/// `tenant` (linked), enrolled in `directory` (may be null). It stops after
/// `idle_timeout` without runs.
caf::actor spawn_agent_actor(caf::local_actor* tenant, std::string slug,
                             std::string agent_id,
                             std::chrono::milliseconds idle_timeout,
                             runtime::actor_directory* directory);

} // namespace fp::actors
