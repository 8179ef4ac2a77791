// The pure agent rules: validation, lifecycle and execution transitions,
// the permission decision, budgets, tool names, inputs and templates.

#include <catch2/catch.hpp>

#include "fp/actors/agent_rules.hpp"

using namespace fp;
using namespace fp::actors;

namespace {

storage::agent_record agent() {
  storage::agent_record a;
  a.name = "helper";
  a.skills = {"text.summarize", "webhook.post", "pkg.tool"};
  a.directive_types = {"webhook.post"};
  a.max_tool_calls = 2;
  return a;
}

storage::skill_record skill(std::string name, std::string kind = "prompt") {
  storage::skill_record s;
  s.name = std::move(name);
  s.kind = std::move(kind);
  return s;
}

} // namespace

TEST_CASE("engine rules: agent validation names bad fields", "[engine]") {
  auto a = agent();
  CHECK(validate_agent(a).empty());
  a.name = "  ";
  a.provider.clear();
  a.model.clear();
  a.triggers = {"forum.*", "bad pattern!"};
  a.max_tokens = 0;
  a.max_tool_calls = -1;
  a.daily_budget_micros = -5;
  auto issues = validate_agent(a);
  std::vector<std::string> fields;
  for (auto& i : issues)
    fields.push_back(i.field);
  CHECK(fields
        == std::vector<std::string>{"name", "provider", "model", "triggers[1]",
                                    "max_tokens", "max_tool_calls",
                                    "daily_budget_micros"});
}

TEST_CASE("engine rules: lifecycle and execution transitions", "[engine]") {
  CHECK(agent_transition_allowed("draft", "active"));
  CHECK(agent_transition_allowed("active", "paused"));
  CHECK(agent_transition_allowed("paused", "active"));
  CHECK(agent_transition_allowed("paused", "archived"));
  CHECK(agent_transition_allowed("draft", "archived"));
  CHECK_FALSE(agent_transition_allowed("archived", "active"));
  CHECK_FALSE(agent_transition_allowed("draft", "paused"));
  CHECK_FALSE(agent_transition_allowed("active", "draft"));
  CHECK_FALSE(agent_transition_allowed("active", "gone"));
  CHECK(agent_runnable("draft"));
  CHECK_FALSE(agent_runnable("paused"));
  CHECK(execution_transition_allowed("queued", "running"));
  CHECK(execution_transition_allowed("queued", "cancelled"));
  CHECK(execution_transition_allowed("running", "timed_out"));
  CHECK(execution_transition_allowed("running", "running"));
  CHECK_FALSE(execution_transition_allowed("succeeded", "running"));
  CHECK_FALSE(execution_transition_allowed("queued", "succeeded"));
}

TEST_CASE("engine rules: the permission decision", "[engine]") {
  auto a = agent();
  auto summarize = skill("text.summarize");
  tool_request req;
  req.skill = &summarize;
  req.skill_name = "text.summarize";
  CHECK(decide_tool_call(a, req).allowed);

  SECTION("unknown and unlisted skills") {
    req.skill = nullptr;
    req.skill_name = "nope";
    CHECK(decide_tool_call(a, req).reason == "unknown skill 'nope'");
    auto other = skill("text.classify");
    req.skill = &other;
    CHECK(decide_tool_call(a, req).reason
          == "skill 'text.classify' is not among the agent's skills");
  }
  SECTION("directive types") {
    auto hook = skill("webhook.post", "directive");
    req.skill = &hook;
    req.directive_type = "webhook.post";
    CHECK(decide_tool_call(a, req).allowed);
    req.directive_type = "signal.emit";
    auto d = decide_tool_call(a, req);
    CHECK_FALSE(d.allowed);
    CHECK(d.reason.find("directive type 'signal.emit'") != std::string::npos);
  }
  SECTION("installation scopes") {
    auto pkg = skill("pkg.tool");
    pkg.installation_id = "i1";
    pkg.required_scopes = {"signals:emit:forum.post", "directive:webhook.post"};
    req.skill = &pkg;
    a.granted_scopes = {"signals:emit:forum.*"};
    auto d = decide_tool_call(a, req);
    CHECK_FALSE(d.allowed);
    CHECK(d.reason.find("directive:webhook.post") != std::string::npos);
    a.granted_scopes.push_back("directive:webhook.post");
    CHECK(decide_tool_call(a, req).allowed);
  }
  SECTION("quotas") {
    req.calls_so_far = 2;
    CHECK(decide_tool_call(a, req).reason == "tool call limit of 2 reached");
    req.calls_so_far = 0;
    req.budget_exhausted = true;
    CHECK(decide_tool_call(a, req).reason == "budget exhausted");
  }
  SECTION("roles; system runs count as admin") {
    summarize.min_role = "admin";
    req.initiator_role = "member";
    CHECK_FALSE(decide_tool_call(a, req).allowed);
    req.initiator_role = "";
    CHECK(decide_tool_call(a, req).allowed);
    req.initiator_role = "owner";
    CHECK(decide_tool_call(a, req).allowed);
    summarize.min_role = "owner";
    req.initiator_role = "";
    CHECK_FALSE(decide_tool_call(a, req).allowed);
  }
}

