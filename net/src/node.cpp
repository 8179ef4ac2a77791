#include "fp/net/node.hpp"

#include <condition_variable>
#include <mutex>

#include <caf/all.hpp>

#include "fp/actors/agent_engine.hpp"
#include "fp/actors/installer.hpp"
#include "fp/actors/job_dispatcher.hpp"
#include "fp/actors/job_registry.hpp"
#include "fp/actors/pubsub_hub.hpp"
#include "fp/actors/service_actors.hpp"
#include "fp/actors/signal_bus.hpp"
#include "fp/actors/tenant_actors.hpp"
#include "fp/net/agent_routes.hpp"
#include "fp/net/api_key_cache.hpp"
#include "fp/net/auth.hpp"
#include "fp/net/directive_routes.hpp"
#include "fp/net/execution_stream.hpp"
#include "fp/net/outbound_http.hpp"
#include "fp/net/http_server.hpp"
#include "fp/net/installation_routes.hpp"
#include "fp/net/job_routes.hpp"
#include "fp/net/llm_transport.hpp"
#include "fp/net/org_routes.hpp"
#include "fp/net/package_routes.hpp"
#include "fp/net/replay_routes.hpp"
#include "fp/net/router.hpp"
#include "fp/net/signal_json.hpp"
#include "fp/net/signal_routes.hpp"
#include "fp/net/signal_stream.hpp"
#include "fp/net/spine_services.hpp"
#include "fp/net/system_routes.hpp"
#include "fp/net/usage_routes.hpp"
#include "console/console.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/log.hpp"
#include "fp/runtime/system_config.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/embedded_postgres.hpp"
#include "fp/storage/errc.hpp"
#include "fp/storage/jobs.hpp"
#include "fp/storage/migrations.hpp"
#include "fp/storage/storage_pool.hpp"

namespace fp::net {

namespace log = runtime::log;
using namespace std::chrono_literals;

struct node::impl {
  config::settings settings;
  std::unique_ptr<storage::embedded_postgres> embedded;
  std::string database_url;
  runtime::metrics_registry metrics;
  runtime::actor_directory directory;
  actors::mailbox_sample_ptr mailbox_sample = actors::make_mailbox_sample();
  std::unique_ptr<runtime::system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  runtime::supervisor_actor root;
  std::unique_ptr<http_server> http;

  std::mutex mtx;
  std::condition_variable cv;
  bool stop_requested = false;
  bool stopped = false;
  int exit_code = 0;

