// Package manifests: validation with paths, canonical text, permissions,
// secrets and config templating.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "fp/actors/package_manifest.hpp"

using namespace fp::actors;

namespace {

const std::string schema = R"({
  "type": "object",
  "properties": {
    "webhook_url": {"type": "string", "pattern": "^https?://"},
    "labels": {"type": "array", "items": {"type": "string"},
               "default": ["billing", "other"]},
    "threshold": {"type": "integer", "default": 3},
    "webhook_secret": {"type": "string", "secret": true},
    "smtp": {"type": "object", "properties": {
      "host": {"type": "string"},
      "password": {"type": "string", "secret": true}}}
  },
  "required": ["webhook_url"]
})";

// A manifest with `caps` as its capabilities and `extra` members appended.
std::string make(const std::string& caps = "{}", const std::string& extra = "") {
  return R"({"name": "acme/triage", "version": "1.0.0", "description": "d",
    "permissions": ["directive:webhook.post", "directive:signal.emit",
                    "signals:emit:triage.*"],
    "config_schema": )"
         + schema + R"(, "capabilities": )" + caps + extra + "}";
}

const std::string full_caps = R"({
  "directive_types": ["webhook.post", "signal.emit"],
  "skills": [
    {"name": "triage.escalate", "kind": "directive",
     "description": "Escalates.",
     "input_schema": {"type": "object"},
     "config": {"directive_type": "webhook.post",
                "params": {"url": "{{config.webhook_url}}", "weight": 1.50}},
     "min_role": "admin", "required_scopes": ["directive:webhook.post"]}
  ],
  "agents": [
    {"name": "support-triage", "skills": ["triage.escalate", "text.classify"],
     "directive_types": ["webhook.post"], "triggers": ["support.ticket.created"],
     "system_prompt": "Labels: {{config.labels}} above {{config.threshold}}",
     "state": "active", "max_tokens": 2000, "daily_budget_micros": 5000}
  ],
  "subscriptions": [
    {"name": "urgent", "pattern": "support.*", "directive_type": "signal.emit",
     "params": {"type": "triage.urgent"}}
  ],
  "tools": [{"name": "classify", "skill": "text.classify"}],
  "schedules": [
    {"name": "daily", "cron": "0 8 * * *", "agent": "support-triage",
     "window_hours": 24, "signal_types": ["support.*"]}
  ],
  "webhook_destinations": [
    {"name": "escalations", "url": "{{config.webhook_url}}",
     "secret": "{{secrets.webhook_secret}}"}
  ]
})";

const std::string steps = R"(,
  "dependencies": {"acme/base": "^1.2"},
  "install": [{"action": "signal.emit", "type": "triage.installed",
               "payload": {"labels": "{{config.labels}}"}},
              {"action": "agent.activate", "agent": "support-triage"}],
  "uninstall": [{"action": "agent.pause", "agent": "support-triage"}],
  "upgrade": [{"action": "config.rename", "from": "url", "to": "webhook_url"},
              {"action": "config.set", "path": "threshold", "value": 4},
              {"action": "config.remove", "path": "legacy"}],
  "limits": {"executions_per_hour": 60, "max_agents": 2})";

std::vector<schema_issue> issues_of(const std::string& json) {
  auto r = parse_manifest(json, platform_catalog());
  CHECK_FALSE(r.manifest);
  return r.issues;
}

std::string dump(const std::vector<schema_issue>& issues) {
  std::string out;
  for (auto& i : issues)
    out += i.path + ": " + i.message + "\n";
  return out;
}

// True when an issue at exactly `path` mentions `fragment`.
bool has(const std::vector<schema_issue>& issues, const std::string& path,
         const std::string& fragment) {
  for (auto& i : issues)
    if (i.path == path && i.message.find(fragment) != std::string::npos)
      return true;
  return false;
}

#define CHECK_ISSUE(json, path, fragment)                                      \
  do {                                                                         \
    auto found_issues = issues_of(json);                                       \
    INFO(dump(found_issues));                                                  \
    CHECK(has(found_issues, path, fragment));                                  \
  } while (false)

} // namespace

