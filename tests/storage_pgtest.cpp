// Storage tests against a real PostgreSQL (see support/pg_cluster.hpp).

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <regex>
#include <filesystem>
#include <fstream>
#include <thread>

#include <caf/all.hpp>

#include "fp/config/settings.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/metrics.hpp"
#include "fp/runtime/system_config.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/embedded_postgres.hpp"
#include "fp/storage/migrations.hpp"
#include "fp/storage/storage_pool.hpp"
#include "pg_array.hpp"
#include "pg_cluster.hpp"

using namespace std::chrono_literals;
using namespace fp::storage;
using fp::runtime::context_of;

namespace {

using clock_type = std::chrono::steady_clock;

std::unique_ptr<pg_session> open_session(const std::string& url = fp::test::database_url(),
                                         std::chrono::milliseconds statement_timeout = {}) {
  auto s = connect(url, 10s, statement_timeout);
  if (!s)
    FAIL("cannot connect: " << caf::to_string(s.error()));
  return std::move(*s);
}

std::string unique_name(const std::string& prefix) {
  return prefix + "_" + fp::runtime::new_request_id().substr(0, 10);
}

result must(caf::expected<result> r) {
  if (!r)
    FAIL("query failed: " << caf::to_string(r.error()));
  return std::move(*r);
}

void must(const caf::error& err) {
  if (err)
    FAIL("failed: " << caf::to_string(err));
}

int64_t scalar(pg_session& s, const std::string& sql, sql_params params = {}) {
  auto r = must(s.exec(sql, std::move(params)));
  REQUIRE(r.rows() == 1);
  return r.int64(0, 0);
}

migration mig(int version, const std::string& name, const std::string& sql) {
  char file[128];
  std::snprintf(file, sizeof(file), "%04d_%s.sql", version, name.c_str());
  auto m = make_migration(file, sql);
  REQUIRE(m);
  return *m;
}

/// Ends backend `pid` from another connection and waits until it is gone.
void terminate_backend(int pid) {
  auto killer = open_session();
  must(killer->exec("SELECT pg_terminate_backend($1::int)", {std::to_string(pid)}));
  auto deadline = clock_type::now() + 10s;
  while (scalar(*killer, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int",
                {std::to_string(pid)})
         > 0) {
    REQUIRE(clock_type::now() < deadline);
    std::this_thread::sleep_for(20ms);
  }
}

/// Binds a loopback socket to a free port; listens when `backlog` > 0.
/// Closed on destruction.
struct loopback_socket {
  int fd = -1;
  uint16_t port = 0;

  explicit loopback_socket(int backlog = 0) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    if (backlog > 0)
      REQUIRE(::listen(fd, backlog) == 0);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~loopback_socket() {
    if (fd >= 0)
      ::close(fd);
  }
  loopback_socket(const loopback_socket&) = delete;
  loopback_socket& operator=(const loopback_socket&) = delete;
};

/// A free port nothing listens on.
uint16_t unused_port() {
  return loopback_socket{}.port;
}

/// A server that accepts connections (the kernel does) but never answers.
struct silent_listener : loopback_socket {
  explicit silent_listener(int backlog) : loopback_socket(backlog) {}
  std::string url() const {
    return "postgresql://x:y@127.0.0.1:" + std::to_string(port) + "/db";
  }
};

// -- pool helpers -------------------------------------------------------------

struct pool_fixture {
  // Registry and directory outlive the actor system (workers use them).
  fp::runtime::metrics_registry metrics;
  fp::runtime::actor_directory directory;
  fp::runtime::system_config cfg;
  caf::actor_system sys{cfg};
  storage_pool_actor pool;

  explicit pool_fixture(pool_options opts) {
    pool = spawn_storage_pool(sys, std::move(opts), metrics, directory, 0);
  }

  ~pool_fixture() {
    caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  }

  uint64_t tasks(const std::string& label, const std::string& outcome) {
    return metrics
      .get_counter("fp_storage_tasks_total", "", {"task", "outcome"}, {label, outcome})
      .value();
  }

  uint64_t retries(const std::string& reason) {
    return metrics.get_counter("fp_storage_retries_total", "", {"reason"}, {reason})
      .value();
  }

  int64_t gauge(const std::string& name) {
    return metrics.get_gauge(name, "").value();
  }

  std::vector<fp::runtime::actor_directory::entry> workers() {
    std::vector<fp::runtime::actor_directory::entry> out;
    for (auto& e : directory.snapshot())
      if (e.kind == "storage_worker" && e.parent_id == pool.id())
        out.push_back(e);
    return out;
  }

  /// Waits until `pred()` holds (gauges are updated right after replies).
  template <class Pred>
  bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
    auto deadline = clock_type::now() + limit;
    while (!pred()) {
      if (clock_type::now() > deadline)
        return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }
};

pool_options options(unsigned size, unsigned queue_limit = 100,
                     std::string url = fp::test::database_url()) {
  pool_options opts;
  opts.conninfo = std::move(url);
  opts.size = size;
  opts.queue_limit = queue_limit;
  opts.connect_timeout = 3s;
  opts.statement_timeout = 20s;
  return opts;
}

struct reply {
  bool ok = false;
  uint32_t attempts = 0;
  caf::error err;
  std::chrono::milliseconds took{0};
};

db_task sql_task(std::string label, std::string sql, sql_params params = {},
                 bool transactional = true) {
  return {std::move(label), transactional,
          [sql, params](pg_session& s) -> caf::error {
            auto r = s.exec(sql, params);
            return r ? caf::error{} : std::move(r.error());
          }};
}

/// Sends all tasks at once, then collects the replies in order.
std::vector<reply> run_all(caf::scoped_actor& self, const storage_pool_actor& pool,
                           std::vector<db_task> tasks,
                           caf::timespan timeout = std::chrono::seconds{30}) {
  auto start = clock_type::now();
  using handle_t = decltype(self->request(pool, timeout, fp::run_atom_v, db_task{}));
  std::vector<handle_t> handles;
  for (auto& t : tasks)
    handles.push_back(self->request(pool, timeout, fp::run_atom_v, std::move(t)));
  std::vector<reply> out;
  for (auto& h : handles) {
    reply r;
    h.receive(
      [&](uint32_t attempts) {
        r.ok = true;
        r.attempts = attempts;
      },
      [&](caf::error& err) { r.err = std::move(err); });
    r.took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
    out.push_back(std::move(r));
  }
  return out;
}

reply run_one(caf::scoped_actor& self, const storage_pool_actor& pool, db_task task,
              caf::timespan timeout = std::chrono::seconds{30}) {
  std::vector<db_task> tasks;
  tasks.push_back(std::move(task));
  return run_all(self, pool, std::move(tasks), timeout).front();
}

std::string describe(caf::scoped_actor& self, const caf::actor& who) {
  std::string state;
  self->request(who, 10s, fp::describe_atom_v)
    .receive([&](const fp::runtime::actor_status& st) { state = st.state; },
             [&](caf::error& err) { state = "error: " + caf::to_string(err); });
  return state;
}

} // namespace

