#pragma once

// Private to the job dispatcher: what it shares with its workers and
// listener, and the messages between them (local only).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "fp/actors/job_dispatcher.hpp"
#include "fp/runtime/backoff.hpp"
#include "fp/storage/jobs.hpp"

namespace fp::actors::detail {

/// Metric series of one queue.
struct queue_metrics {
  runtime::counter* claimed = nullptr;
  runtime::counter* completed = nullptr;
  runtime::counter* failed = nullptr;
  runtime::counter* discarded = nullptr;
  runtime::counter* stale = nullptr;
};

/// What the dispatcher, its workers and its listener share. Immutable after
/// spawn except the metric lookups (guarded by `mtx`) and the outbox of
/// deferred completions (guarded by its own mutex).
struct job_context_shared {
  job_dispatcher_options opts;
  runtime::backoff_policy backoff;
  /// Used when opts.metrics is null.
  std::unique_ptr<runtime::metrics_registry> own_metrics;
  runtime::metrics_registry* metrics = nullptr;
  runtime::histogram* wait = nullptr;
  runtime::histogram* start_delay = nullptr;
  runtime::counter* rescued = nullptr;
  runtime::counter* pruned = nullptr;
  runtime::counter* scheduled = nullptr;

  std::mutex mtx;
  std::map<std::string, queue_metrics, std::less<>> per_queue;

  /// The series of `queue` (created on first use).
  queue_metrics& of(const std::string& queue);

  /// Adds `leases` (completed, not recorded) to the outbox the dispatcher
  /// records with its next claim; false once the dispatcher is stopping
  /// (the worker then records them itself).
  bool defer(std::vector<storage::job_lease>& leases);

  /// Takes the outbox; with `stop`, later `defer` calls are refused.
  std::vector<storage::job_lease> take_deferred(bool stop = false);

private:
  std::mutex done_mtx_;
  bool stopping_ = false;
  std::vector<storage::job_lease> done_;
};

using context_ptr = std::shared_ptr<job_context_shared>;

/// Jobs claimed together, run by one worker in one transaction.
struct job_batch {
  std::vector<storage::claimed_job> jobs;
  std::chrono::steady_clock::time_point claimed_at;
  /// When every job ran without database work and completed, leave the
  /// completion to the dispatcher (it records it with its next claim).
  bool defer_completion = false;
};

/// What a worker did with a batch.
struct job_batch_report {
  std::vector<int64_t> completed;
  std::vector<int64_t> retried;
  std::vector<int64_t> discarded;
  /// Lost their lease before they could finish (rescued, cancelled).
  std::vector<int64_t> stale;
  /// Every job completed without database work and was handed to the
  /// dispatcher's outbox unrecorded (see `job_context_shared::defer`); the
  /// lists above are then empty.
  bool deferred = false;
  /// Set when the batch's transaction failed: nothing of it was recorded
  /// (its leases will expire and the jobs be rescued).
  caf::error err;
};

} // namespace fp::actors::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fp::actors::detail::job_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fp::actors::detail::job_batch_report)

namespace fp::actors::detail {

/// A worker thread with its own connection:
///   describe            -> own status
///   (run, job_batch)    -> what became of the batch
using job_worker_actor = caf::typed_actor<
  runtime::describe_sig,
  caf::replies_to<run_atom, job_batch>::with<job_batch_report>>;

/// Spawns a detached worker.
job_worker_actor spawn_job_worker(caf::local_actor* parent, context_ptr ctx);

/// Runs `batch` on `db` (see job_dispatcher.hpp); never throws.
job_batch_report run_job_batch(job_context_shared& ctx,
                               storage::pg_session& db, const job_batch& batch);

/// A detached actor that LISTENs on `fp_jobs` and sends (wake, queue) to
/// `dispatcher` for each notified queue, and (wake, "") after reconnecting
/// (notifications may have been missed meanwhile).
caf::actor spawn_job_listener(caf::local_actor* parent, context_ptr ctx,
                              job_dispatcher_actor dispatcher);

} // namespace fp::actors::detail
