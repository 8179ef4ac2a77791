// Organizations and schema-per-tenant isolation against a real PostgreSQL:
// the creation saga, hostile slugs, concurrent creates, the doctor after a
// simulated kill, tenant migrations across many tenants, soft delete and
// purge, and the tenant registry. Each case gets its own scratch database.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include <caf/all.hpp>

#include "fp/actors/orgs.hpp"
#include "fp/actors/tenant_actors.hpp"
#include "fp/config/settings.hpp"
#include "fp/net/node.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/interfaces.hpp"
#include "fp/runtime/metrics.hpp"
#include "fp/runtime/system_config.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/migrations.hpp"
#include "fp/storage/org_repository.hpp"
#include "fp/storage/storage_pool.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"
#include "http_client.hpp"
#include "pg_cluster.hpp"
#include "spine_fixture.hpp"

using namespace std::chrono_literals;
using namespace fp;
using actors::create_org;
using runtime::context_of;
using storage::pg_session;

namespace {

using test::open_session;
using test::scalar;

/// A scratch database with the public migrations applied.
std::string fresh_database() { return test::migrated_database("tenancy"); }

/// A user row (the account repository belongs to authentication; tests
/// only need an id to own organizations).
std::string make_user(pg_session& s, const std::string& email) {
  auto r = s.exec("INSERT INTO public.users (id, email, email_normalized,"
                  " password_hash) VALUES (gen_random_uuid(), $1, lower($1),"
                  " 'x') RETURNING id::text",
                  {email});
  if (!r)
    FAIL("insert user: " << caf::to_string(r.error()));
  return std::string{r->text(0, 0)};
}

int64_t tenant_schema_count(pg_session& s) {
  return scalar(s, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'org\\_%'");
}

bool has_table(pg_session& s, const std::string& slug, const std::string& table) {
  return scalar(s, "SELECT count(*) FROM pg_tables WHERE schemaname = $1"
                   " AND tablename = $2",
                {actors::tenant_schema(slug), table})
         == 1;
}

storage::org_row must_create(pg_session& s, const std::string& slug,
                             const std::string& owner) {
  auto org = create_org(s, slug, "Org " + slug, owner, storage::tenant_migrations());
  if (!org)
    FAIL("create " << slug << ": " << caf::to_string(org.error()));
  return *org;
}

} // namespace

TEST_CASE("orgs: the saga creates schema, tables and owner membership",
          "[tenancy][saga]") {
  auto url = fresh_database();
  auto s = open_session(url);
  auto owner = make_user(*s, "owner@example.com");
  auto org = must_create(*s, "acme", owner);
  CHECK(org.state == "active");
  CHECK(scalar(*s, "SELECT count(*) FROM public.organizations WHERE slug = 'acme'"
                   " AND state = 'active'")
        == 1);
  CHECK(has_table(*s, "acme", "audit_log"));
  CHECK(scalar(*s, "SELECT count(*) FROM public.memberships WHERE org_id = $1::uuid"
                   " AND user_id = $2::uuid AND role = 'owner'",
               {org.id, owner})
        == 1);
  CHECK(scalar(*s, "SELECT count(*) FROM public.tenant_migrations WHERE org_id = $1::uuid",
               {org.id})
        == static_cast<int64_t>(storage::tenant_migrations().size()));
  // The tenant table is usable, schema-qualified.
  REQUIRE(s->exec("INSERT INTO \"org_acme\".audit_log (id, actor_kind, action)"
                  " VALUES (gen_random_uuid(), 'user', 'test')"));
  auto mine = storage::orgs_of_user(*s, owner);
  REQUIRE(mine);
  REQUIRE(mine->size() == 1);
  CHECK(mine->front().org.slug == "acme");
  CHECK(mine->front().role == "owner");
  // An existing slug is a conflict and changes nothing.
  auto again = create_org(*s, "acme", "Again", owner, storage::tenant_migrations());
  REQUIRE_FALSE(again);
  CHECK(runtime::code_of(again.error()) == runtime::errc::conflict);
  CHECK(scalar(*s, "SELECT count(*) FROM public.organizations") == 1);
  CHECK(tenant_schema_count(*s) == 1);
}

TEST_CASE("orgs: hostile slugs are refused and no schema is created",
          "[tenancy][saga]") {
  auto url = fresh_database();
  auto s = open_session(url);
  auto owner = make_user(*s, "owner@example.com");
  for (std::string bad : std::vector<std::string>{
         "", "a\"b", "acme\"; DROP SCHEMA public CASCADE; --", "..", "a/../b",
        "caf\xc3\xa9", "\xd0\xb0\xd0\xb1", std::string(49, 'a'), "Acme",
        "1acme", "a b", "a'; select 1; --", "org_x\"", "a-b", "_a"}) {
    INFO(bad);
    auto org = create_org(*s, bad, "Bad", owner, storage::tenant_migrations());
    REQUIRE_FALSE(org);
    CHECK(runtime::code_of(org.error()) == runtime::errc::invalid_argument);
    CHECK(context_of(org.error()).rfind("slug: ", 0) == 0);
  }
  CHECK(tenant_schema_count(*s) == 0);
  CHECK(scalar(*s, "SELECT count(*) FROM public.organizations") == 0);
  // 48 characters is the longest valid slug.
  must_create(*s, std::string(48, 'a'), owner);
  CHECK(tenant_schema_count(*s) == 1);
}

TEST_CASE("orgs: two concurrent creates of one slug give exactly one org",
          "[tenancy][saga]") {
  auto url = fresh_database();
  auto setup = open_session(url);
  auto owner = make_user(*setup, "owner@example.com");
  auto a = open_session(url);
  auto b = open_session(url);
  for (int round = 0; round < 10; ++round) {
    auto slug = "race" + std::to_string(round);
    std::atomic<bool> go{false};
    caf::expected<storage::org_row> ra{caf::error{}}, rb{caf::error{}};
    std::thread ta([&] {
      while (!go) {
      }
      ra = create_org(*a, slug, "A", owner, storage::tenant_migrations());
    });
    std::thread tb([&] {
      while (!go) {
      }
      rb = create_org(*b, slug, "B", owner, storage::tenant_migrations());
    });
    go = true;
    ta.join();
    tb.join();
    INFO(slug);
    CHECK((ra ? 1 : 0) + (rb ? 1 : 0) == 1);
    auto& loser = ra ? rb : ra;
    REQUIRE_FALSE(loser);
    CHECK(runtime::code_of(loser.error()) == runtime::errc::conflict);
    CHECK(scalar(*setup, "SELECT count(*) FROM public.organizations WHERE slug = $1"
                         " AND state = 'active'",
                 {slug})
          == 1);
    CHECK(has_table(*setup, slug, "audit_log"));
  }
  CHECK(tenant_schema_count(*setup) == 10);
}

TEST_CASE("orgs: doctor finds and rolls back what a killed provisioning left",
          "[tenancy][doctor]") {
  auto url = fresh_database();
  auto s = open_session(url);
  auto owner = make_user(*s, "owner@example.com");
  must_create(*s, "healthy", owner);
  // The kill: the saga's first steps only (row claimed, schema created),
  // then nothing; and a schema nobody owns.
  REQUIRE_FALSE(storage::insert_provisioning_org(*s, "018f0000-0000-7000-8000-000000000001",
                                                 "halfway", "Half", owner));
  REQUIRE_FALSE(storage::create_tenant_schema(*s, actors::quoted_tenant_schema("halfway")));
  REQUIRE_FALSE(storage::create_tenant_schema(*s, actors::quoted_tenant_schema("ghost")));
  // An org being provisioned right now is left alone.
  REQUIRE_FALSE(storage::insert_provisioning_org(*s, "018f0000-0000-7000-8000-000000000002",
                                                 "inflight", "In flight", owner));
  REQUIRE(s->exec("UPDATE public.organizations SET created_at = now() - interval '2 minutes'"
                  " WHERE slug = 'halfway'"));
  auto report = actors::run_doctor(*s, false);
  REQUIRE(report);
  CHECK(report->stuck == std::vector<std::string>{"halfway"});
  CHECK(report->schemas.orphans == std::vector<std::string>{"ghost"});
  CHECK_FALSE(report->fixed);
  CHECK(tenant_schema_count(*s) == 3); // nothing changed yet

  auto fixed = actors::run_doctor(*s, true);
  REQUIRE(fixed);
  CHECK(fixed->fixed);
  CHECK(scalar(*s, "SELECT count(*) FROM public.organizations WHERE slug = 'halfway'") == 0);
  CHECK(scalar(*s, "SELECT count(*) FROM pg_namespace WHERE nspname IN"
                   " ('org_halfway', 'org_ghost')")
        == 0);
  CHECK(has_table(*s, "healthy", "audit_log"));
  CHECK(scalar(*s, "SELECT count(*) FROM public.organizations WHERE slug = 'inflight'") == 1);
  auto clean = actors::run_doctor(*s, false);
  REQUIRE(clean);
  CHECK(clean->stuck.empty());
  CHECK(clean->schemas.orphans.empty());
  // The slug is free again: the rollback left no trace.
  must_create(*s, "halfway", owner);
}

TEST_CASE("tenant migrations: a new one across 200 tenants, interrupted and "
          "re-run, applies exactly once", "[tenancy][migrations]") {
  auto url = fresh_database();
  auto s = open_session(url);
  auto owner = make_user(*s, "owner@example.com");
  constexpr int tenants = 200;
  std::vector<storage::org_row> orgs;
  for (int i = 0; i < tenants; ++i) {
    char slug[16];
    std::snprintf(slug, sizeof(slug), "t%03d", i);
    orgs.push_back(must_create(*s, slug, owner));
  }
  auto known = storage::tenant_migrations();
  auto extra = storage::make_migration(
    "0900_audit_note.sql", "ALTER TABLE {{schema}}.audit_log ADD COLUMN note text;");
  REQUIRE(extra);
  known.push_back(*extra);
  CHECK(storage::tenants_behind(*s, 900)->size() == tenants);

  // Interrupted once by hand (a quarter) ...
  for (int i = 0; i < tenants / 4; ++i) {
    auto n = storage::apply_tenant_migrations(
      *s, orgs[i].id, actors::quoted_tenant_schema(orgs[i].slug), known);
    REQUIRE(n);
    CHECK(*n == 1);
  }
  // ... then a run that dies halfway through.
  actors::tenant_migrate_options opts;
  opts.batch = 50;
  opts.concurrency = 4;
  opts.stop_after = tenants / 2;
  auto first = actors::migrate_all_tenants(url, known, opts);
  REQUIRE(first);
  CHECK(first->tenants == tenants / 2);
  CHECK(first->failed.empty());
  CHECK(static_cast<int>(storage::tenants_behind(*s, 900)->size()) < tenants);
  CHECK_FALSE(storage::tenants_behind(*s, 900)->empty());

  // Two complete runs at once converge; nothing applies twice.
  opts.stop_after = 0;
  caf::expected<actors::tenant_migrate_report> r1{caf::error{}}, r2{caf::error{}};
  std::thread t1([&] { r1 = actors::migrate_all_tenants(url, known, opts); });
  std::thread t2([&] { r2 = actors::migrate_all_tenants(url, known, opts); });
  t1.join();
  t2.join();
  REQUIRE(r1);
  REQUIRE(r2);
  CHECK(r1->failed.empty());
  CHECK(r2->failed.empty());
  CHECK(r1->tenants == tenants);
  CHECK(static_cast<int>(first->applied + r1->applied + r2->applied) + tenants / 4
        == tenants);
  CHECK(storage::tenants_behind(*s, 900)->empty());
  CHECK(scalar(*s, "SELECT count(*) FROM public.tenant_migrations WHERE version = 900")
        == tenants);
  CHECK(scalar(*s, "SELECT count(*) FROM public.tenant_migrations")
        == tenants * static_cast<int64_t>(known.size()));
  // The DDL took effect in every tenant schema.
  CHECK(scalar(*s, "SELECT count(*) FROM information_schema.columns"
                   " WHERE table_schema LIKE 'org\\_%' AND table_name = 'audit_log'"
                   " AND column_name = 'note'")
        == tenants);
  // A further run has nothing to do.
  auto idle = actors::migrate_all_tenants(url, known, opts);
  REQUIRE(idle);
  CHECK(idle->applied == 0);

  // Another migration, and this time the run's connections are killed
  // under it (every backend but ours) after 60 tenants.
  auto probe = storage::make_migration(
    "0901_kill_probe.sql", "CREATE TABLE {{schema}}.kill_probe (id int PRIMARY KEY);");
  REQUIRE(probe);
  known.push_back(*probe);
  auto killer = open_session(url);
  int seen = 0;
  opts.on_tenant = [&](const std::string&, int, const caf::error&) {
    if (++seen != 60)
      return;
    auto killed = killer->exec(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
      " WHERE datname = current_database() AND pid <> pg_backend_pid()"
      " AND pid <> $1::integer",
      {std::to_string(s->backend_pid())});
    CHECK(killed);
  };
  auto killed_run = actors::migrate_all_tenants(url, known, opts);
  // The run died or limped on; either way not everything may be done.
  opts.on_tenant = nullptr;
  auto rerun = actors::migrate_all_tenants(url, known, opts);
  REQUIRE(rerun);
  CHECK(rerun->failed.empty());
  CHECK(storage::tenants_behind(*s, 901)->empty());
  CHECK(scalar(*s, "SELECT count(*) FROM public.tenant_migrations WHERE version = 901")
        == tenants);
  CHECK(scalar(*s, "SELECT count(*) FROM pg_tables WHERE schemaname LIKE 'org\\_%'"
                   " AND tablename = 'kill_probe'")
        == tenants);
  if (killed_run)
    CHECK(killed_run->applied + rerun->applied == static_cast<unsigned>(tenants));
}

TEST_CASE("orgs: soft delete keeps the schema until the grace passes, then "
          "the purge drops it", "[tenancy][purge]") {
  auto url = fresh_database();
  auto s = open_session(url);
  auto owner = make_user(*s, "owner@example.com");
  must_create(*s, "doomed", owner);
  must_create(*s, "later", owner);
  REQUIRE_FALSE(actors::soft_delete_org(*s, "doomed", 1ms));
  REQUIRE_FALSE(actors::soft_delete_org(*s, "later", 1h));
  CHECK(scalar(*s, "SELECT count(*) FROM public.organizations WHERE state = 'deleting'") == 2);
  CHECK(has_table(*s, "doomed", "audit_log"));
  // Deleted orgs vanish from their members' lists at once.
  CHECK(storage::orgs_of_user(*s, owner)->empty());
  auto again = actors::soft_delete_org(*s, "doomed", 1ms);
  CHECK(runtime::code_of(again) == runtime::errc::not_found);
  std::this_thread::sleep_for(20ms);
  auto purged = actors::purge_due_orgs(*s);
  REQUIRE(purged);
  CHECK(*purged == std::vector<std::string>{"doomed"});
  CHECK(scalar(*s, "SELECT count(*) FROM pg_namespace WHERE nspname = 'org_doomed'") == 0);
  CHECK(scalar(*s, "SELECT count(*) FROM public.organizations WHERE slug = 'doomed'"
                   " AND state = 'purged'")
        == 1);
  CHECK(has_table(*s, "later", "audit_log"));
  // The doctor does not mistake the deleting org's schema for an orphan.
  auto report = actors::run_doctor(*s, false);
  REQUIRE(report);
  CHECK(report->schemas.orphans.empty());
}

namespace {

struct actor_fixture {
  runtime::metrics_registry metrics;
  runtime::actor_directory directory;
  runtime::system_config cfg;
  caf::actor_system sys{cfg};
  runtime::actor_slot_ptr pool_slot = std::make_shared<runtime::actor_slot>();
  storage::storage_pool_actor pool;