TEST_CASE("a complete manifest parses into its parts", "[packages][manifest]") {
  auto r = parse_manifest(make(full_caps, steps), platform_catalog());
  INFO(dump(r.issues));
  REQUIRE(r.manifest);
  const auto& m = *r.manifest;
  CHECK(m.name == "acme/triage");
  CHECK(m.version_text == "1.0.0");
  CHECK(m.version.major == 1);
  REQUIRE(m.skills.size() == 1);
  CHECK(m.skills[0].kind == "directive");
  CHECK(m.skills[0].min_role == "admin");
  CHECK(m.skills[0].required_scopes
        == std::vector<std::string>{"directive:webhook.post"});
  CHECK(m.skills[0].output_schema == R"({"type":"object"})");
  CHECK(m.skills[0].config
        == R"({"directive_type":"webhook.post","params":{"url":"{{config.webhook_url}}","weight":1.5}})");
  REQUIRE(m.agents.size() == 1);
  CHECK(m.agents[0].state == "active");
  CHECK(m.agents[0].provider == "local");
  CHECK(m.agents[0].max_tokens == 2000);
  CHECK(m.agents[0].max_tool_calls == 8);
  CHECK(m.agents[0].daily_budget_micros == 5000);
  CHECK(m.agents[0].triggers == std::vector<std::string>{"support.ticket.created"});
  REQUIRE(m.subscriptions.size() == 1);
  CHECK(m.subscriptions[0].params == R"({"type":"triage.urgent"})");
  CHECK(m.directive_types == std::vector<std::string>{"webhook.post", "signal.emit"});
  REQUIRE(m.tools.size() == 1);
  REQUIRE(m.schedules.size() == 1);
  CHECK(m.schedules[0].cron == "0 8 * * *");
  CHECK(m.schedules[0].signal_types == std::vector<std::string>{"support.*"});
  REQUIRE(m.webhook_destinations.size() == 1);
  CHECK(m.webhook_destinations[0].secret == "{{secrets.webhook_secret}}");
  CHECK(m.dependencies.at("acme/base") == "^1.2");
  CHECK(m.permissions.size() == 3);
  REQUIRE(m.install_steps.size() == 2);
  CHECK(m.install_steps[0].action == "signal.emit");
  CHECK(m.install_steps[0].args
        == R"({"payload":{"labels":"{{config.labels}}"},"type":"triage.installed"})");
  CHECK(m.install_steps[1].args == R"({"agent":"support-triage"})");
  CHECK(m.uninstall_steps.size() == 1);
  REQUIRE(m.upgrade_steps.size() == 3);
  CHECK(m.upgrade_steps[1].args == R"({"path":"threshold","value":4})");
  CHECK(m.limits.executions_per_hour == 60);
  CHECK(m.limits.max_agents == 2);
  CHECK_FALSE(m.limits.daily_budget_micros);
  CHECK(m.config_schema.find("\"secret\":true") != std::string::npos);
}

TEST_CASE("a minimal manifest takes the defaults", "[packages][manifest]") {
  auto r = parse_manifest(R"({"name":"a/b","version":"0.1.0-rc.1+x"})",
                          platform_catalog());
  INFO(dump(r.issues));
  REQUIRE(r.manifest);
  CHECK(r.manifest->config_schema == R"({"type":"object"})");
  CHECK(r.manifest->version_text == "0.1.0-rc.1+x");
  CHECK(r.manifest->version.without_build() == "0.1.0-rc.1");
  CHECK(r.manifest->canonical == R"({"name":"a/b","version":"0.1.0-rc.1+x"})");
}