  void stop_all();
};

namespace {

caf::error migrate_public(const std::string& url,
                          const config::settings& s) {
  auto session = storage::connect(url, s.db_connect_timeout);
  if (!session)
    return std::move(session.error());
  auto applied = storage::apply_migrations(**session,
                                           storage::public_migrations());
  if (!applied)
    return std::move(applied.error());
  if (*applied > 0)
    log::info("applied public migrations", {{"count", *applied}});
  return caf::none;
}

/// A supervised child started by `spawn(sup)`, which returns any actor
/// handle (typed or not).
template <class Spawn>
runtime::child_spec make_child(std::string name, std::string kind,
                               Spawn spawn) {
  runtime::child_spec spec;
  spec.name = std::move(name);
  spec.kind = std::move(kind);
  spec.start = [spawn = std::move(spawn)](caf::local_actor* sup) {
    return caf::actor_cast<caf::actor>(spawn(sup));
  };
  return spec;
}

} // namespace

caf::expected<std::unique_ptr<node>> node::start(const config::settings& s) {
  auto st = std::make_unique<impl>();
  st->settings = s;
  if (log::level lvl; log::parse_level(s.log_level, lvl))
    log::set_level(lvl);

  // -- database ---------------------------------------------------------------
  if (s.embedded_database()) {
    auto pg = storage::embedded_postgres::start(s);
    if (!pg)
      return std::move(pg.error());
    st->embedded = std::make_unique<storage::embedded_postgres>(std::move(*pg));
    st->database_url = st->embedded->url();
  } else {
    st->database_url = s.database_url;
  }
  if (s.migrate_on_start) {
    if (auto err = migrate_public(st->database_url, s)) {
      st->stop_all();
      return err;
    }
  }

  // -- actors -----------------------------------------------------------------
  st->cfg = std::make_unique<runtime::system_config>(s);
  runtime::add_error_renderer<storage::errc>(*st->cfg, caf::atom("fp_store"));
  st->sys = std::make_unique<caf::actor_system>(*st->cfg);
  auto* raw = st.get();

  storage::pool_options pool_opts;
  pool_opts.conninfo = st->database_url;
  pool_opts.size = s.db_pool_size;
  pool_opts.queue_limit = s.db_queue_limit;
  pool_opts.connect_timeout = s.db_connect_timeout;
  pool_opts.statement_timeout = s.db_statement_timeout;

  auto pool = make_child("storage_pool", "storage_pool",
                         [raw, pool_opts](caf::local_actor* sup) {
                           return storage::spawn_storage_pool(
                             *raw->sys, pool_opts, raw->metrics,
                             raw->directory, sup->id());
                         });
  auto version = make_child("version", "version", [](caf::local_actor* sup) {
    return actors::spawn_version_actor(sup);
  });
  actors::health_options health_opts;
  health_opts.storage_pool = pool.slot;
  auto health = make_child("health", "health",
                           [health_opts](caf::local_actor* sup) {
                             return actors::spawn_health_actor(sup, health_opts);
                           });
  auto tree = make_child("tree", "tree", [raw](caf::local_actor* sup) {
    return actors::spawn_tree_actor(sup, &raw->directory, raw->mailbox_sample,
                                    500ms, 5s);
  });
  actors::tenant_registry_options tenants_opts;
  tenants_opts.storage_pool = pool.slot;
  tenants_opts.directory = &st->directory;
  tenants_opts.idle_timeout = s.tenant_idle_timeout;
  auto tenants = make_child("tenants", "tenant_registry",
                            [tenants_opts](caf::local_actor* sup) {
                              return actors::spawn_tenant_registry(sup,
                                                                   tenants_opts);
                            });
  actors::org_reaper_options reaper_opts;
  reaper_opts.storage_pool = pool.slot;
  // Often enough that a short grace is honoured closely, rarely enough to
  // cost nothing.
  reaper_opts.interval = std::min<std::chrono::milliseconds>(
    std::chrono::minutes{1}, std::max<std::chrono::milliseconds>(s.org_purge_grace, 1s));
  auto reaper = make_child("org_reaper", "org_reaper",
                           [reaper_opts](caf::local_actor* sup) {
                             return actors::spawn_org_reaper(sup, reaper_opts);
                           });
  std::vector<runtime::child_spec> children{pool,    version, health,
                                            tree,    tenants, reaper};

  // -- the spine: job dispatcher, signal bus, pubsub hub ------------------------
  // Each part adds its child to `children` and its slot to `spine`.
  spine_services spine;
  spine.sys = st->sys.get();
  spine.settings = &st->settings;
  spine.metrics = &st->metrics;
  spine.storage_pool = pool.slot;
  // [key ring]
  // The master keys sealing credentials and webhook secrets (loaded before
  // anything can need them; a bad key file stops start-up here).
  auto key_ring = runtime::load_key_ring(s);
  if (!key_ring) {
    st->stop_all();
    return std::move(key_ring.error());
  }
  // Ids and where they came from only: never key material.
  log::info(key_ring->created ? "created a master key file" : "master keys loaded",
            {{"key_file", key_ring->key_file},
             {"from_environment", key_ring->from_environment},
             {"keys", key_ring->ring->ids().size()},
             {"active_key_id", key_ring->ring->active_id()}});
  spine.keys = key_ring->ring;
  // [jobs]
  auto job_handlers = std::make_shared<actors::job_registry>();
  // [directive handlers]
  // A bad webhook-allow-networks stops start-up here, before anything runs.
  auto outbound_opts = outbound_options_from(s);
  if (!outbound_opts) {
    st->stop_all();
    return std::move(outbound_opts.error());
  }
  auto outbound = outbound_http_client::make(std::move(*outbound_opts));
  if (!outbound) {
    st->stop_all();
    return std::move(outbound.error());
  }
  actors::directive_deps directive_deps;
  directive_deps.post_webhook = make_webhook_poster(*outbound);
  directive_deps.record_attempt_error = actors::storage_attempt_recorder(pool.slot);
  directive_deps.keys = spine.keys;
  actors::register_directive_handlers(*job_handlers, std::move(directive_deps));
  actors::add_platform_job_handlers(*job_handlers);
  // [agent engine]
  // The engine runs executions; its `agent.execute` jobs are async (the
  // job's lease covers the run). The "agents" queue admits
  // execution_concurrency runs per node at once.
  auto llm_client = try_make_llm_client(s);
  if (!llm_client) {
    st->stop_all();
    return std::move(llm_client.error());
  }
  actors::agent_engine_options engine_opts;
  engine_opts.storage_pool = pool.slot;
  engine_opts.tenants = tenants.slot;
  engine_opts.llm = std::move(*llm_client);
  engine_opts.llm_threads = s.llm_threads;
  engine_opts.execution_timeout = s.execution_timeout;
  engine_opts.stream_flush = s.execution_stream_flush;
  engine_opts.limits.payload_limit = s.signal_payload_limit;
  engine_opts.metrics = &st->metrics;
  engine_opts.directory = &st->directory;
  auto engine = make_child("agent_engine", "agent_engine",
                           [engine_opts](caf::local_actor* sup) {
                             auto opts = engine_opts;
                             opts.parent_id = sup->id();
                             return actors::spawn_agent_engine(sup->system(),
                                                               std::move(opts));
                           });
  children.push_back(engine);
  spine.agent_engine = engine.slot;
  actors::register_agent_job_handlers(*job_handlers, engine.slot);
  // [installer]
  // Installer jobs go through the installer to each installation's actor
  // under its tenant actor; schedule-driven runs are plain jobs.
  actors::installer_options installer_opts;
  installer_opts.storage_pool = pool.slot;
  installer_opts.tenants = tenants.slot;
  installer_opts.keys = spine.keys;
  installer_opts.directory = &st->directory;
  auto installer = make_child("installer", "installer",
                              [installer_opts](caf::local_actor* sup) {
                                auto opts = installer_opts;
                                opts.parent_id = sup->id();
                                return actors::spawn_installer(sup->system(),
                                                               std::move(opts));
                              });
  children.push_back(installer);
  actors::register_installer_job_handlers(*job_handlers, installer.slot);
  if (auto db = storage::connect(st->database_url, s.db_connect_timeout)) {
    auto limit = static_cast<int>(std::max(1u, s.execution_concurrency));
    if (auto err = storage::run_transaction(**db, [limit](storage::pg_session& x) {
          return storage::set_queue_concurrency(x, actors::execute_job_queue, limit);
        }))
      log::warn("could not set the concurrency of the agents queue",
                {{"error", caf::to_string(err)}});
  }
  actors::job_dispatcher_options job_opts;
  job_opts.conninfo = st->database_url;
  job_opts.workers = s.job_workers;
  job_opts.batch = s.job_batch;
  job_opts.poll_interval = s.job_poll_interval;
  job_opts.lease = s.job_lease;
  job_opts.backoff_min = s.job_backoff_min;
  job_opts.backoff_max = s.job_backoff_max;
  job_opts.retention = s.job_retention;
  job_opts.connect_timeout = s.db_connect_timeout;
  job_opts.metrics = &st->metrics;
  job_opts.directory = &st->directory;
  auto jobs = make_child(
    "job_dispatcher", "job_dispatcher",
    [job_opts, job_handlers](caf::local_actor* sup) {
      // Every handler is registered by now; the dispatcher only reads them.
      auto opts = job_opts;
      opts.registry = job_handlers;
      opts.parent_id = sup->id();
      return actors::spawn_job_dispatcher(sup->system(), std::move(opts));
    });
  children.push_back(jobs);
  spine.jobs = jobs.slot;
  // [signal bus]
  actors::signal_bus_options bus_opts;
  bus_opts.storage_pool = pool.slot;
  bus_opts.linger = s.signal_linger;
  bus_opts.group_max = s.signal_group_max;
  bus_opts.limits.payload_limit = s.signal_payload_limit;
  bus_opts.metrics = &st->metrics;
  auto bus = make_child("signal_bus", "signal_bus",
                        [bus_opts](caf::local_actor* sup) {
                          return actors::spawn_signal_bus(sup, bus_opts);
                        });
  children.push_back(bus);
  spine.signal_bus = bus.slot;
  // [pubsub]
  actors::pubsub_options pubsub_opts;
  pubsub_opts.storage_pool = pool.slot;
  pubsub_opts.conninfo = st->database_url;
  pubsub_opts.connect_timeout = s.db_connect_timeout;
  pubsub_opts.directory = &st->directory;
  pubsub_opts.metrics = &st->metrics;
  pubsub_opts.heartbeat = s.sse_heartbeat;
  pubsub_opts.retry_hint = std::chrono::milliseconds{signal_stream_retry_ms};
  // The REST form, so a streamed signal reads exactly like a fetched one.
  pubsub_opts.format = [](const storage::signal_record& rec) {
    std::string out;
    json_writer w{out};
    write_signal(w, rec);
    return out;
  };
  auto pubsub = make_child("pubsub", "pubsub_hub",
                           [pubsub_opts](caf::local_actor* sup) {
                             return actors::spawn_pubsub_hub(sup, pubsub_opts);
                           });
  children.push_back(pubsub);
  spine.pubsub = pubsub.slot;
  // [execution streams]
  execution_stream_options stream_opts;
  stream_opts.conninfo = st->database_url;
  stream_opts.connect_timeout = s.db_connect_timeout;
  stream_opts.directory = &st->directory;
  auto streams = make_child("execution_streams", "execution_stream_hub",
                            [stream_opts](caf::local_actor* sup) {
                              return spawn_execution_stream_hub(sup,
                                                                stream_opts);
                            });
  children.push_back(streams);
  spine.execution_streams = streams.slot;

  // [auth cache] Verified API keys; cleared on NOTIFY fp_auth.
  api_key_cache::options cache_opts;
  cache_opts.lifetime = s.api_key_cache;
  auto key_cache = std::make_shared<api_key_cache>(cache_opts);
  if (key_cache->enabled())
    children.push_back(make_child(
      "auth_cache", "auth_cache",
      [key_cache, conninfo = st->database_url,
       timeout = s.db_connect_timeout](caf::local_actor* sup) {
        return spawn_auth_cache_listener(sup, key_cache, conninfo, timeout);
      }));

  actors::register_actor_metrics(st->metrics, st->directory,
                                 st->mailbox_sample);

  system_services services;
  services.sys = st->sys.get();
  services.settings = &st->settings;
  services.metrics = &st->metrics;
  services.version = version.slot;
  services.health = health.slot;
  services.tree = tree.slot;

  runtime::restart_policy policy;
  policy.limit = s.restart_limit;
  policy.window = s.restart_window;
  policy.backoff_min = s.restart_backoff_min;
  policy.backoff_max = s.restart_backoff_max;
  st->root = runtime::spawn_supervisor(
    *st->sys, st->directory, "root", std::move(children), policy,
    [raw](const std::string& reason) {
      // A crash loop is not survivable: stop the process with a clear reason.
      std::lock_guard<std::mutex> guard{raw->mtx};
      if (!raw->stop_requested) {
        raw->stop_requested = true;
        raw->exit_code = 70;
        log::error("stopping: a supervised actor is in a crash loop",
                   {{"detail", reason}});
      }
      raw->cv.notify_all();
    });

  if (auto err = runtime::await_started(*st->sys, st->root, 10s)) {
    st->stop_all();
    return err;
  }

  // -- HTTP -------------------------------------------------------------------
  auto routes = std::make_shared<router>();
  auth_services auth;
  auth.sys = st->sys.get();
  auth.settings = &st->settings;
  auth.storage_pool = pool.slot;
  auth.key_cache = key_cache;
  services.auth = auth;
  add_system_routes(*routes, services);
  add_auth_routes(*routes, auth);
  org_services orgs;
  orgs.sys = st->sys.get();
  orgs.settings = &st->settings;
  orgs.storage_pool = pool.slot;
  orgs.key_cache = key_cache;
  add_org_routes(*routes, orgs, auth);
  spine.auth = auth;
  add_replay_routes(*routes, spine);
  // [spine routes]
  add_job_routes(*routes, spine);
  add_directive_routes(*routes, spine);
  add_signal_routes(*routes, spine);
  add_signal_stream_routes(*routes, spine);
  // [agent routes]
  add_all_agent_routes(*routes, spine);
  // [package routes]
  add_package_routes(*routes, spine);
  // [installation routes]
  add_installation_routes(*routes, spine);
  // [usage routes]
  add_usage_routes(*routes, spine);
  // [console] Last: its pages call the API routes above in-process.
  console::add_console(*routes, auth, s.web_dir);
  server_options http_opts = server_options::from(s);
  auto http = http_server::start(http_opts, routes, st->metrics);
  if (!http) {
    st->stop_all();
    return std::move(http.error());
  }
  st->http = std::move(*http);
  log::info("listening", {{"url", "http://" + s.listen_host + ":"
                                     + std::to_string(st->http->port())},
                          {"database", st->embedded ? "embedded" : "external"}});
  return std::unique_ptr<node>{new node(std::move(st))};
}

node::node(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
  // nop
}

node::~node() {
  stop();
}

uint16_t node::port() const {
  return impl_->http ? impl_->http->port() : 0;
}

std::string node::url() const {
  auto host = impl_->settings.listen_host;
  if (host.find(':') != std::string::npos)
    host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port());
}

