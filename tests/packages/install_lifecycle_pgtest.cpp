// Installations over real HTTP against a real node: install, idempotent
// repeat, roles and tenant isolation, what an install creates (and an
// uninstall removes exactly), failing steps rolled back, permissions,
// transitions, lifecycle signals, the installation actor.

#include "packages/install_support.hpp"

#include "fp/runtime/secret_box.hpp"
#include "fp/storage/directives.hpp"

using namespace fp;
using namespace fp::install_test;

namespace {

/// acme/hello 1.0.0: a skill, an active agent, a subscription, a webhook
/// destination signed with a credential, a schedule and an install step.
const std::string hello_v1 = R"({
  "name": "acme/hello", "version": "1.0.0", "description": "Says hello",
  "capabilities": {
    "skills": [{"name": "hello.greet", "kind": "prompt",
                "description": "Greets {{config.team}}"}],
    "agents": [{"name": "hello-agent", "purpose": "Greets",
                "system_prompt": "Team: {{config.team}}",
                "skills": ["hello.greet"], "triggers": ["hello.ping"],
                "state": "active"}],
    "subscriptions": [{"name": "hook", "pattern": "hello.out",
                       "directive_type": "webhook.post",
                       "params": {"url": "{{config.url}}"}}],
    "directive_types": ["webhook.post"],
    "webhook_destinations": [{"name": "dest", "url": "{{config.url}}",
                              "secret": "{{secrets.token}}"}],
    "schedules": [{"name": "daily", "cron": "0 6 * * *", "agent": "hello-agent",
                   "window_hours": 24, "signal_types": ["hello.*"]}]
  },
  "config_schema": {"type": "object",
    "properties": {"team": {"type": "string", "default": "core"},
                   "url": {"type": "string", "pattern": "^https?://"},
                   "token": {"type": "string", "secret": true}},
    "required": ["url", "token"]},
  "permissions": ["directive:webhook.post", "signals:emit:hello.*"],
  "install": [{"action": "signal.emit", "type": "hello.installed",
               "payload": {"team": "{{config.team}}"}}]
})";

const std::string grants = R"(["directive:webhook.post","signals:emit:hello.*"])";

std::string hello_request(const std::string& url = "https://hooks.example.com/a") {
  return R"({"package":"acme/hello","version":"1.0.0","config":{"url":")" + url
         + R"("},"credentials":{"token":"whsec_Y2FuYXJ5LXNlY3JldC12YWx1ZS0wMTIzNDU2Nzg="},"permissions":)" + grants
         + "}";
}

int64_t signals_of(fixture& f, const std::string& slug, const std::string& type) {
  return count_of(f, "SELECT count(*) FROM " + schema(slug)
                       + ".signals WHERE type = $1",
                  {type});
}

int64_t owned(fixture& f, const std::string& slug, const std::string& table,
              const std::string& id) {
  return count_of(f, "SELECT count(*) FROM " + schema(slug) + "." + table
                       + " WHERE installation_id = $1::uuid",
                  {id});
}

} // namespace