TEST_CASE("the canonical text ignores key order and whitespace",
          "[packages][manifest]") {
  auto a = parse_manifest(
    R"({"name":"acme/x","version":"1.0.0","description":"caf\u00e9 \"q\"",
        "limits":{"max_agents":3,"executions_per_hour":1e3},
        "capabilities":{"directive_types":[],"skills":[{"name":"a.b","kind":"prompt","config":{"z":1.0,"a":[1,2]}}]}})",
    platform_catalog());
  auto b = parse_manifest(R"(
    {
      "capabilities" : { "skills" : [ { "config" : { "a" : [ 1 , 2 ] , "z" : 1.0 },
                                        "kind" : "prompt", "name" : "a.b" } ],
                         "directive_types" : [ ] },
      "limits": { "executions_per_hour": 1e3, "max_agents": 3 },
      "version"  : "1.0.0",
      "description": "café \"q\"",
      "name" : "acme/x"
    })",
                          platform_catalog());
  INFO(dump(a.issues) << dump(b.issues));
  REQUIRE(a.manifest);
  REQUIRE(b.manifest);
  CHECK(a.manifest->canonical == b.manifest->canonical);
  CHECK(a.manifest->canonical
        == "{\"capabilities\":{\"directive_types\":[],\"skills\":[{\"config\":"
           "{\"a\":[1,2],\"z\":1.0},\"kind\":\"prompt\",\"name\":\"a.b\"}]},"
           "\"description\":\"caf\xc3\xa9 \\\"q\\\"\",\"limits\":"
           "{\"executions_per_hour\":1e3,\"max_agents\":3},\"name\":\"acme/x\","
           "\"version\":\"1.0.0\"}");
  // Different content, different text.
  auto c = parse_manifest(R"({"name":"acme/x","version":"1.0.1"})",
                          platform_catalog());
  REQUIRE(c.manifest);
  CHECK(c.manifest->canonical != a.manifest->canonical);
}

TEST_CASE("manifest structure problems carry their paths", "[packages][manifest]") {
  CHECK(has(issues_of("{nope"), "$", "not valid JSON"));
  CHECK(has(issues_of("[1]"), "$", "must be a JSON object"));
  auto empty = issues_of("{}");
  CHECK(has(empty, "$.name", "is required"));
  CHECK(has(empty, "$.version", "is required"));
  CHECK_ISSUE(R"({"name":"acme/x","version":"1.0.0","bogus":1})", "$.bogus",
              "unknown member");
  CHECK_ISSUE(R"({"name":"acme/x","version":"1.0.0","name":"acme/y"})", "$.name",
              "duplicate member");
  CHECK_ISSUE(R"({"name":"acme/x","version":"1.0.0","limits":{"max_agents":1,"max_agents":2}})",
              "$.limits.max_agents", "duplicate member");
  CHECK_ISSUE(R"({"name":"Acme/X","version":"1.0.0"})", "$.name",
              "publisher/name");
  CHECK_ISSUE(R"({"name":"acme","version":"1.0.0"})", "$.name", "publisher/name");
  CHECK_ISSUE(R"({"name":"acme/x","version":"1.0"})", "$.version", "SemVer");
  CHECK_ISSUE(R"({"name":"acme/x","version":7})", "$.version", "expected a string");
  CHECK_ISSUE(make(R"({"widgets":[]})"), "$.capabilities.widgets",
              "unknown member");
  CHECK_ISSUE(make(R"({"skills":{}})"), "$.capabilities.skills",
              "expected an array");
  CHECK_ISSUE(make(R"({"skills":[3]})"), "$.capabilities.skills[0]",
              "expected an object");
  CHECK_ISSUE(make(R"({"skills":[{"name":"a.b","kind":"prompt","colour":1}]})"),
              "$.capabilities.skills[0].colour", "unknown member");
}

TEST_CASE("names are unique per capability kind", "[packages][manifest]") {
  CHECK_ISSUE(make(R"({"skills":[{"name":"a.b","kind":"prompt"},
                                 {"name":"a.b","kind":"prompt"}]})"),
              "$.capabilities.skills[1].name", "duplicate skill name");
  CHECK_ISSUE(make(R"({"agents":[{"name":"x"},{"name":"x"}]})"),
              "$.capabilities.agents[1].name", "duplicate agent name");
  CHECK_ISSUE(make(R"({"tools":[{"name":"t","skill":"text.classify"},
                                {"name":"t","skill":"text.summarize"}]})"),
              "$.capabilities.tools[1].name", "duplicate tool name");
  CHECK_ISSUE(make(R"({"webhook_destinations":[
                        {"name":"w","url":"https://a.example"},
                        {"name":"w","url":"https://b.example"}]})"),
              "$.capabilities.webhook_destinations[1].name", "duplicate");
  // The same name in two kinds is fine.
  auto r = parse_manifest(make(R"({"agents":[{"name":"triage"}],
                                   "tools":[{"name":"triage","skill":"text.classify"}]})"),
                          platform_catalog());
  INFO(dump(r.issues));
  CHECK(r.manifest);
}