const std::string& node::database_url() const {
  return impl_->database_url;
}

storage::embedded_postgres* node::embedded() const {
  return impl_->embedded.get();
}

caf::actor_system& node::system() {
  return *impl_->sys;
}

runtime::actor_directory& node::directory() {
  return impl_->directory;
}

runtime::metrics_registry& node::metrics() {
  return impl_->metrics;
}

runtime::supervisor_actor node::root() const {
  return impl_->root;
}

int node::wait_for_stop() {
  std::unique_lock<std::mutex> guard{impl_->mtx};
  impl_->cv.wait(guard, [this] { return impl_->stop_requested; });
  return impl_->exit_code;
}

void node::request_stop(int exit_code, std::string reason) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  if (impl_->stop_requested)
    return;
  impl_->stop_requested = true;
  impl_->exit_code = exit_code;
  if (!reason.empty())
    log::info("stopping", {{"reason", reason}});
  impl_->cv.notify_all();
}

void node::stop() {
  if (impl_)
    impl_->stop_all();
}

void node::impl::stop_all() {
  {
    std::lock_guard<std::mutex> guard{mtx};
    if (stopped)
      return;
    stopped = true;
    stop_requested = true;
    cv.notify_all();
  }
  // Reverse start order: no new requests, then the actors, then the database.
  if (http) {
    http->stop(settings.shutdown_grace);
    http.reset();
  }
  if (sys) {
    if (root)
      caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
    root = nullptr;
    sys.reset(); // waits for every actor to finish
  }
  if (embedded) {
    if (auto err = embedded->stop())
      log::warn("could not stop the embedded database",
                {{"error", caf::to_string(err)}});
    embedded.reset();
  }
  log::info("stopped");
}

} // namespace fp::net
