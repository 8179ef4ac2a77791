// Skills, agents and the budget over real HTTP: problem bodies (401, 403,
// 404, 409, 422), roles (a member cannot create agents) and tenant
// isolation (org B never sees org A's agents).

#include "agents/http_support.hpp"

using namespace fp;
using namespace fp::http_test;

namespace {

/// The id of the skill named `name` in a GET /skills answer.
std::string skill_id(const std::string& body, const std::string& name) {
  json_doc d{body};
  for (auto s : d.root["skills"].get_array()) {
    if (str(s, "name") == name)
      return str(s, "id");
  }
  return {};
}

bool is_problem(const test::response& res) {
  return res.header("content-type").find("application/problem+json")
         != std::string::npos;
}

} // namespace

TEST_CASE("skills: catalog, overrides, read-only globals, roles", "[agents][http]") {
  fixture f{"http_skills"};
  auto& a = f.acme;

  // Unauthenticated and read-only callers.
  auto anon = call(f.port, "GET", "/api/v1/skills");
  CHECK(anon.status == 401);
  CHECK(is_problem(anon));
  auto list = f.req(a.reader, "GET", "/api/v1/skills");
  REQUIRE(list.status == 200);
  auto summarize = skill_id(list.body, "text.summarize");
  REQUIRE(!summarize.empty());
  CHECK(!skill_id(list.body, "webhook.post").empty());

  // Globals are read-only through a tenant.
  auto patch = f.req(a.admin, "PATCH", "/api/v1/skills/" + summarize,
                     R"({"description":"mine"})");
  CHECK(patch.status == 409);
  CHECK(is_problem(patch));
  CHECK(patch.body.find("override") != std::string::npos);
  CHECK(f.req(a.admin, "DELETE", "/api/v1/skills/" + summarize).status == 409);

  // Creating needs admin.
  auto body = R"({"name":"acme.greet","kind":"prompt","description":"Greets",)"
              R"("input_schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}})";
  auto denied = f.req(a.member, "POST", "/api/v1/skills", body);
  CHECK(denied.status == 403);
  CHECK(is_problem(denied));

  // Bad fields are named.
  auto bad = f.req(a.admin, "POST", "/api/v1/skills",
                   R"({"name":"x","kind":"prompt","input_schema":{"type":"nope"}})");
  CHECK(bad.status == 422);
  CHECK(bad.body.find("input_schema") != std::string::npos);
  auto bad_name = f.req(a.admin, "POST", "/api/v1/skills",
                        R"({"name":"Bad Name","kind":"prompt"})");
  CHECK(bad_name.status == 422);
  CHECK(bad_name.body.find("name") != std::string::npos);
  auto bad_kind = f.req(a.admin, "POST", "/api/v1/skills",
                        R"({"name":"a.b","kind":"magic"})");
  CHECK(bad_kind.status == 422);
  CHECK(bad_kind.body.find("kind") != std::string::npos);
  auto unknown = f.req(a.admin, "POST", "/api/v1/skills",
                       R"({"name":"a.b","kind":"prompt","colour":"red"})");
  CHECK(unknown.status == 422);
  CHECK(unknown.body.find("colour") != std::string::npos);

  auto made = f.req(a.admin, "POST", "/api/v1/skills", body);
  INFO(made.body);
  REQUIRE(made.status == 201);
  json_doc md{made.body};
  auto own = str(md.root, "id");
  CHECK(str(md.root, "scope") == "tenant");
  CHECK(made.header("location") == "/api/v1/skills/" + own);
  CHECK(f.req(a.admin, "POST", "/api/v1/skills", body).status == 409);

  auto edited = f.req(a.admin, "PATCH", "/api/v1/skills/" + own,
                      R"({"description":"Greets warmly"})");
  REQUIRE(edited.status == 200);
  CHECK(edited.body.find("Greets warmly") != std::string::npos);
  CHECK(f.req(a.admin, "PATCH", "/api/v1/skills/" + own, R"({"kind":"directive"})")
          .status
        == 422);

  // An override of a global by name replaces it in the tenant's catalog.
  auto over = f.req(a.admin, "POST", "/api/v1/skills",
                    R"({"name":"text.summarize","kind":"prompt","description":"ours"})");
  REQUIRE(over.status == 201);
  json_doc od{over.body};
  CHECK(od.root["overrides"].get_bool().value_unsafe());
  auto relist = f.req(a.reader, "GET", "/api/v1/skills");
  REQUIRE(relist.status == 200);
  CHECK(skill_id(relist.body, "text.summarize") == str(od.root, "id"));
  // The other organization still sees the global one, and none of acme's.
  auto beta_list = f.req(f.beta.reader, "GET", "/api/v1/skills");
  REQUIRE(beta_list.status == 200);
  CHECK(skill_id(beta_list.body, "text.summarize") == summarize);
  CHECK(skill_id(beta_list.body, "acme.greet").empty());
  CHECK(f.req(f.beta.reader, "GET", "/api/v1/skills/" + own).status == 404);
  CHECK(f.req(f.beta.admin, "DELETE", "/api/v1/skills/" + own).status == 404);

  CHECK(f.req(a.admin, "DELETE", "/api/v1/skills/" + own).status == 204);
  auto gone = f.req(a.reader, "GET", "/api/v1/skills/" + own);
  CHECK(gone.status == 404);
  CHECK(is_problem(gone));
  CHECK(f.req(a.reader, "GET", "/api/v1/skills/not-a-uuid").status == 404);
}