TEST_CASE("skills: kinds, schemas, roles and scopes", "[packages][manifest]") {
  CHECK_ISSUE(make(R"({"skills":[{"name":"a.b","kind":"shell"}]})"),
              "$.capabilities.skills[0].kind", "prompt");
  CHECK_ISSUE(make(R"({"skills":[{"name":"A-B","kind":"prompt"}]})"),
              "$.capabilities.skills[0].name", "dotted lowercase");
  CHECK_ISSUE(make(R"({"skills":[{"name":"a.b","kind":"prompt",
                                  "input_schema":{"type":"blob"}}]})"),
              "$.capabilities.skills[0].input_schema.type", "unknown type");
  CHECK_ISSUE(make(R"({"skills":[{"name":"a.b","kind":"prompt",
                                  "output_schema":{"oneOf":[]}}]})"),
              "$.capabilities.skills[0].output_schema.oneOf", "unsupported");
  CHECK_ISSUE(make(R"({"skills":[{"name":"a.b","kind":"prompt","min_role":"god"}]})"),
              "$.capabilities.skills[0].min_role", "member, admin or owner");
  CHECK_ISSUE(make(R"({"skills":[{"name":"a.b","kind":"prompt",
                                  "required_scopes":["root:all"]}]})"),
              "$.capabilities.skills[0].required_scopes[0]", "unknown permission");
  // A scope the package does not ask for could never be granted.
  CHECK_ISSUE(make(R"({"skills":[{"name":"a.b","kind":"prompt",
                                  "required_scopes":["signals:emit:triage.done",
                                                     "signals:emit:billing.done"]}]})"),
              "$.capabilities.skills[0].required_scopes[1]",
              "\"signals:emit:billing.done\" is not covered by $.permissions");
  CHECK_ISSUE(make(R"({"skills":[{"name":"a.b","kind":"directive"}]})"),
              "$.capabilities.skills[0].config.directive_type",
              "names its directive type");
  CHECK_ISSUE(make(R"({"skills":[{"name":"a.b","kind":"directive",
                                  "config":{"directive_type":"webhook.post"}}]})"),
              "$.capabilities.skills[0].config.directive_type",
              "not listed in $.capabilities.directive_types");
}

TEST_CASE("agents refer to known skills and listed directive types",
          "[packages][manifest]") {
  CHECK_ISSUE(make(R"({"agents":[{"name":"a","skills":["text.classify","x.y"]}]})"),
              "$.capabilities.agents[0].skills[1]",
              "unknown skill \"x.y\" (neither in this package nor a platform skill)");
  CHECK_ISSUE(make(R"({"agents":[{"name":"a","directive_types":["webhook.post"]}]})"),
              "$.capabilities.agents[0].directive_types[0]", "not listed");
  CHECK_ISSUE(make(R"({"agents":[{"name":"a","triggers":["Bad Type"]}]})"),
              "$.capabilities.agents[0].triggers[0]", "");
  CHECK_ISSUE(make(R"({"agents":[{"name":"a","state":"paused"}]})"),
              "$.capabilities.agents[0].state", "draft");
  CHECK_ISSUE(make(R"({"agents":[{"name":"a","max_tokens":0}]})"),
              "$.capabilities.agents[0].max_tokens", "between");
  CHECK_ISSUE(make(R"({"agents":[{"name":"a","max_tool_calls":"3"}]})"),
              "$.capabilities.agents[0].max_tool_calls", "expected an integer");
  CHECK_ISSUE(make(R"({"agents":[{"name":""}]})"), "$.capabilities.agents[0].name",
              "must not be empty");
  CHECK_ISSUE(make(R"({"agents":[{"purpose":"p"}]})"),
              "$.capabilities.agents[0].name", "is required");
}