// -- pg_session ---------------------------------------------------------------

TEST_CASE("pg_session runs statements with text parameters and NULLs",
          "[pg][session]") {
  auto s = open_session();
  auto r = must(s->exec("SELECT $1::int + 1 AS answer, $2::text IS NULL AS missing,"
                        " $2::text AS nothing, 'x'::text AS letter, 12345678901234::bigint",
                        {"41", std::nullopt}));
  REQUIRE(r.rows() == 1);
  CHECK(r.columns() == 5);
  CHECK(r.int64(0, r.column("answer")) == 42);
  CHECK(r.boolean(0, r.column("missing")));
  CHECK(r.is_null(0, r.column("nothing")));
  CHECK(r.text(0, r.column("nothing")).empty());
  CHECK_FALSE(r.is_null(0, 3));
  CHECK(r.text(0, 3) == "x");
  CHECK(r.int64(0, 4) == 12345678901234);
  CHECK(r.column("no_such_column") == -1);

  auto schema = unique_name("t_session");
  must(s->exec_script("CREATE SCHEMA " + schema + ";"
                      "CREATE TABLE " + schema + ".items (id int PRIMARY KEY,"
                      " name text NOT NULL, CONSTRAINT items_name_key UNIQUE (name));"
                      "INSERT INTO " + schema + ".items VALUES (1, 'a'), (2, 'b');"));
  auto table = schema + ".items";
  auto upd = must(s->exec("UPDATE " + table + " SET name = name || $1", {"!"}));
  CHECK(upd.affected_rows() == 2);
  CHECK(scalar(*s, "SELECT count(*) FROM " + table + " WHERE name = $1",
               {"a!' OR '1'='1"}) == 0);
  CHECK(scalar(*s, "SELECT count(*) FROM " + table + " WHERE name = $1", {"a!"}) == 1);

  SECTION("SQL errors are classified") {
    auto dup = s->exec("INSERT INTO " + table + " VALUES (3, 'a!')");
    REQUIRE_FALSE(dup);
    CHECK(code_of(dup.error()) == errc::unique_violation);
    CHECK(context_of(dup.error()) == "items_name_key");
    auto pk = s->exec("INSERT INTO " + table + " VALUES (1, 'new')");
    REQUIRE_FALSE(pk);
    CHECK(code_of(pk.error()) == errc::unique_violation);
    CHECK(context_of(pk.error()) == "items_pkey");
    auto null = s->exec("INSERT INTO " + table + " VALUES ($1::int, $2)",
                        {"9", std::nullopt});
    REQUIRE_FALSE(null);
    CHECK(code_of(null.error()) == errc::constraint_violation);
    CHECK_THAT(context_of(null.error()), Catch::Contains("SQLSTATE 23502"));
    auto syntax = s->exec("SELEC 1");
    REQUIRE_FALSE(syntax);
    CHECK(code_of(syntax.error()) == errc::query_failed);
    CHECK_THAT(context_of(syntax.error()), Catch::Contains("SQLSTATE 42601"));
    CHECK_THAT(context_of(syntax.error()), Catch::Contains("syntax error"));
    // Autocommit: the session is still usable.
    CHECK(scalar(*s, "SELECT 1") == 1);
    auto script = s->exec_script("SELECT 1; SELECT * FROM no_such_table_xyz; SELECT 2");
    CHECK(code_of(script) == errc::query_failed);
    CHECK_THAT(context_of(script), Catch::Contains("42P01"));
  }

  SECTION("a statement over statement_timeout is cancelled") {
    auto slow = open_session(fp::test::database_url(), 200ms);
    CHECK(must(slow->exec("SHOW statement_timeout")).text(0, 0) == "200ms");
    auto start = clock_type::now();
    auto r2 = slow->exec("SELECT pg_sleep(5)");
    REQUIRE_FALSE(r2);
    CHECK(code_of(r2.error()) == errc::statement_timeout);
    CHECK(clock_type::now() - start < 3s);
  }

  must(s->exec("DROP SCHEMA " + schema + " CASCADE"));
}

