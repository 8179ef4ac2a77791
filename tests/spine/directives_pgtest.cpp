// Directives against a real node: a subscription's signal.emit directive
// runs once with its causation chain; webhook.post waits for an admin's
// approval and delivers a Standard Webhooks request that the independent
// npm `standardwebhooks` package verifies; refused destinations, reject,
// cancel and idempotency keys.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fp/actors/orgs.hpp"
#include "fp/config/settings.hpp"
#include "fp/net/node.hpp"
#include "fp/runtime/webhook_signature.hpp"
#include "fp/storage/api_keys.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/jobs.hpp"
#include "fp/storage/migrations.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"
#include "support/hook_receiver.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/spine_fixture.hpp"

using namespace std::chrono_literals;
using namespace fp;

namespace {

using test::hook_receiver;
using test::received_hook;

// -- helpers ----------------------------------------------------------------------------

/// The JSON string literal of `text` (test values only).
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

std::filesystem::path js_dir() {
  return std::filesystem::path{__FILE__}.parent_path().parent_path() / "js";
}

/// Runs `node verify_webhook.mjs` on one delivery; its exit code.
int verify_with_npm(const std::string& secret, const received_hook& h,
                    const std::string& body) {
  auto input = std::filesystem::temp_directory_path()
               / ("fp_hook_" + std::to_string(::getpid()) + ".json");
  {
    std::ofstream out{input};
    out << "{\"secret\":" << quoted(secret) << ",\"headers\":{"
        << "\"webhook-id\":" << quoted(h.headers.at("webhook-id"))
        << ",\"webhook-timestamp\":" << quoted(h.headers.at("webhook-timestamp"))
        << ",\"webhook-signature\":" << quoted(h.headers.at("webhook-signature"))
        << "},\"body\":" << quoted(body) << "}";
  }
  auto cmd = "node '" + (js_dir() / "verify_webhook.mjs").string() + "' < '"
             + input.string() + "' > /dev/null 2>&1";
  int status = std::system(cmd.c_str());
  std::filesystem::remove(input);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool npm_verifier_installed() {
  return std::filesystem::exists(js_dir() / "node_modules" / "standardwebhooks");
}

struct dir_fixture {
  std::string url;
  std::unique_ptr<storage::pg_session> db;
  std::string org_id;
  std::string admin_key;
  std::string member_key;
  std::unique_ptr<net::node> node;
  uint16_t port = 0;

  explicit dir_fixture(std::string allow_networks = "127.0.0.0/8") {
    url = test::migrated_database("dirs");
    db = test::open_session(url);
    auto user_id = test::create_test_user(*db, "dirs@example.com");
    auto org = test::create_test_org(*db, "dir", "Directives", user_id);
    org_id = org.id;
    auto key = [&](std::vector<std::string> scopes) {
      return test::create_test_key(*db, org.id, user_id, "k", scopes).key;
    };
    admin_key = key({"admin"});
    member_key = key({"write"});
    auto cfg = test::node_settings(url, "error");
    cfg.job_poll_interval = 200ms;
    cfg.job_backoff_min = 50ms;
    cfg.job_backoff_max = 200ms;
    cfg.webhook_timeout = 3000ms;
    cfg.webhook_allow_networks = std::move(allow_networks);
    node = test::start_node(cfg);
    port = node->port();
  }

  ~dir_fixture() {
    if (node)
      node->stop();
  }

  test::response call(const std::string& method, const std::string& key,
                      const std::string& target, const std::string& body = {}) {
    return test::call_with_key(port, key, method, target, body);
  }

  std::string text(const std::string& sql, storage::sql_params params = {}) {
    return test::text(*db, sql, std::move(params));
  }

  int64_t count(const std::string& sql, storage::sql_params params = {}) {
    return std::stoll(text(sql, std::move(params)));
  }

  std::string state_of(const std::string& id) {
    return text("SELECT state FROM \"org_dir\".directives WHERE id = $1", {id});
  }

  /// Proposes; returns the response.
  test::response propose(const std::string& key, const std::string& body) {
    return call("POST", key, "/api/v1/directives", body);
  }
};

} // namespace

TEST_CASE("directives: a subscription's signal.emit directive runs once with "
          "its causation chain",
          "[directives]") {
  dir_fixture f;
  auto sub = f.call("POST", f.admin_key, "/api/v1/subscriptions",
                    R"({"pattern":"dir.source","directive_type":"signal.emit",)"
                    R"("params":{"type":"dir.result","payload":{"ok":true}}})");
  REQUIRE(sub.status == 201);
  auto sub_id = test::json_string(sub.body, "id");
  auto emitted = f.call("POST", f.admin_key, "/api/v1/signals",
                        R"({"type":"dir.source","payload":{"n":1}})");
  REQUIRE(emitted.status == 201);
  auto source_id = test::json_string(emitted.body, "id");
  auto correlation = f.text(
    "SELECT correlation_id FROM \"org_dir\".signals WHERE id = $1", {source_id});

  REQUIRE(test::eventually([&] {
    return f.count("SELECT count(*) FROM \"org_dir\".directives WHERE "
                   "idempotency_key = $1 AND state = 'succeeded'",
                   {"sub:" + sub_id + ":" + source_id})
           == 1;
  }));
  auto id = f.text("SELECT id FROM \"org_dir\".directives WHERE "
                   "idempotency_key = $1",
                   {"sub:" + sub_id + ":" + source_id});
  CHECK(f.count("SELECT count(*) FROM \"org_dir\".directives") == 1);
  // Exactly one result signal, caused by the directive's `executing`
  // transition, under the source's correlation.
  CHECK(f.count("SELECT count(*) FROM \"org_dir\".signals WHERE type = "
                "'dir.result'")
        == 1);
  auto result_causation = f.text(
    "SELECT causation_id FROM \"org_dir\".signals WHERE type = 'dir.result'");
  CHECK(f.text("SELECT type FROM \"org_dir\".signals WHERE id = $1",
               {result_causation})
        == "directive.executing");
  CHECK(f.text("SELECT correlation_id FROM \"org_dir\".signals WHERE type = "
               "'dir.result'")
        == correlation);
  // Each transition's signal is caused by the one before; the first by the
  // source signal.
  std::vector<std::string> chain{"directive.proposed", "directive.approved",
                                 "directive.executing", "directive.succeeded"};
  std::string cause = source_id;
  for (auto& type : chain) {
    INFO(type);
    auto sql = "SELECT id || ' ' || COALESCE(causation_id, '') || ' ' || "
               "correlation_id FROM \"org_dir\".signals WHERE type = $1 AND "
               "payload->>'directive_id' = $2";
    auto row = f.text(sql, {type, id});
    auto sp1 = row.find(' ');
    auto sp2 = row.find(' ', sp1 + 1);
    CHECK(row.substr(sp1 + 1, sp2 - sp1 - 1) == cause);
    CHECK(row.substr(sp2 + 1) == correlation);
    cause = row.substr(0, sp1);
  }
  CHECK(f.text("SELECT last_signal_id FROM \"org_dir\".directives WHERE id = "
               "$1",
               {id})
        == cause);
  auto got = f.call("GET", f.member_key, "/api/v1/directives/" + id);
  REQUIRE(got.status == 200);
  CHECK(test::json_string(got.body, "state") == "succeeded");
  CHECK(got.body.find("\"signal_id\"") != std::string::npos);
  auto listed = f.call("GET", f.member_key,
                       "/api/v1/directives?state=succeeded&type=signal.emit");
  REQUIRE(listed.status == 200);
  CHECK(listed.body.find(id) != std::string::npos);
}

TEST_CASE("directives: webhook.post waits for an admin and delivers a "
          "verifiable Standard Webhooks request",
          "[directives]") {
  hook_receiver receiver;
  dir_fixture f;
  auto hook_url = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/hooks";
  CHECK(f.call("POST", f.member_key, "/api/v1/webhook-destinations",
               R"({"url":")" + hook_url + R"("})")
          .status
        == 403);
  auto dest = f.call("POST", f.admin_key, "/api/v1/webhook-destinations",
                     R"({"url":")" + hook_url + R"(","description":"test"})");
  REQUIRE(dest.status == 201);
  auto dest_id = test::json_string(dest.body, "id");
  auto secret = test::json_string(dest.body, "secret");
  REQUIRE(secret.rfind("whsec_", 0) == 0);
  auto listing = f.call("GET", f.admin_key, "/api/v1/webhook-destinations");
  REQUIRE(listing.status == 200);
  CHECK(listing.body.find(dest_id) != std::string::npos);
  CHECK(listing.body.find("secret") == std::string::npos);

  auto proposed = f.propose(
    f.member_key, R"({"type":"webhook.post","params":{"destination_id":")"
                    + dest_id
                    + R"(","payload":{"hello":"world"},"event_type":"test.event"}})");
  REQUIRE(proposed.status == 201);
  auto id = test::json_string(proposed.body, "id");
  CHECK(test::json_string(proposed.body, "state") == "awaiting_approval");

  auto by_member = f.call("POST", f.member_key,
                          "/api/v1/directives/" + id + "/approve");
  CHECK(by_member.status == 403);
  CHECK(f.state_of(id) == "awaiting_approval");
  auto by_admin = f.call("POST", f.admin_key,
                         "/api/v1/directives/" + id + "/approve",
                         R"({"reason":"looks fine"})");
  REQUIRE(by_admin.status == 200);

  REQUIRE(test::eventually([&] { return f.state_of(id) == "succeeded"; }));
  auto hooks = receiver.hooks();
  REQUIRE(hooks.size() == 1);
  const auto& h = hooks.front();
  CHECK(h.target == "/hooks");
  CHECK(h.headers.at("webhook-id") == id);
  CHECK(h.headers.at("content-type") == "application/json");
  CHECK(h.body.find(R"("type":"test.event")") != std::string::npos);
  CHECK(h.body.find(R"("data":{"hello": "world"})") != std::string::npos);
  // Our own check, then the independent implementation.
  auto key = runtime::webhook_secret_key(secret);
  REQUIRE(key);
  CHECK(h.headers.at("webhook-signature")
        == runtime::webhook_signature(
          *key, id, std::stoll(h.headers.at("webhook-timestamp")), h.body));
  if (!npm_verifier_installed()) {
    auto ci = std::getenv("CI");
    if (ci && std::string{ci} == "true")
      FAIL("tests/js/node_modules is missing: run `npm ci` in tests/js");
    WARN("tests/js/node_modules is missing; skipping the npm verification");
  } else {
    CHECK(verify_with_npm(secret, h, h.body) == 0);
    // A tampered body must not verify (the verifier is not vacuous).
    CHECK(verify_with_npm(secret, h, h.body + " ") != 0);
  }
  CHECK(f.text("SELECT decided_by FROM \"org_dir\".directives WHERE id = $1",
               {id})
        != "");
  CHECK(f.count("SELECT count(*) FROM \"org_dir\".signals WHERE type = "
                "'directive.approved' AND payload->>'directive_id' = $1 AND "
                "actor_kind = 'integration'",
                {id})
        == 1);
}

