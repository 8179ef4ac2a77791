#pragma once

// The job dispatcher: claims due jobs from public.jobs in batches and runs
// them on worker threads, each with its own database connection.
//
// * Woken by NOTIFY on `fp_jobs` (a listener thread), with polling as the
//   fallback; it claims again at once while work remains and slots are
//   free, per queue within the queue's concurrency limit.
// * A worker runs a batch in ONE transaction: it locks the batch's leases,
//   runs each handler inside a savepoint (rolled back on failure), and
//   completes or fails every job with one fenced statement before COMMIT.
//   A handler's database effects and its job's completion therefore commit
//   together, exactly once. A batch of handlers without database work
//   (`add_pure`) runs outside any transaction; when all of it completed,
//   the dispatcher records the completions (fenced) in the statement of its
//   next claim, and such queues are claimed `pure_batch` jobs at a time.
// * Leases of claimed jobs are extended every lease/3; expired leases of
//   crashed nodes are rescued, finished jobs pruned after the retention,
//   and due cron schedules enqueued, all on timers.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "fp/actors/job_registry.hpp"
#include "fp/runtime/actor_directory.hpp"
#include "fp/runtime/metrics.hpp"
#include "fp/runtime/supervisor.hpp"
#include "fp/runtime/type_ids.hpp"

namespace fp::actors {

/// How a dispatcher runs (see config::settings job_*).
struct job_dispatcher_options {
  /// libpq connection string or URL.
  std::string conninfo;
  /// Handlers by kind; a job of an unknown kind is discarded.
  std::shared_ptr<const job_registry> registry;
  /// Worker threads, one connection each.
  unsigned workers = 8;
  /// Most jobs claimed (and run in one transaction) at once.
  unsigned batch = 100;
  /// Most jobs claimed at once from a queue whose previous claim held only
  /// jobs with handlers that do no database work (`add_pure`): they finish
  /// fast, and their completions ride along with the next claim.
  unsigned pure_batch = 1000;
  /// Polling fallback when no NOTIFY arrives.
  std::chrono::milliseconds poll_interval{1000};
  /// Lease of a claimed job; extended every lease/3 while it runs.
  std::chrono::milliseconds lease{30000};
  /// Retry delays: exponential with full jitter between these bounds.
  std::chrono::milliseconds backoff_min{1000};
  std::chrono::milliseconds backoff_max{60 * 60 * 1000};
  /// Finished jobs older than this are pruned.
  std::chrono::milliseconds retention{7 * 24 * 60 * 60 * 1000LL};
  /// Lease owner written to claimed jobs (node id); empty: a random one.
  std::string owner;
  /// Only these queues (empty: every configured queue and every queue that
  /// has due jobs).
  std::vector<std::string> queues;
  /// Concurrency of queues without a row in public.job_queues.
  int default_concurrency = 1000;
  /// LISTEN for NOTIFY wake-ups (false: polling only).
  bool listen = true;
  std::chrono::milliseconds connect_timeout{5000};
  /// Metrics sink (optional) and actor directory (optional); both must
  /// outlive the dispatcher.
  runtime::metrics_registry* metrics = nullptr;
  runtime::actor_directory* directory = nullptr;
  /// Actor id of the supervisor, for the actor tree.
  uint64_t parent_id = 0;
};

/// How an asynchronous job (job_registry::add_async) ended, as its
/// completion reports it to the dispatcher (local only).
struct async_job_outcome {
  int64_t id = 0;
  int64_t fence = 0;
  int attempt = 1;
  /// Empty: completed; else the attempt failed with this error text.
  std::string error;
  bool failed = false;
  bool permanent = false;
};

} // namespace fp::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fp::actors::async_job_outcome)

namespace fp::actors {

/// The dispatcher:
///   describe        -> own status
///   (done, outcome) -> an asynchronous job ended
///   (wake, queue)   -> work arrived in `queue` ("" = look at every queue)
///   tick / beat / check / claim -> internal timers and claim rounds
using job_dispatcher_actor
  = caf::typed_actor<runtime::describe_sig,
                     caf::reacts_to<wake_atom, std::string>,
                     caf::reacts_to<tick_atom>, caf::reacts_to<beat_atom>,
                     caf::reacts_to<check_atom>, caf::reacts_to<claim_atom>,
                     caf::reacts_to<done_atom, async_job_outcome>>;

/// Spawns a dispatcher (detached: it owns a blocking control connection)
/// with its workers and listener, enrolled in `opts.directory` (kinds
/// "job_dispatcher", "job_worker", "job_listener"). Stopping it stops them.
job_dispatcher_actor spawn_job_dispatcher(caf::actor_system& sys,
                                          job_dispatcher_options opts);

} // namespace fp::actors