  explicit actor_fixture(const std::string& url) {
    storage::pool_options opts;
    opts.conninfo = url;
    opts.size = 2;
    pool = storage::spawn_storage_pool(sys, opts, metrics, directory, 0);
    pool_slot->set(caf::actor_cast<caf::actor>(pool));
  }

  ~actor_fixture() {
    caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  }

  std::vector<runtime::actor_directory::entry> tenants() const {
    std::vector<runtime::actor_directory::entry> out;
    for (auto& e : directory.snapshot())
      if (e.kind == "tenant")
        out.push_back(e);
    return out;
  }
};

bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds limit = 5000ms) {
  return test::eventually(pred, limit, 10ms);
}

caf::expected<caf::actor> tenant_of(caf::scoped_actor& self,
                                    const runtime::tenant_registry_actor& reg,
                                    const std::string& slug) {
  caf::expected<caf::actor> out{caf::error{}};
  self->request(reg, 5s, tenant_atom_v, slug)
    .receive([&](caf::actor& h) { out = std::move(h); },
             [&](caf::error& err) { out = std::move(err); });
  return out;
}

} // namespace

TEST_CASE("tenant registry: spawns on first use, passivates when idle, "
          "respawns after a crash, and lists tenants in the directory",
          "[tenancy][registry]") {
  auto url = fresh_database();
  auto s = open_session(url);
  auto owner = make_user(*s, "owner@example.com");
  auto acme = must_create(*s, "acme", owner);
  must_create(*s, "beta", owner);
  actor_fixture f{url};
  caf::scoped_actor self{f.sys};
  actors::tenant_registry_options opts;
  opts.storage_pool = f.pool_slot;
  opts.directory = &f.directory;
  opts.idle_timeout = 300ms;
  auto reg = actors::spawn_tenant_registry(self.ptr(), opts);
  f.directory.enroll(caf::actor_cast<caf::actor>(reg), "tenant_registry",
                     "tenants", 0);

  auto first = tenant_of(self, reg, "acme");
  REQUIRE(first);
  auto again = tenant_of(self, reg, "acme");
  REQUIRE(again);
  CHECK(*again == *first); // one actor per org
  // Its state came from PostgreSQL.
  std::string org_id;
  self->request(caf::actor_cast<runtime::tenant_actor>(*first), 5s, org_atom_v)
    .receive([&](std::string& id) { org_id = id; },
             [&](caf::error& err) { FAIL(caf::to_string(err)); });
  CHECK(org_id == acme.id);
  auto listed = f.tenants();
  REQUIRE(listed.size() == 1);
  CHECK(listed.front().id == "acme");
  CHECK(listed.front().parent_id == reg.id());

  // Unknown, hostile and deleted slugs are not found.
  for (std::string bad : {"nosuch", "a\"b", ".."}) {
    auto none = tenant_of(self, reg, bad);
    REQUIRE_FALSE(none);
    CHECK(runtime::code_of(none.error()) == runtime::errc::not_found);
  }

  // A crash: the registry starts it again, state rebuilt.
  auto old_id = first->id();
  caf::anon_send_exit(*first, caf::exit_reason::kill);
  CHECK(eventually([&] {
    auto t = f.tenants();
    return t.size() == 1 && t.front().actor_id != old_id;
  }));
  auto respawned = tenant_of(self, reg, "acme");
  REQUIRE(respawned);
  CHECK(respawned->id() != old_id);

  // Crashing again and again: each restart waits twice as long (10, 20,
  // 40 ms ...), and the directory counts the restarts.
  auto victim = *respawned;
  for (uint32_t crash = 2; crash <= 4; ++crash) {
    auto started = std::chrono::steady_clock::now();
    caf::anon_send_exit(victim, caf::exit_reason::kill);
    REQUIRE(eventually([&] {
      auto t = f.tenants();
      return t.size() == 1 && t.front().actor_id != victim.id();
    }));
    auto waited = std::chrono::steady_clock::now() - started;
    CHECK(waited >= 10ms * (1u << (crash - 1)));
    auto t = f.tenants();
    REQUIRE(t.size() == 1);
    CHECK(t.front().restarts == crash);
    auto next = tenant_of(self, reg, "acme");
    REQUIRE(next);
    CHECK(next->id() == t.front().actor_id);
    victim = *next;
  }

  // Idle: passivated, then started again on the next use.
  CHECK(eventually([&] { return f.tenants().empty(); }));
  auto back = tenant_of(self, reg, "acme");
  REQUIRE(back);
  REQUIRE(tenant_of(self, reg, "beta"));
  CHECK(f.tenants().size() == 2);
  caf::anon_send_exit(reg, caf::exit_reason::user_shutdown);
  // Tenants stop with their registry.
  CHECK(eventually([&] { return f.tenants().empty(); }));
}

