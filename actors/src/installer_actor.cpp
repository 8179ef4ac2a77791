// The installer actor (routes installer jobs to installation actors) and
// the registration of the installer's job handlers.

#include <caf/all.hpp>

#include "agent_engine_internal.hpp"
#include "fp/actors/installer.hpp"
#include "fp/actors/job_registry.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/interfaces.hpp"
#include "fp/runtime/log.hpp"
#include "fp/runtime/messages.hpp"
#include "fp/runtime/type_ids.hpp"
#include "fp/storage/installations.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/storage_pool.hpp"
#include "llm_json.hpp"

namespace fp::actors {

namespace log = runtime::log;

namespace {

struct installer_state {
  installer_options opts;
  uint64_t started = 0;
  uint64_t running = 0;
  static inline const char* name = "fp.installer";
};

using installer_ptr = caf::stateful_actor<installer_state>*;

/// Longest wait for the tenant registry and tenant actor when routing.
constexpr auto route_timeout = std::chrono::seconds{10};

/// One job on its way.
struct op {
  std::string kind;
  std::string org_id;
  std::string slug;
  std::string installation_id;
  uint64_t completion = 0;
};

storage::storage_pool_actor pool_of(installer_ptr self) {
  auto& slot = self->state.opts.storage_pool;
  return slot ? slot->get_as<storage::storage_pool_actor>()
              : storage::storage_pool_actor{};
}

void finish(installer_ptr self, const std::shared_ptr<op>& o, caf::error err) {
  if (self->state.running > 0)
    --self->state.running;
  if (err)
    log::warn("installer job attempt failed",
              {{"kind", o->kind},
               {"installation", o->installation_id},
               {"error", describe_job_error(err)}});
  detail::finish_parked_job(o->completion, std::move(err));
}

storage::db_task task_of(installer_ptr self, const std::shared_ptr<op>& o) {
  storage::db_task task;
  task.label = o->kind == install_job_kind     ? "installations.install"
               : o->kind == upgrade_job_kind   ? "installations.upgrade"
                                               : "installations.uninstall";
  task.run = [keys = self->state.opts.keys, tenant = tenant_ref{o->org_id, o->slug},
              kind = o->kind,
              id = o->installation_id](storage::pg_session& db) -> caf::error {
    auto done = run_installer_job(db, tenant, *keys, kind, id);
    if (!done)
      return std::move(done.error());
    return caf::none;
  };
  return task;
}

/// Runs the operation without an installation actor (the database still
/// serializes it through the installation's row lock).
void run_direct(installer_ptr self, const std::shared_ptr<op>& o) {
  auto pool = pool_of(self);
  if (!pool) {
    finish(self, o, runtime::make_error(runtime::errc::unavailable,
                                        "storage pool is not running"));
    return;
  }
  storage::run(
    self, pool, task_of(self, o), [self, o](uint32_t) { finish(self, o, caf::none); },
    [self, o](caf::error& err) { finish(self, o, std::move(err)); });
}

void run_on(installer_ptr self, const std::shared_ptr<op>& o,
            const caf::actor& installation) {
  self->request(installation, caf::infinite, run_atom_v, task_of(self, o))
    .then([self, o](uint32_t) { finish(self, o, caf::none); },
          [self, o](caf::error& err) { finish(self, o, std::move(err)); });
}

/// Tenant registry -> tenant actor -> installation actor.
void route(installer_ptr self, const std::shared_ptr<op>& o) {
  auto& slot = self->state.opts.tenants;
  auto tenants = slot ? slot->get_as<runtime::tenant_registry_actor>()
                      : runtime::tenant_registry_actor{};
  if (!tenants) {
    run_direct(self, o);
    return;
  }
  self->request(tenants, route_timeout, tenant_atom_v, o->slug)
    .then(
      [self, o](const caf::actor& tenant) {
        auto typed = caf::actor_cast<runtime::tenant_actor>(tenant);
        self->request(typed, route_timeout, installation_atom_v, o->installation_id)
          .then([self, o](const caf::actor& inst) { run_on(self, o, inst); },
                [self, o](caf::error&) { run_direct(self, o); });
      },
      [self, o](caf::error&) { run_direct(self, o); });
}

caf::behavior installer_impl(installer_ptr self, installer_options opts) {
  self->state.opts = std::move(opts);
  return {
    [self](describe_atom) -> runtime::actor_status {
      auto& st = self->state;
      return {std::to_string(st.running) + " operations, "
                + std::to_string(st.started) + " started",
              self->mailbox().size()};
    },
    [self](execute_atom, const std::string& kind, const std::string& org_id,
           const std::string& args, uint64_t completion) {
      auto o = std::make_shared<op>();
      o->kind = kind;
      o->org_id = org_id;
      o->completion = completion;
      simdjson::dom::parser parser;
      if (auto root = detail::parse_json(parser, args))
        o->installation_id = std::string{detail::string_member(*root, "installation_id")};
      if (o->installation_id.empty()) {
        detail::finish_parked_job(completion,
                                  permanent_failure("job arguments name no "
                                                    "installation_id"));
        return;
      }
      if (!self->state.opts.keys) {
        detail::finish_parked_job(completion,
                                  runtime::make_error(runtime::errc::unavailable,
                                                      "no master key ring"));
        return;
      }
      ++self->state.started;
      ++self->state.running;
      auto pool = pool_of(self);
      if (!pool) {
        finish(self, o, runtime::make_error(runtime::errc::unavailable,
                                            "storage pool is not running"));
        return;
      }
      // The job names the organization by id; routing needs its slug.
      auto slug = std::make_shared<std::optional<std::string>>();
      storage::db_task task;
      task.label = "installations.tenant";
      task.run = [slug, org_id](storage::pg_session& db) -> caf::error {
        auto found = storage::org_slug_of(db, org_id);
        if (!found)
          return std::move(found.error());
        *slug = std::move(*found);
        return caf::none;
      };
      storage::run(
        self, pool, std::move(task),
        [self, o, slug](uint32_t) {
          if (!*slug) {
            finish(self, o, permanent_failure("the organization is gone"));
            return;
          }
          o->slug = **slug;
          route(self, o);
        },
        [self, o](caf::error& err) { finish(self, o, std::move(err)); });
    },
  };
}

} // namespace

caf::actor spawn_installer(caf::actor_system& sys, installer_options opts) {
  auto directory = opts.directory;
  auto parent = opts.parent_id;
  auto installer = sys.spawn(installer_impl, std::move(opts));
  if (directory)
    directory->enroll(installer, "installer", "installer", parent);
  return installer;
}

void register_installer_job_handlers(job_registry& registry,
                                     runtime::actor_slot_ptr installer) {
  for (const char* kind : {install_job_kind, upgrade_job_kind, uninstall_job_kind}) {
    registry.add_async(kind, [installer, kind = std::string{kind}](
                               const job_context& job, job_completion done) {
      auto handle = installer ? installer->get() : caf::actor{};
      if (!handle) {
        done(runtime::make_error(runtime::errc::unavailable,
                                 "the installer is not running"));
        return;
      }
      auto key = detail::park_job_completion(std::move(done));
      caf::anon_send(handle, execute_atom_v, kind, job.tenant, job.args, key);
    });
  }
  registry.add(scheduled_run_job_kind, [](job_context& job) -> caf::error {
    auto slug = storage::org_slug_of(*job.db, job.tenant);
    if (!slug)
      return std::move(slug.error());
    if (!*slug)
      return caf::none; // the organization is gone
    return run_scheduled_job(*job.db, tenant_ref{job.tenant, **slug}, job.args);
  });
}

} // namespace fp::actors