TEST_CASE("directives: URLs off the allowlist fail with a clear error",
          "[directives]") {
  hook_receiver receiver;
  dir_fixture f;
  auto base = "http://127.0.0.1:" + std::to_string(receiver.port());
  REQUIRE(f.call("POST", f.admin_key, "/api/v1/webhook-destinations",
                 R"({"url":")" + base + R"(/allowed"})")
            .status
          == 201);
  // Run webhooks at once from here on.
  auto policy = f.call("PUT", f.admin_key,
                       "/api/v1/directive-policies/webhook.post",
                       R"({"mode":"auto","approver_role":"admin"})");
  REQUIRE(policy.status == 200);
  CHECK(f.call("PUT", f.member_key, "/api/v1/directive-policies/webhook.post",
               R"({"mode":"auto"})")
          .status
        == 403);
  auto policies = f.call("GET", f.member_key, "/api/v1/directive-policies");
  REQUIRE(policies.status == 200);
  CHECK(policies.body.find(R"("type":"webhook.post","mode":"auto")")
        != std::string::npos);

  auto off = f.propose(f.member_key,
                       R"({"type":"webhook.post","params":{"url":")" + base
                         + R"(/elsewhere"}})");
  REQUIRE(off.status == 201);
  auto off_id = test::json_string(off.body, "id");
  REQUIRE(test::eventually([&] { return f.state_of(off_id) == "failed"; }));
  CHECK_THAT(f.text("SELECT error FROM \"org_dir\".directives WHERE id = $1",
                    {off_id}),
             Catch::Contains("allowlist"));

  auto on = f.propose(f.member_key,
                      R"({"type":"webhook.post","params":{"url":")" + base
                        + R"(/allowed/x"}})");
  REQUIRE(on.status == 201);
  auto on_id = test::json_string(on.body, "id");
  REQUIRE(test::eventually([&] { return f.state_of(on_id) == "succeeded"; }));
  auto hooks = receiver.hooks();
  REQUIRE(hooks.size() == 1);
  CHECK(hooks.front().target == "/allowed/x");
  CHECK(f.count("SELECT count(*) FROM \"org_dir\".signals WHERE type = "
                "'directive.failed' AND payload->>'directive_id' = $1",
                {off_id})
        == 1);
}