TEST_CASE("a package with dependencies may name their skills",
          "[packages][manifest]") {
  // Which skills a dependency brings is known only at install time; the
  // installer checks that they resolve.
  auto with_deps = make(R"({"agents":[{"name":"a","skills":["triage.escalate"]}]})",
                        R"(, "dependencies": {"acme/base": "^1.0"})");
  auto parsed = parse_manifest(with_deps, platform_catalog());
  INFO(dump(parsed.issues));
  CHECK(parsed.manifest);
  CHECK_ISSUE(make(R"({"agents":[{"name":"a","skills":["triage.escalate"]}]})"),
              "$.capabilities.agents[0].skills[0]", "unknown skill");
}

TEST_CASE("directive types are platform types covered by a permission",
          "[packages][manifest]") {
  CHECK_ISSUE(make(R"({"directive_types":["email.send"]})"),
              "$.capabilities.directive_types[0]", "unknown directive type");
  CHECK_ISSUE(R"({"name":"acme/x","version":"1.0.0",
                  "capabilities":{"directive_types":["webhook.post"]}})",
              "$.capabilities.directive_types[0]",
              "needs the permission \"directive:webhook.post\"");
  // A wildcard permission covers it.
  auto r = parse_manifest(R"({"name":"acme/x","version":"1.0.0",
                              "permissions":["directive:*"],
                              "capabilities":{"directive_types":["webhook.post"]}})",
                          platform_catalog());
  INFO(dump(r.issues));
  CHECK(r.manifest);
  CHECK_ISSUE(make(R"({"subscriptions":[{"name":"s","pattern":"a.*",
                                         "directive_type":"webhook.post"}]})"),
              "$.capabilities.subscriptions[0].directive_type", "not listed");
  CHECK_ISSUE(make(R"({"directive_types":["webhook.post"],
                       "subscriptions":[{"name":"s","pattern":"a..b",
                                         "directive_type":"webhook.post"}]})"),
              "$.capabilities.subscriptions[0].pattern", "");
  // A catalog without the type refuses it.
  manifest_catalog narrow{{}, {"signal.emit"}};
  auto n = parse_manifest(make(R"({"directive_types":["webhook.post"]})"), narrow);
  CHECK(has(n.issues, "$.capabilities.directive_types[0]", "unknown directive type"));
}

TEST_CASE("tools, schedules and webhook destinations", "[packages][manifest]") {
  CHECK_ISSUE(make(R"({"tools":[{"name":"t","skill":"no.such"}]})"),
              "$.capabilities.tools[0].skill", "unknown skill");
  CHECK_ISSUE(make(R"({"agents":[{"name":"a"}],
                       "schedules":[{"name":"s","cron":"61 * * * *","agent":"a"}]})"),
              "$.capabilities.schedules[0].cron", "not a valid cron expression");
  CHECK_ISSUE(make(R"({"schedules":[{"name":"s","cron":"@daily","agent":"ghost"}]})"),
              "$.capabilities.schedules[0].agent", "unknown agent \"ghost\"");
  CHECK_ISSUE(make(R"({"agents":[{"name":"a"}],
                       "schedules":[{"name":"s","cron":"@daily","agent":"a",
                                     "window_hours":0}]})"),
              "$.capabilities.schedules[0].window_hours", "between");
  CHECK_ISSUE(make(R"({"webhook_destinations":[{"name":"w","url":"ftp://x"}]})"),
              "$.capabilities.webhook_destinations[0].url", "http(s) URL");
  CHECK_ISSUE(make(R"({"webhook_destinations":[{"name":"w","url":"https://x",
                                                "secret":"whsec_literal"}]})"),
              "$.capabilities.webhook_destinations[0].secret",
              "must be exactly {{secrets.<field>}}");
  CHECK_ISSUE(make(R"({"webhook_destinations":[{"name":"w","url":"https://x",
                                                "secret":"{{secrets.webhook_url}}"}]})"),
              "$.capabilities.webhook_destinations[0].secret", "no secret field");
  // A nested secret field is fine.
  auto r = parse_manifest(make(R"({"webhook_destinations":[{"name":"w",
      "url":"https://x", "secret":"{{ secrets.smtp.password }}"}]})"),
                          platform_catalog());
  INFO(dump(r.issues));
  CHECK(r.manifest);
}

