// The job dispatcher: claims, hands batches to workers, keeps leases alive
// and runs the queue's maintenance (rescue, cron, prune).

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>

#include <caf/all.hpp>

#include "fp/actors/job_dispatcher.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/pg_session.hpp"
#include "job_dispatcher_internal.hpp"

namespace fp::actors {

namespace detail {

queue_metrics& job_context_shared::of(const std::string& queue) {
  std::lock_guard<std::mutex> guard{mtx};
  auto it = per_queue.find(queue);
  if (it != per_queue.end())
    return it->second;
  auto series = [&](const char* name, const char* help) {
    return &metrics->get_counter(name, help, {"queue"}, {queue});
  };
  queue_metrics m;
  m.claimed = series("fp_jobs_claimed_total", "Jobs claimed, by queue.");
  m.completed = series("fp_jobs_completed_total", "Jobs completed, by queue.");
  m.failed = series("fp_jobs_failed_total",
                    "Failed job attempts that will be retried, by queue.");
  m.discarded = series("fp_jobs_discarded_total",
                       "Jobs discarded after their last attempt or a "
                       "permanent failure, by queue.");
  m.stale = series("fp_jobs_stale_total",
                   "Jobs whose lease was lost before they finished, by queue.");
  return per_queue.emplace(queue, m).first->second;
}

bool job_context_shared::defer(std::vector<storage::job_lease>& leases) {
  std::lock_guard<std::mutex> guard{done_mtx_};
  if (stopping_)
    return false;
  done_.insert(done_.end(), leases.begin(), leases.end());
  return true;
}

std::vector<storage::job_lease> job_context_shared::take_deferred(bool stop) {
  std::lock_guard<std::mutex> guard{done_mtx_};
  stopping_ = stopping_ || stop;
  return std::exchange(done_, {});
}

} // namespace detail

namespace {

namespace log = runtime::log;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using detail::job_batch;
using detail::job_batch_report;
using detail::job_worker_actor;

struct queue_state {
  int concurrency = 0;
  /// Claimed by this node and not finished.
  int in_flight = 0;
  /// There may be due jobs: claim when slots are free.
  bool dirty = true;
  /// The tenant served last, where the next claim's tenant scan starts.
  std::optional<std::string> cursor;
  /// The previous claim held only jobs whose handlers do no database work.
  bool pure = false;
};

struct worker_slot {
  job_worker_actor handle;
  unsigned index = 0;
  uint32_t restarts = 0;
  bool busy = false;
};

struct dispatcher_state {
  detail::context_ptr ctx;
  std::unique_ptr<storage::pg_session> db;
  std::map<std::string, queue_state, std::less<>> queues;
  std::vector<worker_slot> workers;
  /// Claimed batches waiting for an idle worker.
  std::deque<job_batch> pending;
  /// Leases held: job id -> fence.
  std::unordered_map<int64_t, int64_t> leases;
  /// Job id -> queue, for the in-flight counts.
  std::unordered_map<int64_t, std::string> queue_of;
  /// Completed by workers without database work, recorded with the next
  /// claim (or on their own when no claim follows in the same round).
  std::vector<storage::job_lease> unrecorded;
  bool claim_scheduled = false;
  clock_type::time_point last_prune{};
  clock_type::time_point last_db_warning{};
  static inline const char* name = "fp.job_dispatcher";

  dispatcher_state() = default;
  dispatcher_state(const dispatcher_state&) = delete;
  dispatcher_state& operator=(const dispatcher_state&) = delete;

