#pragma once

// Typed interfaces of the long-lived service actors that the HTTP front end
// and the composition root talk to. Domain actors (tenants, agents, ...) add
// their own interfaces here as they arrive.

#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "fp/runtime/messages.hpp"
#include "fp/runtime/supervisor.hpp"
#include "fp/runtime/type_ids.hpp"

namespace fp::runtime {

/// Answers `GET /api/v1/version`.
using version_actor
  = caf::typed_actor<describe_sig,
                     caf::replies_to<version_atom>::with<version_info>>;

/// Tracks database reachability and pending migrations for `GET /readyz`.
using health_actor
  = caf::typed_actor<describe_sig,
                     caf::replies_to<ready_atom>::with<readiness>>;

/// Builds the live actor tree for `GET /admin/actors`: asks every enrolled
/// actor to describe itself (with a short deadline) and merges the answers
/// with the directory. It also samples mailbox depths for `/metrics`.
using tree_actor = caf::typed_actor<
  describe_sig,
  caf::replies_to<tree_atom>::with<std::vector<actor_node>>,
  caf::reacts_to<tick_atom>>;

/// One organization's actor: owns that tenant's work. Started on first use by
/// the tenant registry, stopped when idle, rebuilt from PostgreSQL.
///   describe   -> own status
///   org        -> the organization id it serves
///   (agent, id) -> the actor of agent `id` (spawned on demand; as
///                 caf::actor, see actors/src/agent_actor.hpp)
///   (agent, id, reload) -> that agent changed: its actor restarts
///   (installation, id) -> the actor of installation `id` (spawned on
///                 demand; as caf::actor, see
///                 actors/src/installation_actor.hpp)
///   idle       -> internal: its idle timer falling due
using tenant_actor
  = caf::typed_actor<describe_sig,
                     caf::replies_to<org_atom>::with<std::string>,
                     caf::replies_to<agent_atom, std::string>::with<caf::actor>,
                     caf::reacts_to<agent_atom, std::string, reload_atom>,
                     caf::replies_to<installation_atom, std::string>::with<caf::actor>,
                     caf::reacts_to<idle_atom>>;

/// Finds or starts the actor of an organization:
///   describe         -> own status (live tenants in `state`)
///   (tenant, slug)   -> that organization's tenant actor (as caf::actor;
///                       cast to tenant_actor); not_found for a malformed
///                       slug or an organization that is not active
using tenant_registry_actor
  = caf::typed_actor<describe_sig,
                     caf::replies_to<tenant_atom, std::string>::with<caf::actor>,
                     caf::reacts_to<restart_atom, std::string>>;

/// Drops the schemas of deleted organizations once their grace has passed.
///   describe -> own status;  tick -> run one purge pass now
using org_reaper_actor
  = caf::typed_actor<describe_sig, caf::reacts_to<tick_atom>>;

} // namespace fp::runtime