TEST_CASE("agents: lifecycle, validation, roles and isolation", "[agents][http]") {
  fixture f{"http_agents"};
  auto& a = f.acme;
  auto body = R"({"name":"triage","purpose":"sorts posts","skills":["text.summarize"],)"
              R"("triggers":["forum.post.*"],"max_tool_calls":3})";

  auto anon = call(f.port, "POST", "/api/v1/agents", {}, body);
  CHECK(anon.status == 401);
  auto denied = f.req(a.member, "POST", "/api/v1/agents", body);
  CHECK(denied.status == 403);
  CHECK(is_problem(denied));

  auto unknown_skill = f.req(a.admin, "POST", "/api/v1/agents",
                             R"({"name":"x","skills":["no.such"]})");
  CHECK(unknown_skill.status == 422);
  CHECK(unknown_skill.body.find("skills") != std::string::npos);
  auto bad_limit = f.req(a.admin, "POST", "/api/v1/agents",
                         R"({"name":"x","max_tokens":0})");
  CHECK(bad_limit.status == 422);
  CHECK(bad_limit.body.find("max_tokens") != std::string::npos);
  auto no_name = f.req(a.admin, "POST", "/api/v1/agents", R"({"purpose":"x"})");
  CHECK(no_name.status == 422);
  CHECK(no_name.body.find("name") != std::string::npos);

  auto made = f.req(a.admin, "POST", "/api/v1/agents", body);
  INFO(made.body);
  REQUIRE(made.status == 201);
  json_doc md{made.body};
  auto id = str(md.root, "id");
  CHECK(str(md.root, "state") == "draft");
  CHECK(str(md.root, "provider") == "local");
  CHECK(num(md.root, "max_tool_calls") == 3);
  CHECK(is_null(md.root, "daily_budget_micros"));
  CHECK(made.header("location") == "/api/v1/agents/" + id);
  CHECK(f.req(a.admin, "POST", "/api/v1/agents", body).status == 409);

  // Reads: any role of the organization; never another organization.
  CHECK(f.req(a.reader, "GET", "/api/v1/agents/" + id).status == 200);
  CHECK(f.req(f.beta.reader, "GET", "/api/v1/agents/" + id).status == 404);
  auto beta_list = f.req(f.beta.reader, "GET", "/api/v1/agents");
  REQUIRE(beta_list.status == 200);
  CHECK(beta_list.body.find(id) == std::string::npos);
  CHECK(f.req(f.beta.admin, "PATCH", "/api/v1/agents/" + id,
              R"({"state":"active"})")
          .status
        == 404);

  // Lifecycle through PATCH {state}.
  auto active = f.req(a.admin, "PATCH", "/api/v1/agents/" + id,
                      R"({"state":"active","daily_budget_micros":5000})");
  INFO(active.body);
  REQUIRE(active.status == 200);
  json_doc ad{active.body};
  CHECK(str(ad.root, "state") == "active");
  CHECK(num(ad.root, "daily_budget_micros") == 5000);
  CHECK(num(ad.root, "version") > num(md.root, "version"));
  auto back = f.req(a.admin, "PATCH", "/api/v1/agents/" + id,
                    R"({"state":"draft"})");
  CHECK(back.status == 409);
  CHECK(is_problem(back));
  CHECK(f.req(a.admin, "PATCH", "/api/v1/agents/" + id, R"({"state":"sleepy"})")
          .status
        == 422);
  CHECK(f.req(a.member, "PATCH", "/api/v1/agents/" + id, R"({"state":"paused"})")
          .status
        == 403);
  CHECK(f.req(a.admin, "PATCH", "/api/v1/agents/" + id, R"({"state":"paused"})")
          .status
        == 200);
  // A paused agent cannot run.
  CHECK(f.req(a.member, "POST", "/api/v1/agents/" + id + "/executions",
              R"({"input":{"message":"hi"}})")
          .status
        == 409);

  // Lists: newest first, cursor pagination, state filter.
  auto second = f.make_agent(a, R"({"name":"second"})");
  auto page1 = f.req(a.reader, "GET", "/api/v1/agents?limit=1");
  REQUIRE(page1.status == 200);
  json_doc p1{page1.body};
  REQUIRE(count(p1.root, "agents") == 1);
  auto cursor = str(p1.root, "next_cursor");
  REQUIRE(!cursor.empty());
  auto page2 = f.req(a.reader, "GET", "/api/v1/agents?limit=1&cursor=" + cursor);
  REQUIRE(page2.status == 200);
  json_doc p2{page2.body};
  REQUIRE(count(p2.root, "agents") == 1);
  CHECK(page1.body.find(second) != std::string::npos);
  CHECK(page2.body.find(id) != std::string::npos);
  CHECK(is_null(p2.root, "next_cursor"));
  CHECK(f.req(a.reader, "GET", "/api/v1/agents?cursor=garbage").status == 422);

  // Archive is final; delete.
  CHECK(f.req(a.admin, "PATCH", "/api/v1/agents/" + id, R"({"state":"archived"})")
          .status
        == 200);
  CHECK(f.req(a.admin, "PATCH", "/api/v1/agents/" + id, R"({"state":"active"})")
          .status
        == 409);
  auto listed = f.req(a.reader, "GET", "/api/v1/agents");
  CHECK(listed.body.find(id) == std::string::npos);
  auto all = f.req(a.reader, "GET", "/api/v1/agents?state=all");
  CHECK(all.body.find(id) != std::string::npos);
  CHECK(f.req(a.member, "DELETE", "/api/v1/agents/" + id).status == 403);
  CHECK(f.req(f.beta.admin, "DELETE", "/api/v1/agents/" + id).status == 404);
  CHECK(f.req(a.admin, "DELETE", "/api/v1/agents/" + id).status == 204);
  CHECK(f.req(a.admin, "DELETE", "/api/v1/agents/" + id).status == 404);
}

