#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include "fp/runtime/actor_directory.hpp"
#include "fp/runtime/metrics.hpp"
#include "fp/runtime/supervisor.hpp"
#include "fp/runtime/type_ids.hpp"
#include "fp/storage/db_task.hpp"

namespace fp::storage {

/// Sizing and timeouts of the storage pool (see config::settings db_*).
struct pool_options {
  /// libpq connection string or `postgresql://` URL.
  std::string conninfo;
  /// Workers, each with one connection.
  unsigned size = 4;
  /// Requests allowed to wait for a worker; beyond it: errc::overloaded.
  unsigned queue_limit = 4096;
  std::chrono::milliseconds connect_timeout{5000};
  /// Per-connection `statement_timeout`; 0 disables it.
  std::chrono::milliseconds statement_timeout{30000};
  /// Attempts per task, the first included (retries of serialization
  /// failures, deadlocks and lost connections).
  unsigned max_attempts = 5;
};

/// The storage pool (and each of its workers):
///   describe           -> own status
///   (run, db_task)     -> attempts it took, or the task's error
/// Errors: errc::overloaded (queue full, at once), errc::unavailable
/// (database unreachable, promptly), the task's own error, or the
/// classified SQL error.
using storage_pool_actor
  = caf::typed_actor<runtime::describe_sig,
                     caf::replies_to<run_atom, db_task>::with<uint32_t>>;

/// Spawns the pool: a dispatcher (kind "storage_pool") that hands tasks to
/// `opts.size` detached workers (kind "storage_worker"), all enrolled in
/// `directory` below `parent_actor_id`. `metrics` and `directory` must
/// outlive the pool. Stopping the dispatcher stops its workers; requests
/// still waiting then get errc::unavailable.
storage_pool_actor spawn_storage_pool(caf::actor_system& sys,
                                      pool_options opts,
                                      runtime::metrics_registry& metrics,
                                      runtime::actor_directory& directory,
                                      uint64_t parent_actor_id);

/// Sends `task` to `pool` from an event-based actor and calls `on_ok(uint32_t
/// attempts)` or `on_err(caf::error&)`. Both handlers are required: CAF 0.17
/// terminates an actor on an unhandled error reply.
template <class Self, class F, class G>
void run(Self* self, const storage_pool_actor& pool, db_task task, F on_ok,
         G on_err) {
  self->request(pool, caf::infinite, fp::run_atom_v, std::move(task))
    .then(std::move(on_ok), std::move(on_err));
}

} // namespace fp::storage
