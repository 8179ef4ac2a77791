// Group commit of execution writes: executions' storage tasks (load/start,
// streamed text, tool calls, finish with its signals) wait while every
// batch slot is busy and are then committed together, many executions in
// one transaction — as the signal bus does for signals. It speaks the
// storage pool's protocol, so execution actors do not know it is there.

#include <map>
#include <utility>

#include <caf/all.hpp>

#include "agent_engine_internal.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/messages.hpp"
#include "fp/runtime/type_ids.hpp"
#include "fp/storage/storage_pool.hpp"

namespace fp::actors::detail {

namespace {

/// Batches in flight at once (the pool has several workers), and the
/// largest batch.
constexpr int max_in_flight = 2;
constexpr std::size_t max_batch = 256;

using promise_type = caf::typed_response_promise<uint32_t>;

struct batch_state {
  runtime::actor_slot_ptr pool;
  std::vector<std::pair<storage::db_task, promise_type>> pending;
  int in_flight = 0;
  static inline const char* name = "fp.execution_writer";
};

using batch_ptr = storage::storage_pool_actor::stateful_pointer<batch_state>;

storage::storage_pool_actor pool_of(batch_ptr self) {
  return self->state.pool ? self->state.pool->get_as<storage::storage_pool_actor>()
                          : storage::storage_pool_actor{};
}

void flush(batch_ptr self);

/// A failed batch: each task again on its own, so one bad task fails alone.
void run_alone(batch_ptr self, storage::db_task task, promise_type rp) {
  auto pool = pool_of(self);
  if (!pool) {
    rp.deliver(runtime::make_error(runtime::errc::unavailable,
                                   "storage pool is not running"));
    return;
  }
  self->request(pool, caf::infinite, run_atom_v, std::move(task))
    .then([rp](uint32_t attempts) mutable { rp.deliver(attempts); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

void flush(batch_ptr self) {
  auto& st = self->state;
  while (st.in_flight < max_in_flight && !st.pending.empty()) {
    auto pool = pool_of(self);
    if (!pool) {
      for (auto& [task, rp] : st.pending)
        rp.deliver(runtime::make_error(runtime::errc::unavailable,
                                       "storage pool is not running"));
      st.pending.clear();
      return;
    }
    auto n = std::min(max_batch, st.pending.size());
    auto batch = std::make_shared<std::vector<std::pair<storage::db_task, promise_type>>>(
      std::make_move_iterator(st.pending.begin()),
      std::make_move_iterator(st.pending.begin() + static_cast<std::ptrdiff_t>(n)));
    st.pending.erase(st.pending.begin(), st.pending.begin() + static_cast<std::ptrdiff_t>(n));
    if (batch->size() == 1) {
      auto [task, rp] = std::move(batch->front());
      ++st.in_flight;
      self->request(pool, caf::infinite, run_atom_v, std::move(task))
        .then(
          [self, rp](uint32_t attempts) mutable {
            rp.deliver(attempts);
            --self->state.in_flight;
            flush(self);
          },
          [self, rp](caf::error& err) mutable {
            rp.deliver(std::move(err));
            --self->state.in_flight;
            flush(self);
          });
      continue;
    }
    storage::db_task group;
    group.label = "executions.batch";
    group.run = [batch](storage::pg_session& db) -> caf::error {
      deferred_emits held;
      auto& current = current_deferred_emits();
      current = &held;
      for (auto& entry : *batch)
        if (auto err = entry.first.run(db)) {
          current = nullptr;
          return err;
        }
      current = nullptr;
      return emit_deferred(db, held);
    };
    ++st.in_flight;
    self->request(pool, caf::infinite, run_atom_v, std::move(group))
      .then(
        [self, batch](uint32_t attempts) {
          for (auto& entry : *batch)
            entry.second.deliver(attempts);
          --self->state.in_flight;
          flush(self);
        },
        [self, batch](caf::error&) {
          for (auto& entry : *batch)
            run_alone(self, std::move(entry.first), entry.second);
          --self->state.in_flight;
          flush(self);
        });
  }
}

} // namespace

deferred_emits*& current_deferred_emits() noexcept {
  thread_local deferred_emits* current = nullptr;
  return current;
}

caf::error emit_deferred(storage::pg_session& db, const deferred_emits& d) {
  // Grouped per tenant, in the order the runs emitted them.
  std::map<std::string, std::pair<const tenant_ref*, std::vector<emit_part>>> by_slug;
  for (auto& it : d.items) {
    auto& group = by_slug[it.tenant.slug];
    group.first = &it.tenant;
    group.second.push_back(emit_part{&it.actor, &it.inputs});
  }
  for (auto& [slug, group] : by_slug) {
    auto res = emit_parts_in_transaction(db, *group.first, group.second);
    if (!res)
      return std::move(res.error());
    for (auto& part : *res)
      for (auto& r : part)
        if (!r.error.empty())
          return runtime::make_error(runtime::errc::internal,
                                     "execution signal refused: " + r.error);
  }
  return caf::none;
}

namespace {

storage::storage_pool_actor::behavior_type
batch_impl(batch_ptr self, runtime::actor_slot_ptr pool) {
  self->state.pool = std::move(pool);
  return {
    [self](describe_atom) -> runtime::actor_status {
      return {std::to_string(self->state.in_flight) + " batches in flight",
              self->mailbox().size()};
    },
    [self](run_atom, storage::db_task& task) -> caf::result<uint32_t> {
      auto rp = self->make_response_promise<uint32_t>();
      self->state.pending.emplace_back(std::move(task), rp);
      flush(self);
      return rp;
    },
  };
}

} // namespace

runtime::actor_slot_ptr spawn_execution_writer(caf::local_actor* engine,
                                               runtime::actor_slot_ptr pool) {
  auto writer = engine->spawn<caf::linked>(batch_impl, std::move(pool));
  auto slot = std::make_shared<runtime::actor_slot>();
  slot->set(caf::actor_cast<caf::actor>(writer));
  return slot;
}

} // namespace fp::actors::detail
