// Replay against a real node: a signal whose subscription proposes a
// `signal.emit` directive is replayed over HTTP and with the CLI; the
// handler runs again under a new correlation, a `signal.replayed` record
// links the original, and the directive's side effect is not repeated.

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "fp/actors/orgs.hpp"
#include "fp/config/settings.hpp"
#include "fp/net/node.hpp"
#include "fp/storage/api_keys.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/migrations.hpp"
#include "fp/storage/subscriptions.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/spine_fixture.hpp"

using namespace std::chrono_literals;
using namespace fp;

namespace {

/// Runs the real binary with `args`; returns its exit code and output
/// (stdout and stderr together).
std::pair<int, std::string> run_cli(const std::vector<std::string>& args) {
  std::string cmd = FP_FLEETPROMPT_BIN;
  for (const auto& a : args)
    cmd += " '" + a + "'"; // test arguments hold no single quotes
  cmd += " 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof(buf), p))
    out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

struct replay_fixture {
  std::string url;
  std::unique_ptr<storage::pg_session> db;
  std::string org_id;
  std::string admin_key;
  std::string member_key;
  std::string other_admin_key;
  std::string subscription_id;
  std::unique_ptr<net::node> node;
  uint16_t port = 0;

  replay_fixture() {
    url = test::migrated_database("replay");
    db = test::open_session(url);
    auto user_id = test::create_test_user(*db, "replay@example.com");
    auto org = test::create_test_org(*db, "rpl", "Replay", user_id);
    org_id = org.id;
    auto other = test::create_test_org(*db, "rpl_other", "Other", user_id);
    auto key = [&](const std::string& org, std::vector<std::string> scopes) {
      return test::create_test_key(*db, org, user_id, "k", scopes).key;
    };
    admin_key = key(org.id, {"admin"});
    member_key = key(org.id, {"write"});
    other_admin_key = key(other.id, {"admin"});
    storage::new_subscription sub;
    sub.pattern = "replay.source";
    sub.directive_type = "signal.emit";
    sub.params = R"({"type":"replay.result","payload":{"from":"replay"}})";
    auto made = storage::create_subscription(*db, "rpl", sub);
    if (!made)
      FAIL("subscription: " << caf::to_string(made.error()));
    subscription_id = made->id;
    auto cfg = test::node_settings(url);
    cfg.job_poll_interval = 200ms;
    node = test::start_node(cfg);
    port = node->port();
  }

  ~replay_fixture() {
    if (node)
      node->stop();
  }

  test::response post(const std::string& key, const std::string& target,
                      const std::string& body = {}) {
    return test::call_with_key(port, key, "POST", target, body);
  }

  int64_t count(const std::string& sql, storage::sql_params params = {}) {
    return test::scalar(*db, sql, std::move(params));
  }

  /// Completed signal.handle jobs for `signal` under `correlation`.
  int64_t handled(const std::string& signal, const std::string& correlation) {
    return count("SELECT count(*) FROM public.jobs WHERE kind = "
                 "'signal.handle' AND state = 'completed' AND args->>"
                 "'signal_id' = $1 AND args->>'correlation_id' = $2",
                 {signal, correlation});
  }

  int64_t results() {
    return count("SELECT count(*) FROM \"org_rpl\".signals WHERE type = "
                 "'replay.result'");
  }
};

} // namespace

TEST_CASE("replay: a new correlation, a record linking the original, and no "
          "repeated side effect",
          "[replay]") {
  replay_fixture f;
  auto emitted = f.post(f.admin_key, "/api/v1/signals",
                        R"({"type":"replay.source","payload":{"n":1}})");
  REQUIRE(emitted.status == 201);
  auto signal_id = test::json_string(emitted.body, "id");
  REQUIRE(!signal_id.empty());
  auto original_correlation = test::text(
    *f.db, "SELECT correlation_id FROM \"org_rpl\".signals WHERE id = $1",
    {signal_id});
  // The subscription's directive runs and emits its result once.
  REQUIRE(test::eventually([&] { return f.results() == 1; }));
  REQUIRE(test::eventually(
    [&] { return f.handled(signal_id, original_correlation) == 1; }));
  auto directive_key = "sub:" + f.subscription_id + ":" + signal_id;
  CHECK(f.count("SELECT count(*) FROM \"org_rpl\".directives WHERE "
                "idempotency_key = $1 AND state = 'succeeded'",
                {directive_key})
        == 1);

  // Members may not replay; other tenants' signals do not exist here.
  CHECK(f.post(f.member_key, "/api/v1/signals/" + signal_id + "/replay").status
        == 403);
  CHECK(f.post(f.other_admin_key, "/api/v1/signals/" + signal_id + "/replay")
          .status
        == 404);
  CHECK(f.post(f.admin_key, "/api/v1/signals/" + std::string{"0190a1b2-0000-7000-8000-000000000000"}
                              + "/replay")
          .status
        == 404);
  CHECK(f.post(f.admin_key, "/api/v1/signals/not-a-uuid/replay").status == 404);

  auto replayed = f.post(f.admin_key, "/api/v1/signals/" + signal_id + "/replay");
  REQUIRE(replayed.status == 202);
  auto correlation = test::json_string(replayed.body, "replay_correlation_id");
  REQUIRE(!correlation.empty());
  CHECK(correlation != original_correlation);
  CHECK(replayed.body.find(R"("jobs_enqueued":1})") != std::string::npos);
  CHECK(f.count("SELECT count(*) FROM \"org_rpl\".signals WHERE type = "
                "'signal.replayed' AND causation_id = $1 AND correlation_id = "
                "$2 AND payload->>'original_signal_id' = $1 AND "
                "payload->>'original_correlation_id' = $3",
                {signal_id, correlation, original_correlation})
        == 1);
  // The handler ran again, under the new correlation ...
  REQUIRE(test::eventually([&] { return f.handled(signal_id, correlation) == 1; }));
  // ... and found the directive already there: no second directive, no
  // second result.
  CHECK(f.count("SELECT count(*) FROM \"org_rpl\".directives WHERE "
                "idempotency_key = $1",
                {directive_key})
        == 1);
  CHECK(f.count("SELECT count(*) FROM \"org_rpl\".directives") == 1);
  CHECK(f.results() == 1);
  // No job of the tenant failed on the way.
  CHECK(f.count("SELECT count(*) FROM public.jobs WHERE tenant = $1 AND "
                "state <> 'completed'",
                {f.org_id})
        == 0);
}

TEST_CASE("replay: the CLI replays by time and type; bad flags are one-line "
          "errors",
          "[replay]") {
  replay_fixture f;
  auto since = test::text(*f.db, "SELECT to_char(now() AT TIME ZONE 'UTC' - "
                                  "interval '1 minute', "
                                  "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    auto res = f.post(f.admin_key, "/api/v1/signals",
                      R"({"type":"replay.source","payload":{}})");
    REQUIRE(res.status == 201);
    ids.push_back(test::json_string(res.body, "id"));
  }
  REQUIRE(f.post(f.admin_key, "/api/v1/signals",
                 R"({"type":"replay.unrelated","payload":{}})")
            .status
          == 201);
  REQUIRE(test::eventually([&] { return f.results() == 2; }));
  // Wait until the first handling is finished, so the replay enqueues.
  REQUIRE(test::eventually([&] {
    return f.count("SELECT count(*) FROM public.jobs WHERE tenant = $1 AND "
                   "state <> 'completed'",
                   {f.org_id})
           == 0;
  }));