TEST_CASE("budget: read by members, set by admins", "[agents][http]") {
  fixture f{"http_budget"};
  auto& a = f.acme;
  auto none = f.req(a.reader, "GET", "/api/v1/budget");
  REQUIRE(none.status == 200);
  json_doc nd{none.body};
  CHECK(is_null(nd.root, "daily_budget_micros"));
  CHECK(num(nd.root, "spent_today_micros") == 0);
  CHECK(f.req(a.member, "PUT", "/api/v1/budget", R"({"daily_budget_micros":100})")
          .status
        == 403);
  auto bad = f.req(a.admin, "PUT", "/api/v1/budget", R"({"daily_budget_micros":-1})");
  CHECK(bad.status == 422);
  CHECK(bad.body.find("daily_budget_micros") != std::string::npos);
  auto set = f.req(a.admin, "PUT", "/api/v1/budget", R"({"daily_budget_micros":1000})");
  REQUIRE(set.status == 200);
  json_doc sd{set.body};
  CHECK(num(sd.root, "daily_budget_micros") == 1000);
  CHECK(num(sd.root, "remaining_micros") == 1000);
  // The other organization keeps no limit.
  json_doc bd{f.req(f.beta.reader, "GET", "/api/v1/budget").body};
  CHECK(is_null(bd.root, "daily_budget_micros"));
  auto cleared = f.req(a.admin, "PUT", "/api/v1/budget", R"({"daily_budget_micros":null})");
  REQUIRE(cleared.status == 200);
  json_doc cd{cleared.body};
  CHECK(is_null(cd.root, "daily_budget_micros"));
}

TEST_CASE("openapi: the agent endpoints are documented", "[agents][http]") {
  fixture f{"http_openapi"};
  auto doc = call(f.port, "GET", "/api/v1/openapi.json");
  REQUIRE(doc.status == 200);
  for (auto path :
       {"/api/v1/skills", "/api/v1/skills/{id}", "/api/v1/skills/{id}/test",
        "/api/v1/agents", "/api/v1/agents/{id}", "/api/v1/agents/{id}/executions",
        "/api/v1/budget", "/api/v1/executions", "/api/v1/executions/{id}",
        "/api/v1/executions/{id}/events", "/api/v1/executions/{id}/stream",
        "/api/v1/executions/{id}/cancel", "/api/v1/conversations",
        "/api/v1/conversations/{id}", "/api/v1/conversations/{id}/messages",
        "/api/v1/conversations/{id}/stream"})
    CHECK(doc.body.find(std::string{"\""} + path + "\"") != std::string::npos);
}
