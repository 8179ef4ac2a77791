// Upgrades (resources diffed by name, agents keep their ids, config
// migrated), a failing upgrade rolled back to the old version, PATCH as a
// reconfiguration, disable/enable, and schedule-driven runs.

#include "packages/install_support.hpp"

using namespace fp;
using namespace fp::install_test;

namespace {

std::string manifest(const std::string& version, const std::string& config_key,
                     const std::string& extra_skills, const std::string& extra_agents,
                     const std::string& subscriptions, const std::string& upgrade) {
  return R"({"name": "acme/greeter", "version": ")" + version + R"(",
  "description": "Greets",
  "capabilities": {
    "skills": [{"name": "greeter.hello", "kind": "prompt"})" + extra_skills + R"(],
    "agents": [{"name": "greeter", "system_prompt": "Team: {{config.)" + config_key
         + R"(}}", "skills": ["greeter.hello"], "triggers": ["greet.*"],
                "state": "active"})" + extra_agents + R"(],
    "subscriptions": [)" + subscriptions + R"(],
    "directive_types": ["webhook.post"],
    "schedules": [{"name": "daily", "cron": "0 6 * * *", "agent": "greeter",
                   "window_hours": 24, "signal_types": ["greet.*"]}]
  },
  "config_schema": {"type": "object",
    "properties": {")" + config_key + R"(": {"type": "string", "default": "core"}}},
  "permissions": ["directive:webhook.post"],
  "upgrade": [)" + upgrade + R"(]
})";
}

const std::string hook = R"({"name": "hook", "pattern": "greet.out",
  "directive_type": "webhook.post", "params": {"url": "https://h.example.com"}})";

std::string agent_id(fixture& f, const std::string& slug, const std::string& inst,
                     const std::string& name) {
  return test::text(*f.db, "SELECT id::text FROM " + schema(slug)
                             + ".agents WHERE installation_id = $1::uuid AND name = $2",
                    {inst, name});
}

std::string prompt_of(fixture& f, const std::string& slug, const std::string& id) {
  return test::text(*f.db, "SELECT system_prompt FROM " + schema(slug)
                             + ".agents WHERE id = $1::uuid",
                    {id});
}

int64_t resources(fixture& f, const std::string& slug, const std::string& id) {
  return count_of(f, "SELECT count(*) FROM " + schema(slug)
                       + ".installation_resources WHERE installation_id = $1::uuid",
                  {id});
}

} // namespace