TEST_CASE("directives: loopback is refused without webhook-allow-networks",
          "[directives]") {
  hook_receiver receiver;
  dir_fixture f{""};
  auto hook_url = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/h";
  auto dest = f.call("POST", f.admin_key, "/api/v1/webhook-destinations",
                     R"({"url":")" + hook_url + R"("})");
  REQUIRE(dest.status == 201);
  auto proposed = f.propose(f.member_key,
                            R"({"type":"webhook.post","params":{"url":")"
                              + hook_url + R"("}})");
  REQUIRE(proposed.status == 201);
  auto id = test::json_string(proposed.body, "id");
  REQUIRE(f.call("POST", f.admin_key, "/api/v1/directives/" + id + "/approve")
            .status
          == 200);
  REQUIRE(test::eventually([&] { return f.state_of(id) == "failed"; }));
  auto error = f.text("SELECT error FROM \"org_dir\".directives WHERE id = $1",
                      {id});
  CHECK_THAT(error, Catch::Contains("refused"));
  CHECK_THAT(error, Catch::Contains("127.0.0.1"));
  CHECK(receiver.hooks().empty());
}

TEST_CASE("directives: a bad webhook-allow-networks stops start-up",
          "[directives]") {
  auto cfg = test::node_settings(test::create_scratch_database("dirs_bad"),
                                "error");
  cfg.webhook_allow_networks = "127.0.0.0/8,not-a-block";
  auto started = net::node::start(cfg);
  REQUIRE_FALSE(started);
  CHECK_THAT(caf::to_string(started.error()), Catch::Contains("not-a-block"));
}

