// Job workers: run a claimed batch in one transaction on their own
// connection and finish every job of it with one fenced statement; a batch
// of handlers without database work that all completed is left to the
// dispatcher, which records it with its next claim.

#include <algorithm>
#include <exception>

#include <caf/all.hpp>

#include "fp/runtime/errc.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/pg_session.hpp"
#include "job_dispatcher_internal.hpp"

namespace fp::actors::detail {

namespace {

namespace log = runtime::log;
using clock_type = std::chrono::steady_clock;

/// Runs one handler; an exception becomes an error.
caf::error call(const job_handler& fn, job_context& jc) {
  try {
    return fn(jc);
  } catch (const std::exception& ex) {
    return runtime::make_error(runtime::errc::internal,
                               std::string{"the handler threw: "} + ex.what());
  } catch (...) {
    return runtime::make_error(runtime::errc::internal,
                               "the handler threw a non-standard exception");
  }
}

job_context context_of(const storage::claimed_job& job,
                       storage::pg_session* db) {
  job_context jc;
  jc.id = job.id;
  jc.queue = job.queue;
  jc.kind = job.kind;
  jc.tenant = job.tenant;
  jc.args = job.args;
  jc.attempt = job.attempt;
  jc.max_attempts = job.max_attempts;
  jc.db = db;
  return jc;
}

/// Outcomes collected while a batch runs (reset when the transaction is
/// retried).
struct outcomes {
  std::vector<storage::job_lease> completed;
  std::vector<storage::job_failure> failed;
  std::vector<int64_t> skipped;

