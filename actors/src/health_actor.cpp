#include <caf/all.hpp>

#include "fp/actors/service_actors.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/migrations.hpp"
#include "fp/storage/storage_pool.hpp"

namespace fp::actors {

namespace {

using clock_type = std::chrono::steady_clock;

struct health_state {
  health_options opts;
  runtime::readiness last;
  clock_type::time_point checked_at{};
  bool checking = false;
  std::vector<caf::typed_response_promise<runtime::readiness>> waiting;
  static inline const char* name = "fp.health";
};

using self_ptr = runtime::health_actor::stateful_pointer<health_state>;

void finish_check(self_ptr self, runtime::readiness result) {
  auto& st = self->state;
  if (st.last.ready != result.ready)
    runtime::log::info(result.ready ? "node is ready" : "node is not ready",
                       {{"detail", result.detail}});
  st.last = std::move(result);
  st.checked_at = clock_type::now();
  st.checking = false;
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  for (auto& rp : waiting)
    rp.deliver(st.last);
}

void start_check(self_ptr self) {
  auto& st = self->state;
  st.checking = true;
  auto pool = st.opts.storage_pool
                ? st.opts.storage_pool->get_as<storage::storage_pool_actor>()
                : storage::storage_pool_actor{};
  if (!pool) {
    finish_check(self, {false, false, -1, "storage pool is not running"});
    return;
  }
  auto pending = std::make_shared<int>(-1);
  storage::db_task task;
  task.label = "health.check";
  task.transactional = false;
  task.run = [pending](storage::pg_session& session) -> caf::error {
    auto n = storage::pending_migration_count(session);
    if (!n)
      return std::move(n.error());
    *pending = *n;
    return caf::none;
  };
  self->request(pool, self->state.opts.check_timeout, run_atom_v, std::move(task))
    .then(
      [self, pending](uint32_t) {
        runtime::readiness r;
        r.database_reachable = true;
        r.pending_migrations = *pending;
        r.ready = *pending == 0;
        if (*pending > 0)
          r.detail = std::to_string(*pending) + " public migration(s) pending";
        finish_check(self, std::move(r));
      },
      [self](caf::error& err) {
        finish_check(self, {false, false, -1,
                            "database unreachable: " + self->system().render(err)});
      });
}

runtime::health_actor::behavior_type health_impl(self_ptr self,
                                                 health_options opts) {
  self->state.opts = std::move(opts);
  return {
    [self](describe_atom) -> runtime::actor_status {
      auto& st = self->state;
      std::string state = st.checking ? "checking"
                          : st.last.ready ? "ready"
                                          : "not_ready";
      return {std::move(state), self->mailbox().size()};
    },
    [self](ready_atom) {
      auto& st = self->state;
      auto rp = self->make_response_promise<runtime::readiness>();
      auto fresh = clock_type::now() - st.checked_at < st.opts.cache_for;
      if (!st.checking && fresh) {
        rp.deliver(st.last);
        return rp;
      }
      st.waiting.push_back(rp);
      if (!st.checking)
        start_check(self);
      return rp;
    },
  };
}

} // namespace

runtime::health_actor spawn_health_actor(caf::local_actor* parent,
                                         health_options opts) {
  return parent->spawn(health_impl, std::move(opts));
}

} // namespace fp::actors