TEST_CASE("placeholders name config properties, secrets only as a secret",
          "[packages][manifest]") {
  CHECK_ISSUE(make(R"({"agents":[{"name":"a","system_prompt":"x {{config.nope}}"}]})"),
              "$.capabilities.agents[0].system_prompt",
              "{{config.nope}} names no property of config_schema");
  CHECK_ISSUE(make(R"({"agents":[{"name":"a","system_prompt":"{{config.smtp.port}}"}]})"),
              "$.capabilities.agents[0].system_prompt", "names no property");
  CHECK_ISSUE(make(R"({"agents":[{"name":"a","system_prompt":"{{config.webhook_secret}}"}]})"),
              "$.capabilities.agents[0].system_prompt", "names a secret field");
  CHECK_ISSUE(make(R"({"agents":[{"name":"a","purpose":"{{secrets.webhook_secret}}"}]})"),
              "$.capabilities.agents[0].purpose",
              "allowed only as a webhook destination's secret");
  CHECK_ISSUE(make(R"({"directive_types":["signal.emit"],
                       "subscriptions":[{"name":"s","pattern":"a.*","directive_type":"signal.emit",
                       "params":{"type":"x.y","payload":{"k":"{{secrets.smtp.password}}"}}}]})"),
              "$.capabilities.subscriptions[0].params.payload.k",
              "allowed only as a webhook destination's secret");
  CHECK_ISSUE(make("{}", R"(,"install":[{"action":"signal.emit","type":"a.b",
                                          "payload":{"x":"{{config.missing}}"}}])"),
              "$.install[0].payload.x", "names no property");
}

TEST_CASE("config_schema must be a usable object schema", "[packages][manifest]") {
  CHECK_ISSUE(R"({"name":"acme/x","version":"1.0.0","config_schema":{"type":"string"}})",
              "$.config_schema.type", "must be \"object\"");
  CHECK_ISSUE(R"({"name":"acme/x","version":"1.0.0",
                  "config_schema":{"type":"object","properties":{"a":{"type":"nope"}}}})",
              "$.config_schema.properties.a.type", "unknown type");
  CHECK_ISSUE(R"({"name":"acme/x","version":"1.0.0",
                  "config_schema":{"type":"object","properties":{"a":{"secret":"yes"}}}})",
              "$.config_schema.properties.a.secret", "must be a boolean");
  CHECK_ISSUE(R"({"name":"acme/x","version":"1.0.0","config_schema":"{}"})",
              "$.config_schema", "expected an object");
}

TEST_CASE("dependencies, permissions and limits", "[packages][manifest]") {
  CHECK_ISSUE(make("{}", R"(,"dependencies":{"acme/triage":"^1.0"})"),
              "$.dependencies.acme/triage", "cannot depend on itself");
  CHECK_ISSUE(make("{}", R"(,"dependencies":{"not a name":"^1.0"})"),
              "$.dependencies.not a name", "not a package name");
  CHECK_ISSUE(make("{}", R"(,"dependencies":{"acme/base":"^^1"})"),
              "$.dependencies.acme/base", "invalid range");
  CHECK_ISSUE(make("{}", R"(,"dependencies":{"acme/base":1})"),
              "$.dependencies.acme/base", "expected a version range string");
  CHECK_ISSUE(R"({"name":"acme/x","version":"1.0.0","permissions":["admin"]})",
              "$.permissions[0]", "unknown permission");
  CHECK_ISSUE(R"({"name":"acme/x","version":"1.0.0",
                  "permissions":["agents:run","agents:run"]})",
              "$.permissions[1]", "duplicate permission");
  CHECK_ISSUE(make("{}", R"(,"limits":{"max_agents":-1})"), "$.limits.max_agents",
              "between");
  CHECK_ISSUE(make("{}", R"(,"limits":{"tokens":1})"), "$.limits.tokens",
              "unknown member");
  CHECK_ISSUE(make(R"({"agents":[{"name":"a"},{"name":"b"}]})",
                   R"(,"limits":{"max_agents":1})"),
              "$.capabilities.agents", "2 agents, more than limits.max_agents (1)");
  CHECK_ISSUE(make(R"({"agents":[{"name":"a"}]})", R"(,"limits":{"max_agents":0})"),
              "$.capabilities.agents", "1 agent, more than limits.max_agents (0)");
  // As many agents as allowed, and the limits kept.
  auto at_limit = parse_manifest(
    make(R"({"agents":[{"name":"a"},{"name":"b"}]})",
         R"(,"limits":{"max_agents":2,"executions_per_hour":5,"daily_budget_micros":7})"),
    platform_catalog());
  INFO(describe_issues(at_limit.issues));
  REQUIRE(at_limit.manifest);
  CHECK(at_limit.manifest->limits.max_agents == 2);
  CHECK(at_limit.manifest->limits.executions_per_hour == 5);
  CHECK(at_limit.manifest->limits.daily_budget_micros == 7);
}

