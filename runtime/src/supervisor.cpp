#include "fp/runtime/supervisor.hpp"

#include <algorithm>
#include <chrono>
#include <deque>

#include <caf/all.hpp>

#include "fp/runtime/errc.hpp"
#include "fp/runtime/log.hpp"

namespace fp::runtime {

namespace {

using clock_type = std::chrono::steady_clock;

struct child_state {
  child_spec spec;
  caf::actor handle;
  uint32_t restarts = 0;
  std::deque<clock_type::time_point> recent; // restarts inside the window
  std::chrono::milliseconds next_backoff{0};
  bool restart_pending = false;
};

struct supervisor_state {
  std::string id;
  std::vector<child_state> children;
  restart_policy policy;
  give_up_fn give_up;
  actor_directory* directory = nullptr;
  bool stopping = false;
  static inline const char* name = "fp.supervisor";
};

using self_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

void start_child(self_ptr self, child_state& child) {
  child.handle = child.spec.start(self);
  if (!child.handle) {
    log::error("supervisor could not start child",
               {{"supervisor", self->state.id}, {"child", child.spec.name}});
    return;
  }
  self->monitor(child.handle);
  child.spec.slot->set(child.handle);
  self->state.directory->enroll(child.handle, child.spec.kind, child.spec.name,
                                self->id(), child.restarts);
}

void stop_children(self_ptr self, const caf::error& reason) {
  self->state.stopping = true;
  auto& children = self->state.children;
  // Reverse start order: later children may depend on earlier ones.
  for (auto i = children.rbegin(); i != children.rend(); ++i) {
    if (i->handle) {
      self->demonitor(i->handle);
      self->send_exit(i->handle, reason ? reason
                                        : caf::error{caf::exit_reason::user_shutdown});
    }
  }
}

void on_child_down(self_ptr self, const caf::down_msg& msg) {
  auto& st = self->state;
  if (st.stopping)
    return;
  auto i = std::find_if(st.children.begin(), st.children.end(),
                        [&](const child_state& c) {
                          return c.handle && c.handle.address() == msg.source;
                        });
  if (i == st.children.end())
    return;
  auto& child = *i;
  child.handle = nullptr;
  auto reason = to_string(msg.reason);
  log::warn("supervised child terminated",
            {{"supervisor", st.id}, {"child", child.spec.name},
             {"reason", reason}, {"restarts", child.restarts}});
  auto now = clock_type::now();
  while (!child.recent.empty()
         && now - child.recent.front() > st.policy.window)
    child.recent.pop_front();
  if (child.recent.size() >= st.policy.limit) {
    auto why = "child '" + child.spec.name + "' of supervisor '" + st.id
               + "' crashed " + std::to_string(child.recent.size() + 1)
               + " times within "
               + std::to_string(st.policy.window.count())
               + " ms (restart budget " + std::to_string(st.policy.limit)
               + "); last reason: " + reason;
    log::error("restart budget exhausted, giving up", {{"detail", why}});
    stop_children(self, caf::exit_reason::user_shutdown);
    if (st.give_up)
      st.give_up(why);
    self->quit(make_error(errc::internal, why));
    return;
  }
  if (child.recent.empty())
    child.next_backoff = st.policy.backoff_min;
  child.recent.push_back(now);
  child.restart_pending = true;
  auto delay = child.next_backoff;
  child.next_backoff = std::min(
    std::max(child.next_backoff * 2, std::chrono::milliseconds{1}),
    st.policy.backoff_max);
  self->delayed_send(self, delay, restart_atom_v, child.spec.name);
}

supervisor_actor::behavior_type
supervisor_impl(self_ptr self, actor_directory* directory, std::string id,
                std::vector<child_spec> specs, restart_policy policy,
                give_up_fn give_up) {
  auto& st = self->state;
  st.id = std::move(id);
  st.policy = policy;
  st.give_up = std::move(give_up);
  st.directory = directory;
  for (auto& spec : specs)
    st.children.push_back(child_state{std::move(spec)});
  self->set_down_handler(
    [self](caf::down_msg& msg) { on_child_down(self, msg); });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    stop_children(self, msg.reason);
    self->quit(msg.reason);
  });
  for (auto& child : st.children)
    start_child(self, child);
  return {
    [self](describe_atom) -> actor_status {
      return {self->state.stopping ? "stopping" : "running",
              self->mailbox().size()};
    },
    [self](child_atom, const std::string& name) -> caf::result<caf::actor> {
      for (auto& child : self->state.children)
        if (child.spec.name == name && child.handle)
          return child.handle;
      return make_error(errc::not_found, "no live child named " + name);
    },
    [self](restart_atom, const std::string& name) {
      auto& st = self->state;
      if (st.stopping)
        return;
      for (auto& child : st.children) {
        if (child.spec.name == name && child.restart_pending) {
          child.restart_pending = false;
          ++child.restarts;
          start_child(self, child);
          log::info("supervised child restarted",
                    {{"supervisor", st.id}, {"child", name},
                     {"restarts", child.restarts}});
        }
      }
    },
  };
}

} // namespace

supervisor_actor spawn_supervisor(caf::actor_system& sys,
                                  actor_directory& directory, std::string id,
                                  std::vector<child_spec> children,
                                  restart_policy policy, give_up_fn on_give_up) {
  auto handle = sys.spawn(supervisor_impl, &directory, id, std::move(children),
                          policy, std::move(on_give_up));
  directory.enroll(caf::actor_cast<caf::actor>(handle), "supervisor", id, 0);
  return handle;
}

caf::error await_started(caf::actor_system& sys, const supervisor_actor& sup,
                         std::chrono::milliseconds timeout) {
  // The describe request is handled only after the behavior exists, which
  // is after the init function started all children.
  caf::scoped_actor self{sys};
  caf::error result;
  self->request(sup, timeout, describe_atom_v)
    .receive([](actor_status&) {}, [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace fp::runtime
