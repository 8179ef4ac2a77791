// The reaper: periodically purges deleted organizations whose grace passed.

#include <caf/all.hpp>

#include "fp/actors/orgs.hpp"
#include "fp/actors/tenant_actors.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/storage_pool.hpp"

namespace fp::actors {

namespace {

struct reaper_state {
  org_reaper_options opts;
  bool busy = false;
  static inline const char* name = "fp.org_reaper";
};

using reaper_ptr = runtime::org_reaper_actor::stateful_pointer<reaper_state>;

void purge_pass(reaper_ptr self) {
  auto pool = self->state.opts.storage_pool
                ? self->state.opts.storage_pool->get_as<storage::storage_pool_actor>()
                : storage::storage_pool_actor{};
  if (!pool)
    return; // the next tick tries again
  self->state.busy = true;
  storage::db_task task;
  task.label = "orgs.purge";
  // purge_due_orgs runs one transaction per organization.
  task.transactional = false;
  task.run = [](storage::pg_session& s) -> caf::error {
    auto purged = purge_due_orgs(s);
    return purged ? caf::none : std::move(purged.error());
  };
  storage::run(
    self, pool, std::move(task), [self](uint32_t) { self->state.busy = false; },
    [self](caf::error& err) {
      self->state.busy = false;
      runtime::log::warn("organization purge failed",
                         {{"error", self->system().render(err)}});
    });
}

runtime::org_reaper_actor::behavior_type reaper_impl(reaper_ptr self,
                                                     org_reaper_options opts) {
  self->state.opts = std::move(opts);
  self->delayed_send(self, self->state.opts.interval, tick_atom_v);
  return {
    [self](describe_atom) -> runtime::actor_status {
      return {self->state.busy ? "purging" : "idle", self->mailbox().size()};
    },
    [self](tick_atom) {
      if (!self->state.busy)
        purge_pass(self);
      self->delayed_send(self, self->state.opts.interval, tick_atom_v);
    },
  };
}

} // namespace

runtime::org_reaper_actor spawn_org_reaper(caf::local_actor* parent,
                                           org_reaper_options opts) {
  return parent->spawn(reaper_impl, std::move(opts));
}

} // namespace fp::actors