TEST_CASE("steps have known actions for their list", "[packages][manifest]") {
  auto caps = R"({"agents":[{"name":"a"}]})";
  CHECK_ISSUE(make(caps, R"(,"install":[{"action":"shell.run"}])"),
              "$.install[0].action", "unknown action");
  CHECK_ISSUE(make(caps, R"(,"install":[{"action":"config.set","path":"a","value":1}])"),
              "$.install[0].action", "only in upgrade steps");
  CHECK_ISSUE(make(caps, R"(,"uninstall":[{"action":"agent.activate","agent":"a"}])"),
              "$.uninstall[0].action", "only in install and upgrade steps");
  CHECK_ISSUE(make(caps, R"(,"install":[{"action":"agent.pause","agent":"b"}])"),
              "$.install[0].agent", "unknown agent");
  CHECK_ISSUE(make(caps, R"(,"install":[{"action":"signal.emit"}])"),
              "$.install[0].type", "is required");
  CHECK_ISSUE(make(caps, R"(,"install":[{"action":"signal.emit","type":"Nope"}])"),
              "$.install[0].type", "");
  CHECK_ISSUE(make(caps, R"(,"upgrade":[{"action":"config.rename","from":"a..b","to":"c"}])"),
              "$.upgrade[0].from", "dotted config path");
  CHECK_ISSUE(make(caps, R"(,"upgrade":[{"action":"config.set","path":"a"}])"),
              "$.upgrade[0].value", "is required");
  CHECK_ISSUE(make(caps, R"(,"upgrade":[{"action":"config.remove","path":"a","x":1}])"),
              "$.upgrade[0].x", "unknown member");
  CHECK_ISSUE(make(caps, R"(,"upgrade":[{"type":"a.b"}])"), "$.upgrade[0].action",
              "is required");
}

TEST_CASE("every problem is reported at once", "[packages][manifest]") {
  auto found = issues_of(R"({"name":"X","version":"1","bogus":true,
                              "permissions":["nope"]})");
  INFO(dump(found));
  CHECK(found.size() == 4);
}

TEST_CASE("platform catalog lists the seeded skills and executors",
          "[packages][manifest]") {
  const auto& c = platform_catalog();
  for (auto s : {"text.summarize", "text.classify", "signal.emit", "webhook.post"})
    CHECK(std::find(c.platform_skills.begin(), c.platform_skills.end(), s)
          != c.platform_skills.end());
  CHECK(c.platform_directive_types
        == std::vector<std::string>{"signal.emit", "webhook.post"});
}