TEST_CASE("org reaper: purges a deleted org once its grace has passed",
          "[tenancy][purge]") {
  auto url = fresh_database();
  auto s = open_session(url);
  auto owner = make_user(*s, "owner@example.com");
  must_create(*s, "gone", owner);
  REQUIRE_FALSE(actors::soft_delete_org(*s, "gone", 1ms));
  actor_fixture f{url};
  caf::scoped_actor self{f.sys};
  actors::org_reaper_options opts;
  opts.storage_pool = f.pool_slot;
  opts.interval = 50ms;
  auto reaper = actors::spawn_org_reaper(self.ptr(), opts);
  CHECK(eventually([&] {
    return scalar(*s, "SELECT count(*) FROM pg_namespace WHERE nspname = 'org_gone'") == 0;
  }));
  CHECK(scalar(*s, "SELECT count(*) FROM public.organizations WHERE state = 'purged'") == 1);
  caf::anon_send_exit(reaper, caf::exit_reason::user_shutdown);
}

// -- the HTTP API ------------------------------------------------------------------------

namespace {

using fp::test::json_string;
using test::call;
using test::log_in;

} // namespace

TEST_CASE("http: organizations and members over the API", "[tenancy][http]") {
  auto url = fresh_database();
  auto s = open_session(url);
  std::map<std::string, std::string> ids;
  for (std::string who : {"owner", "bob", "eve"}) {
    auto u = storage::create_user(*s, who + "@example.com", "correct horse");
    REQUIRE(u);
    ids[who] = u->id;
  }
  auto started = test::start_node(test::node_settings(url));
  auto& node = *started;
  auto port = node.port();
  auto owner = log_in(port, "owner@example.com");

  CHECK(call(port, "POST", "/api/v1/orgs", {}, R"({"slug":"acme","name":"A"})").status
        == 401);
  auto bad = call(port, "POST", "/api/v1/orgs", owner,
                  R"({"slug":"acme\"; drop schema public; --","name":"A"})");
  CHECK(bad.status == 422);
  CHECK(bad.body.find(R"("field":"slug")") != std::string::npos);
  CHECK(tenant_schema_count(*s) == 0);
  auto made = call(port, "POST", "/api/v1/orgs", owner, R"({"slug":"acme","name":"Acme"})");
  REQUIRE(made.status == 201);
  CHECK(json_string(made.body, "role") == "owner");
  CHECK(has_table(*s, "acme", "audit_log"));
  CHECK(call(port, "POST", "/api/v1/orgs", owner, R"({"slug":"acme","name":"Acme"})").status
        == 409);
  auto mine = call(port, "GET", "/api/v1/orgs", owner);
  CHECK(mine.status == 200);
  CHECK(json_string(mine.body, "slug") == "acme");

  // Members: add, unknown users, the last owner, and who may do what.
  CHECK(call(port, "POST", "/api/v1/orgs/acme/members", owner,
             R"({"email":"bob@example.com","role":"admin"})")
          .status
        == 201);
  auto nobody = call(port, "POST", "/api/v1/orgs/acme/members", owner,
                     R"({"email":"nobody@example.com","role":"member"})");
  CHECK(nobody.status == 422);
  CHECK(nobody.body.find(R"("field":"email")") != std::string::npos);
  auto list = call(port, "GET", "/api/v1/orgs/acme/members", owner);
  CHECK(list.status == 200);
  CHECK(list.body.find("bob@example.com") != std::string::npos);
  CHECK(call(port, "DELETE", "/api/v1/orgs/acme/members/" + ids["owner"], owner).status
        == 409);
  auto bob = log_in(port, "bob@example.com");
  CHECK(call(port, "DELETE", "/api/v1/orgs/acme/members/" + ids["owner"], bob).status
        == 403);
  CHECK(call(port, "POST", "/api/v1/orgs/acme/members", bob,
             R"({"email":"eve@example.com","role":"owner"})")
          .status
        == 403);
  CHECK(call(port, "DELETE", "/api/v1/orgs/acme", bob).status == 403);

  // A non-member sees exactly what an unknown slug gives.
  auto eve = log_in(port, "eve@example.com");
  auto hidden = call(port, "GET", "/api/v1/orgs/acme/members", eve);
  auto unknown = call(port, "GET", "/api/v1/orgs/nosuch/members", eve);
  CHECK(hidden.status == 404);
  CHECK(unknown.status == 404);
  CHECK(json_string(hidden.body, "title") == json_string(unknown.body, "title"));
  CHECK(call(port, "DELETE", "/api/v1/orgs/acme", eve).status == 404);

  CHECK(call(port, "DELETE", "/api/v1/orgs/acme/members/" + ids["bob"], owner).status
        == 204);
  CHECK(call(port, "DELETE", "/api/v1/orgs/acme", owner).status == 202);
  CHECK(json_string(call(port, "GET", "/api/v1/orgs", owner).body, "slug").empty());
  CHECK(scalar(*s, "SELECT count(*) FROM public.organizations WHERE slug = 'acme'"
                   " AND state = 'deleting' AND purge_after > now() + interval '6 days'")
        == 1);
  node.stop();
}

