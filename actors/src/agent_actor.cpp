// Agent actors (see agent_actor.hpp).

#include "agent_actor.hpp"

#include <caf/all.hpp>

#include "fp/runtime/messages.hpp"
#include "fp/runtime/type_ids.hpp"

namespace fp::actors {

namespace {

using clock_type = std::chrono::steady_clock;

/// Kept small on purpose: thousands of idle agents stay resident.
struct agent_state {
  uint32_t runs = 0;
  bool stop_when_idle = false;
  clock_type::rep last_used = 0;
  std::chrono::milliseconds idle_timeout{0};
  /// The tenant actor (linked): when it stops, for any reason, so do we.
  caf::actor_addr tenant;
  static inline const char* name = "fp.agent";
};

using agent_ptr = caf::stateful_actor<agent_state>*;

void touch(agent_ptr self) {
  self->state.last_used = clock_type::now().time_since_epoch().count();
}

caf::behavior agent_impl(agent_ptr self, std::chrono::milliseconds idle_timeout,
                         caf::actor_addr tenant) {
  self->state.idle_timeout = idle_timeout;
  self->state.tenant = std::move(tenant);
  touch(self);
  self->delayed_send(self, idle_timeout, idle_atom_v);
  // A finished run (normal exit) only counts down; an abnormal exit of the
  // tenant takes the agent and its runs with it.
  self->set_down_handler([self](caf::down_msg&) {
    if (self->state.runs > 0)
      --self->state.runs;
    touch(self);
    if (self->state.runs == 0 && self->state.stop_when_idle)
      self->quit();
  });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // A run's normal end arrives here too (it is linked): ignore that.
    if (msg.source == self->state.tenant || msg.reason != caf::exit_reason::normal)
      self->quit(msg.reason);
  });
  return {
    [self](describe_atom) -> runtime::actor_status {
      auto runs = self->state.runs;
      return {runs == 0 ? "idle" : std::to_string(runs) + " runs",
              self->mailbox().size()};
    },
    [self](spawn_atom, const caf::actor& run) {
      self->link_to(run);
      self->monitor(run);
      ++self->state.runs;
      touch(self);
    },
    [self](reload_atom) {
      if (self->state.runs == 0)
        self->quit();
      else
        self->state.stop_when_idle = true;
    },
    [self](idle_atom) {
      auto& st = self->state;
      auto since = clock_type::now()
                   - clock_type::time_point{clock_type::duration{st.last_used}};
      if (st.runs == 0 && since >= st.idle_timeout) {
        self->quit();
        return;
      }
      auto wait = st.runs > 0 ? st.idle_timeout
                              : std::chrono::duration_cast<std::chrono::milliseconds>(
                                  st.idle_timeout - since)
                                  + std::chrono::milliseconds{1};
      self->delayed_send(self, wait, idle_atom_v);
    },
  };
}

} // namespace

caf::actor spawn_agent_actor(caf::local_actor* tenant, std::string slug,
                             std::string agent_id,
                             std::chrono::milliseconds idle_timeout,
                             runtime::actor_directory* directory) {
  auto agent = tenant->spawn<caf::linked>(agent_impl, idle_timeout, tenant->address());
  if (directory)
    directory->enroll(agent, "agent", slug + "/" + agent_id, tenant->id());
  return agent;
}

} // namespace fp::actors