TEST_CASE("permissions and their coverage", "[packages][manifest]") {
  for (auto ok : {"signals:emit:forum.post", "signals:emit:forum.*",
                  "signals:read:*", "directive:webhook.post", "directive:*",
                  "skills:text.classify", "agents:run", "webhooks:post"})
    CHECK(permission_error(ok).empty());
  for (auto bad : {"", "signals:emit:", "signals:emit:Forum", "signals:write:a.b",
                   "directive:", "skills:A", "agents:*", "*", "root"}) {
    INFO(bad);
    CHECK_FALSE(permission_error(bad).empty());
  }
  std::vector<std::string> granted{"signals:emit:forum.*", "directive:*",
                                   "agents:run"};
  CHECK(scope_covered(granted, "signals:emit:forum.post"));
  CHECK(scope_covered(granted, "signals:emit:forum.post.created"));
  CHECK(scope_covered(granted, "signals:emit:forum.*"));
  CHECK_FALSE(scope_covered(granted, "signals:emit:forum"));
  CHECK_FALSE(scope_covered(granted, "signals:emit:forumx.post"));
  CHECK_FALSE(scope_covered(granted, "signals:emit:*"));
  CHECK_FALSE(scope_covered(granted, "signals:read:forum.post"));
  CHECK(scope_covered(granted, "directive:webhook.post"));
  CHECK(scope_covered(granted, "agents:run"));
  CHECK_FALSE(scope_covered(granted, "webhooks:post"));
  CHECK_FALSE(scope_covered({}, "agents:run"));
  CHECK(uncovered_scopes(granted, {"agents:run", "webhooks:post", "signals:read:a.b",
                                   "directive:signal.emit"})
        == std::vector<std::string>{"webhooks:post", "signals:read:a.b"});
}

TEST_CASE("secret fields and splitting a config", "[packages][manifest]") {
  CHECK(secret_fields(schema)
        == std::vector<std::string>{"webhook_secret", "smtp.password"});
  CHECK(secret_fields("not json").empty());
  auto split = split_secrets(
    schema, R"({"webhook_url":"https://x","webhook_secret":"whsec_abc",
                "smtp":{"host":"h","password":"p4ss"},"extra":[1]})");
  CHECK(split.plain == R"({"webhook_url":"https://x","smtp":{"host":"h"},"extra":[1]})");
  REQUIRE(split.secrets.size() == 2);
  CHECK(split.secrets.at("webhook_secret") == R"("whsec_abc")");
  CHECK(split.secrets.at("smtp.password") == R"("p4ss")");
  CHECK(split.plain.find("whsec_abc") == std::string::npos);
  // Absent secrets are absent from both parts.
  auto none = split_secrets(schema, R"({"webhook_url":"https://x"})");
  CHECK(none.plain == R"({"webhook_url":"https://x"})");
  CHECK(none.secrets.empty());
  // Not an object: nothing is kept.
  auto bad = split_secrets(schema, R"("whsec_abc")");
  CHECK(bad.plain == "{}");
  CHECK(bad.secrets.empty());
}

TEST_CASE("fill_config puts config values into texts", "[packages][manifest]") {
  const std::string config
    = R"({"url":"https://hooks.example/a","n":3,"labels":["a","b"],
          "nested":{"q":"say \"hi\""},"flag":true})";
  CHECK(fill_config("post to {{config.url}} ({{ config.n }})", config)
        == "post to https://hooks.example/a (3)");
  CHECK(fill_config("labels {{config.labels}}", config) == R"(labels ["a","b"])");
  CHECK(fill_config("{{config.nested.q}}|{{config.missing}}|{{secrets.k}}", config)
        == R"(say "hi"||{{secrets.k}})");
  CHECK(fill_config("no placeholders", config) == "no placeholders");
  // JSON context: whole-string placeholders become the value's JSON.
  CHECK(fill_config(R"({"url":"{{config.url}}","n":"{{config.n}}","l":"{{config.labels}}"})",
                    config, true)
        == R"({"url":"https://hooks.example/a","n":3,"l":["a","b"]})");
  CHECK(fill_config(R"({"text":"q={{config.nested.q}} n={{config.n}}","f":"{{config.flag}}"})",
                    config, true)
        == R"({"text":"q=say \"hi\" n=3","f":true})");
  CHECK(fill_config(R"({"m":"{{config.missing}}","s":"{{secrets.k}}"})", config, true)
        == R"({"m":"","s":"{{secrets.k}}"})");
  // Escapes in untouched strings stay as they were.
  CHECK(fill_config(R"({"a":"x\"y","b":["{{config.n}}"]})", config, true)
        == R"({"a":"x\"y","b":[3]})");
}