  auto [rc, out] = run_cli({"replay", "--database-url", f.url, "--log-level",
                            "off", "--org", "rpl", "--since", since, "--type",
                            "replay.source"});
  INFO(out);
  REQUIRE(rc == 0);
  CHECK(out.find("replayed " + ids[0] + " replay.source") != std::string::npos);
  CHECK(out.find("replayed " + ids[1] + " replay.source") != std::string::npos);
  CHECK(out.find("replay.unrelated") == std::string::npos);
  CHECK(out.find("replayed 2 signal(s)") != std::string::npos);
  CHECK(f.count("SELECT count(*) FROM \"org_rpl\".signals WHERE type = "
                "'signal.replayed' AND actor_kind = 'system'")
        == 2);
  // Both handlers run again; the directives are not repeated.
  REQUIRE(test::eventually([&] {
    return f.count("SELECT count(*) FROM public.jobs WHERE kind = "
                   "'signal.handle' AND state = 'completed'")
           == 4;
  }));
  CHECK(f.count("SELECT count(*) FROM \"org_rpl\".directives") == 2);
  CHECK(f.results() == 2);

  // Bad usage: exit code 2 and one line.
  auto one_line_error = [&](std::vector<std::string> args) {
    args.insert(args.begin(),
                {"replay", "--database-url", f.url, "--log-level", "off"});
    auto [code, text] = run_cli(args);
    INFO(text);
    CHECK(code == 2);
    CHECK(text.rfind("fleetprompt: ", 0) == 0);
    CHECK(std::count(text.begin(), text.end(), '\n') == 1);
  };
  one_line_error({"--org", "rpl"});
  one_line_error({"--since", since});
  one_line_error({"--org", "rpl", "--since", "yesterday"});
  one_line_error({"--org", "rpl", "--signal", ids[0], "--since", since});
  one_line_error({"--org", "rpl", "--signal", "nope"});
  one_line_error({"--org", "rpl", "--signal", ids[0], "--type", "x"});
  one_line_error({"--org", "Bad Slug", "--signal", ids[0]});
  // An unknown organization is a one-line failure too.
  auto [code, text] = run_cli({"replay", "--database-url", f.url,
                               "--log-level", "off", "--org", "nosuch",
                               "--signal", ids[0]});
  CHECK(code == 1);
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
}