TEST_CASE("directives: reject and cancel", "[directives]") {
  dir_fixture f;
  auto hook = R"({"type":"webhook.post","params":{"url":"https://example.com/h"}})";
  auto a = f.propose(f.member_key, hook);
  REQUIRE(a.status == 201);
  auto a_id = test::json_string(a.body, "id");
  CHECK(f.call("POST", f.member_key, "/api/v1/directives/" + a_id + "/reject")
          .status
        == 403);
  auto rejected = f.call("POST", f.admin_key,
                         "/api/v1/directives/" + a_id + "/reject",
                         R"({"reason":"not today"})");
  REQUIRE(rejected.status == 200);
  CHECK(test::json_string(rejected.body, "state") == "rejected");
  CHECK(test::json_string(rejected.body, "reason") == "not today");
  CHECK(f.call("POST", f.admin_key, "/api/v1/directives/" + a_id + "/approve")
          .status
        == 409);
  CHECK(f.count("SELECT count(*) FROM \"org_dir\".signals WHERE type = "
                "'directive.rejected' AND payload->>'directive_id' = $1 AND "
                "payload->>'reason' = 'not today'",
                {a_id})
        == 1);

  auto b = f.propose(f.member_key, hook);
  REQUIRE(b.status == 201);
  auto b_id = test::json_string(b.body, "id");
  auto cancelled = f.call("POST", f.admin_key,
                          "/api/v1/directives/" + b_id + "/cancel");
  REQUIRE(cancelled.status == 200);
  CHECK(f.state_of(b_id) == "cancelled");
  CHECK(f.call("POST", f.admin_key, "/api/v1/directives/" + b_id + "/cancel")
          .status
        == 409);
  CHECK(f.call("POST", f.admin_key, "/api/v1/directives/" + b_id + "/approve")
          .status
        == 409);
  CHECK(f.count("SELECT count(*) FROM \"org_dir\".signals WHERE type = "
                "'directive.cancelled' AND payload->>'directive_id' = $1",
                {b_id})
        == 1);
  CHECK(f.call("GET", f.member_key, "/api/v1/directives/" + b_id).status == 200);
  CHECK(f.call("GET", f.member_key,
               "/api/v1/directives/00000000-0000-7000-8000-000000000000")
          .status
        == 404);
}

