// Installation actors (see installation_actor.hpp).

#include "installation_actor.hpp"

#include <deque>
#include <memory>

#include <caf/all.hpp>

#include "fp/runtime/errc.hpp"
#include "fp/runtime/messages.hpp"
#include "fp/runtime/type_ids.hpp"
#include "fp/storage/installations.hpp"
#include "fp/storage/storage_pool.hpp"

namespace fp::actors {

namespace {

using clock_type = std::chrono::steady_clock;

struct pending_op {
  storage::db_task task;
  caf::typed_response_promise<uint32_t> promise;
};

struct installation_state {
  std::string slug;
  std::string id;
  /// The installation's state as of the last operation ("" before one).
  std::string state;
  runtime::actor_slot_ptr storage_pool;
  std::deque<pending_op> queue;
  bool busy = false;
  clock_type::rep last_used = 0;
  std::chrono::milliseconds idle_timeout{0};
  caf::actor_addr tenant;
  static inline const char* name = "fp.installation";
};

using installation_ptr = caf::stateful_actor<installation_state>*;

void touch(installation_ptr self) {
  self->state.last_used = clock_type::now().time_since_epoch().count();
}

void run_next(installation_ptr self) {
  auto& st = self->state;
  if (st.busy || st.queue.empty())
    return;
  auto op = std::move(st.queue.front());
  st.queue.pop_front();
  auto pool = st.storage_pool ? st.storage_pool->get_as<storage::storage_pool_actor>()
                              : storage::storage_pool_actor{};
  if (!pool) {
    op.promise.deliver(runtime::make_error(runtime::errc::unavailable,
                                           "storage pool is not running"));
    run_next(self);
    return;
  }
  st.busy = true;
  touch(self);
  // The installation's state is read at the end of the operation's own
  // transaction, so what the actor shows is what was committed.
  auto seen = std::make_shared<std::string>();
  auto task = std::move(op.task);
  auto inner = std::move(task.run);
  task.run = [inner = std::move(inner), seen, slug = st.slug,
              id = st.id](storage::pg_session& db) -> caf::error {
    if (auto err = inner(db))
      return err;
    auto found = storage::find_installation(db, slug, id);
    if (found && *found)
      *seen = (*found)->state;
    return caf::none;
  };
  auto promise = std::move(op.promise);
  storage::run(
    self, pool, std::move(task),
    [self, seen, promise](uint32_t attempts) mutable {
      self->state.busy = false;
      if (!seen->empty())
        self->state.state = *seen;
      promise.deliver(attempts);
      run_next(self);
    },
    [self, promise](caf::error& err) mutable {
      self->state.busy = false;
      promise.deliver(err);
      run_next(self);
    });
}

caf::behavior installation_impl(installation_ptr self, std::string slug,
                                std::string id, runtime::actor_slot_ptr pool,
                                std::chrono::milliseconds idle_timeout,
                                caf::actor_addr tenant) {
  auto& st = self->state;
  st.slug = std::move(slug);
  st.id = std::move(id);
  st.storage_pool = std::move(pool);
  st.idle_timeout = idle_timeout;
  st.tenant = std::move(tenant);
  touch(self);
  self->delayed_send(self, idle_timeout, idle_atom_v);
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (msg.source == self->state.tenant || msg.reason != caf::exit_reason::normal)
      self->quit(msg.reason);
  });
  return {
    [self](describe_atom) -> runtime::actor_status {
      auto& st = self->state;
      std::string text = st.state.empty() ? "idle" : st.state;
      if (st.busy)
        text += ", working";
      if (!st.queue.empty())
        text += ", " + std::to_string(st.queue.size()) + " queued";
      return {text, self->mailbox().size()};
    },
    [self](run_atom, storage::db_task& task) -> caf::result<uint32_t> {
      auto rp = self->make_response_promise<uint32_t>();
      self->state.queue.push_back({std::move(task), rp});
      run_next(self);
      return rp;
    },
    [self](idle_atom) {
      auto& st = self->state;
      auto since = clock_type::now()
                   - clock_type::time_point{clock_type::duration{st.last_used}};
      if (!st.busy && st.queue.empty() && since >= st.idle_timeout) {
        self->quit();
        return;
      }
      auto wait = st.busy ? st.idle_timeout
                          : std::chrono::duration_cast<std::chrono::milliseconds>(
                              st.idle_timeout - since)
                              + std::chrono::milliseconds{1};
      self->delayed_send(self, wait, idle_atom_v);
    },
  };
}

} // namespace

caf::actor spawn_installation_actor(caf::local_actor* tenant, std::string slug,
                                    std::string id,
                                    runtime::actor_slot_ptr storage_pool,
                                    std::chrono::milliseconds idle_timeout,
                                    runtime::actor_directory* directory) {
  auto key = slug + "/" + id;
  auto actor = tenant->spawn<caf::linked>(installation_impl, std::move(slug),
                                          std::move(id), std::move(storage_pool),
                                          idle_timeout, tenant->address());
  if (directory)
    directory->enroll(actor, "installation", key, tenant->id());
  return actor;
}

} // namespace fp::actors
