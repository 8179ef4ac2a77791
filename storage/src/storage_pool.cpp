#include "fp/storage/storage_pool.hpp"

#include <chrono>
#include <deque>
#include <memory>

#include <caf/all.hpp>

#include "fp/runtime/errc.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/errc.hpp"
#include "fp/storage/pg_session.hpp"
#include "retry.hpp"
#include "session_impl.hpp"

namespace fp::storage {

namespace {

namespace log = runtime::log;
using clock_type = std::chrono::steady_clock;

/// What the dispatcher and its workers share. Immutable after spawn; the
/// metric objects are thread-safe and owned by the registry.
struct pool_context {
  pool_options opts;
  runtime::metrics_registry* metrics = nullptr;
  runtime::actor_directory* directory = nullptr;
  runtime::gauge* size = nullptr;
  runtime::gauge* in_use = nullptr;
  runtime::gauge* waiting = nullptr;
  runtime::counter* retries_serialization = nullptr;
  runtime::counter* retries_deadlock = nullptr;
  runtime::counter* retries_connection = nullptr;

  void count_task(const std::string& label, const std::string& outcome) {
    metrics
      ->get_counter("fp_storage_tasks_total",
                    "Database tasks run by the storage pool, by outcome.",
                    {"task", "outcome"}, {label, outcome})
      .inc();
  }

  runtime::histogram& duration(const std::string& label) {
    return metrics->get_histogram(
      "fp_storage_task_duration_seconds",
      "Time a storage worker spent on a database task, retries included.",
      runtime::default_latency_buckets(), {"task"}, {label});
  }

  void count_retry(std::string_view reason) {
    if (reason == "serialization")
      retries_serialization->inc();
    else if (reason == "deadlock")
      retries_deadlock->inc();
    else
      retries_connection->inc();
  }
};

using context_ptr = std::shared_ptr<pool_context>;

std::string outcome_of(const caf::error& err) {
  if (!err)
    return "ok";
  if (is_storage_error(err))
    return to_string(code_of(err));
  if (err.category() == caf::atom("fp"))
    return runtime::to_string(runtime::code_of(err));
  return "error";
}

// -- worker -------------------------------------------------------------------

struct worker_state {
  context_ptr ctx;
  std::unique_ptr<pg_session> session;
  static inline const char* name = "fp.storage_worker";
};

using worker_ptr = storage_pool_actor::stateful_pointer<worker_state>;

// Runs detached: libpq calls block, and each worker owns its thread and its
// connection. It connects lazily and reconnects inside the retry loop.
storage_pool_actor::behavior_type worker_impl(worker_ptr self, context_ptr ctx) {
  auto& st = self->state;
  st.ctx = ctx;
  auto session = open_session(ctx->opts.conninfo, ctx->opts.connect_timeout,
                              ctx->opts.statement_timeout, false);
  st.session = std::move(*session); // cannot fail without connecting
  return {
    [self](describe_atom) -> runtime::actor_status {
      return {self->state.session->connected() ? "connected" : "disconnected",
              self->mailbox().size()};
    },
    [self](run_atom, const db_task& task) -> caf::result<uint32_t> {
      auto& ctx = *self->state.ctx;
      retry_policy policy;
      policy.max_attempts = ctx.opts.max_attempts;
      auto started = clock_type::now();
      auto outcome = run_with_retry(
        *self->state.session, task.transactional, task.run, policy,
        [&ctx](std::string_view reason) { ctx.count_retry(reason); });
      std::chrono::duration<double> took = clock_type::now() - started;
      ctx.duration(task.label).observe(took.count());
      ctx.count_task(task.label, outcome_of(outcome.err));
      if (outcome.err) {
        auto code = code_of(outcome.err);
        if (code == errc::unavailable || code == errc::commit_unknown)
          log::warn("database task failed",
                    {{"task", task.label}, {"outcome", to_string(code)},
                     {"error", runtime::context_of(outcome.err)}});
        return std::move(outcome.err);
      }
      return outcome.attempts;
    },
  };
}

// -- dispatcher ---------------------------------------------------------------

struct worker_slot {
  storage_pool_actor handle;
  unsigned index = 0;
  uint32_t restarts = 0;
  bool busy = false;
  /// The worker is terminating (a request to it bounced); its down message
  /// will respawn it.
  bool dying = false;
  /// Identifies the request in flight, so late replies cannot be mixed up.
  uint64_t ticket = 0;
  std::string label;
  caf::typed_response_promise<uint32_t> promise;
};

struct waiting_task {
  db_task task;
  caf::typed_response_promise<uint32_t> promise;
};

struct pool_state {
  context_ptr ctx;
  std::vector<worker_slot> workers;
  std::deque<waiting_task> waiting;
  uint64_t next_ticket = 1;
  static inline const char* name = "fp.storage_pool";