TEST_CASE("directives: one idempotency key, one directive", "[directives]") {
  dir_fixture f;
  auto body = R"({"type":"signal.emit","idempotency_key":"once",)"
              R"("params":{"type":"dir.once","payload":{"x":1}}})";
  auto first = f.propose(f.member_key, body);
  REQUIRE(first.status == 201);
  auto second = f.propose(f.member_key, body);
  REQUIRE(second.status == 200);
  CHECK(test::json_string(first.body, "id") == test::json_string(second.body, "id"));
  CHECK(f.count("SELECT count(*) FROM \"org_dir\".directives WHERE "
                "idempotency_key = 'once'")
        == 1);
  auto id = test::json_string(first.body, "id");
  REQUIRE(test::eventually([&] { return f.state_of(id) == "succeeded"; }));
  // A third proposal after success still returns the same directive and
  // emits nothing new.
  CHECK(f.propose(f.member_key, body).status == 200);
  CHECK(f.count("SELECT count(*) FROM \"org_dir\".signals WHERE type = "
                "'dir.once'")
        == 1);
  // A re-run of the execution job (after a crash, a manual retry) finds the
  // directive finished and does nothing.
  auto signals_before = f.count("SELECT count(*) FROM \"org_dir\".signals");
  storage::job_spec again;
  again.queue = "directives";
  again.kind = "directive.execute";
  again.tenant = f.org_id;
  again.args = R"({"org_id":")" + f.org_id + R"(","org_slug":"dir","directive_id":")"
               + id + R"("})";
  again.unique_key = "directive-rerun:" + id;
  auto job = storage::enqueue_job(*f.db, again);
  REQUIRE(job);
  REQUIRE(test::eventually([&] {
    return f.text("SELECT state FROM public.jobs WHERE id = $1",
                  {std::to_string(job->id)})
           == "completed";
  }));
  CHECK(f.count("SELECT count(*) FROM \"org_dir\".signals") == signals_before);
  CHECK(f.state_of(id) == "succeeded");

  CHECK(f.propose(f.member_key, R"({"type":"email.send","params":{}})").status
        == 422);
  CHECK(f.propose(f.member_key, R"({"type":"signal.emit","params":{}})").status
        == 422);
  CHECK(f.propose(f.member_key,
                  R"({"type":"webhook.post","params":{"url":"ftp://x"}})")
          .status
        == 422);
}

TEST_CASE("directives: failing webhooks are retried, each attempt recorded, "
          "then fail; 4xx fails at once",
          "[directives]") {
  hook_receiver flaky{500};
  hook_receiver refusing{400};
  dir_fixture f;
  auto flaky_url = "http://127.0.0.1:" + std::to_string(flaky.port()) + "/f";
  auto refusing_url = "http://127.0.0.1:" + std::to_string(refusing.port()) + "/r";
  for (auto& u : {flaky_url, refusing_url})
    REQUIRE(f.call("POST", f.admin_key, "/api/v1/webhook-destinations",
                   R"({"url":")" + u + R"("})")
              .status
            == 201);
  REQUIRE(f.call("PUT", f.admin_key, "/api/v1/directive-policies/webhook.post",
                 R"({"mode":"auto"})")
            .status
          == 200);

  auto permanent = f.propose(f.member_key,
                             R"({"type":"webhook.post","params":{"url":")"
                               + refusing_url + R"("}})");
  REQUIRE(permanent.status == 201);
  auto p_id = test::json_string(permanent.body, "id");
  REQUIRE(test::eventually([&] { return f.state_of(p_id) == "failed"; }));
  CHECK(refusing.hooks().size() == 1);
  CHECK_THAT(f.text("SELECT error FROM \"org_dir\".directives WHERE id = $1",
                    {p_id}),
             Catch::Contains("HTTP 400"));

  auto retried = f.propose(f.member_key,
                           R"({"type":"webhook.post","params":{"url":")"
                             + flaky_url + R"("}})");
  REQUIRE(retried.status == 201);
  auto r_id = test::json_string(retried.body, "id");
  REQUIRE(test::eventually([&] { return f.state_of(r_id) == "failed"; }, 60000ms));
  auto hooks = flaky.hooks();
  auto attempts = static_cast<int64_t>(hooks.size());
  CHECK(attempts > 1);
  // Every retry carries the same webhook-id.
  for (auto& h : hooks)
    CHECK(h.headers.at("webhook-id") == r_id);
  // Each attempt's error is kept on the directive (the earlier ones by a
  // write of their own, which may land just after the final one).
  REQUIRE(test::eventually([&] {
    return f.count("SELECT jsonb_array_length(attempt_errors) FROM "
                   "\"org_dir\".directives WHERE id = $1",
                   {r_id})
           == attempts;
  }));
  CHECK(f.count("SELECT count(*) FROM \"org_dir\".directives, "
                "jsonb_array_elements(attempt_errors) e WHERE id = $1 AND "
                "e->>'error' LIKE '%HTTP 500%'",
                {r_id})
        == attempts);
  CHECK(f.count("SELECT count(*) FROM \"org_dir\".signals WHERE type = "
                "'directive.failed' AND payload->>'directive_id' = $1",
                {r_id})
        == 1);
}