TEST_CASE("install: requested -> installed, idempotent, roles, isolation, "
          "uninstall removes exactly what it created",
          "[packages][install]") {
  fixture f{"pkg_install"};
  publish(*f.db, hello_v1);
  auto& a = f.acme;
  auto& b = f.beta;

  // A member may read but not install.
  auto denied = f.req(a.member, "POST", "/api/v1/installations", hello_request());
  CHECK(denied.status == 403);

  // Unknown package, bad config (with paths), unknown credential field.
  CHECK(install(f, a, R"({"package":"acme/nope"})").status == 404);
  auto bad = install(f, a, R"({"package":"acme/hello","config":{"url":"ftp://x"},)"
                           R"("credentials":{"token":"t"},"permissions":)"
                             + grants + "}");
  INFO(bad.body);
  CHECK(bad.status == 422);
  CHECK(bad.body.find("\"errors\"") != std::string::npos);
  CHECK(bad.body.find("$.config.url") != std::string::npos);
  auto missing = install(f, a, R"({"package":"acme/hello","config":{"url":"https://h.example.com"}})");
  CHECK(missing.status == 422);
  CHECK(missing.body.find("$.config.token") != std::string::npos);
  auto stray = install(f, a, R"({"package":"acme/hello","config":{"url":"https://h.example.com"},)"
                             R"("credentials":{"token":"t","colour":"red"}})");
  CHECK(stray.status == 422);
  CHECK(stray.body.find("colour") != std::string::npos);
  auto no_version = install(f, a, R"({"package":"acme/hello","range":"^2.0"})");
  CHECK(no_version.status == 422);

  // A tenant-created agent and skill that must survive the uninstall.
  auto mine = f.make_agent(a, R"({"name":"my-own-agent"})");
  REQUIRE(f.req(a.admin, "POST", "/api/v1/skills",
                R"({"name":"acme.mine","kind":"prompt"})")
            .status
          == 201);

  auto first = install(f, a, hello_request());
  INFO(first.body);
  REQUIRE(first.status == 202);
  auto id = id_of(first);
  {
    json_doc d{first.body};
    CHECK(str(d.root, "state") == "requested");
    CHECK(d.root["credentials"]["token"]["set"].get_bool().value());
  }
  // The same request again: the same installation, no second job.
  auto again = install(f, a, hello_request());
  CHECK(again.status == 200);
  CHECK(id_of(again) == id);
  CHECK(count_of(f, "SELECT count(*) FROM " + schema(a.slug) + ".installations") == 1);
  CHECK(count_of(f, "SELECT count(*) FROM public.jobs WHERE kind = 'package.install'")
        == 1);
  // The job carries the id only.
  CHECK(test::text(*f.db, "SELECT args::text FROM public.jobs WHERE kind = "
                          "'package.install'")
          .find("Y2FuYXJ5LXNlY3JldC12YWx1ZS0wMTIzNDU2Nzg") == std::string::npos);

  auto done = await_state(f, a, id, "installed");
  json_doc d{done};
  CHECK(str(d.root, "version") == "1.0.0");
  CHECK(is_null(d.root, "error"));
  CHECK(count(d.root, "resources") == 5);
  CHECK(str(d.root["config"], "url") == "https://hooks.example.com/a");
  // Secrets stay out of config and answers.
  CHECK(done.find("Y2FuYXJ5LXNlY3JldC12YWx1ZS0wMTIzNDU2Nzg") == std::string::npos);
  CHECK(str(d.root["credentials"]["token"], "fingerprint").rfind("hmac-sha256:", 0) == 0);
  CHECK(count(d.root, "requested_permissions") == 2);

  // Another version while installed: 409.
  auto other = install(f, a, R"({"package":"acme/hello","range":">=0.1.0 <1.0.0"})");
  CHECK(other.status == 409);
  CHECK(other.body.find("upgrade it instead") != std::string::npos);
  // What it created, owned by the installation.
  CHECK(owned(f, a.slug, "agents", id) == 1);
  CHECK(owned(f, a.slug, "skills", id) == 1);
  CHECK(owned(f, a.slug, "webhook_destinations", id) == 1);
  CHECK(test::text(*f.db, "SELECT secret FROM " + schema(a.slug)
                            + ".webhook_destinations WHERE installation_id = $1::uuid",
                   {id})
          .rfind("fpenc1:", 0)
        == 0);
  {
    // The destination's secret is the credential, sealed at rest.
    auto ring = runtime::key_ring::parse_env(test::test_master_keys());
    REQUIRE(ring);
    auto dest_id = test::text(*f.db, "SELECT id::text FROM " + schema(a.slug)
                                       + ".webhook_destinations WHERE installation_id = "
                                         "$1::uuid",
                              {id});
    auto dest = storage::find_webhook_destination(*f.db, a.slug, ring->get(), dest_id);
    REQUIRE(dest);
    REQUIRE(*dest);
    CHECK((*dest)->secret == "whsec_Y2FuYXJ5LXNlY3JldC12YWx1ZS0wMTIzNDU2Nzg=");
    CHECK((*dest)->url == "https://hooks.example.com/a");
  }
  CHECK(test::text(*f.db, "SELECT system_prompt FROM " + schema(a.slug)
                            + ".agents WHERE installation_id = $1::uuid",
                   {id})
        == "Team: core");
  CHECK(test::text(*f.db, "SELECT state FROM " + schema(a.slug)
                            + ".agents WHERE installation_id = $1::uuid",
                   {id})
        == "active");
  CHECK(count_of(f, "SELECT count(*) FROM public.job_schedules WHERE name = $1",
                 {"inst:" + id + ":daily"})
        == 1);
  CHECK(test::text(*f.db, "SELECT ciphertext FROM " + schema(a.slug)
                            + ".credentials WHERE installation_id = $1::uuid",
                   {id})
          .rfind("fpenc1:", 0)
        == 0);
  // Signals: requested (by the user), the install step, completed.
  CHECK(signals_of(f, a.slug, "package.install.requested") == 1);
  CHECK(signals_of(f, a.slug, "package.install.completed") == 1);
  CHECK(signals_of(f, a.slug, "hello.installed") == 1);
  CHECK(test::text(*f.db, "SELECT actor_kind FROM " + schema(a.slug)
                            + ".signals WHERE type = 'package.install.requested'")
        == "integration"); // the caller's API key
  CHECK(test::text(*f.db, "SELECT actor_kind FROM " + schema(a.slug)
                            + ".signals WHERE type = 'package.install.completed'")
        == "system");
  CHECK(count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                      + ".signals WHERE payload::text LIKE '%Y2FuYXJ5LXNlY3JldC12YWx1ZS0wMTIzNDU2Nzg%'")
        == 0);

  // The history: requested -> installing -> installed.
  auto hist = f.req(a.reader, "GET", "/api/v1/installations/" + id + "/history");
  REQUIRE(hist.status == 200);
  {
    json_doc h{hist.body};
    std::vector<std::string> states;
    for (auto t : h.root["items"].get_array())
      states.push_back(str(t, "to_state"));
    CHECK(states == std::vector<std::string>{"requested", "installing", "installed"});
  }

  // The list, filtered.
  auto list = f.req(a.reader, "GET", "/api/v1/installations?state=installed");
  REQUIRE(list.status == 200);
  CHECK(list.body.find(id) != std::string::npos);
  CHECK(f.req(a.reader, "GET", "/api/v1/installations?state=failed").body.find(id)
        == std::string::npos);

  // The installation's actor ran under the tenant actor.
  REQUIRE(storage::create_user(*f.db, "root@example.com", "correct horse", true));
  auto root = test::log_in(f.port, "root@example.com");
  auto tree = call(f.port, "GET", "/admin/actors", root);
  REQUIRE(tree.status == 200);
  CHECK(tree.body.find("\"kind\":\"installation\"") != std::string::npos);
  CHECK(tree.body.find(id) != std::string::npos);

  // Tenant B sees nothing of it.
  CHECK(f.req(b.admin, "GET", "/api/v1/installations/" + id).status == 404);
  CHECK(f.req(b.admin, "DELETE", "/api/v1/installations/" + id).status == 404);
  CHECK(f.req(b.reader, "GET", "/api/v1/installations").body.find(id)
        == std::string::npos);
  CHECK(f.req(a.member, "DELETE", "/api/v1/installations/" + id).status == 403);

  // Reconfiguring with a new URL and token: the destination follows, the
  // new token replaces the old one only once the upgrade succeeded.
  auto old_fp = test::text(*f.db, "SELECT fingerprint FROM " + schema(a.slug)
                                    + ".credentials WHERE installation_id = $1::uuid",
                           {id});
  auto patch = f.req(a.admin, "PATCH", "/api/v1/installations/" + id,
                     R"({"config":{"url":"https://hooks.example.com/b"},)"
                     R"("credentials":{"token":"whsec_bmV3LXRva2VuLXZhbHVl"}})");
  INFO(patch.body);
  REQUIRE(patch.status == 202);
  REQUIRE(test::eventually([&] {
    return count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                         + ".webhook_destinations WHERE url = "
                           "'https://hooks.example.com/b'")
           == 1;
  }));
  auto reconfigured = await_state(f, a, id, "installed");
  json_doc rc{reconfigured};
  CHECK(str(rc.root["config"], "url") == "https://hooks.example.com/b");
  CHECK(str(rc.root["credentials"]["token"], "fingerprint") != old_fp);
  CHECK(owned(f, a.slug, "credentials", id) == 1); // no pending value left
  {
    auto ring = runtime::key_ring::parse_env(test::test_master_keys());
    REQUIRE(ring);
    auto dest_id = test::text(*f.db, "SELECT id::text FROM " + schema(a.slug)
                                       + ".webhook_destinations WHERE installation_id = "
                                         "$1::uuid",
                              {id});
    auto dest = storage::find_webhook_destination(*f.db, a.slug, ring->get(), dest_id);
    REQUIRE(dest);
    REQUIRE(*dest);
    CHECK((*dest)->secret == "whsec_bmV3LXRva2VuLXZhbHVl");
  }
  CHECK(owned(f, a.slug, "agents", id) == 1);

  // Uninstall removes exactly what the install created.
  auto del = f.req(a.admin, "DELETE", "/api/v1/installations/" + id);
  INFO(del.body);
  REQUIRE(del.status == 202);
  auto gone = await_state(f, a, id, "uninstalled");
  json_doc g{gone};
  CHECK(count(g.root, "resources") == 0);
  CHECK(owned(f, a.slug, "agents", id) == 0);
  CHECK(owned(f, a.slug, "skills", id) == 0);
  CHECK(owned(f, a.slug, "webhook_destinations", id) == 0);
  CHECK(owned(f, a.slug, "credentials", id) == 0);
  CHECK(count_of(f, "SELECT count(*) FROM public.job_schedules WHERE name LIKE 'inst:%'")
        == 0);
  CHECK(count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                      + ".subscriptions WHERE pattern = 'hello.out'")
        == 0);
  CHECK(f.req(a.reader, "GET", "/api/v1/agents/" + mine).status == 200);
  CHECK(count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                      + ".skills WHERE name = 'acme.mine'")
        == 1);
  CHECK(signals_of(f, a.slug, "package.uninstall.requested") == 1);
  CHECK(signals_of(f, a.slug, "package.uninstall.completed") == 1);

  // Installing again after an uninstall is a new installation.
  auto fresh = install(f, a, hello_request());
  CHECK(fresh.status == 202);
  CHECK(id_of(fresh) != id);
  await_state(f, a, id_of(fresh), "installed");
}

