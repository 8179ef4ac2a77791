// The signal bus: group commit of concurrent emits.

#include "fp/actors/signal_bus.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include <caf/all.hpp>

#include "fp/runtime/errc.hpp"
#include "fp/storage/storage_pool.hpp"

namespace fp::actors {

namespace {

struct pending_emit {
  std::shared_ptr<const emit_batch> batch;
  caf::typed_response_promise<signal_emit_reply> promise;
};

/// What one flush commits: the batches of a group and, once its task ran,
/// their results (written on the storage worker, read after the answer).
struct group_work {
  std::vector<std::shared_ptr<const emit_batch>> batches;
  std::vector<std::vector<emit_result>> results;
};

/// The bus's metric series (null when no registry was given).
struct bus_metrics {
  runtime::counter* created = nullptr;
  runtime::counter* duplicate = nullptr;
  runtime::counter* rejected = nullptr;
  runtime::counter* failed = nullptr;
  runtime::counter* groups_ok = nullptr;
  runtime::counter* groups_failed = nullptr;
  runtime::histogram* group_size = nullptr;

  explicit bus_metrics(runtime::metrics_registry* m) {
    if (!m)
      return;
    auto emitted = [m](const char* outcome) {
      return &m->get_counter("fp_signals_emitted_total",
                             "Signals through the signal bus, by outcome.",
                             {"outcome"}, {outcome});
    };
    created = emitted("created");
    duplicate = emitted("duplicate");
    rejected = emitted("rejected");
    failed = emitted("failed");
    auto groups = [m](const char* outcome) {
      return &m->get_counter("fp_signal_groups_total",
                             "Group commits of the signal bus, by outcome.",
                             {"outcome"}, {outcome});
    };
    groups_ok = groups("committed");
    groups_failed = groups("failed");
    group_size = &m->get_histogram(
      "fp_signal_group_size", "Signals per group commit of the signal bus.",
      {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000});
  }

  void committed(const group_work& work) const {
    if (!created)
      return;
    uint64_t n = 0;
    for (auto& results : work.results)
      for (auto& r : results) {
        ++n;
        (!r.error.empty() ? rejected : r.created ? created : duplicate)->inc();
      }
    groups_ok->inc();
    group_size->observe(static_cast<double>(n));
  }