TEST_CASE("upgrade: diff by name, ids kept, config migrated; a failing upgrade "
          "rolls back; PATCH reconfigures",
          "[packages][install][upgrade]") {
  fixture f{"pkg_upgrade"};
  auto& a = f.acme;
  publish(*f.db, manifest("1.0.0", "team", "", "", hook, ""));
  // 1.1.0: team -> squad, a new skill, the subscription dropped.
  publish(*f.db, manifest("1.1.0", "squad", R"(,{"name": "greeter.wave", "kind": "prompt"})",
                          "", "",
                          R"({"action": "config.rename", "from": "team", "to": "squad"},
                             {"action": "signal.emit", "type": "greet.upgraded"})"));
  // 1.2.0: a second agent whose name the tenant uses already.
  publish(*f.db, manifest("1.2.0", "squad", "",
                          R"(,{"name": "taken-name", "state": "draft"})", "", ""));

  auto res = install(f, a, R"({"package":"acme/greeter","version":"1.0.0",)"
                           R"("config":{"team":"red"},"permissions":["directive:webhook.post"]})");
  REQUIRE(res.status == 202);
  auto id = id_of(res);
  await_state(f, a, id, "installed");
  auto agent = agent_id(f, a.slug, id, "greeter");
  CHECK(prompt_of(f, a.slug, agent) == "Team: red");
  CHECK(resources(f, a.slug, id) == 4);

  // A member cannot upgrade; tenant B cannot see it.
  CHECK(f.req(a.member, "POST", "/api/v1/installations/" + id + "/upgrade",
              R"({"version":"1.1.0"})")
          .status
        == 403);
  CHECK(f.req(f.beta.admin, "POST", "/api/v1/installations/" + id + "/upgrade",
              R"({"version":"1.1.0"})")
          .status
        == 404);

  auto up = f.req(a.admin, "POST", "/api/v1/installations/" + id + "/upgrade",
                  R"({"version":"1.1.0"})");
  INFO(up.body);
  REQUIRE(up.status == 202);
  {
    json_doc d{up.body};
    CHECK(str(d.root, "state") == "upgrading");
    CHECK(str(d.root, "target_version") == "1.1.0");
  }
  test::eventually([&] {
    json_doc d{f.req(a.reader, "GET", "/api/v1/installations/" + id).body};
    return str(d.root, "version") == "1.1.0" && str(d.root, "state") == "installed";
  });
  auto now = await_state(f, a, id, "installed");
  json_doc d{now};
  CHECK(str(d.root, "version") == "1.1.0");
  CHECK(str(d.root["config"], "squad") == "red");
  CHECK(is_null(d.root, "error"));
  // The agent kept its id and got the new prompt; the new skill exists;
  // the dropped subscription is gone.
  CHECK(agent_id(f, a.slug, id, "greeter") == agent);
  CHECK(prompt_of(f, a.slug, agent) == "Team: red");
  CHECK(count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                      + ".skills WHERE name = 'greeter.wave' AND installation_id = $1::uuid",
                 {id})
        == 1);
  CHECK(count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                      + ".subscriptions WHERE pattern = 'greet.out'")
        == 0);
  CHECK(resources(f, a.slug, id) == 4);
  CHECK(count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                      + ".signals WHERE type = 'package.upgrade.completed' AND "
                        "payload->>'from_version' = '1.0.0' AND payload->>'to_version' = '1.1.0'")
        == 1);
  CHECK(count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                      + ".signals WHERE type = 'greet.upgraded'")
        == 1);

  // 1.2.0 fails on the taken agent name: rolled back to 1.1.0, resources
  // untouched, the error kept.
  f.make_agent(a, R"({"name":"taken-name"})");
  auto bad = f.req(a.admin, "POST", "/api/v1/installations/" + id + "/upgrade",
                   R"({"range":"^1.2"})");
  REQUIRE(bad.status == 202);
  REQUIRE(test::eventually([&] {
    json_doc x{f.req(a.reader, "GET", "/api/v1/installations/" + id).body};
    return str(x.root, "state") == "installed" && !is_null(x.root, "error");
  }));
  json_doc r{f.req(a.reader, "GET", "/api/v1/installations/" + id).body};
  CHECK(str(r.root, "version") == "1.1.0");
  CHECK(str(r.root["error"], "step") == "agents[1]");
  CHECK(is_null(r.root, "target_version"));
  CHECK(resources(f, a.slug, id) == 4);
  CHECK(count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                      + ".agents WHERE installation_id = $1::uuid",
                 {id})
        == 1);
  CHECK(count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                      + ".signals WHERE type = 'package.upgrade.failed'")
        == 1);

  // PATCH: an upgrade to the same version with new config.
  auto patch = f.req(a.admin, "PATCH", "/api/v1/installations/" + id,
                     R"({"config":{"squad":"blue"}})");
  INFO(patch.body);
  REQUIRE(patch.status == 202);
  REQUIRE(test::eventually([&] { return prompt_of(f, a.slug, agent) == "Team: blue"; }));
  auto after = await_state(f, a, id, "installed");
  json_doc p{after};
  CHECK(str(p.root, "version") == "1.1.0");
  CHECK(is_null(p.root, "error"));

  // History: every move recorded.
  auto hist = f.req(a.reader, "GET", "/api/v1/installations/" + id + "/history");
  json_doc h{hist.body};
  std::vector<std::string> states;
  for (auto t : h.root["items"].get_array())
    states.push_back(str(t, "to_state"));
  CHECK(states
        == std::vector<std::string>{"requested", "installing", "installed", "upgrading",
                                    "installed", "upgrading", "installed", "upgrading",
                                    "installed"});
}