TEST_CASE("install: a failing step rolls everything back; missing permissions "
          "fail naming the scopes; retry",
          "[packages][install]") {
  fixture f{"pkg_install_fail"};
  publish(*f.db, hello_v1);
  auto& a = f.acme;

  // The tenant already has an agent with the package's agent name: the
  // agents step fails after the skill was created — nothing stays.
  auto clash = f.make_agent(a, R"({"name":"hello-agent"})");
  auto res = install(f, a, hello_request());
  REQUIRE(res.status == 202);
  auto id = id_of(res);
  auto failed = await_state(f, a, id, "failed");
  json_doc d{failed};
  CHECK(str(d.root["error"], "step") == "agents[0]");
  CHECK(str(d.root["error"], "message").find("hello-agent") != std::string::npos);
  CHECK(!str(d.root["error"], "at").empty());
  CHECK(count(d.root, "resources") == 0);
  CHECK(owned(f, a.slug, "skills", id) == 0);
  CHECK(owned(f, a.slug, "agents", id) == 0);
  CHECK(owned(f, a.slug, "webhook_destinations", id) == 0);
  CHECK(count_of(f, "SELECT count(*) FROM public.job_schedules") == 0);
  CHECK(signals_of(f, a.slug, "package.install.failed") == 1);
  CHECK(signals_of(f, a.slug, "hello.installed") == 0);
  // The job completed (a step failure is not retried).
  CHECK(test::eventually([&] {
    return count_of(f, "SELECT count(*) FROM public.jobs WHERE kind = "
                       "'package.install' AND state = 'completed'")
           == 1;
  }));

  // Retry after the clash is gone.
  REQUIRE(f.req(a.admin, "DELETE", "/api/v1/agents/" + clash).status == 204);
  auto retry = f.req(a.admin, "POST", "/api/v1/installations/" + id + "/retry");
  INFO(retry.body);
  REQUIRE(retry.status == 202);
  auto ok = await_state(f, a, id, "installed");
  json_doc o{ok};
  CHECK(is_null(o.root, "error"));
  CHECK(owned(f, a.slug, "agents", id) == 1);
  CHECK(f.req(a.admin, "POST", "/api/v1/installations/" + id + "/retry").status == 409);
  REQUIRE(f.req(a.admin, "DELETE", "/api/v1/installations/" + id).status == 202);
  await_state(f, a, id, "uninstalled");

  // Permissions not granted: failed, naming the missing scopes.
  // (The secret inline in config this time: it is sealed all the same.)
  auto stingy = install(f, a, R"({"package":"acme/hello","config":{"url":"https://h.example.com/b",)"
                              R"("token":"whsec_dGVzdA=="},"permissions":["directive:webhook.post"]})");
  INFO(stingy.body);
  REQUIRE(stingy.status == 202);
  {
    json_doc s{stingy.body};
    CHECK(s.root["credentials"]["token"]["set"].get_bool().value());
    CHECK(stingy.body.find("dGVzdA") == std::string::npos);
  }
  auto denied = await_state(f, a, id_of(stingy), "failed");
  json_doc p{denied};
  CHECK(str(p.root["error"], "step") == "permissions");
  CHECK(str(p.root["error"], "message").find("signals:emit:hello.*") != std::string::npos);
  CHECK(owned(f, a.slug, "agents", id_of(stingy)) == 0);
  // A failed installation can be uninstalled.
  REQUIRE(f.req(a.admin, "DELETE", "/api/v1/installations/" + id_of(stingy)).status
          == 202);
  await_state(f, a, id_of(stingy), "uninstalled");
}