  void failed_group(std::size_t signals) const {
    if (!failed)
      return;
    failed->inc(signals);
    groups_failed->inc();
  }
};

struct bus_state {
  signal_bus_options opts;
  std::shared_ptr<const bus_metrics> metrics;
  /// Requests not yet committing, in arrival order.
  std::deque<pending_emit> pending;
  std::size_t pending_signals = 0;
  /// Groups committing, by tenant. A tenant's groups serialize on its emit
  /// lock in the database, so more than opts.tenant_in_flight of them would
  /// only hold pool workers waiting; requests gather meanwhile instead.
  std::map<std::string, unsigned, std::less<>> busy;
  /// A linger timer is on its way.
  bool timer_armed = false;
  unsigned in_flight = 0;
  uint64_t groups_committed = 0;
  uint64_t signals_committed = 0;
  static inline const char* name = "fp.signal_bus";
};

using bus_ptr = signal_bus_actor::stateful_pointer<bus_state>;

/// Runs on a storage worker: every tenant of the group in a stable order
/// (so two groups never wait for each other's emit locks in a cycle), one
/// grouped emit per tenant, all in the task's one transaction.
caf::error commit_group(storage::pg_session& db, group_work& work,
                        const emit_limits& limits) {
  std::map<std::string, std::vector<std::size_t>> by_slug;
  for (std::size_t i = 0; i < work.batches.size(); ++i)
    by_slug[work.batches[i]->tenant.slug].push_back(i);
  work.results.assign(work.batches.size(), {});
  for (auto& [slug, indexes] : by_slug) {
    std::vector<emit_part> parts;
    parts.reserve(indexes.size());
    for (auto i : indexes)
      parts.push_back(emit_part{&work.batches[i]->actor, &work.batches[i]->items});
    auto r = emit_parts_in_transaction(db, work.batches[indexes.front()]->tenant,
                                       parts, limits);
    if (!r)
      return std::move(r.error());
    for (std::size_t k = 0; k < indexes.size(); ++k)
      work.results[indexes[k]] = std::move((*r)[k]);
  }
  return caf::none;
}

void flush(bus_ptr self);

/// Sends one group to the storage pool: pending requests of tenants
/// without a committing group, up to group_max signals. Returns false when
/// nothing was eligible.
bool dispatch_group(bus_ptr self) {
  auto& st = self->state;
  auto promises = std::make_shared<std::vector<
    caf::typed_response_promise<signal_emit_reply>>>();
  auto work = std::make_shared<group_work>();
  std::set<std::string> tenants;
  std::size_t signals = 0;
  std::deque<pending_emit> rest;
  auto now = std::chrono::steady_clock::now();
  // Signals waiting per tenant that already has a group committing: it
  // gets another group only when enough of them wait (opts.overlap_min).
  std::map<std::string_view, std::size_t> waiting;
  for (auto& p : st.pending)
    if (st.busy.count(p.batch->tenant.slug))
      waiting[p.batch->tenant.slug] += p.batch->items.size();
  while (!st.pending.empty()) {
    auto p = std::move(st.pending.front());
    st.pending.pop_front();
    auto n = p.batch->items.size();
    if (p.batch->deadline <= now) {
      st.pending_signals -= n;
      p.promise.deliver(runtime::make_error(
        runtime::errc::timeout, "the signal bus could not start in time"));
      continue;
    }
    const auto& slug = p.batch->tenant.slug;
    auto b = st.busy.find(slug);
    bool tenant_full = b != st.busy.end()
                       && (b->second >= st.opts.tenant_in_flight
                           || waiting[slug] < st.opts.overlap_min);
    if (tenant_full || (signals > 0 && signals + n > st.opts.group_max)) {
      rest.push_back(std::move(p));
      continue;
    }
    signals += n;
    tenants.insert(slug);
    work->batches.push_back(std::move(p.batch));
    promises->push_back(std::move(p.promise));
  }
  st.pending = std::move(rest);
  st.pending_signals -= signals;
  if (work->batches.empty())
    return false;
  auto pool = st.opts.storage_pool
                ? st.opts.storage_pool->get_as<storage::storage_pool_actor>()
                : storage::storage_pool_actor{};
  if (!pool) {
    auto err = runtime::make_error(runtime::errc::unavailable,
                                   "the storage pool is not running");
    for (auto& p : *promises)
      p.deliver(err);
    return true;
  }
  ++st.in_flight;
  for (auto& t : tenants)
    ++st.busy[t];
  storage::db_task task;
  task.label = "signals.emit";
  task.run = [work, limits = st.opts.limits](storage::pg_session& db) {
    return commit_group(db, *work, limits);
  };
  // Requests that arrived while this group committed have had their
  // company: the next group goes out at once.
  auto done = [self, tenants] {
    auto& st = self->state;
    --st.in_flight;
    for (auto& t : tenants)
      if (auto b = st.busy.find(t); b != st.busy.end() && --b->second == 0)
        st.busy.erase(b);
    flush(self);
  };
  storage::run(
    self, pool, std::move(task),
    [self, promises, work, signals, done](uint32_t) {
      if (work->results.size() != promises->size()) {
        // The pool answered without running the task: nothing committed.
        auto err = runtime::make_error(runtime::errc::internal,
                                       "the emit task did not run");
        for (auto& p : *promises)
          p.deliver(err);
        done();
        return;
      }
      ++self->state.groups_committed;
      self->state.signals_committed += signals;
      self->state.metrics->committed(*work);
      for (std::size_t i = 0; i < promises->size(); ++i)
        (*promises)[i].deliver(signal_emit_reply{
          std::make_shared<const std::vector<emit_result>>(
            std::move(work->results[i]))});
      done();
    },
    [self, promises, signals, done](caf::error& err) {
      self->state.metrics->failed_group(signals);
      for (auto& p : *promises)
        p.deliver(err);
      done();
    });
  return true;
}

void flush(bus_ptr self) {
  auto& st = self->state;
  while (!st.pending.empty() && st.in_flight < st.opts.max_in_flight)
    if (!dispatch_group(self))
      break;
}

signal_bus_actor::behavior_type bus_impl(bus_ptr self,
                                         signal_bus_options opts) {
  if (opts.max_in_flight == 0)
    opts.max_in_flight = 1;
  if (opts.group_max == 0)
    opts.group_max = 1;
  if (opts.tenant_in_flight == 0)
    opts.tenant_in_flight = 1;
  self->state.metrics = std::make_shared<const bus_metrics>(opts.metrics);
  self->state.opts = std::move(opts);
  return {
    [self](describe_atom) -> runtime::actor_status {
      auto& st = self->state;
      std::string text = "gathering " + std::to_string(st.pending_signals)
                         + " signals, " + std::to_string(st.in_flight)
                         + " groups committing; committed "
                         + std::to_string(st.signals_committed)
                         + " signals in "
                         + std::to_string(st.groups_committed) + " groups";
      return {std::move(text), self->mailbox().size()};
    },
    [self](emit_atom, signal_emit_request& req)
      -> caf::typed_response_promise<signal_emit_reply> {
      auto& st = self->state;
      auto promise = self->make_response_promise<signal_emit_reply>();
      if (!req.batch) {
        promise.deliver(runtime::make_error(runtime::errc::invalid_argument,
                                            "empty emit request"));
        return promise;
      }
      if (st.pending_signals + req.batch->items.size() > st.opts.max_pending
          && !st.pending.empty()) {
        promise.deliver(runtime::make_error(runtime::errc::overloaded,
                                            "too many signals waiting"));
        return promise;
      }
      st.pending_signals += req.batch->items.size();
      st.pending.push_back(pending_emit{std::move(req.batch), promise});
      if (st.pending_signals >= st.opts.group_max) {
        flush(self);
      } else if (!st.timer_armed) {
        st.timer_armed = true;
        if (st.opts.linger.count() <= 0)
          self->send(self, flush_atom_v);
        else
          self->delayed_send(self, st.opts.linger, flush_atom_v);
      }
      return promise;
    },
    [self](flush_atom) {
      self->state.timer_armed = false;
      flush(self);
    },
  };
}

} // namespace

signal_bus_actor spawn_signal_bus(caf::local_actor* parent,
                                  signal_bus_options opts) {
  return parent->spawn(bus_impl, std::move(opts));
}

} // namespace fp::actors
