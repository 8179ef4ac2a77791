// One organization's actor and the registry that finds, starts and
// passivates them.

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include <caf/all.hpp>

#include "agent_actor.hpp"
#include "installation_actor.hpp"
#include "fp/actors/tenancy.hpp"
#include "fp/actors/tenant_actors.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/org_repository.hpp"
#include "fp/storage/storage_pool.hpp"

namespace fp::actors {

namespace log = runtime::log;
using clock_type = std::chrono::steady_clock;

namespace {

// -- tenant -------------------------------------------------------------------------

/// Kept deliberately small: thousands of idle tenants stay resident. The
/// organization's details live in PostgreSQL; the actor only keeps what
/// routing and passivation need.
struct tenant_state {
  std::string org_id;
  std::string slug;
  clock_type::rep last_used = 0;
  std::chrono::milliseconds idle_timeout{0};
  /// Live agent actors by agent id (children, linked).
  std::unordered_map<std::string, caf::actor> agents;
  /// Live installation actors by installation id (children, linked).
  std::unordered_map<std::string, caf::actor> installations;
  /// Where installation actors send their work.
  runtime::actor_slot_ptr storage_pool;
  runtime::actor_directory* directory = nullptr;
  static inline const char* name = "fp.tenant";
};

using tenant_ptr = runtime::tenant_actor::stateful_pointer<tenant_state>;

void touch(tenant_ptr self) {
  self->state.last_used = clock_type::now().time_since_epoch().count();
}

runtime::tenant_actor::behavior_type
tenant_impl(tenant_ptr self, caf::actor registry, std::string org_id,
            std::string slug, std::chrono::milliseconds idle_timeout,
            runtime::actor_directory* directory,
            runtime::actor_slot_ptr storage_pool) {
  // Monitors rather than links both ways: a tenant killed outright must not
  // take the registry with it (exit_reason::kill is fatal across links),
  // and a tenant must not outlive its registry.
  self->monitor(registry);
  self->set_down_handler([self, registry_id = registry.id()](caf::down_msg& msg) {
    if (msg.source.id() == registry_id) {
      self->quit();
      return;
    }
    // An agent or installation actor stopped (idle, reloaded or crashed):
    // forget it.
    for (auto* children : {&self->state.agents, &self->state.installations})
      for (auto i = children->begin(); i != children->end(); ++i)
        if (i->second.id() == msg.source.id()) {
          children->erase(i);
          break;
        }
  });
  self->state.directory = directory;
  self->state.storage_pool = std::move(storage_pool);
  self->state.org_id = std::move(org_id);
  self->state.slug = std::move(slug);
  self->state.idle_timeout = idle_timeout;
  touch(self);
  self->delayed_send(self, idle_timeout, idle_atom_v);
  return {
    // Describing is not use: the actor tree must not keep tenants alive.
    [self](describe_atom) -> runtime::actor_status {
      return {"running", self->mailbox().size()};
    },
    [self](org_atom) -> std::string {
      touch(self);
      return self->state.org_id;
    },
    [self](agent_atom, const std::string& agent_id) -> caf::actor {
      touch(self);
      auto& st = self->state;
      if (auto i = st.agents.find(agent_id); i != st.agents.end())
        return i->second;
      auto agent = spawn_agent_actor(self, st.slug, agent_id, st.idle_timeout,
                                     st.directory);
      self->monitor(agent);
      st.agents.emplace(agent_id, agent);
      return agent;
    },
    [self](installation_atom, const std::string& id) -> caf::actor {
      touch(self);
      auto& st = self->state;
      if (auto i = st.installations.find(id); i != st.installations.end())
        return i->second;
      auto actor = spawn_installation_actor(self, st.slug, id, st.storage_pool,
                                            st.idle_timeout, st.directory);
      self->monitor(actor);
      st.installations.emplace(id, actor);
      return actor;
    },
    [self](agent_atom, const std::string& agent_id, reload_atom) {
      if (auto i = self->state.agents.find(agent_id); i != self->state.agents.end())
        caf::anon_send(i->second, reload_atom_v);
    },
    [self](idle_atom) {
      auto& st = self->state;
      // Agents and installations keep their tenant resident (they stop
      // when idle themselves).
      if (!st.agents.empty() || !st.installations.empty()) {
        self->delayed_send(self, st.idle_timeout, idle_atom_v);
        return;
      }
      auto since = clock_type::now()
                   - clock_type::time_point{clock_type::duration{st.last_used}};
      if (since >= st.idle_timeout) {
        // A normal exit: the registry forgets it instead of restarting it.
        self->quit();
        return;
      }
      self->delayed_send(self,
                         std::chrono::duration_cast<std::chrono::milliseconds>(
                           st.idle_timeout - since)
                           + std::chrono::milliseconds{1},
                         idle_atom_v);
    },
  };
}

// -- registry -----------------------------------------------------------------------

using tenant_promise = caf::typed_response_promise<caf::actor>;

struct registry_state {
  tenant_registry_options opts;
  /// Live tenant actors by slug, and slugs by actor id (for exits).
  std::unordered_map<std::string, caf::actor> live;
  std::unordered_map<uint64_t, std::string> slug_of;
  /// Requests waiting for an organization being loaded, by slug. A key
  /// without waiters is a restart after a crash.
  std::unordered_map<std::string, std::vector<tenant_promise>> loading;
  /// Recent crashes of tenants that crashed (others cost nothing here), so
  /// a tenant crashing on every start backs off instead of spinning.
  struct crash_record {
    uint32_t count = 0;
    std::chrono::steady_clock::time_point last;
  };
  std::unordered_map<std::string, crash_record> crashes;
  static inline const char* name = "fp.tenant_registry";
};

/// Crashes further apart than this start the backoff over.
constexpr auto crash_window = std::chrono::seconds{60};
constexpr auto restart_backoff_min = std::chrono::milliseconds{10};
constexpr auto restart_backoff_max = std::chrono::milliseconds{5000};

using registry_ptr = runtime::tenant_registry_actor::stateful_pointer<registry_state>;

void finish_loading(registry_ptr self, const std::string& slug,
                    const caf::expected<caf::actor>& outcome) {
  auto i = self->state.loading.find(slug);
  if (i == self->state.loading.end())
    return;
  auto waiting = std::move(i->second);
  self->state.loading.erase(i);
  for (auto& rp : waiting) {
    if (outcome)
      rp.deliver(*outcome);
    else
      rp.deliver(outcome.error());
  }
}

void start_tenant(registry_ptr self, const std::string& slug,
                  const std::string& org_id) {
  auto& st = self->state;
  auto tenant = self->spawn(tenant_impl, caf::actor_cast<caf::actor>(self),
                            org_id, slug, st.opts.idle_timeout, st.opts.directory,
                            st.opts.storage_pool);
  auto handle = caf::actor_cast<caf::actor>(tenant);
  self->monitor(handle);
  st.live[slug] = handle;
  st.slug_of[handle.id()] = slug;
  if (st.opts.directory) {
    auto c = st.crashes.find(slug);
    st.opts.directory->enroll(handle, "tenant", slug, self->id(),
                              c != st.crashes.end() ? c->second.count : 0);
  }
  finish_loading(self, slug, handle);
}

/// Loads the org row and starts its actor; waiters get the handle.
void load_tenant(registry_ptr self, const std::string& slug) {
  auto pool = self->state.opts.storage_pool
                ? self->state.opts.storage_pool->get_as<storage::storage_pool_actor>()
                : storage::storage_pool_actor{};
  if (!pool) {
    finish_loading(self, slug,
                   runtime::make_error(runtime::errc::unavailable,
                                       "storage pool is not running"));
    return;
  }
  auto row = std::make_shared<std::optional<storage::org_row>>();
  storage::db_task task;
  task.label = "tenants.load";
  task.run = [row, slug](storage::pg_session& s) -> caf::error {
    auto found = storage::find_org_by_slug(s, slug);
    if (!found)
      return std::move(found.error());
    *row = std::move(*found);
    return caf::none;
  };
  storage::run(
    self, pool, std::move(task),
    [self, slug, row](uint32_t) {
      if (!*row || (*row)->state != "active") {
        finish_loading(self, slug,
                       runtime::make_error(runtime::errc::not_found,
                                           "no organization named '" + slug
                                             + "'"));
        return;
      }
      if (auto i = self->state.live.find(slug); i != self->state.live.end()) {
        finish_loading(self, slug, i->second);
        return;
      }
      start_tenant(self, slug, (*row)->id);
    },
    [self, slug](caf::error& err) { finish_loading(self, slug, err); });
}

runtime::tenant_registry_actor::behavior_type
registry_impl(registry_ptr self, tenant_registry_options opts) {
  self->state.opts = std::move(opts);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    auto i = st.slug_of.find(msg.source.id());
    if (i == st.slug_of.end())
      return;
    auto slug = std::move(i->second);
    st.slug_of.erase(i);
    if (auto j = st.live.find(slug);
        j != st.live.end() && j->second.id() == msg.source.id())
      st.live.erase(j);
    if (msg.reason == caf::exit_reason::normal) {
      st.crashes.erase(slug); // passivated: a clean slate
      return;
    }
    // Restart with its state rebuilt from PostgreSQL, after a backoff that
    // doubles with each crash inside the window. Requests arriving
    // meanwhile wait for the new incarnation.
    auto now = std::chrono::steady_clock::now();
    auto& rec = st.crashes[slug];
    if (rec.count > 0 && now - rec.last > crash_window)
      rec.count = 0;
    ++rec.count;
    rec.last = now;
    auto delay = restart_backoff_min * (1u << std::min(rec.count - 1, 16u));
    if (delay > restart_backoff_max)
      delay = restart_backoff_max;
    log::warn("tenant actor crashed; restarting it",
              {{"slug", slug}, {"reason", caf::to_string(msg.reason)},
               {"crashes", rec.count}, {"delay_ms", delay.count()}});
    if (st.loading.emplace(slug, std::vector<tenant_promise>{}).second)
      self->delayed_send(self, delay, restart_atom_v, slug);
  });
  return {
    [self](describe_atom) -> runtime::actor_status {
      return {std::to_string(self->state.live.size()) + " tenants",
              self->mailbox().size()};
    },
    [self](restart_atom, const std::string& slug) {
      if (self->state.loading.count(slug))
        load_tenant(self, slug);
    },
    [self](tenant_atom, const std::string& slug) -> caf::result<caf::actor> {
      auto& st = self->state;
      if (auto i = st.live.find(slug); i != st.live.end())
        return i->second;
      if (!slug_error(slug).empty())
        return runtime::make_error(runtime::errc::not_found,
                                   "no organization named '" + slug + "'");
      auto rp = self->make_response_promise<caf::actor>();
      auto [i, first] = st.loading.try_emplace(slug);
      i->second.push_back(rp);
      if (first)
        load_tenant(self, slug);
      return rp;
    },
  };
}

} // namespace

runtime::tenant_registry_actor
spawn_tenant_registry(caf::local_actor* parent, tenant_registry_options opts) {
  return parent->spawn(registry_impl, std::move(opts));
}

} // namespace fp::actors