  ~dispatcher_state() {
    // Workers still running record their own completions from now on.
    if (ctx)
      ctx->take_deferred(true);
    for (auto& w : workers)
      if (w.handle)
        caf::anon_send_exit(w.handle, caf::exit_reason::user_shutdown);
  }
};

using dispatcher_ptr = job_dispatcher_actor::stateful_pointer<dispatcher_state>;

// -- helpers ---------------------------------------------------------------------

bool serves(const dispatcher_state& st, std::string_view queue) {
  auto& only = st.ctx->opts.queues;
  return only.empty() || std::find(only.begin(), only.end(), queue) != only.end();
}

queue_state& queue_for(dispatcher_ptr self, const std::string& name) {
  auto& st = self->state;
  auto it = st.queues.find(name);
  if (it == st.queues.end()) {
    queue_state q;
    q.concurrency = st.ctx->opts.default_concurrency;
    it = st.queues.emplace(name, q).first;
  }
  return it->second;
}

/// The control connection, (re)connected; null while the database is away.
storage::pg_session* control(dispatcher_ptr self) {
  auto& st = self->state;
  caf::error err;
  if (!st.db) {
    auto db = storage::connect(st.ctx->opts.conninfo, st.ctx->opts.connect_timeout);
    if (db)
      st.db = std::move(*db);
    else
      err = std::move(db.error());
  } else {
    err = st.db->ensure_connected();
  }
  if (!err)
    return st.db.get();
  auto now = clock_type::now();
  if (now - st.last_db_warning > 10s) {
    st.last_db_warning = now;
    log::warn("job dispatcher cannot reach the database",
              {{"error", runtime::context_of(err)}});
  }
  return nullptr;
}

void warn(const char* what, const caf::error& err) {
  log::warn(what, {{"error", describe_job_error(err)}});
}

void schedule_claim(dispatcher_ptr self) {
  if (self->state.claim_scheduled)
    return;
  self->state.claim_scheduled = true;
  self->send(self, claim_atom_v);
}

void spawn_worker(dispatcher_ptr self, worker_slot& w) {
  auto& st = self->state;
  w.handle = detail::spawn_job_worker(self, st.ctx);
  w.busy = false;
  self->monitor(w.handle);
  if (auto* dir = st.ctx->opts.directory)
    dir->enroll(caf::actor_cast<caf::actor>(w.handle), "job_worker",
                "job_worker-" + std::to_string(w.index), self->id(), w.restarts);
}

// -- finishing ----------------------------------------------------------------------

/// Forgets the leases of `ids` and frees their queue slots.
void release(dispatcher_ptr self, const std::vector<int64_t>& ids) {
  auto& st = self->state;
  for (auto id : ids) {
    st.leases.erase(id);
    auto it = st.queue_of.find(id);
    if (it == st.queue_of.end())
      continue;
    if (auto q = st.queues.find(it->second); q != st.queues.end())
      q->second.in_flight = std::max(0, q->second.in_flight - 1);
    st.queue_of.erase(it);
  }
}

void count(dispatcher_ptr self, const job_batch& batch,
           const job_batch_report& rep) {
  auto& ctx = *self->state.ctx;
  std::map<int64_t, const std::string*> queue_by_id;
  for (auto& j : batch.jobs)
    queue_by_id.emplace(j.id, &j.queue);
  auto bump = [&](const std::vector<int64_t>& ids,
                  runtime::counter* detail::queue_metrics::*which) {
    for (auto id : ids)
      if (auto it = queue_by_id.find(id); it != queue_by_id.end())
        (ctx.of(*it->second).*which)->inc();
  };
  bump(rep.completed, &detail::queue_metrics::completed);
  bump(rep.retried, &detail::queue_metrics::failed);
  bump(rep.discarded, &detail::queue_metrics::discarded);
  bump(rep.stale, &detail::queue_metrics::stale);
}

void dispatch_pending(dispatcher_ptr self);

void on_batch_done(dispatcher_ptr self, worker_slot* w, const job_batch& batch,
                   const job_batch_report& rep) {
  if (w)
    w->busy = false;
  if (rep.deferred) {
    // The outbox holds this batch's completions (and maybe others').
    auto done = self->state.ctx->take_deferred();
    auto& un = self->state.unrecorded;
    un.insert(un.end(), done.begin(), done.end());
    dispatch_pending(self);
    schedule_claim(self);
    return;
  }
  if (rep.err)
    warn("job batch failed; its jobs will be rescued when their leases expire",
         rep.err);
  else
    count(self, batch, rep);
  std::vector<int64_t> ids;
  ids.reserve(batch.jobs.size());
  for (auto& j : batch.jobs)
    ids.push_back(j.id);
  release(self, ids);
  // Retries due at once are announced by NOTIFY; freed slots may admit
  // jobs that were left waiting.
  for (auto& j : batch.jobs)
    queue_for(self, j.queue).dirty = true;
  dispatch_pending(self);
  schedule_claim(self);
}

/// Books the recorded completions of `st.unrecorded` (`done` says which
/// were recorded and which were stale) and frees their slots.
void on_recorded(dispatcher_ptr self, const storage::finished_jobs& done) {
  auto& st = self->state;
  auto bump = [&](const std::vector<int64_t>& ids,
                  runtime::counter* detail::queue_metrics::*which) {
    const std::string* last = nullptr;
    runtime::counter* c = nullptr;
    for (auto id : ids) {
      auto it = st.queue_of.find(id);
      if (it == st.queue_of.end())
        continue;
      if (!last || *last != it->second) {
        last = &it->second;
        c = st.ctx->of(it->second).*which;
      }
      c->inc();
    }
  };
  bump(done.completed, &detail::queue_metrics::completed);
  bump(done.stale, &detail::queue_metrics::stale);
  for (auto& l : st.unrecorded)
    if (auto it = st.queue_of.find(l.id); it != st.queue_of.end())
      queue_for(self, it->second).dirty = true;
  std::vector<int64_t> ids;
  ids.reserve(st.unrecorded.size());
  for (auto& l : st.unrecorded)
    ids.push_back(l.id);
  st.unrecorded.clear();
  release(self, ids);
  // Their slots are free now.
  schedule_claim(self);
}

/// Records `st.unrecorded` in a statement of its own.
void record_unrecorded(dispatcher_ptr self, storage::pg_session& db) {
  auto& st = self->state;
  if (st.unrecorded.empty())
    return;
  auto done = storage::finish_jobs(db, st.unrecorded, {});
  if (!done) {
    // Kept (their leases too): the next round tries again.
    warn("completing jobs failed", done.error());
    return;
  }
  on_recorded(self, *done);
}

void run_on(dispatcher_ptr self, worker_slot& w, job_batch batch) {
  w.busy = true;
  auto index = w.index;
  auto handle = w.handle;
  // The batch is kept here too, for the books when the answer comes.
  auto copy = std::make_shared<job_batch>(batch);
  self->request(w.handle, caf::infinite, run_atom_v, std::move(batch))
    .then(
      [self, index, handle, copy](job_batch_report& rep) {
        auto& ws = self->state.workers;
        worker_slot* w = index < ws.size() && ws[index].handle == handle
                           ? &ws[index]
                           : nullptr;
        on_batch_done(self, w, *copy, rep);
      },
      [self, index, handle, copy](caf::error& err) {
        auto& ws = self->state.workers;
        worker_slot* w = index < ws.size() && ws[index].handle == handle
                           ? &ws[index]
                           : nullptr;
        job_batch_report rep;
        rep.err = std::move(err);
        on_batch_done(self, w, *copy, rep);
      });
}

void dispatch_pending(dispatcher_ptr self) {
  auto& st = self->state;
  for (auto& w : st.workers) {
    if (st.pending.empty())
      return;
    if (w.busy || !w.handle)
      continue;
    auto batch = std::move(st.pending.front());
    st.pending.pop_front();
    run_on(self, w, std::move(batch));
  }
}

// -- claiming ----------------------------------------------------------------------

std::size_t idle_workers(const dispatcher_state& st) {
  std::size_t n = 0;
  for (auto& w : st.workers)
    n += w.busy ? 0 : 1;
  return n;
}

/// The tenant last in the order the claim served tenants (after the
/// previous cursor, wrapping around): the next claim starts after it.
std::optional<std::string>
next_cursor(const std::optional<std::string>& cursor,
            const std::vector<storage::claimed_job>& jobs) {
  std::optional<std::string> best;
  auto wrapped = [&](const std::string& t) { return cursor && t <= *cursor; };
  for (auto& j : jobs) {
    if (!best) {
      best = j.tenant;
      continue;
    }
    auto a = std::make_pair(wrapped(j.tenant), std::string_view{j.tenant});
    auto b = std::make_pair(wrapped(*best), std::string_view{*best});
    if (a > b)
      best = j.tenant;
  }
  return best;
}

// -- asynchronous jobs ------------------------------------------------------------

/// Calls the async handler of `job`; its completion reports to the
/// dispatcher (once). When the dispatcher is gone by then, the report is
/// lost and the job's lease lapses: it is rescued and runs again.
void start_async(dispatcher_ptr self, const storage::claimed_job& job) {
  auto* e = self->state.ctx->opts.registry->find_entry(job.kind);
  job_context jc;
  jc.id = job.id;
  jc.queue = job.queue;
  jc.kind = job.kind;
  jc.tenant = job.tenant;
  jc.args = job.args;
  jc.attempt = job.attempt;
  jc.max_attempts = job.max_attempts;
  auto reported = std::make_shared<std::atomic<bool>>(false);
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
  auto id = job.id;
  auto fence = job.fence;
  auto attempt = job.attempt;
  job_completion done = [weak, reported, id, fence, attempt](caf::error err) {
    if (reported->exchange(true))
      return;
    auto strong = weak.lock();
    if (!strong)
      return;
    async_job_outcome out;
    out.id = id;
    out.fence = fence;
    out.attempt = attempt;
    if (err) {
      out.failed = true;
      out.permanent = is_permanent_failure(err);
      out.error = describe_job_error(err);
      if (out.error.empty())
        out.error = "failed";
    }
    caf::anon_send(caf::actor_cast<job_dispatcher_actor>(strong), done_atom_v,
                   std::move(out));
  };
  try {
    e->start(jc, done);
  } catch (const std::exception& ex) {
    done(runtime::make_error(runtime::errc::internal,
                             std::string{"the handler threw: "} + ex.what()));
  } catch (...) {
    done(runtime::make_error(runtime::errc::internal,
                             "the handler threw a non-standard exception"));
  }
}

/// Records how an asynchronous job ended: a completion rides along with
/// the next claim; a failure is recorded at once (retry or discard).
void on_async_done(dispatcher_ptr self, const async_job_outcome& out) {
  auto& st = self->state;
  auto lease = st.leases.find(out.id);
  if (lease == st.leases.end() || lease->second != out.fence)
    return; // not ours any more (released while stopping)
  if (!out.failed) {
    st.unrecorded.push_back({out.id, out.fence});
    schedule_claim(self);
    return;
  }
  // Unrecorded failures stop being heartbeated: the lease lapses and the
  // job is rescued, so nothing stays running on a database hiccup.
  auto* db = control(self);
  if (!db) {
    release(self, {out.id});
    return;
  }
  storage::job_failure f;
  f.id = out.id;
  f.fence = out.fence;
  f.error = out.error;
  f.permanent = out.permanent;
  f.retry_in = runtime::backoff_delay(st.ctx->backoff, out.attempt);
  auto done = storage::finish_jobs(*db, {}, {f});
  if (!done) {
    warn("recording a failed job failed", done.error());
    release(self, {out.id});
    return;
  }
  std::string queue;
  if (auto it = st.queue_of.find(out.id); it != st.queue_of.end())
    queue = it->second;
  if (!queue.empty()) {
    auto& m = st.ctx->of(queue);
    if (!done->retried.empty())
      m.failed->inc();
    if (!done->discarded.empty())
      m.discarded->inc();
    if (!done->stale.empty())
      m.stale->inc();
    queue_for(self, queue).dirty = true;
  }
  release(self, {out.id});
  schedule_claim(self);
}

/// Claims once for `name`; false when nothing more can be claimed now.
bool claim_queue(dispatcher_ptr self, const std::string& name, queue_state& q,
                 storage::pg_session& db) {
  auto& st = self->state;
  auto& opts = st.ctx->opts;
  // Slots of jobs that this claim records as completed are free as well.
  int finishing = 0;
  for (auto& l : st.unrecorded)
    if (auto it = st.queue_of.find(l.id);
        it != st.queue_of.end() && it->second == name)
      ++finishing;
  auto free = q.concurrency - q.in_flight + finishing;
  if (!q.dirty || free <= 0)
    return false;
  // Enough is waiting for the workers already: claiming more would only
  // hold leases longer.
  if (st.pending.size() >= st.workers.size())
    return false;
  auto batch = q.pure ? std::max(opts.batch, opts.pure_batch) : opts.batch;
  auto limit = std::min<int>(free, static_cast<int>(std::max(1u, batch)));
  auto claimed = storage::complete_and_claim_jobs(db, st.unrecorded, name,
                                                  limit, opts.owner,
                                                  opts.lease, q.cursor);
  if (!claimed) {
    warn("claiming jobs failed", claimed.error());
    return false;
  }
  if (!st.unrecorded.empty())
    on_recorded(self, claimed->finished);
  auto* jobs = &claimed->claimed;
  if (jobs->empty()) {
    q.dirty = false;
    return false;
  }
  q.cursor = next_cursor(q.cursor, *jobs);
  auto& registry = *opts.registry;
  q.pure = std::all_of(jobs->begin(), jobs->end(), [&](const auto& j) {
    auto* e = registry.find_entry(j.kind);
    return e && e->pure;
  });
  auto now = clock_type::now();
  auto& m = st.ctx->of(name);
  m.claimed->inc(jobs->size());
  for (auto& j : *jobs) {
    st.leases[j.id] = j.fence;
    st.queue_of[j.id] = name;
    st.ctx->wait->observe(j.waited);
  }
  q.in_flight += static_cast<int>(jobs->size());
  // Asynchronous jobs start here (their handlers do not block) and keep
  // their leases until they report back; the rest go to the workers.
  auto async_end = std::stable_partition(
    jobs->begin(), jobs->end(), [&](const storage::claimed_job& j) {
      auto* e = registry.find_entry(j.kind);
      return e && e->start;
    });
  for (auto it = jobs->begin(); it != async_end; ++it)
    start_async(self, *it);
  jobs->erase(jobs->begin(), async_end);
  if (jobs->empty())
    return true;
  // Spread the claim over the idle workers, so slow handlers do not queue
  // up behind each other in one transaction.
  auto parts = std::max<std::size_t>(1, idle_workers(st));
  auto per = (jobs->size() + parts - 1) / parts;
  for (std::size_t i = 0; i < jobs->size(); i += per) {
    job_batch b;
    b.claimed_at = now;
    b.defer_completion = true;
    auto end = std::min(jobs->size(), i + per);
    b.jobs.assign(std::make_move_iterator(jobs->begin() + static_cast<long>(i)),
                  std::make_move_iterator(jobs->begin() + static_cast<long>(end)));
    st.pending.push_back(std::move(b));
  }
  dispatch_pending(self);
  return true;
}

/// One claim per dirty queue; another round follows through the mailbox
/// while some queue may still have work, so timers and describe requests
/// are never starved by a long backlog.
void claim_round(dispatcher_ptr self) {
  auto& st = self->state;
  st.claim_scheduled = false;
  auto* db = control(self);
  if (!db)
    return; // the next poll tries again
  bool more = false;
  for (auto& [name, q] : st.queues)
    more = claim_queue(self, name, q, *db) || more;
  // No claim took them along.
  record_unrecorded(self, *db);
  if (more)
    schedule_claim(self);
}

// -- timers ------------------------------------------------------------------------

void heartbeat(dispatcher_ptr self) {
  auto& st = self->state;
  if (st.leases.empty())
    return;
  auto* db = control(self);
  if (!db)
    return;
  std::vector<storage::job_lease> leases;
  leases.reserve(st.leases.size());
  for (auto& [id, fence] : st.leases)
    leases.push_back({id, fence});
  if (auto r = storage::heartbeat_jobs(*db, leases, st.ctx->opts.lease); !r)
    warn("extending job leases failed", r.error());
}

void refresh_queues(dispatcher_ptr self, storage::pg_session& db) {
  auto& st = self->state;
  auto queues = storage::list_job_queues(db);
  if (!queues) {
    warn("reading job queues failed", queues.error());
    return;
  }
  for (auto& q : *queues) {
    if (!serves(st, q.name))
      continue;
    auto& qs = queue_for(self, q.name);
    qs.concurrency = q.concurrency > 0 ? q.concurrency
                                       : st.ctx->opts.default_concurrency;
  }
}

void maintain(dispatcher_ptr self) {
  auto& st = self->state;
  auto& ctx = *st.ctx;
  auto* db = control(self);
  if (!db)
    return;
  refresh_queues(self, *db);
  if (auto rescued = storage::rescue_expired_jobs(*db); !rescued)
    warn("rescuing expired jobs failed", rescued.error());
  else if (*rescued > 0) {
    ctx.rescued->inc(static_cast<uint64_t>(*rescued));
    log::info("rescued jobs with expired leases", {{"count", *rescued}});
  }
  int64_t enqueued = 0;
  auto err = storage::run_transaction(*db, [&](storage::pg_session& s) -> caf::error {
    auto n = storage::enqueue_due_schedules(s, std::chrono::system_clock::now());
    if (!n)
      return std::move(n.error());
    enqueued = *n;
    return caf::none;
  });
  if (err)
    warn("enqueueing cron jobs failed", err);
  else if (enqueued > 0)
    ctx.scheduled->inc(static_cast<uint64_t>(enqueued));
  auto now = clock_type::now();
  auto prune_every = std::clamp<std::chrono::milliseconds>(ctx.opts.retention,
                                                           1s, 60s);
  if (now - st.last_prune >= prune_every) {
    st.last_prune = now;
    if (auto pruned = storage::prune_jobs(*db, ctx.opts.retention); !pruned)
      warn("pruning finished jobs failed", pruned.error());
    else
      ctx.pruned->inc(static_cast<uint64_t>(*pruned));
  }
}

std::chrono::milliseconds beat_interval(const job_dispatcher_options& o) {
  return std::max<std::chrono::milliseconds>(o.lease / 3, 10ms);
}

std::chrono::milliseconds check_interval(const job_dispatcher_options& o) {
  // Rescue promptly after a lease lapses, and look at cron schedules often
  // enough for minute resolution.
  return std::clamp<std::chrono::milliseconds>(o.lease / 2, 10ms, 5s);
}

void on_worker_down(dispatcher_ptr self, const caf::down_msg& msg) {
  auto& st = self->state;
  for (auto& w : st.workers) {
    if (!w.handle || w.handle.address() != msg.source)
      continue;
    log::warn("job worker terminated",
              {{"worker", w.index}, {"reason", caf::to_string(msg.reason)}});
    // Its batch (if any) is settled by the error reply of its request.
    ++w.restarts;
    spawn_worker(self, w);
    dispatch_pending(self);
    return;
  }
}

/// Stopping: claimed batches no worker has started go back to the queue at
/// once instead of waiting for their leases to lapse.
void release_pending(dispatcher_ptr self) {
  auto& st = self->state;
  if (st.pending.empty())
    return;
  std::vector<storage::job_lease> leases;
  for (auto& b : st.pending)
    for (auto& j : b.jobs)
      leases.push_back({j.id, j.fence});
  st.pending.clear();
  auto* db = control(self);
  if (!db)
    return; // their leases lapse and they are rescued
  if (auto n = storage::release_jobs(*db, leases); !n)
    warn("releasing claimed jobs failed", n.error());
  else if (*n > 0)
    log::info("released claimed jobs that had not started", {{"count", *n}});
}

job_dispatcher_actor::behavior_type
dispatcher_impl(dispatcher_ptr self, detail::context_ptr ctx) {
  auto& st = self->state;
  st.ctx = ctx;
  auto& opts = ctx->opts;
  auto n = std::max(1u, opts.workers);
  st.workers.resize(n);
  for (unsigned i = 0; i < n; ++i) {
    st.workers[i].index = i;
    spawn_worker(self, st.workers[i]);
  }
  self->set_down_handler([self](caf::down_msg& msg) { on_worker_down(self, msg); });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // As without a handler: a linked actor's normal exit is no reason to go.
    if (msg.reason == caf::exit_reason::normal)
      return;
    release_pending(self);
    // Workers record their own completions from now on; the outbox and
    // what the dispatcher holds are recorded here.
    auto done = self->state.ctx->take_deferred(true);
    auto& un = self->state.unrecorded;
    un.insert(un.end(), done.begin(), done.end());
    if (auto* db = control(self))
      record_unrecorded(self, *db);
    self->quit(msg.reason);
  });
  for (auto& q : opts.queues)
    queue_for(self, q);
  if (opts.queues.empty())
    queue_for(self, "default");
  if (opts.listen) {
    auto listener = detail::spawn_job_listener(self, ctx, self);
    if (auto* dir = opts.directory)
      dir->enroll(listener, "job_listener", "job_listener", self->id());
  }
  self->send(self, check_atom_v);
  self->delayed_send(self, opts.poll_interval, tick_atom_v);
  self->delayed_send(self, beat_interval(opts), beat_atom_v);
  schedule_claim(self);
  return {
    [self](describe_atom) -> runtime::actor_status {
      auto& st = self->state;
      std::size_t busy = st.workers.size() - idle_workers(st);
      return {"running: " + std::to_string(st.leases.size()) + " jobs held, "
                + std::to_string(busy) + "/" + std::to_string(st.workers.size())
                + " workers busy",
              self->mailbox().size()};
    },
    [self](wake_atom, const std::string& queue) {
      auto& st = self->state;
      if (queue.empty()) {
        for (auto& [name, q] : st.queues)
          q.dirty = true;
      } else if (serves(st, queue)) {
        queue_for(self, queue).dirty = true;
      }
      schedule_claim(self);
    },
    [self](tick_atom) {
      for (auto& [name, q] : self->state.queues)
        q.dirty = true;
      schedule_claim(self);
      self->delayed_send(self, self->state.ctx->opts.poll_interval, tick_atom_v);
    },
    [self](beat_atom) {
      heartbeat(self);
      self->delayed_send(self, beat_interval(self->state.ctx->opts), beat_atom_v);
    },
    [self](check_atom) {
      maintain(self);
      self->delayed_send(self, check_interval(self->state.ctx->opts), check_atom_v);
    },
    [self](claim_atom) { claim_round(self); },
    [self](done_atom, const async_job_outcome& out) { on_async_done(self, out); },
  };
}

} // namespace