TEST_CASE("engine rules: budgets", "[engine]") {
  CHECK(check_budget("a", std::nullopt, 100, std::nullopt, 100).allowed);
  CHECK(check_budget("a", 101, 100, 1000, 999).allowed);
  auto v = check_budget("helper", 100, 100, std::nullopt, 0);
  CHECK_FALSE(v.allowed);
  CHECK(v.error == "daily budget of agent helper exhausted: spent 100 of 100");
  CHECK_FALSE(check_budget("helper", std::nullopt, 0, 50, 60).allowed);
  CHECK(check_budget("helper", std::nullopt, 0, 50, 60).code == "budget_exceeded");
}

TEST_CASE("engine rules: installation limits", "[engine]") {
  // No limits: anything goes.
  CHECK(check_installation_limits("acme/x", std::nullopt, 1000, std::nullopt, 1000)
          .allowed);
  // Below both limits.
  auto ok = check_installation_limits("acme/x", 3, 2, 500, 499);
  CHECK(ok.allowed);
  CHECK(ok.error.empty());
  CHECK(ok.code.empty());
  // The hourly rate reached.
  auto rate = check_installation_limits("acme/x", 3, 3, std::nullopt, 0);
  CHECK_FALSE(rate.allowed);
  CHECK(rate.code == "rate_limited");
  CHECK(rate.error == "package acme/x: 3 executions in the last hour (limit 3)");
  // The daily budget reached.
  auto spent = check_installation_limits("acme/x", std::nullopt, 0, 500, 620);
  CHECK_FALSE(spent.allowed);
  CHECK(spent.code == "budget_exceeded");
  CHECK(spent.error == "daily budget of package acme/x exhausted: spent 620 of 500");
  // Both: the rate is named first.
  CHECK(check_installation_limits("acme/x", 1, 1, 1, 1).code == "rate_limited");
  // A zero limit refuses every run.
  CHECK_FALSE(check_installation_limits("acme/x", 0, 0, std::nullopt, 0).allowed);
  CHECK_FALSE(check_installation_limits("acme/x", std::nullopt, 0, 0, 0).allowed);
}

TEST_CASE("engine rules: tool names", "[engine]") {
  CHECK(tool_name_of("text.summarize") == "text__summarize");
  CHECK(skill_name_of("text__summarize") == "text.summarize");
  CHECK(skill_name_of("webhook.post") == "webhook.post");
  CHECK(skill_name_of(tool_name_of("a.b_c.d")) == "a.b_c.d");
}

TEST_CASE("engine rules: inputs and templates", "[engine]") {
  CHECK(render_input_text(R"({"message":"hi there"})") == "hi there");
  CHECK(render_input_text(R"({"text":"body"})") == "body");
  CHECK(render_input_text(R"({"n":1})") == R"({"n":1})");
  auto in = R"({"text":"T","labels":["a","b","c"],"n":3,"o":{"x":{"y":"deep"}},"f":true})";
  CHECK(render_template("Labels: {{input.labels}}\n{{ input.text }}", in)
        == "Labels: a, b, c\nT");
  CHECK(render_template("{{input.n}}/{{input.o.x.y}}/{{input.f}}/{{input.missing}}.", in)
        == "3/deep/true/.");
  CHECK(render_template("{{input.o}}", in) == R"({"x":{"y":"deep"}})");
  CHECK(render_template("no close {{input.text", in) == "no close {{input.text");
  auto sig = render_signal_input("forum.post.created", "human", "u1",
                                 R"({"text":"Hello"})");
  CHECK(sig.find("forum.post.created") != std::string::npos);
  CHECK(sig.find("Hello") != std::string::npos);
}
