#pragma once

// The durable job queue in public.jobs (see migrations/public/0003_jobs.sql).
// Jobs are enqueued inside the caller's transaction, so a job of a
// rolled-back transaction never exists; workers claim them in batches with
// FOR UPDATE SKIP LOCKED and hold a lease guarded by a fencing token.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "fp/runtime/backoff.hpp"

namespace fp::storage {

class pg_session;

/// NOTIFY channel that wakes job dispatchers; the payload is the queue name.
inline constexpr std::string_view jobs_channel = "fp_jobs";

/// A job to enqueue.
struct job_spec {
  /// Named queue; each queue has its own concurrency limit.
  std::string queue = "default";
  /// The handler that runs it, e.g. "directive.execute".
  std::string kind;
  /// Organization id the job works for ("" for platform jobs). Claims are
  /// fair across tenants: one tenant's flood cannot starve another's jobs.
  std::string tenant;
  /// Arguments: one JSON object (text).
  std::string args = "{}";
  /// Lower runs first.
  int priority = 0;
  /// When not empty, at most one unfinished job (available, scheduled or
  /// running) has this key; enqueueing another returns the existing one.
  std::string unique_key;
  /// Attempts before the job is discarded (dead letter), the first included.
  int max_attempts = 20;
  /// Not before this delay from now (scheduled job); zero runs at once.
  std::chrono::milliseconds delay{0};
};

/// The outcome of one enqueue.
struct enqueued_job {
  int64_t id = 0;
  /// False when `unique_key` matched an unfinished job (whose id is `id`).
  bool inserted = true;
};

/// Enqueues `spec` in the caller's transaction (the NOTIFY that wakes the
/// dispatchers is delivered at COMMIT, and never for a rollback).
caf::expected<enqueued_job> enqueue_job(pg_session& db, const job_spec& spec);

/// Enqueues several jobs in one statement (same semantics, in order).
caf::expected<std::vector<enqueued_job>>
enqueue_jobs(pg_session& db, const std::vector<job_spec>& specs);

// -- claiming and finishing ---------------------------------------------------

/// A job handed to a worker by `claim_jobs`.
struct claimed_job {
  int64_t id = 0;
  /// The lease's fencing token; finishing must present it.
  int64_t fence = 0;
  std::string queue;
  std::string kind;
  std::string tenant;
  /// JSON object text.
  std::string args;
  int priority = 0;
  /// 1 on the first run.
  int attempt = 1;
  int max_attempts = 1;
  /// Seconds from the job's due time (run_at) to this claim.
  double waited = 0;
};

/// One held lease: a job id and the fencing token of its current claim.
struct job_lease {
  int64_t id = 0;
  int64_t fence = 0;
};

/// Claims up to `limit` due jobs of `queue` for `owner`: each becomes
/// running with attempt + 1, fence + 1 and a lease until now + `lease`.
/// Fair across tenants: every tenant with due jobs gets up to
/// ceil(limit / tenants) of them (in priority, run_at, id order), so one
/// tenant's flood cannot starve another. Rows locked by concurrent claimers
/// are skipped (FOR UPDATE SKIP LOCKED). Ordered round-robin over tenants.
/// Runs as one statement; call it outside a transaction.
caf::expected<std::vector<claimed_job>>
claim_jobs(pg_session& db, std::string_view queue, int limit,
           std::string_view owner, std::chrono::milliseconds lease);

/// `claim_jobs` whose scan over tenants starts after `after_tenant` and
/// wraps around (nullopt: from the first). A dispatcher passes the last
/// tenant it was served, so with more waiting tenants than one claim can
/// serve, each claim serves the next ones in turn.
caf::expected<std::vector<claimed_job>>
claim_jobs(pg_session& db, std::string_view queue, int limit,
           std::string_view owner, std::chrono::milliseconds lease,
           std::optional<std::string> after_tenant);

/// Extends to now + `lease` the leases in `leases` that are still running
/// under the same fence. Rows locked by a worker's open transaction are
/// skipped (never waited for): that worker is alive and will finish them.
/// Returns the number of leases extended.
caf::expected<int64_t> heartbeat_jobs(pg_session& db,
                                      const std::vector<job_lease>& leases,
                                      std::chrono::milliseconds lease);

/// Locks (FOR UPDATE) the jobs of `leases` that are still running under
/// the same fence and returns their ids. Called first in a worker's batch
/// transaction: while it holds the locks nobody can rescue, cancel or
/// re-claim those jobs, so their completion at the end cannot be stale.
caf::expected<std::vector<int64_t>>
lock_job_leases(pg_session& db, const std::vector<job_lease>& leases);

/// Hands claimed jobs that never started back: those of `leases` still
/// running under the same fence become available again with their attempt
/// count restored (the fence stays advanced, so a late holder is still
/// refused). Used by a dispatcher that stops with claimed work queued.
/// Returns how many were released.
caf::expected<int64_t> release_jobs(pg_session& db,
                                    const std::vector<job_lease>& leases);

/// Marks job `id` completed if it is still running under `fence`. False
/// when the fence is stale or the job is no longer running (rescued,
/// cancelled): the caller must then discard its work.
caf::expected<bool> complete_job(pg_session& db, int64_t id, int64_t fence);

/// A failed attempt, for `finish_jobs`.
struct job_failure {
  int64_t id = 0;
  int64_t fence = 0;
  std::string error;
  /// Discard at once, whatever attempts remain.
  bool permanent = false;
  /// Delay before the retry (unused when the job is discarded).
  std::chrono::milliseconds retry_in{0};
};

/// What `finish_jobs` and `fail_job` did.
enum class job_fate : uint8_t {
  completed,
  retried,
  discarded,
  /// The fence was stale or the job no longer running: nothing changed.
  stale,
};

const char* to_string(job_fate fate) noexcept;

/// The outcome of `finish_jobs`, one list per fate (job ids).
struct finished_jobs {
  std::vector<int64_t> completed;
  std::vector<int64_t> retried;
  std::vector<int64_t> discarded;
  std::vector<int64_t> stale;
};

/// What `complete_and_claim_jobs` did.
struct claim_outcome {
  /// As `claim_jobs` returns them.
  std::vector<claimed_job> claimed;
  /// Only `completed` and `stale` are filled.
  finished_jobs finished;
};

/// Completes `completed` (each guarded by its fence, as `finish_jobs`) and
/// claims as `claim_jobs` does, in ONE statement: a dispatcher records the
/// jobs its workers finished without database work together with its next
/// claim (one round trip and one commit for both).
caf::expected<claim_outcome>
complete_and_claim_jobs(pg_session& db, const std::vector<job_lease>& completed,
                        std::string_view queue, int limit,
                        std::string_view owner, std::chrono::milliseconds lease,
                        std::optional<std::string> after_tenant);

/// Completes `completed` and fails `failed` in ONE statement, each guarded
/// by its fence. A failure appends {attempt, at, error, owner} to the job's
/// `errors`; the job is then available again at now + retry_in, or
/// discarded when it was permanent or its last attempt.
caf::expected<finished_jobs>
finish_jobs(pg_session& db, const std::vector<job_lease>& completed,
            const std::vector<job_failure>& failed);

/// Fails one attempt of job `id` (see `finish_jobs`), with a retry delay
/// from `backoff` (exponential, full jitter) for the attempt that failed.
caf::expected<job_fate> fail_job(pg_session& db, int64_t id, int64_t fence,
                                 std::string_view error,
                                 const runtime::backoff_policy& backoff,
                                 bool permanent = false);

// -- maintenance ----------------------------------------------------------------

/// Running jobs whose lease expired (a crashed or stuck owner) become
/// available again at once, their attempt kept and "lease expired" appended
/// to their errors; a job whose expired attempt was its last is discarded
/// instead, so a job that kills its worker cannot loop forever. Jobs locked
/// by a live worker's transaction are skipped. At most `limit` per call;
/// returns how many were rescued.
caf::expected<int64_t> rescue_expired_jobs(pg_session& db, int limit = 1000);

/// Deletes finished jobs (completed, discarded, cancelled) that finished
/// more than `retention` ago, in chunks of `chunk` rows per statement (call
/// outside a transaction to keep each chunk short). Returns the count.
caf::expected<int64_t> prune_jobs(pg_session& db,
                                  std::chrono::milliseconds retention,
                                  int chunk = 5000);

// -- listing and administration ----------------------------------------------------

/// A job as listed.
struct job_record {
  int64_t id = 0;
  std::string queue;
  std::string kind;
  std::string tenant;
  /// available, scheduled (available, due later), running, completed,
  /// discarded or cancelled.
  std::string state;
  int attempt = 0;
  int max_attempts = 0;
  int priority = 0;
  std::string unique_key;
  /// RFC 3339 UTC; empty when unset.
  std::string run_at;
  std::string created_at;
  std::string attempted_at;
  std::string finished_at;
  /// JSON array text: [{"attempt","at","error","owner"}, ...]
  std::string errors;
  /// JSON object text.
  std::string args;
  /// The fence of the latest claim (0 before the first).
  int64_t fence = 0;
};

/// Filters of `list_jobs`.
struct job_filter {
  /// Only this tenant's jobs; nullopt lists every tenant (platform use
  /// only: tenant callers always pass their organization id).
  std::optional<std::string> tenant;
  /// available, scheduled, running, completed, discarded or cancelled.
  std::string state;
  std::string queue;
  std::string kind;
  /// Only jobs with an id below this (the previous page's `next_cursor`).
  int64_t before_id = 0;
  /// 1..500.
  int limit = 50;
};

/// One page of jobs, newest (highest id) first.
struct job_page {
  std::vector<job_record> jobs;
  /// Pass as `before_id` for the next page; 0 when this was the last.
  int64_t next_cursor = 0;
};

/// True for the state names `list_jobs` filters by.
bool valid_job_state(std::string_view state) noexcept;

/// Lists jobs. An unknown state gives runtime::errc::invalid_argument.
caf::expected<job_page> list_jobs(pg_session& db, const job_filter& filter);

/// Job `id`, if it exists (and belongs to `tenant` when one is given).
caf::expected<std::optional<job_record>>
get_job(pg_session& db, const std::optional<std::string>& tenant, int64_t id);

/// Makes a discarded or cancelled job available again at once. Its attempt
/// count and error history are kept, and max_attempts is raised to at least
/// attempt + 1, so a retried job always gets one more attempt (a job
/// cancelled before it ran keeps all of its attempts). nullopt when no such
/// job exists for `tenant`; runtime::errc::conflict when it is in another
/// state, or when another unfinished job now holds its unique key.
caf::expected<std::optional<job_record>>
retry_job(pg_session& db, const std::optional<std::string>& tenant, int64_t id);

/// Cancels an available (or scheduled), running or discarded job. A running
/// job is marked cancelled at once: its worker's completion is then
/// rejected (stale), and no retry follows. A job whose worker is finishing
/// it right now is waited for. nullopt when no such job exists for
/// `tenant`; runtime::errc::conflict when it already finished.
caf::expected<std::optional<job_record>>
cancel_job(pg_session& db, const std::optional<std::string>& tenant, int64_t id);

// -- queues -------------------------------------------------------------------------

/// A named queue and how many of its jobs one node runs at once.
struct job_queue {
  std::string name;
  int concurrency = 0;
};

/// Configured queues (public.job_queues) plus queues that have due jobs but
/// no configuration (with concurrency 0: the dispatcher's default applies).
caf::expected<std::vector<job_queue>> list_job_queues(pg_session& db);

/// Sets the concurrency of `queue` (creating its row). `concurrency` must
/// be at least 1 (else runtime::errc::invalid_argument).
caf::error set_queue_concurrency(pg_session& db, std::string_view queue,
                                 int concurrency);

// -- cron schedules -------------------------------------------------------------------

/// A cron schedule: each due time enqueues one job.
struct job_schedule {
  /// Unique; also part of each run's unique key "cron:<name>:<time>".
  std::string name;
  /// Five-field cron expression in UTC (see runtime/cron.hpp).
  std::string cron;
  std::string queue = "default";
  std::string kind;
  std::string args = "{}";
  std::string tenant;
  bool enabled = true;
  /// RFC 3339 UTC (filled by list_job_schedules).
  std::string next_run_at;
};

/// Creates or replaces schedule `s.name`. next_run_at becomes the cron's
/// next time after now when the schedule is new or its expression changed
/// (kept otherwise). An invalid expression gives errc::invalid_argument.
caf::error upsert_job_schedule(pg_session& db, const job_schedule& s);

/// All schedules, by name.
caf::expected<std::vector<job_schedule>> list_job_schedules(pg_session& db);

/// Deletes schedule `name`; false when there was none.
caf::expected<bool> delete_job_schedule(pg_session& db, std::string_view name);

/// Enqueues one job for each enabled schedule due at `now` (next_run_at <=
/// now) and moves its next_run_at to the cron's next time after `now`
/// (missed runs are not caught up one by one: one run stands for them).
/// Schedules locked by another node doing the same are skipped, and the
/// unique key "cron:<name>:<due time>" guards against a double enqueue.
/// Call inside a transaction. Returns how many jobs were enqueued.
caf::expected<int64_t>
enqueue_due_schedules(pg_session& db, std::chrono::system_clock::time_point now);

} // namespace fp::storage