#ifdef FP_FLEETPROMPT_BIN

#include <csignal>
#include <sys/wait.h>

TEST_CASE("orgs: a real process killed mid-provisioning leaves all or nothing "
          "after doctor --fix",
          "[tenancy][doctor][kill]") {
  auto url = fresh_database();
  auto s = open_session(url);
  make_user(*s, "killer@example.com");
  // Hold a lock the saga needs in its second step, so that the kill is
  // certain to land while the organization is half made.
  auto blocker = open_session(url);
  REQUIRE(blocker->exec("BEGIN"));
  REQUIRE(blocker->exec("LOCK TABLE public.memberships IN ACCESS EXCLUSIVE MODE"));
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::execl(FP_FLEETPROMPT_BIN, "fleetprompt", "org", "create", "--database-url",
            url.c_str(), "--slug", "killed", "--name", "Killed", "--owner",
            "killer@example.com", "--log-level", "off", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto waiting_on_lock = [&] {
    return scalar(*s, "SELECT count(*) FROM public.organizations"
                      " WHERE slug = 'killed' AND state = 'provisioning'")
             == 1
           && scalar(*s, "SELECT count(*) FROM pg_stat_activity WHERE datname ="
                         " current_database() AND wait_event_type = 'Lock'")
                >= 1;
  };
  bool reached = false;
  for (int i = 0; i < 400 && !reached; ++i) {
    reached = waiting_on_lock();
    if (!reached)
      std::this_thread::sleep_for(50ms);
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(blocker->exec("ROLLBACK"));
  REQUIRE(reached);
  CHECK(WIFSIGNALED(status));
  // The killed client's backend finishes its statement, finds the client
  // gone and rolls back; wait until it has left.
  auto others = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid NOT IN (" + std::to_string(s->backend_pid()) + ", "
                + std::to_string(blocker->backend_pid()) + ") AND backend_type = 'client backend'";
  for (int i = 0; i < 200 && scalar(*s, others) > 0; ++i)
    std::this_thread::sleep_for(50ms);
  REQUIRE(scalar(*s, others) == 0);

  // Half made: the claimed row, nothing else.
  CHECK(scalar(*s, "SELECT count(*) FROM public.organizations WHERE slug = 'killed'") == 1);
  auto report = actors::run_doctor(*s, true, 0ms);
  REQUIRE(report);
  CHECK(report->stuck == std::vector<std::string>{"killed"});
  // All or nothing: no row, no schema, no membership; the slug is free.
  CHECK(scalar(*s, "SELECT count(*) FROM public.organizations WHERE slug = 'killed'") == 0);
  CHECK(scalar(*s, "SELECT count(*) FROM pg_namespace WHERE nspname = 'org_killed'") == 0);
  CHECK(scalar(*s, "SELECT count(*) FROM public.memberships m JOIN public.users u"
                   " ON u.id = m.user_id WHERE u.email_normalized = 'killer@example.com'")
        == 0);
  auto again = actors::run_doctor(*s, false, 0ms);
  REQUIRE(again);
  CHECK(again->stuck.empty());
  CHECK(again->schemas.orphans.empty());
}

#endif
