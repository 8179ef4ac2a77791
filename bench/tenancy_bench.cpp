// Tenancy benchmark driver (see bench/tenancy.sh): creates organizations
// through the saga, applies one new tenant migration across them, and
// measures the resident memory of live tenant actors. Prints one
// "name value unit" line per figure.
//
// Usage: tenancy_bench DATA_DIR [ORGS] [ACTORS]
// FLEETPROMPT_DATABASE_URL selects an existing database instead of an
// embedded cluster in DATA_DIR.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

#include <caf/all.hpp>

#include "fp/actors/orgs.hpp"
#include "fp/actors/tenant_actors.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/log.hpp"
#include "fp/runtime/metrics.hpp"
#include "fp/runtime/system_config.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/embedded_postgres.hpp"
#include "fp/storage/migrations.hpp"
#include "fp/storage/org_repository.hpp"
#include "fp/storage/storage_pool.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"

using namespace fp;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const std::string& what, const caf::error& err = {}) {
  std::fprintf(stderr, "tenancy_bench: %s %s\n", what.c_str(),
               err ? caf::to_string(err).c_str() : "");
  std::exit(1);
}

/// Resident set size of this process in KiB.
long rss_kib() {
  std::ifstream in{"/proc/self/statm"};
  long pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: tenancy_bench DATA_DIR [ORGS] [ACTORS]\n");
    return 2;
  }
  runtime::log::set_level(runtime::log::level::warn);
  const int orgs = argc > 2 ? std::atoi(argv[2]) : 1000;
  const int actors_n = argc > 3 ? std::atoi(argv[3]) : 10000;
  config::settings s;
  s.data_dir = argv[1];
  if (const char* url = std::getenv("FLEETPROMPT_DATABASE_URL"))
    s.database_url = url;
  std::unique_ptr<storage::embedded_postgres> pg;
  std::string url = s.database_url;
  if (url.empty()) {
    auto started = storage::embedded_postgres::start(s);
    if (!started)
      die("embedded database:", started.error());
    pg = std::make_unique<storage::embedded_postgres>(std::move(*started));
    url = pg->url();
  }
  auto db = storage::connect(url, 10s);
  if (!db)
    die("connect:", db.error());
  auto& session = **db;
  if (auto n = storage::apply_migrations(session, storage::public_migrations()); !n)
    die("migrate:", n.error());
  // A run prefix keeps repeated runs on one database apart.
  auto run = runtime::new_request_id().substr(0, 6);
  for (auto& c : run)
    if (c >= '0' && c <= '9')
      c = static_cast<char>('a' + (c - '0'));
  auto owner = storage::create_user(session, "bench-" + run + "@example.com",
                                    "bench password");
  if (!owner)
    die("owner:", owner.error());

  // 1. Organizations through the full saga.
  auto t0 = steady::now();
  for (int i = 0; i < orgs; ++i) {
    auto slug = "b" + run + "_" + std::to_string(i);
    auto org = actors::create_org(session, slug, "Bench " + slug, owner->id,
                                  storage::tenant_migrations());
    if (!org)
      die("create " + slug + ":", org.error());
  }
  auto create_s = seconds_since(t0);
  std::printf("orgs_created %d orgs\n", orgs);
  std::printf("org_create_total %.2f s\n", create_s);
  std::printf("org_create_rate %.1f orgs/s\n", orgs / create_s);

  // 2. One new tenant migration across every tenant (settings defaults).
  auto known = storage::tenant_migrations();
  auto extra = storage::make_migration(
    "0900_bench_note.sql", "ALTER TABLE {{schema}}.audit_log ADD COLUMN bench_note text;");
  known.push_back(*extra);
  actors::tenant_migrate_options opts;
  opts.batch = s.tenant_migrate_batch;
  opts.concurrency = s.tenant_migrate_concurrency;
  t0 = steady::now();
  auto report = actors::migrate_all_tenants(url, known, opts);
  if (!report)
    die("tenant migration:", report.error());
  auto migrate_s = seconds_since(t0);
  std::printf("tenant_migration_tenants %u tenants\n", report->tenants);
  std::printf("tenant_migration_applied %u migrations\n", report->applied);
  std::printf("tenant_migration_total %.2f s\n", migrate_s);
  std::printf("tenant_migration_rate %.1f tenants/s\n", report->tenants / migrate_s);

  // 3. Resident memory of live tenant actors. The orgs only need rows for
  // this (the registry loads the row), so they are claimed and activated
  // without schemas, in one transaction.
  auto err = storage::run_transaction(session, [&](storage::pg_session& tx) -> caf::error {
    for (int i = 0; i < actors_n; ++i) {
      auto id = runtime::new_uuid_v7();
      auto slug = "m" + run + "_" + std::to_string(i);
      if (auto e = storage::insert_provisioning_org(tx, id, slug, "Mem", owner->id))
        return e;
      if (auto e = storage::set_org_state(tx, id, "active"))
        return e;
    }
    return caf::none;
  });
  if (err)
    die("memory orgs:", err);
  {
    runtime::metrics_registry metrics;
    runtime::actor_directory directory;
    runtime::system_config cfg;
    caf::actor_system sys{cfg};
    auto slot = std::make_shared<runtime::actor_slot>();
    storage::pool_options popts;
    popts.conninfo = url;
    popts.size = 4;
    popts.queue_limit = static_cast<unsigned>(actors_n) + 16;
    auto pool = storage::spawn_storage_pool(sys, popts, metrics, directory, 0);
    slot->set(caf::actor_cast<caf::actor>(pool));
    caf::scoped_actor self{sys};
    actors::tenant_registry_options ropts;
    ropts.storage_pool = slot;
    ropts.directory = &directory;
    ropts.idle_timeout = 10min;
    auto reg = actors::spawn_tenant_registry(self.ptr(), ropts);
    // Warm up allocator and registry with one tenant before the baseline.
    self->request(reg, 30s, tenant_atom_v, "m" + run + "_0")
      .receive([](caf::actor&) {}, [](caf::error& e) { die("warm-up:", e); });
    std::this_thread::sleep_for(200ms);
    auto before = rss_kib();
    t0 = steady::now();
    for (int i = 1; i < actors_n; ++i)
      self->send(reg, tenant_atom_v, "m" + run + "_" + std::to_string(i));
    int ok = 0;
    for (int i = 1; i < actors_n; ++i)
      self->receive([&](caf::actor&) { ++ok; },
                    [&](caf::error& e) { die("tenant:", e); });
    auto spawn_s = seconds_since(t0);
    std::this_thread::sleep_for(200ms);
    auto after = rss_kib();
    std::size_t live = 0;
    for (auto& [kind, n] : directory.count_by_kind())
      if (kind == "tenant")
        live = n;
    std::printf("tenant_actors_live %zu actors\n", live);
    std::printf("tenant_actors_start_rate %.0f actors/s\n", ok / spawn_s);
    std::printf("rss_before %ld KiB\n", before);
    std::printf("rss_after %ld KiB\n", after);
    std::printf("rss_per_tenant_actor %.2f KiB\n",
                static_cast<double>(after - before) / (actors_n - 1));
    caf::anon_send_exit(reg, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  }
  db->reset();
  if (pg)
    pg->stop();
  return 0;
}