TEST_CASE("prepared statements are prepared once per connection", "[pg][session]") {
  auto s = open_session();
  for (int i = 0; i < 3; ++i) {
    auto r = must(s->exec_prepared("test_add", "SELECT $1::int + $2::int",
                                   {std::to_string(i), "10"}));
    CHECK(r.int64(0, 0) == i + 10);
  }
  CHECK(scalar(*s, "SELECT count(*) FROM pg_prepared_statements WHERE name = 'test_add'")
        == 1);
  auto bad = s->exec_prepared("test_bad", "SELEC 1");
  REQUIRE_FALSE(bad);
  CHECK(code_of(bad.error()) == errc::query_failed);

  // A new connection starts with an empty cache: prepared again.
  auto old_pid = s->backend_pid();
  REQUIRE(old_pid > 0);
  terminate_backend(old_pid);
  auto lost = s->exec_prepared("test_add", "SELECT $1::int + $2::int", {"1", "1"});
  REQUIRE_FALSE(lost);
  CHECK(code_of(lost.error()) == errc::unavailable);
  CHECK_FALSE(s->connected());
  must(s->ensure_connected());
  CHECK(s->connected());
  CHECK(s->backend_pid() != old_pid);
  auto again = must(s->exec_prepared("test_add", "SELECT $1::int + $2::int", {"2", "3"}));
  CHECK(again.int64(0, 0) == 5);
}

TEST_CASE("binary array parameters round-trip every element", "[pg][session]") {
  using namespace fp::storage::detail;
  auto s = open_session();
  // Text that a text array literal would have to quote or escape.
  std::vector<std::string> texts{"plain", "", "with \"quotes\" and \\", "{a,b}",
                                 "NULL", "caf\xc3\xa9 \xe2\x9c\x93", "line\nbreak"};
  binary_array text_in{text_oid};
  for (auto& t : texts)
    text_in.add_text(t);
  text_in.add_null();
  binary_array uuid_in{uuid_oid};
  REQUIRE(uuid_in.add_uuid("01234567-89ab-cdef-0123-456789ABCDEF"));
  CHECK_FALSE(uuid_in.add_uuid("not-a-uuid"));
  CHECK_FALSE(uuid_in.add_uuid("01234567-89ab-cdef-0123-456789abcde"));
  binary_array json_in{jsonb_oid};
  json_in.add_jsonb(R"({"a": "x\"y", "n": [1, 2.5]})");
  binary_array empty{text_oid};
  auto r = must(s->exec_prepared(
    "test_binary_arrays",
    "SELECT t, n, ($2::uuid[])[1]::text, ($3::jsonb[])[1]->>'a', "
    "cardinality($4::text[]), cardinality($1::text[]) "
    "FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n) ORDER BY n",
    {text_in.finish(), uuid_in.finish(), json_in.finish(), empty.finish()},
    {true, true, true, true}));
  REQUIRE(r.rows() == static_cast<int>(texts.size()) + 1);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    INFO(i);
    CHECK(r.text(static_cast<int>(i), 0) == texts[i]);
  }
  CHECK(r.is_null(static_cast<int>(texts.size()), 0));
  CHECK(r.text(0, 2) == "01234567-89ab-cdef-0123-456789abcdef");
  CHECK(r.text(0, 3) == "x\"y");
  CHECK(r.int64(0, 4) == 0);
  CHECK(r.int64(0, 5) == static_cast<int64_t>(texts.size()) + 1);
  // A builder starts over after finish().
  binary_array again{text_oid};
  again.add_text("one");
  (void)again.finish();
  again.add_text("two");
  auto second = must(s->exec_prepared("test_binary_again",
                                      "SELECT ($1::text[])[1], cardinality($1::text[])",
                                      {again.finish()}, {true}));
  CHECK(second.text(0, 0) == "two");
  CHECK(second.int64(0, 1) == 1);
}

TEST_CASE("a terminated idle connection is noticed before sending", "[pg][session]") {
  auto s = open_session();
  auto pid = s->backend_pid();
  terminate_backend(pid);
  // ensure_connected reads the pending hang-up and reconnects.
  must(s->ensure_connected());
  CHECK(s->backend_pid() != pid);
  CHECK(scalar(*s, "SELECT 7") == 7);
}

TEST_CASE("connecting fails promptly with unavailable", "[pg][session]") {
  SECTION("nothing listens") {
    auto url = "postgresql://nobody:secret@127.0.0.1:" + std::to_string(unused_port())
               + "/nothing";
    auto start = clock_type::now();
    auto s = connect(url, 2s);
    REQUIRE_FALSE(s);
    CHECK(code_of(s.error()) == errc::unavailable);
    CHECK(clock_type::now() - start < 2s);
    // The password never shows up in errors.
    CHECK(caf::to_string(s.error()).find("secret") == std::string::npos);
  }
  SECTION("a server that never answers hits the connect timeout") {
    silent_listener listener{8};
    auto url = listener.url();
    auto start = clock_type::now();
    auto s = connect(url, 300ms);
    auto took = clock_type::now() - start;
    REQUIRE_FALSE(s);
    CHECK(code_of(s.error()) == errc::unavailable);
    CHECK_THAT(context_of(s.error()), Catch::Contains("timed out"));
    CHECK(took >= 250ms);
    CHECK(took < 2s);
  }
}

TEST_CASE("run_transaction commits, rolls back and reports ignored errors",
          "[pg][session]") {
  auto s = open_session();
  auto table = unique_name("t_tx");
  must(s->exec("CREATE TABLE " + table + " (id int PRIMARY KEY)"));
  must(run_transaction(*s, [&](pg_session& tx) -> caf::error {
    auto r = tx.exec("INSERT INTO " + table + " VALUES (1)");
    return r ? caf::error{} : r.error();
  }));
  CHECK(scalar(*s, "SELECT count(*) FROM " + table) == 1);
  auto err = run_transaction(*s, [&](pg_session& tx) -> caf::error {
    auto r = tx.exec("INSERT INTO " + table + " VALUES (2)");
    REQUIRE(r);
    return fp::runtime::make_error(fp::runtime::errc::conflict, "changed my mind");
  });
  CHECK(fp::runtime::code_of(err) == fp::runtime::errc::conflict);
  CHECK(scalar(*s, "SELECT count(*) FROM " + table) == 1);
  auto dup = run_transaction(*s, [&](pg_session& tx) -> caf::error {
    auto r = tx.exec("INSERT INTO " + table + " VALUES (1)");
    return r ? caf::error{} : r.error();
  });
  CHECK(code_of(dup) == errc::unique_violation);
  auto ignored = run_transaction(*s, [&](pg_session& tx) -> caf::error {
    (void) tx.exec("INSERT INTO " + table + " VALUES (3)");
    (void) tx.exec("SELEC 1"); // error swallowed by the task
    return caf::none;
  });
  CHECK(code_of(ignored) == errc::query_failed);
  CHECK_THAT(context_of(ignored), Catch::Contains("ignored"));
  CHECK(scalar(*s, "SELECT count(*) FROM " + table) == 1);
  auto threw = run_transaction(*s, [&](pg_session&) -> caf::error {
    throw std::runtime_error("boom");
  });
  CHECK(fp::runtime::code_of(threw) == fp::runtime::errc::internal);
  CHECK_THAT(context_of(threw), Catch::Contains("boom"));
  must(s->exec("DROP TABLE " + table));
}