  pool_state() = default;
  pool_state(const pool_state&) = delete;
  pool_state& operator=(const pool_state&) = delete;

  // Runs when the dispatcher terminates: nobody may wait forever for an
  // answer it will never send, and the workers go with it.
  ~pool_state() {
    auto stopped = [] {
      return make_error(errc::unavailable, "the storage pool stopped");
    };
    for (auto& w : workers) {
      if (w.busy && w.promise.pending())
        w.promise.deliver(stopped());
      if (w.handle)
        caf::anon_send_exit(w.handle, caf::exit_reason::user_shutdown);
    }
    for (auto& t : waiting)
      if (t.promise.pending())
        t.promise.deliver(stopped());
    if (ctx) {
      ctx->size->set(0);
      ctx->in_use->set(0);
      ctx->waiting->set(0);
    }
  }
};

using pool_ptr = storage_pool_actor::stateful_pointer<pool_state>;

void update_gauges(pool_ptr self) {
  auto& st = self->state;
  int64_t live = 0;
  int64_t busy = 0;
  for (auto& w : st.workers) {
    live += w.dying ? 0 : 1;
    busy += w.busy ? 1 : 0;
  }
  st.ctx->size->set(live);
  st.ctx->in_use->set(busy);
  st.ctx->waiting->set(static_cast<int64_t>(st.waiting.size()));
}

void spawn_worker(pool_ptr self, worker_slot& slot) {
  auto& ctx = self->state.ctx;
  slot.handle = self->spawn<caf::detached>(worker_impl, ctx);
  slot.busy = false;
  slot.dying = false;
  self->monitor(slot.handle);
  ctx->directory->enroll(caf::actor_cast<caf::actor>(slot.handle),
                         "storage_worker",
                         "storage_worker-" + std::to_string(slot.index),
                         self->id(), slot.restarts);
}

worker_slot* find_ticket(pool_ptr self, uint64_t ticket) {
  for (auto& w : self->state.workers)
    if (w.busy && w.ticket == ticket)
      return &w;
  return nullptr;
}

void dispatch_waiting(pool_ptr self);

void finish(pool_ptr self, worker_slot& w) {
  w.busy = false;
  w.promise = {};
  w.label.clear();
  dispatch_waiting(self);
  update_gauges(self);
}

// A worker could not reach the database even after reconnecting: the tasks
// queued behind it would only wait for the same verdict (each costing up to
// a connect timeout), so they get it now. The next task tries again.
void fail_waiting(pool_ptr self, const caf::error& cause) {
  auto& st = self->state;
  if (st.waiting.empty())
    return;
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  for (auto& t : waiting) {
    st.ctx->count_task(t.task.label, "unavailable");
    if (t.promise.pending())
      t.promise.deliver(make_error(errc::unavailable,
                                   "database unavailable: "
                                     + runtime::context_of(cause)));
  }
  update_gauges(self);
}

void dispatch(pool_ptr self, worker_slot& w, db_task task,
              caf::typed_response_promise<uint32_t> promise) {
  auto ticket = self->state.next_ticket++;
  w.busy = true;
  w.ticket = ticket;
  w.label = task.label;
  w.promise = std::move(promise);
  self->request(w.handle, caf::infinite, run_atom_v, std::move(task))
    .then(
      [self, ticket](uint32_t attempts) {
        if (auto* w = find_ticket(self, ticket)) {
          w->promise.deliver(attempts);
          finish(self, *w);
        }
      },
      [self, ticket](caf::error& err) {
        auto* w = find_ticket(self, ticket);
        if (!w)
          return;
        if (err == caf::sec::request_receiver_down) {
          // The worker is going away; its down message respawns it. We
          // cannot know whether the task ran, so the caller gets an error
          // rather than a silent second run.
          w->dying = true;
          if (w->promise.pending())
            w->promise.deliver(make_error(
              errc::unavailable, "storage worker stopped before answering"));
          self->state.ctx->count_task(w->label, "unavailable");
          w->promise = {};
          update_gauges(self);
          return;
        }
        if (is_connect_failure(err))
          fail_waiting(self, err);
        w->promise.deliver(std::move(err));
        finish(self, *w);
      });
}

void dispatch_waiting(pool_ptr self) {
  auto& st = self->state;
  for (auto& w : st.workers) {
    if (st.waiting.empty())
      return;
    if (w.busy || w.dying || !w.handle)
      continue;
    auto next = std::move(st.waiting.front());
    st.waiting.pop_front();
    dispatch(self, w, std::move(next.task), std::move(next.promise));
  }
}

void on_worker_down(pool_ptr self, const caf::down_msg& msg) {
  auto& st = self->state;
  for (auto& w : st.workers) {
    if (!w.handle || w.handle.address() != msg.source)
      continue;
    log::warn("storage worker terminated",
              {{"worker", w.index}, {"reason", caf::to_string(msg.reason)},
               {"busy", w.busy}});
    if (w.busy) {
      if (w.promise.pending()) {
        w.promise.deliver(make_error(errc::unavailable,
                                     "storage worker terminated while running "
                                       + w.label));
        st.ctx->count_task(w.label, "unavailable");
      }
      w.promise = {};
      w.busy = false;
    }
    ++w.restarts;
    spawn_worker(self, w);
    dispatch_waiting(self);
    update_gauges(self);
    return;
  }
}

storage_pool_actor::behavior_type pool_impl(pool_ptr self, context_ptr ctx) {
  auto& st = self->state;
  st.ctx = ctx;
  auto size = std::max(1u, ctx->opts.size);
  st.workers.resize(size);
  for (unsigned i = 0; i < size; ++i) {
    st.workers[i].index = i;
    spawn_worker(self, st.workers[i]);
  }
  update_gauges(self);
  self->set_down_handler(
    [self](caf::down_msg& msg) { on_worker_down(self, msg); });
  return {
    [self](describe_atom) -> runtime::actor_status {
      return {"running", self->mailbox().size()};
    },
    [self](run_atom, db_task& task) -> caf::typed_response_promise<uint32_t> {
      auto& st = self->state;
      auto promise = self->make_response_promise<uint32_t>();
      for (auto& w : st.workers) {
        if (!w.busy && !w.dying && w.handle) {
          dispatch(self, w, std::move(task), promise);
          update_gauges(self);
          return promise;
        }
      }
      if (st.waiting.size() >= st.ctx->opts.queue_limit) {
        st.ctx->count_task(task.label, "overloaded");
        promise.deliver(make_error(errc::overloaded,
                                   "storage queue full ("
                                     + std::to_string(st.ctx->opts.queue_limit)
                                     + " waiting)"));
        return promise;
      }
      st.waiting.push_back(waiting_task{std::move(task), promise});
      update_gauges(self);
      return promise;
    },
  };
}

} // namespace

storage_pool_actor spawn_storage_pool(caf::actor_system& sys, pool_options opts,
                                      runtime::metrics_registry& metrics,
                                      runtime::actor_directory& directory,
                                      uint64_t parent_actor_id) {
  auto ctx = std::make_shared<pool_context>();
  ctx->opts = std::move(opts);
  ctx->metrics = &metrics;
  ctx->directory = &directory;
  ctx->size = &metrics.get_gauge("fp_storage_pool_size",
                                 "Live storage workers (one connection each).");
  ctx->in_use = &metrics.get_gauge("fp_storage_pool_in_use",
                                   "Storage workers running a task.");
  ctx->waiting = &metrics.get_gauge("fp_storage_pool_waiting",
                                    "Database tasks waiting for a worker.");
  auto retries = [&](const char* reason) {
    return &metrics.get_counter("fp_storage_retries_total",
                                "Database task attempts retried, by reason.",
                                {"reason"}, {reason});
  };
  ctx->retries_serialization = retries("serialization");
  ctx->retries_deadlock = retries("deadlock");
  ctx->retries_connection = retries("connection");
  auto handle = sys.spawn(pool_impl, ctx);
  directory.enroll(caf::actor_cast<caf::actor>(handle), "storage_pool",
                   "storage_pool", parent_actor_id);
  return handle;
}

} // namespace fp::storage
