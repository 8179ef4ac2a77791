// A package's limits over real HTTP against a real node: the installation
// keeps its manifest's limits, the engine refuses runs of its agents past
// executions_per_hour (rate_limited) or daily_budget_micros
// (budget_exceeded), the tenant's own agents are not limited, and an
// upgrade brings the new version's limits (a failed one keeps the old).

#include "packages/install_support.hpp"

#include "fp/storage/installations.hpp"

using namespace fp;
using namespace fp::install_test;

namespace {

/// A package `name` at `version` with one active agent `agent` and
/// `limits` (JSON object text); `extra_agents` are appended to its agents.
std::string limited(const std::string& name, const std::string& version,
                    const std::string& agent, const std::string& limits,
                    const std::string& extra_agents = "") {
  return R"({"name": ")" + name + R"(", "version": ")" + version
         + R"(", "description": "Limited",
    "capabilities": {"agents": [{"name": ")"
         + agent + R"(", "purpose": "Summarizes", "state": "active"})"
         + extra_agents + R"(]},
    "limits": )"
         + limits + "}";
}

std::string agent_of(fixture& f, const std::string& slug, const std::string& inst,
                     const std::string& name) {
  return test::text(*f.db, "SELECT id::text FROM " + schema(slug)
                             + ".agents WHERE installation_id = $1::uuid AND name = $2",
                    {inst, name});
}

/// Installs `package` at `version` as `t`'s admin; the installation's id
/// once installed.
std::string install_package(fixture& f, const tenant& t, const std::string& package,
                            const std::string& version) {
  auto res = install(f, t, R"({"package":")" + package + R"(","version":")" + version
                             + R"("})");
  INFO(res.body);
  REQUIRE(res.status == 202);
  auto id = id_of(res);
  await_state(f, t, id, "installed");
  return id;
}

/// Runs agent `agent` of `t` once; the finished execution's JSON.
std::string run_once(fixture& f, const tenant& t, const std::string& agent,
                     const std::string& message = "Summarize: the cat sat on the mat.") {
  auto run = f.req(t.member, "POST", "/api/v1/agents/" + agent + "/executions",
                   R"({"input":{"message":")" + message + R"("}})");
  INFO(run.body);
  REQUIRE(run.status == 202);
  json_doc d{run.body};
  return f.await_execution(t, str(d.root, "id"));
}

std::string status_of(const std::string& execution) {
  json_doc d{execution};
  return str(d.root, "status");
}

} // namespace