// -- migrations ---------------------------------------------------------------

TEST_CASE("migrations apply once; re-running is a no-op", "[pg][migrations]") {
  auto url = fp::test::create_scratch_database("mig_once");
  auto s = open_session(url);
  std::vector<migration> list{
    mig(1, "create_a", "CREATE TABLE a (id int PRIMARY KEY);"),
    mig(2, "create_b", "CREATE TABLE b (id int); INSERT INTO b VALUES (1), (2);"),
  };
  auto before = migration_status(*s, list);
  REQUIRE(before);
  REQUIRE(before->size() == 2);
  for (auto& st : *before) {
    CHECK_FALSE(st.applied);
    CHECK(st.checksum_ok);
    CHECK(st.applied_at.empty());
  }
  auto applied = apply_migrations(*s, list);
  REQUIRE(applied);
  CHECK(*applied == 2);
  auto again = apply_migrations(*s, list);
  REQUIRE(again);
  CHECK(*again == 0);
  CHECK(scalar(*s, "SELECT count(*) FROM b") == 2);
  auto rows = must(s->exec("SELECT version, name, checksum FROM public.schema_migrations"
                           " ORDER BY version"));
  REQUIRE(rows.rows() == 2);
  CHECK(rows.int64(0, 0) == 1);
  CHECK(rows.text(0, 1) == "create_a");
  CHECK(rows.text(0, 2) == list[0].checksum);
  CHECK(rows.text(1, 1) == "create_b");

  list.push_back(mig(3, "create_c", "CREATE TABLE c (id int);"));
  auto status = migration_status(*s, list);
  REQUIRE(status);
  REQUIRE(status->size() == 3);
  CHECK((*status)[0].applied);
  CHECK((*status)[0].checksum_ok);
  CHECK(std::regex_match((*status)[0].applied_at,
                         std::regex{R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"}));
  CHECK((*status)[1].applied);
  CHECK_FALSE((*status)[2].applied);
  CHECK((*status)[2].name == "create_c");
  auto third = apply_migrations(*s, list);
  REQUIRE(third);
  CHECK(*third == 1);
}

TEST_CASE("public migrations: pending count and the nodes table", "[pg][migrations]") {
  auto url = fp::test::create_scratch_database("mig_public");
  auto s = open_session(url);
  const auto& all = public_migrations();
  auto pending = pending_migration_count(*s);
  REQUIRE(pending);
  CHECK(*pending == static_cast<int>(all.size()));
  auto applied = apply_migrations(*s, all);
  REQUIRE(applied);
  CHECK(*applied == static_cast<int>(all.size()));
  pending = pending_migration_count(*s);
  REQUIRE(pending);
  CHECK(*pending == 0);
  must(s->exec("INSERT INTO public.nodes (id, hostname, pid, version, listen)"
               " VALUES (gen_random_uuid(), 'host-a', 42, '0.1.0', '127.0.0.1:8080')"));
  auto r = must(s->exec("SELECT hostname, pid, started_at IS NOT NULL,"
                        " last_seen_at IS NOT NULL FROM public.nodes"));
  REQUIRE(r.rows() == 1);
  CHECK(r.text(0, 0) == "host-a");
  CHECK(r.int64(0, 1) == 42);
  CHECK(r.boolean(0, 2));
  CHECK(r.boolean(0, 3));
}

TEST_CASE("a changed applied migration is refused and nothing is applied",
          "[pg][migrations]") {
  auto url = fp::test::create_scratch_database("mig_tamper");
  auto s = open_session(url);
  std::vector<migration> list{mig(1, "create_a", "CREATE TABLE a (id int);"),
                              mig(2, "create_b", "CREATE TABLE b (id int);")};
  REQUIRE(apply_migrations(*s, list));
  auto changed = list;
  changed[0] = mig(1, "create_a", "CREATE TABLE a (id bigint);");
  changed.push_back(mig(3, "create_c", "CREATE TABLE c (id int);"));
  auto res = apply_migrations(*s, changed);
  REQUIRE_FALSE(res);
  CHECK(code_of(res.error()) == errc::migration_tampered);
  CHECK_THAT(context_of(res.error()), Catch::Contains("0001_create_a"));
  CHECK(scalar(*s, "SELECT count(*) FROM public.schema_migrations") == 2);
  CHECK(scalar(*s, "SELECT count(*) FROM pg_tables WHERE tablename = 'c'") == 0);
  auto status = migration_status(*s, changed);
  REQUIRE(status);
  REQUIRE(status->size() == 3);
  CHECK((*status)[0].applied);
  CHECK_FALSE((*status)[0].checksum_ok);
  CHECK((*status)[1].checksum_ok);
  CHECK_FALSE((*status)[2].applied);
}

TEST_CASE("an applied version unknown to this binary is refused", "[pg][migrations]") {
  auto url = fp::test::create_scratch_database("mig_unknown");
  auto s = open_session(url);
  std::vector<migration> list{mig(1, "create_a", "CREATE TABLE a (id int);"),
                              mig(2, "create_b", "CREATE TABLE b (id int);")};
  REQUIRE(apply_migrations(*s, list));
  std::vector<migration> older{list[0]};
  auto res = apply_migrations(*s, older);
  REQUIRE_FALSE(res);
  CHECK(code_of(res.error()) == errc::migration_tampered);
  CHECK_THAT(context_of(res.error()), Catch::Contains("0002_create_b"));
  auto status = migration_status(*s, older);
  REQUIRE(status);
  REQUIRE(status->size() == 2);
  CHECK((*status)[1].version == 2);
  CHECK((*status)[1].name == "create_b");
  CHECK((*status)[1].applied);
  CHECK_FALSE((*status)[1].checksum_ok);
  // The lock was released despite the refusal.
  CHECK(scalar(*s, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0);
}

TEST_CASE("a failing migration rolls back alone and names itself", "[pg][migrations]") {
  auto url = fp::test::create_scratch_database("mig_fail");
  auto s = open_session(url);
  std::vector<migration> list{
    mig(1, "create_a", "CREATE TABLE a (id int);"),
    mig(2, "bad", "CREATE TABLE d (id int); SELECT no_such_function();"),
    mig(3, "create_c", "CREATE TABLE c (id int);"),
  };
  auto res = apply_migrations(*s, list);
  REQUIRE_FALSE(res);
  CHECK(code_of(res.error()) == errc::migration_failed);
  CHECK_THAT(context_of(res.error()), Catch::Contains("0002_bad"));
  CHECK_THAT(context_of(res.error()), Catch::Contains("42883"));
  CHECK(scalar(*s, "SELECT count(*) FROM public.schema_migrations") == 1);
  CHECK(scalar(*s, "SELECT count(*) FROM pg_tables WHERE tablename IN ('d', 'c')") == 0);
  CHECK(scalar(*s, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0);
  // Never recorded, so it may still be fixed.
  list[1] = mig(2, "bad", "CREATE TABLE d (id int);");
  auto fixed = apply_migrations(*s, list);
  REQUIRE(fixed);
  CHECK(*fixed == 2);
}

TEST_CASE("concurrent migrators apply each migration exactly once",
          "[pg][migrations]") {
  auto url = fp::test::create_scratch_database("mig_race");
  std::vector<migration> list;
  for (int v = 1; v <= 3; ++v)
    // Not idempotent on purpose: a second run would fail.
    list.push_back(mig(v, "step" + std::to_string(v),
                       "CREATE TABLE m" + std::to_string(v)
                         + " (id int); SELECT pg_sleep(0.1);"));
  constexpr int migrators = 3;
  std::vector<caf::expected<int>> results(migrators, caf::expected<int>{0});
  std::vector<std::thread> threads;
  for (int i = 0; i < migrators; ++i)
    threads.emplace_back([&, i] {
      auto s = connect(url, 10s);
      if (!s) {
        results[i] = s.error();
        return;
      }
      results[i] = apply_migrations(**s, list);
    });
  for (auto& t : threads)
    t.join();
  int total = 0;
  for (auto& r : results) {
    REQUIRE(r);
    total += *r;
  }
  CHECK(total == 3);
  auto s = open_session(url);
  CHECK(scalar(*s, "SELECT count(*) FROM public.schema_migrations") == 3);
}

// -- storage pool -------------------------------------------------------------

TEST_CASE("the storage pool runs tasks and replies with the attempts", "[pg][pool]") {
  auto setup = open_session();
  auto table = unique_name("t_pool");
  must(setup->exec("CREATE TABLE " + table + " (id serial PRIMARY KEY, n int)"));
  pool_fixture f{options(2)};
  caf::scoped_actor self{f.sys};
  std::vector<db_task> tasks;
  for (int i = 0; i < 20; ++i)
    tasks.push_back(sql_task("pool.insert", "INSERT INTO " + table + " (n) VALUES ($1::int)",
                             {std::to_string(i)}));
  for (auto& r : run_all(self, f.pool, std::move(tasks))) {
    CHECK(r.ok);
    CHECK(r.attempts == 1);
  }
  CHECK(scalar(*setup, "SELECT count(*) FROM " + table) == 20);
  CHECK(f.tasks("pool.insert", "ok") == 20);
  CHECK(f.metrics
          .get_histogram("fp_storage_task_duration_seconds", "",
                         fp::runtime::default_latency_buckets(), {"task"},
                         {"pool.insert"})
          .count()
        == 20);
  CHECK(f.gauge("fp_storage_pool_size") == 2);
  CHECK(f.eventually([&] { return f.gauge("fp_storage_pool_in_use") == 0; }));
  CHECK(f.gauge("fp_storage_pool_waiting") == 0);
  CHECK_THAT(f.metrics.render(), Catch::Contains("fp_storage_tasks_total"));

  // Directory and describe.
  auto kinds = f.directory.count_by_kind();
  CHECK(kinds["storage_pool"] == 1);
  CHECK(kinds["storage_worker"] == 2);
  CHECK(describe(self, caf::actor_cast<caf::actor>(f.pool)) == "running");
  for (auto& w : f.workers()) {
    auto state = describe(self, caf::actor_cast<caf::actor>(w.addr));
    CHECK((state == "connected" || state == "disconnected"));
  }

  // Errors of the task pass through, classified.
  auto dup = run_one(self, f.pool,
                     sql_task("pool.dup", "INSERT INTO " + table + " (id, n) VALUES (1, 0)"));
  CHECK_FALSE(dup.ok);
  CHECK(code_of(dup.err) == errc::unique_violation);
  CHECK(f.tasks("pool.dup", "unique_violation") == 1);
  auto own = run_one(self, f.pool, db_task{"pool.own", true, [](pg_session&) -> caf::error {
                       return fp::runtime::make_error(fp::runtime::errc::not_found, "x");
                     }});
  CHECK(fp::runtime::code_of(own.err) == fp::runtime::errc::not_found);
  auto empty = run_one(self, f.pool, db_task{"pool.empty", true, {}});
  CHECK_FALSE(empty.ok);

  // The helper for event-based actors: both callbacks, actor survives errors.
  auto client = f.sys.spawn([pool = f.pool, table](caf::event_based_actor* me) -> caf::behavior {
    return {
      [=](fp::run_atom, bool fail) -> caf::result<uint32_t> {
        auto rp = me->make_response_promise<uint32_t>();
        auto sql = fail ? std::string{"SELEC 1"} : "SELECT count(*) FROM " + table;
        run(
          me, pool, sql_task("pool.helper", sql),
          [rp](uint32_t attempts) mutable { rp.deliver(attempts); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
    };
  });
  for (bool fail : {true, false, true, false}) {
    bool ok = false;
    caf::error err;
    self->request(client, caf::timespan{10s}, fp::run_atom_v, fail)
      .receive([&](uint32_t) { ok = true; }, [&](caf::error& e) { err = std::move(e); });
    CHECK(ok == !fail);
    if (fail)
      CHECK(code_of(err) == errc::query_failed);
  }
  caf::anon_send_exit(client, caf::exit_reason::user_shutdown);

  // Results travel back through shared state captured by the task.
  auto seen = std::make_shared<int64_t>(0);
  auto read = run_one(self, f.pool,
                      db_task{"pool.read", true, [seen, table](pg_session& s) -> caf::error {
                                auto r = s.exec_prepared("pool_count",
                                                         "SELECT count(*) FROM " + table);
                                if (!r)
                                  return std::move(r.error());
                                *seen = r->int64(0, 0);
                                return caf::none;
                              }});
  CHECK(read.ok);
  CHECK(*seen == 20);
  must(setup->exec("DROP TABLE " + table));
}

TEST_CASE("a full queue answers overloaded at once", "[pg][pool]") {
  pool_fixture f{options(1, 2)};
  caf::scoped_actor self{f.sys};
  std::vector<db_task> tasks;
  for (int i = 0; i < 8; ++i)
    tasks.push_back(sql_task("pool.sleep", "SELECT pg_sleep(0.3)"));
  auto replies = run_all(self, f.pool, std::move(tasks));
  int ok = 0;
  int overloaded = 0;
  for (auto& r : replies) {
    if (r.ok)
      ++ok;
    else if (code_of(r.err) == errc::overloaded)
      ++overloaded;
  }
  // One running, two waiting, the rest refused.
  CHECK(ok == 3);
  CHECK(overloaded == 5);
  CHECK(f.tasks("pool.sleep", "overloaded") == 5);
  CHECK(f.eventually([&] { return f.gauge("fp_storage_pool_waiting") == 0; }));
}

TEST_CASE("serialization failures are retried until both transactions commit",
          "[pg][pool]") {
  auto setup = open_session();
  auto table = unique_name("t_ssi");
  must(setup->exec("CREATE TABLE " + table + " (k text)"));
  pool_fixture f{options(2)};
  caf::scoped_actor self{f.sys};

  // Both transactions read before either writes (write skew), so SERIALIZABLE
  // must abort one of them.
  struct barrier {
    std::mutex mtx;
    std::condition_variable cv;
    int arrived = 0;
  };
  auto meet = std::make_shared<barrier>();
  auto make = [&](std::string read, std::string write) {
    auto first = std::make_shared<std::atomic<bool>>(true);
    auto attempts = std::make_shared<std::atomic<int>>(0);
    return db_task{"pool.ssi", true, [=](pg_session& s) -> caf::error {
                     ++*attempts;
                     if (auto r = s.exec("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"); !r)
                       return std::move(r.error());
                     if (auto r = s.exec("SELECT count(*) FROM " + table + " WHERE k = $1",
                                         {read});
                         !r)
                       return std::move(r.error());
                     if (first->exchange(false)) {
                       std::unique_lock<std::mutex> guard{meet->mtx};
                       ++meet->arrived;
                       meet->cv.notify_all();
                       meet->cv.wait_for(guard, 5s, [&] { return meet->arrived >= 2; });
                     }
                     auto w = s.exec("INSERT INTO " + table + " (k) VALUES ($1)", {write});
                     return w ? caf::error{} : std::move(w.error());
                   }};
  };
  std::vector<db_task> tasks;
  tasks.push_back(make("a", "b"));
  tasks.push_back(make("b", "a"));
  auto replies = run_all(self, f.pool, std::move(tasks));
  REQUIRE(replies.size() == 2);
  CHECK(replies[0].ok);
  CHECK(replies[1].ok);
  CHECK(std::max(replies[0].attempts, replies[1].attempts) >= 2);
  CHECK(f.retries("serialization") >= 1);
  CHECK(scalar(*setup, "SELECT count(*) FROM " + table) == 2);
  must(setup->exec("DROP TABLE " + table));
}

TEST_CASE("a terminated connection is replaced and the next task succeeds",
          "[pg][pool]") {
  pool_fixture f{options(1)};
  caf::scoped_actor self{f.sys};
  auto pid = std::make_shared<int>(0);
  auto get_pid = [&] {
    return db_task{"pool.pid", true, [pid](pg_session& s) -> caf::error {
                     auto r = s.exec("SELECT pg_backend_pid()");
                     if (!r)
                       return std::move(r.error());
                     *pid = static_cast<int>(r->int64(0, 0));
                     return caf::none;
                   }};
  };
  REQUIRE(run_one(self, f.pool, get_pid()).ok);
  auto first = *pid;
  terminate_backend(first);
  auto next = run_one(self, f.pool, get_pid());
  CHECK(next.ok);
  CHECK(*pid != first);
  CHECK(*pid > 0);

  SECTION("lost in the middle of a transaction: retried on a new connection") {
    auto url = fp::test::database_url();
    auto calls = std::make_shared<std::atomic<int>>(0);
    auto task = db_task{"pool.lost", true, [calls, url](pg_session& s) -> caf::error {
                          if (++*calls == 1) {
                            auto me = s.backend_pid();
                            auto killer = connect(url, 10s);
                            if (!killer)
                              return killer.error();
                            (void) (*killer)->exec("SELECT pg_terminate_backend($1::int)",
                                                   {std::to_string(me)});
                            std::this_thread::sleep_for(200ms);
                          }
                          auto r = s.exec("SELECT 1");
                          return r ? caf::error{} : std::move(r.error());
                        }};
    auto before = f.retries("connection");
    auto r = run_one(self, f.pool, std::move(task));
    CHECK(r.ok);
    CHECK(r.attempts == 2);
    CHECK(*calls == 2);
    CHECK(f.retries("connection") == before + 1);
  }

  SECTION("non-transactional: not retried once something was sent") {
    auto url = fp::test::database_url();
    auto calls = std::make_shared<std::atomic<int>>(0);
    auto task = db_task{"pool.lost_plain", false, [calls, url](pg_session& s) -> caf::error {
                          ++*calls;
                          auto me = s.exec("SELECT pg_backend_pid()");
                          if (!me)
                            return std::move(me.error());
                          auto killer = connect(url, 10s);
                          if (!killer)
                            return killer.error();
                          (void) (*killer)->exec("SELECT pg_terminate_backend($1::int)",
                                                 {std::string{me->text(0, 0)}});
                          std::this_thread::sleep_for(200ms);
                          auto r = s.exec("SELECT 1");
                          return r ? caf::error{} : std::move(r.error());
                        }};
    auto r = run_one(self, f.pool, std::move(task));
    CHECK_FALSE(r.ok);
    CHECK(code_of(r.err) == errc::unavailable);
    CHECK(*calls == 1);
    CHECK(run_one(self, f.pool, get_pid()).ok);
  }
}

TEST_CASE("the pool answers unavailable promptly while the database is down",
          "[pg][pool]") {
  SECTION("nothing listens on the port") {
    auto dead = "postgresql://x:y@127.0.0.1:" + std::to_string(unused_port()) + "/db";
    pool_fixture f{options(2, 100, dead)};
    caf::scoped_actor self{f.sys};
    std::vector<db_task> tasks;
    for (int i = 0; i < 6; ++i)
      tasks.push_back(sql_task("pool.dead", "SELECT 1"));
    auto start = clock_type::now();
    for (auto& r : run_all(self, f.pool, std::move(tasks))) {
      CHECK_FALSE(r.ok);
      CHECK(code_of(r.err) == errc::unavailable);
    }
    CHECK(clock_type::now() - start < 3s);
    CHECK(f.tasks("pool.dead", "unavailable") == 6);
  }
  SECTION("a server that never answers: queued tasks do not wait in line") {
    silent_listener listener{64};
    auto url = listener.url();
    auto opts = options(1, 100, url);
    opts.connect_timeout = 500ms;
    {
      pool_fixture f{opts};
      caf::scoped_actor self{f.sys};
      std::vector<db_task> tasks;
      for (int i = 0; i < 5; ++i)
        tasks.push_back(sql_task("pool.blackhole", "SELECT 1"));
      auto start = clock_type::now();
      for (auto& r : run_all(self, f.pool, std::move(tasks))) {
        CHECK_FALSE(r.ok);
        CHECK(code_of(r.err) == errc::unavailable);
      }
      // One connect timeout, not five.
      CHECK(clock_type::now() - start < 1500ms);
    }
  }
  SECTION("the server stops and comes back") {
    auto* pg = fp::test::cluster();
    if (!pg) {
      WARN("external database: cannot stop it, part skipped");
      return;
    }
    pool_fixture f{options(2)};
    caf::scoped_actor self{f.sys};
    std::vector<db_task> warm;
    for (int i = 0; i < 4; ++i)
      warm.push_back(sql_task("pool.updown", "SELECT pg_sleep(0.05)"));
    for (auto& r : run_all(self, f.pool, std::move(warm)))
      REQUIRE(r.ok);
    must(pg->pg_ctl("stop"));
    std::vector<db_task> tasks;
    for (int i = 0; i < 6; ++i)
      tasks.push_back(sql_task("pool.updown", "SELECT 1"));
    auto start = clock_type::now();
    for (auto& r : run_all(self, f.pool, std::move(tasks))) {
      CHECK_FALSE(r.ok);
      CHECK(code_of(r.err) == errc::unavailable);
    }
    CHECK(clock_type::now() - start < 5s);
    must(pg->pg_ctl("start"));
    std::vector<db_task> after;
    for (int i = 0; i < 4; ++i)
      after.push_back(sql_task("pool.updown", "SELECT pg_sleep(0.05)"));
    for (auto& r : run_all(self, f.pool, std::move(after))) {
      CHECK(r.ok);
      if (!r.ok)
        WARN(caf::to_string(r.err));
    }
  }
}

TEST_CASE("a crashed worker is respawned", "[pg][pool]") {
  SECTION("idle worker") {
    pool_fixture f{options(2)};
    caf::scoped_actor self{f.sys};
    // Workers enroll when the dispatcher first runs, not inside spawn.
    REQUIRE(f.eventually([&] { return f.workers().size() == 2; }));
    auto workers = f.workers();
    auto victim = caf::actor_cast<caf::actor>(workers[0].addr);
    REQUIRE(victim);
    caf::anon_send_exit(victim, caf::exit_reason::kill);
    CHECK(f.eventually([&] {
      auto now = f.workers();
      return now.size() == 2
             && std::any_of(now.begin(), now.end(),
                            [](auto& e) { return e.restarts == 1; });
    }));
    std::vector<db_task> tasks;
    for (int i = 0; i < 6; ++i)
      tasks.push_back(sql_task("pool.respawn", "SELECT 1"));
    for (auto& r : run_all(self, f.pool, std::move(tasks)))
      CHECK(r.ok);
    CHECK(f.gauge("fp_storage_pool_size") == 2);
  }
  SECTION("busy worker: every caller gets an answer") {
    pool_fixture f{options(1)};
    caf::scoped_actor self{f.sys};
    REQUIRE(f.eventually([&] { return f.workers().size() == 1; }));
    auto victim = caf::actor_cast<caf::actor>(f.workers().at(0).addr);
    auto slow = self->request(f.pool, caf::timespan{10s}, fp::run_atom_v,
                              sql_task("pool.busy", "SELECT pg_sleep(0.5)"));
    auto queued = self->request(f.pool, caf::timespan{10s}, fp::run_atom_v,
                                sql_task("pool.busy", "SELECT 1"));
    std::this_thread::sleep_for(100ms);
    caf::anon_send_exit(victim, caf::exit_reason::kill);
    int answers = 0;
    for (auto* h : {&slow, &queued})
      h->receive([&](uint32_t) { ++answers; },
                 [&](caf::error& err) {
                   CHECK(err != caf::sec::request_timeout);
                   ++answers;
                 });
    CHECK(answers == 2);
    CHECK(run_one(self, f.pool, sql_task("pool.busy", "SELECT 1")).ok);
    CHECK(f.eventually([&] { return f.workers().size() == 1 && f.workers()[0].restarts == 1; }));
  }
}

// -- embedded PostgreSQL ------------------------------------------------------

namespace {

std::filesystem::path test_data_root() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path() / "pgdata";
}

} // namespace

TEST_CASE("the embedded cluster is reused, attached to, and survives a stale pid file",
          "[pg][embedded]") {
  fp::config::settings s;
  s.data_dir = (test_data_root() / "storage_pgtest_extra").string();
  auto a = embedded_postgres::start(s);
  if (!a)
    FAIL("start: " << caf::to_string(a.error()));
  CHECK(a->owned());
  CHECK_THAT(a->url(), Catch::StartsWith("postgresql://fleetprompt:"));
  CHECK_THAT(a->url(), Catch::EndsWith("@127.0.0.1:" + std::to_string(a->port())
                                       + "/fleetprompt"));
  auto root = std::filesystem::path{s.data_dir} / "postgres";
  CHECK(std::filesystem::exists(root / "password"));
  CHECK((std::filesystem::status(root / "password").permissions()
         & std::filesystem::perms::group_all) == std::filesystem::perms::none);
  {
    auto session = open_session(a->url());
    CHECK(scalar(*session, "SELECT 1") == 1);
    CHECK(must(session->exec("SHOW listen_addresses")).text(0, 0) == "127.0.0.1");
    CHECK(must(session->exec("SHOW unix_socket_directories")).text(0, 0).empty());
    CHECK(scalar(*session, "SELECT setting::int FROM pg_settings WHERE name = 'max_connections'")
          == 200);
  }

  // A second start while it runs attaches without owning it.
  auto b = embedded_postgres::start(s);
  if (!b)
    FAIL("attach: " << caf::to_string(b.error()));
  CHECK_FALSE(b->owned());
  CHECK(b->url() == a->url());
  must(b->stop()); // no-op
  CHECK(open_session(a->url()));
  must(a->stop());
  CHECK_FALSE(connect(a->url(), 1s));

  // A crash leaves postmaster.pid behind, possibly naming a live process
  // that is not a postmaster: it must not block the next start.
  auto port = a->port();
  {
    std::ofstream pid{root / "data" / "postmaster.pid"};
    pid << ::getpid() << "\n" << (root / "data").string() << "\n1700000000\n"
        << port << "\n\n127.0.0.1\n  5432001         0\nready   \n";
  }
  auto c = embedded_postgres::start(s);
  if (!c)
    FAIL("start after crash: " << caf::to_string(c.error()));
  CHECK(c->owned());
  CHECK(c->port() == port); // remembered
  CHECK(c->url() == a->url());
  CHECK(scalar(*open_session(c->url()), "SELECT 2") == 2);
  must(c->stop());
}

TEST_CASE("as root, the cluster user must be able to reach the data directory",
          "[pg][embedded]") {
  if (::geteuid() != 0) {
    WARN("not root: nothing to check");
    return;
  }
  auto locked = test_data_root() / unique_name("locked");
  std::filesystem::create_directories(locked);
  std::filesystem::permissions(locked, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace);
  fp::config::settings s;
  s.data_dir = (locked / "inner").string();
  auto pg = embedded_postgres::start(s);
  bool have_setfacl = ::access("/usr/bin/setfacl", X_OK) == 0
                      || ::access("/bin/setfacl", X_OK) == 0;
  if (have_setfacl) {
    // Search permission granted on the locked directory, nothing more.
    if (!pg)
      FAIL("start: " << caf::to_string(pg.error()));
    CHECK(pg->owned());
    must(pg->stop());
    CHECK((std::filesystem::status(locked).permissions()
           & std::filesystem::perms::others_all) == std::filesystem::perms::none);
  } else {
    REQUIRE_FALSE(pg);
    auto msg = context_of(pg.error());
    CHECK_THAT(msg, Catch::Contains(locked.string()));
    CHECK_THAT(msg, Catch::Contains("setfacl -m u:fleetprompt:x"));
    CHECK(msg.find('\n') == std::string::npos);
  }
  std::filesystem::remove_all(locked);
}
