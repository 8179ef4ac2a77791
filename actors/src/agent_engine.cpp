// The engine actor (routes runs to execution actors and cancels them), the
// parked completions of async `agent.execute` jobs, and the job handler.

#include <unordered_map>

#include <caf/all.hpp>

#include "agent_engine_internal.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/interfaces.hpp"
#include "fp/runtime/log.hpp"
#include "fp/runtime/messages.hpp"
#include "fp/runtime/type_ids.hpp"

namespace fp::actors {

namespace log = runtime::log;

// -- parked completions ------------------------------------------------------------------

namespace detail {

namespace {

struct completion_table {
  std::mutex mtx;
  uint64_t next = 0;
  std::unordered_map<uint64_t, job_completion> parked;
};

completion_table& completions() {
  static completion_table table;
  return table;
}

} // namespace

uint64_t park_job_completion(job_completion done) {
  auto& t = completions();
  std::lock_guard<std::mutex> guard{t.mtx};
  auto key = ++t.next;
  t.parked.emplace(key, std::move(done));
  return key;
}

void finish_parked_job(uint64_t key, caf::error err) {
  job_completion done;
  {
    auto& t = completions();
    std::lock_guard<std::mutex> guard{t.mtx};
    auto i = t.parked.find(key);
    if (i == t.parked.end())
      return;
    done = std::move(i->second);
    t.parked.erase(i);
  }
  if (done)
    done(std::move(err));
}

} // namespace detail

// -- the engine ------------------------------------------------------------------------------

namespace {

struct engine_state {
  std::shared_ptr<const detail::engine_env> env;
  /// Live runs: "<slug>:<execution id>" -> execution actor, and the
  /// parked job of each execution actor (by actor id) for crashes.
  std::unordered_map<std::string, caf::actor> runs;
  std::unordered_map<uint64_t, std::pair<uint64_t, std::string>> by_actor;
  uint64_t started = 0;
  static inline const char* name = "fp.agent_engine";
};

using engine_ptr = caf::stateful_actor<engine_state>*;

/// Longest wait for the tenant registry and tenant actor when routing.
constexpr auto route_timeout = std::chrono::seconds{10};

/// Spawns the execution actor of `args`, adopted by `agent` when given.
void start_run(engine_ptr self, const std::shared_ptr<detail::run_args>& args,
               const caf::actor& agent) {
  auto run = detail::spawn_execution_actor(self, self->state.env,
                                           caf::actor_cast<caf::actor>(self), *args);
  self->monitor(run);
  self->state.by_actor[run.id()] = {args->completion, {}};
  ++self->state.started;
  if (agent)
    self->send(agent, spawn_atom_v, run);
}

caf::behavior engine_impl(engine_ptr self, agent_engine_options opts) {
  auto env = std::make_shared<detail::engine_env>();
  env->gateway = std::make_shared<detail::llm_gateway>(opts.llm_threads);
  env->opts = std::move(opts);
  // Executions write through the group-commit writer, not the pool itself.
  env->opts.storage_pool = detail::spawn_execution_writer(self, env->opts.storage_pool);
  self->state.env = env;
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    auto i = st.by_actor.find(msg.source.id());
    if (i == st.by_actor.end())
      return;
    auto [completion, key] = i->second;
    st.by_actor.erase(i);
    if (!key.empty())
      st.runs.erase(key);
    // A run that crashed leaves its job to be retried (it runs again from
    // the start); a finished one completed its job already.
    if (msg.reason != caf::exit_reason::normal && completion != 0)
      detail::finish_parked_job(completion,
                                runtime::make_error(runtime::errc::internal,
                                                    "execution actor failed: "
                                                      + caf::to_string(msg.reason)));
  });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [key, run] : self->state.runs)
      self->send_exit(run, msg.reason);
    self->quit(msg.reason);
  });
  return {
    [self](describe_atom) -> runtime::actor_status {
      auto& st = self->state;
      return {std::to_string(st.by_actor.size()) + " runs, "
                + std::to_string(st.env->gateway->busy()) + " model calls",
              self->mailbox().size()};
    },
    [self](execute_atom, const std::string& job_args, int64_t job_id,
           uint64_t completion) {
      auto parsed = detail::parse_run_args(job_args);
      if (!parsed) {
        detail::finish_parked_job(completion,
                                  permanent_failure(runtime::context_of(parsed.error())));
        return;
      }
      parsed->job_id = job_id;
      parsed->completion = completion;
      auto args = std::make_shared<detail::run_args>(std::move(*parsed));
      auto tenants = self->state.env->opts.tenants
                       ? self->state.env->opts.tenants
                           ->get_as<runtime::tenant_registry_actor>()
                       : runtime::tenant_registry_actor{};
      if (args->agent_id.empty() || !tenants)
        return start_run(self, args, caf::actor{});
      // The run belongs to its agent's actor under the tenant actor; when
      // either cannot be had, it runs without (the database decides).
      self->request(tenants, route_timeout, tenant_atom_v, args->slug)
        .then(
          [self, args](const caf::actor& tenant) {
            auto typed = caf::actor_cast<runtime::tenant_actor>(tenant);
            self->request(typed, route_timeout, agent_atom_v, args->agent_id)
              .then([self, args](const caf::actor& agent) { start_run(self, args, agent); },
                    [self, args](caf::error&) { start_run(self, args, caf::actor{}); });
          },
          [self, args](caf::error&) { start_run(self, args, caf::actor{}); });
    },
    [self](spawn_atom, const std::string& key, const caf::actor& run) {
      auto& st = self->state;
      auto i = st.by_actor.find(run.id());
      if (i == st.by_actor.end())
        return; // already gone
      i->second.second = key;
      st.runs[key] = run;
      if (auto* dir = st.env->opts.directory)
        dir->enroll(run, "execution", key.substr(key.find(':') + 1), self->id());
    },
    [self](cancel_atom, const std::string& slug, const std::string& id) {
      auto& st = self->state;
      if (auto i = st.runs.find(slug + ":" + id); i != st.runs.end())
        self->send(i->second, cancel_atom_v);
    },
    [self](reload_atom, const std::string& slug, const std::string& agent_id) {
      // Runs read the agent's configuration when they start; the agent's
      // actor restarts so nothing stale stays resident.
      auto& slot = self->state.env->opts.tenants;
      auto tenants = slot ? slot->get_as<runtime::tenant_registry_actor>()
                          : runtime::tenant_registry_actor{};
      if (!tenants)
        return;
      self->request(tenants, route_timeout, tenant_atom_v, slug)
        .then(
          [self, agent_id](const caf::actor& tenant) {
            self->send(caf::actor_cast<runtime::tenant_actor>(tenant), agent_atom_v,
                       agent_id, reload_atom_v);
          },
          [](caf::error&) {});
    },
  };
}

} // namespace

caf::actor spawn_agent_engine(caf::actor_system& sys, agent_engine_options opts) {
  auto directory = opts.directory;
  auto parent = opts.parent_id;
  auto engine = sys.spawn(engine_impl, std::move(opts));
  if (directory)
    directory->enroll(engine, "agent_engine", "agent_engine", parent);
  return engine;
}

void register_agent_job_handlers(job_registry& registry,
                                 runtime::actor_slot_ptr engine) {
  registry.add_async(execute_job_kind, [engine](const job_context& job,
                                                job_completion done) {
    auto handle = engine ? engine->get() : caf::actor{};
    if (!handle) {
      done(runtime::make_error(runtime::errc::unavailable,
                               "the agent engine is not running"));
      return;
    }
    auto key = detail::park_job_completion(std::move(done));
    caf::anon_send(handle, execute_atom_v, job.args, job.id, key);
  });
}

} // namespace fp::actors