TEST_CASE("limits: executions_per_hour refuses the run past it, the tenant's own "
          "agents are free, an upgrade changes the limits",
          "[packages][install][limits]") {
  fixture f{"pkg_limits"};
  auto& a = f.acme;
  publish(*f.db, limited("acme/rated", "1.0.0", "rated-agent",
                         R"({"executions_per_hour": 2, "max_agents": 1})"));
  publish(*f.db, limited("acme/rated", "1.1.0", "rated-agent",
                         R"({"executions_per_hour": 10})"));
  // 1.2.0 fails to install: its second agent's name is the tenant's.
  publish(*f.db, limited("acme/rated", "1.2.0", "rated-agent",
                         R"({"executions_per_hour": 1})",
                         R"(,{"name": "mine", "state": "draft"})"));

  auto id = install_package(f, a, "acme/rated", "1.0.0");
  {
    json_doc d{f.req(a.reader, "GET", "/api/v1/installations/" + id).body};
    CHECK(num(d.root["limits"], "executions_per_hour") == 2);
    CHECK(num(d.root["limits"], "max_agents") == 1);
  }
  auto agent = agent_of(f, a.slug, id, "rated-agent");
  REQUIRE_FALSE(agent.empty());

  CHECK(status_of(run_once(f, a, agent)) == "succeeded");
  CHECK(status_of(run_once(f, a, agent)) == "succeeded");
  auto third = run_once(f, a, agent);
  INFO(third);
  json_doc td{third};
  CHECK(str(td.root, "status") == "failed");
  CHECK(str(td.root, "error_code") == "rate_limited");
  CHECK(str(td.root, "error")
        == "package acme/rated: 2 executions in the last hour (limit 2)");

  // An agent of the tenant's own is not limited by the package, nor counted.
  auto mine = f.make_agent(a, R"({"name":"mine"})");
  for (int i = 0; i < 3; ++i)
    CHECK(status_of(run_once(f, a, mine)) == "succeeded");
  auto counted = [&](const std::string& except) {
    auto n = storage::installation_executions_last_hour(*f.db, a.slug, id, except);
    REQUIRE(n);
    return *n;
  };
  CHECK(counted("") == 3);
  CHECK(counted(str(td.root, "id")) == 2);
  {
    auto lim = storage::installation_limits_of(*f.db, a.slug, id);
    REQUIRE(lim);
    REQUIRE(*lim);
    CHECK((*lim)->package == "acme/rated");
    CHECK((*lim)->executions_per_hour == 2);
    CHECK_FALSE((*lim)->daily_budget_micros);
    auto none = storage::installation_limits_of(*f.db, a.slug, "not-a-uuid");
    REQUIRE(none);
    CHECK_FALSE(*none);
  }

  // Another organization's installation has its own count.
  auto& b = f.beta;
  auto other = install_package(f, b, "acme/rated", "1.0.0");
  CHECK(status_of(run_once(f, b, agent_of(f, b.slug, other, "rated-agent")))
        == "succeeded");

  // 1.1.0 allows 10 an hour: the agent runs again.
  auto up = f.req(a.admin, "POST", "/api/v1/installations/" + id + "/upgrade",
                  R"({"version":"1.1.0"})");
  INFO(up.body);
  REQUIRE(up.status == 202);
  test::eventually([&] {
    json_doc d{f.req(a.reader, "GET", "/api/v1/installations/" + id).body};
    return str(d.root, "version") == "1.1.0" && str(d.root, "state") == "installed";
  });
  {
    json_doc d{await_state(f, a, id, "installed")};
    REQUIRE(str(d.root, "version") == "1.1.0");
    CHECK(num(d.root["limits"], "executions_per_hour") == 10);
    CHECK(d.root["limits"]["max_agents"].error() == simdjson::NO_SUCH_FIELD);
  }
  CHECK(agent_of(f, a.slug, id, "rated-agent") == agent);
  CHECK(status_of(run_once(f, a, agent)) == "succeeded");

  // A failed upgrade rolls back to 1.1.0 and its limits.
  auto failing = f.req(a.admin, "POST", "/api/v1/installations/" + id + "/upgrade",
                       R"({"version":"1.2.0"})");
  INFO(failing.body);
  REQUIRE(failing.status == 202);
  auto rolled = test::eventually([&] {
    json_doc d{f.req(a.reader, "GET", "/api/v1/installations/" + id).body};
    return str(d.root, "state") == "installed" && !is_null(d.root, "error");
  });
  CHECK(rolled);
  {
    json_doc d{f.req(a.reader, "GET", "/api/v1/installations/" + id).body};
    CHECK(str(d.root, "version") == "1.1.0");
    CHECK(num(d.root["limits"], "executions_per_hour") == 10);
  }
  CHECK(test::text(*f.db, "SELECT limits::text FROM " + schema(a.slug)
                            + ".installations WHERE id = $1::uuid",
                   {id})
        == R"({"executions_per_hour": 10})");
  CHECK(status_of(run_once(f, a, agent)) == "succeeded");
}

TEST_CASE("limits: daily_budget_micros refuses runs once the package spent it",
          "[packages][install][limits]") {
  // 1000 micro-units per token in and out: one run spends the budget.
  fixture f{"pkg_limits_budget",
            [](config::settings& cfg) { cfg.llm_prices = "local/*=1000:1000"; }};
  auto& a = f.acme;
  publish(*f.db, limited("acme/costly", "1.0.0", "costly-agent",
                         R"({"daily_budget_micros": 1000})",
                         R"(,{"name": "costly-helper", "state": "active"})"));
  auto id = install_package(f, a, "acme/costly", "1.0.0");
  {
    json_doc d{f.req(a.reader, "GET", "/api/v1/installations/" + id).body};
    CHECK(num(d.root["limits"], "daily_budget_micros") == 1000);
  }
  auto agent = agent_of(f, a.slug, id, "costly-agent");
  auto helper = agent_of(f, a.slug, id, "costly-helper");
  REQUIRE_FALSE(agent.empty());
  REQUIRE_FALSE(helper.empty());

  auto first = run_once(f, a, agent);
  REQUIRE(status_of(first) == "succeeded");
  auto spent = storage::installation_spent_today(*f.db, a.slug, id);
  REQUIRE(spent);
  CHECK(*spent >= 1000);
  CHECK(*spent
        == count_of(f, "SELECT coalesce(sum(cost_micros), 0)::bigint FROM "
                         + schema(a.slug) + ".executions WHERE agent_id = $1::uuid",
                    {agent}));

  // The budget is the package's: its other agent is refused as well.
  for (auto& who : {agent, helper}) {
    auto refused = run_once(f, a, who, "again");
    INFO(refused);
    json_doc d{refused};
    CHECK(str(d.root, "status") == "failed");
    CHECK(str(d.root, "error_code") == "budget_exceeded");
    auto why = str(d.root, "error");
    CHECK(why.rfind("daily budget of package acme/costly exhausted: spent ", 0) == 0);
    CHECK(why.find(" of 1000") != std::string::npos);
  }

  // The tenant's own agent spends from the organization, not the package.
  auto mine = f.make_agent(a, R"({"name":"mine"})");
  CHECK(status_of(run_once(f, a, mine)) == "succeeded");
}