TEST_CASE("disable and enable: agents, subscriptions and schedules follow",
          "[packages][install]") {
  fixture f{"pkg_disable"};
  auto& a = f.acme;
  publish(*f.db, manifest("1.0.0", "team", "", "", hook, ""));
  auto res = install(f, a, R"({"package":"acme/greeter","permissions":["directive:*"]})");
  REQUIRE(res.status == 202);
  auto id = id_of(res);
  await_state(f, a, id, "installed");
  auto agent = agent_id(f, a.slug, id, "greeter");
  auto sched = "inst:" + id + ":daily";
  auto agent_state = [&] {
    return test::text(*f.db, "SELECT state FROM " + schema(a.slug)
                               + ".agents WHERE id = $1::uuid",
                      {agent});
  };
  auto enabled_subs = [&] {
    return count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                         + ".subscriptions WHERE enabled");
  };
  auto schedule_on = [&] {
    return test::text(*f.db, "SELECT enabled::text FROM public.job_schedules WHERE name = $1",
                      {sched});
  };
  CHECK(agent_state() == "active");
  CHECK(enabled_subs() == 2); // the hook and the agent's trigger
  CHECK(schedule_on() == "true");

  CHECK(f.req(a.member, "POST", "/api/v1/installations/" + id + "/disable").status == 403);
  auto off = f.req(a.admin, "POST", "/api/v1/installations/" + id + "/disable");
  INFO(off.body);
  REQUIRE(off.status == 200);
  CHECK(off.body.find("\"state\":\"disabled\"") != std::string::npos);
  CHECK(agent_state() == "paused");
  CHECK(enabled_subs() == 0);
  CHECK(schedule_on() == "false");
  CHECK(f.req(a.admin, "POST", "/api/v1/installations/" + id + "/disable").status == 409);
  // Disabled: no upgrade, a scheduled run does nothing.
  CHECK(f.req(a.admin, "PATCH", "/api/v1/installations/" + id, R"({"config":{}})").status
        == 409);

  auto on = f.req(a.admin, "POST", "/api/v1/installations/" + id + "/enable");
  REQUIRE(on.status == 200);
  CHECK(agent_state() == "active");
  CHECK(enabled_subs() == 2);
  CHECK(schedule_on() == "true");
  CHECK(count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                      + ".signals WHERE type IN ('package.installation.disabled', "
                        "'package.installation.enabled')")
        == 2);
}

TEST_CASE("scheduled runs: the window's signals become the agent's input",
          "[packages][install][schedule]") {
  fixture f{"pkg_schedule"};
  auto& a = f.acme;
  publish(*f.db, manifest("1.0.0", "team", "", "", "", ""));
  auto res = install(f, a, R"({"package":"acme/greeter","permissions":["directive:*"]})");
  REQUIRE(res.status == 202);
  auto id = id_of(res);
  await_state(f, a, id, "installed");
  auto agent = agent_id(f, a.slug, id, "greeter");
  // Signals outside the pattern do not count. (greet.* signals also
  // trigger the agent itself; only the scheduled run has window input.)
  for (auto type : {"other.thing", "other.thing", "greet.note"})
    REQUIRE(f.req(a.member, "POST", "/api/v1/signals",
                  std::string{R"({"type":")"} + type + R"(","payload":{"n":1}})")
              .status
            == 201);
  auto runs_with_window = [&] {
    return count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                         + ".executions WHERE agent_id = $1::uuid AND input ? "
                           "'window_start'",
                    {agent});
  };
  CHECK(runs_with_window() == 0);
  REQUIRE(f.db->exec("UPDATE public.job_schedules SET next_run_at = now() "
                     "WHERE name = $1",
                     {"inst:" + id + ":daily"}));
  REQUIRE(test::eventually([&] { return runs_with_window() == 1; }, 30000ms, 100ms));
  auto input = test::text(*f.db, "SELECT input::text FROM " + schema(a.slug)
                                   + ".executions WHERE agent_id = $1::uuid AND "
                                     "input ? 'window_start'",
                          {agent});
  json_doc d{input};
  CHECK(num(d.root, "count") == 1);
  CHECK(num(d.root["by_type"], "greet.note") == 1);
  CHECK(str(d.root, "text").find("greet.note: ") != std::string::npos);
  CHECK(test::text(*f.db, "SELECT initiator_kind FROM " + schema(a.slug)
                            + ".executions WHERE input ? 'window_start'")
        == "system");
}
