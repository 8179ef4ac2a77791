#pragma once

// Typed interfaces of the long-lived service actors that the HTTP front end
// and the composition root talk to. Domain actors (tenants, agents, ...) add
// their own interfaces here as they arrive.

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

} // namespace fp::runtime