job_dispatcher_actor spawn_job_dispatcher(caf::actor_system& sys,
                                          job_dispatcher_options opts) {
  auto ctx = std::make_shared<detail::job_context_shared>();
  if (opts.owner.empty())
    opts.owner = "node-" + runtime::new_request_id();
  if (!opts.registry)
    opts.registry = std::make_shared<job_registry>();
  ctx->backoff.min = opts.backoff_min;
  ctx->backoff.max = opts.backoff_max;
  ctx->opts = std::move(opts);
  if (!ctx->opts.metrics) {
    ctx->own_metrics = std::make_unique<runtime::metrics_registry>();
    ctx->metrics = ctx->own_metrics.get();
  } else {
    ctx->metrics = ctx->opts.metrics;
  }
  auto& m = *ctx->metrics;
  ctx->wait = &m.get_histogram("fp_jobs_wait_seconds",
                               "Time from a job's due time to its claim.",
                               runtime::default_latency_buckets());
  ctx->start_delay = &m.get_histogram(
    "fp_jobs_start_delay_seconds",
    "Time from a claim to the start of its batch's first handler.",
    runtime::default_latency_buckets());
  ctx->rescued = &m.get_counter("fp_jobs_rescued_total",
                                "Jobs whose expired lease was rescued.");
  ctx->pruned = &m.get_counter("fp_jobs_pruned_total",
                               "Finished jobs deleted after the retention.");
  ctx->scheduled = &m.get_counter("fp_jobs_cron_enqueued_total",
                                  "Jobs enqueued by cron schedules.");
  auto handle = sys.spawn<caf::detached>(dispatcher_impl, ctx);
  if (auto* dir = ctx->opts.directory)
    dir->enroll(caf::actor_cast<caf::actor>(handle), "job_dispatcher",
                "job_dispatcher", ctx->opts.parent_id);
  return handle;
}

} // namespace fp::actors
