#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "fp/runtime/actor_directory.hpp"
#include "fp/runtime/actor_slot.hpp"
#include "fp/runtime/messages.hpp"
#include "fp/runtime/type_ids.hpp"

namespace fp::runtime {

/// Every describable actor answers this with its own state and mailbox size.
using describe_sig = caf::replies_to<describe_atom>::with<actor_status>;

/// How a supervisor starts one child. `start` runs inside the supervisor and
/// must spawn the child (not linked: the supervisor monitors it) and return
/// its handle; it runs again on every restart, so the child rebuilds its
/// state from storage rather than from the dead incarnation.
struct child_spec {
  std::string name;  // unique among siblings, e.g. "storage_pool"
  std::string kind;  // for the actor tree, e.g. "storage_pool"
  std::function<caf::actor(caf::local_actor* supervisor)> start;
  actor_slot_ptr slot = std::make_shared<actor_slot>();
};

/// Restart budget: more than `limit` restarts of one child within `window`
/// is a crash loop, and the supervisor gives up. Between restarts it waits
/// an exponentially growing backoff from `backoff_min` up to `backoff_max`.
struct restart_policy {
  unsigned limit = 5;
  std::chrono::milliseconds window{60000};
  std::chrono::milliseconds backoff_min{50};
  std::chrono::milliseconds backoff_max{5000};
};

/// A one_for_one supervisor: a crashed child is restarted alone.
///   describe            -> its own status
///   (child, name)       -> the child's current handle (error if unknown)
///   (restart, name)     -> internal: a delayed restart falling due
using supervisor_actor
  = caf::typed_actor<describe_sig,
                     caf::replies_to<child_atom, std::string>::with<caf::actor>,
                     caf::reacts_to<restart_atom, std::string>>;

/// Called once when a child exhausts its restart budget; the supervisor then
/// stops all children (in reverse start order) and quits.
using give_up_fn = std::function<void(const std::string& reason)>;

/// Spawns a supervisor that starts `children` in order and enrolls itself and
/// them in `directory`. `id` names it in the actor tree ("root").
supervisor_actor spawn_supervisor(caf::actor_system& sys,
                                  actor_directory& directory, std::string id,
                                  std::vector<child_spec> children,
                                  restart_policy policy, give_up_fn on_give_up);

/// Blocks until `sup` has run its start-up (CAF initializes a spawned actor
/// asynchronously, on its first turn), i.e. until every child was started
/// and its slot filled. For composition roots only: never call it from
/// inside an actor. Returns an error if the supervisor does not answer
/// within `timeout`.
caf::error await_started(caf::actor_system& sys, const supervisor_actor& sup,
                         std::chrono::milliseconds timeout);

} // namespace fp::runtime