  void clear() {
    completed.clear();
    failed.clear();
    skipped.clear();
  }
};

void fail(const job_context_shared& ctx, outcomes& out,
          const storage::claimed_job& job, const caf::error& err) {
  storage::job_failure f;
  f.id = job.id;
  f.fence = job.fence;
  f.error = describe_job_error(err);
  if (f.error.empty())
    f.error = "failed";
  f.permanent = is_permanent_failure(err);
  f.retry_in = runtime::backoff_delay(ctx.backoff, job.attempt);
  out.failed.push_back(std::move(f));
}

void observe_start(const job_context_shared& ctx, const job_batch& batch) {
  std::chrono::duration<double> d = clock_type::now() - batch.claimed_at;
  ctx.start_delay->observe(d.count());
}

/// Runs one job whose handler may use the database, inside a savepoint.
/// Returns an error only when the transaction itself broke.
caf::error run_in_savepoint(const job_context_shared& ctx,
                            storage::pg_session& db, outcomes& out,
                            const storage::claimed_job& job,
                            const job_handler& fn) {
  if (auto sp = db.exec("SAVEPOINT fp_job"); !sp)
    return std::move(sp.error());
  auto jc = context_of(job, &db);
  auto err = call(fn, jc);
  if (!err) {
    // RELEASE fails when the handler swallowed an SQL error (the
    // transaction is aborted): that is a failure of the job.
    auto rel = db.exec("RELEASE SAVEPOINT fp_job");
    if (rel) {
      out.completed.push_back({job.id, job.fence});
      return caf::none;
    }
    if (!db.connected())
      return std::move(rel.error());
    err = runtime::make_error(runtime::errc::internal,
                              "the handler ignored an SQL error: "
                                + describe_job_error(rel.error()));
  }
  if (!db.connected())
    return err;
  if (auto rb = db.exec("ROLLBACK TO SAVEPOINT fp_job"); !rb)
    return std::move(rb.error());
  if (auto rel = db.exec("RELEASE SAVEPOINT fp_job"); !rel)
    return std::move(rel.error());
  fail(ctx, out, job, err);
  return caf::none;
}

void record(job_batch_report& rep, storage::finished_jobs&& done,
            const std::vector<int64_t>& skipped) {
  rep.completed = std::move(done.completed);
  rep.retried = std::move(done.retried);
  rep.discarded = std::move(done.discarded);
  rep.stale = std::move(done.stale);
  rep.stale.insert(rep.stale.end(), skipped.begin(), skipped.end());
}

} // namespace

job_batch_report run_job_batch(job_context_shared& ctx,
                               storage::pg_session& db, const job_batch& batch) {
  job_batch_report rep;
  auto& registry = *ctx.opts.registry;
  std::vector<const job_registry::entry*> entries;
  entries.reserve(batch.jobs.size());
  bool needs_tx = false;
  for (auto& job : batch.jobs) {
    auto* e = registry.find_entry(job.kind);
    entries.push_back(e);
    needs_tx = needs_tx || (e && !e->pure);
  }
  outcomes out;
  auto run_plain = [&](std::size_t i) {
    auto& job = batch.jobs[i];
    if (!entries[i]) {
      fail(ctx, out, job,
           permanent_failure("no handler for job kind \"" + job.kind + "\""));
      return;
    }
    auto jc = context_of(job, nullptr);
    if (auto err = call(entries[i]->fn, jc))
      fail(ctx, out, job, err);
    else
      out.completed.push_back({job.id, job.fence});
  };
  if (!needs_tx) {
    // No handler touches the database: nothing to roll back, so the jobs
    // run first and one autocommit statement finishes them all (fenced: a
    // stale lease simply changes nothing).
    for (std::size_t i = 0; i < batch.jobs.size(); ++i) {
      if (i == 0)
        observe_start(ctx, batch);
      run_plain(i);
    }
    if (batch.defer_completion && out.failed.empty()
        && ctx.defer(out.completed)) {
      rep.deferred = true;
      return rep;
    }
    if (auto err = db.ensure_connected()) {
      rep.err = std::move(err);
      return rep;
    }
    auto done = storage::finish_jobs(db, out.completed, out.failed);
    if (!done) {
      rep.err = std::move(done.error());
      return rep;
    }
    record(rep, std::move(*done), out.skipped);
    return rep;
  }
  std::vector<storage::job_lease> leases;
  leases.reserve(batch.jobs.size());
  for (auto& job : batch.jobs)
    leases.push_back({job.id, job.fence});
  storage::finished_jobs done;
  bool started = false;
  auto err = storage::run_transaction(db, [&](storage::pg_session& s) -> caf::error {
    out.clear();
    // Holding these row locks until COMMIT, nobody can rescue, cancel or
    // re-claim the jobs, so the fenced completion below cannot be stale.
    auto valid = storage::lock_job_leases(s, leases);
    if (!valid)
      return std::move(valid.error());
    std::sort(valid->begin(), valid->end());
    for (std::size_t i = 0; i < batch.jobs.size(); ++i) {
      auto& job = batch.jobs[i];
      if (!std::binary_search(valid->begin(), valid->end(), job.id)) {
        out.skipped.push_back(job.id);
        continue;
      }
      if (!started) {
        started = true;
        observe_start(ctx, batch);
      }
      if (!entries[i] || entries[i]->pure) {
        run_plain(i);
        continue;
      }
      if (auto broken = run_in_savepoint(ctx, s, out, job, entries[i]->fn))
        return broken;
    }
    auto finished = storage::finish_jobs(s, out.completed, out.failed);
    if (!finished)
      return std::move(finished.error());
    done = std::move(*finished);
    return caf::none;
  });
  if (err) {
    rep.err = std::move(err);
    return rep;
  }
  record(rep, std::move(done), out.skipped);
  return rep;
}

namespace {

struct worker_state {
  context_ptr ctx;
  std::unique_ptr<storage::pg_session> db;
  uint64_t batches = 0;
  static inline const char* name = "fp.job_worker";
};

using worker_ptr = job_worker_actor::stateful_pointer<worker_state>;

job_worker_actor::behavior_type worker_impl(worker_ptr self, context_ptr ctx) {
  self->state.ctx = std::move(ctx);
  return {
    [self](describe_atom) -> runtime::actor_status {
      auto& st = self->state;
      return {st.db && st.db->connected() ? "connected" : "disconnected",
              self->mailbox().size()};
    },
    [self](run_atom, const job_batch& batch) -> job_batch_report {
      auto& st = self->state;
      ++st.batches;
      if (!st.db) {
        auto db = storage::connect(st.ctx->opts.conninfo,
                                   st.ctx->opts.connect_timeout);
        if (!db) {
          job_batch_report rep;
          rep.err = std::move(db.error());
          return rep;
        }
        st.db = std::move(*db);
      }
      return run_job_batch(*st.ctx, *st.db, batch);
    },
  };
}

} // namespace

job_worker_actor spawn_job_worker(caf::local_actor* parent, context_ptr ctx) {
  return parent->spawn<caf::detached>(worker_impl, std::move(ctx));
}

} // namespace fp::actors::detail
