// Dependencies: installed first (their own installations, required_by the
// root), kept while needed (uninstall refused), removed with the root when
// nothing else needs them; a dependency needing config fails the root.

#include "packages/install_support.hpp"

using namespace fp;
using namespace fp::install_test;

namespace {

const std::string base_v1 = R"({"name": "acme/base", "version": "1.0.0",
  "description": "Base tools",
  "capabilities": {"skills": [{"name": "base.tool", "kind": "prompt"}]}})";

const std::string needy_v1 = R"({"name": "acme/needy", "version": "1.0.0",
  "description": "Needs base",
  "capabilities": {
    "agents": [{"name": "needy", "skills": ["text.summarize"]}]},
  "dependencies": {"acme/base": "^1.0"}})";

const std::string strict_v1 = R"({"name": "acme/strict", "version": "1.0.0",
  "description": "Needs a key",
  "capabilities": {"skills": [{"name": "strict.tool", "kind": "prompt"}]},
  "config_schema": {"type": "object", "properties": {"key": {"type": "string"}},
                    "required": ["key"]}})";

const std::string fragile_v1 = R"({"name": "acme/fragile", "version": "1.0.0",
  "description": "Needs strict",
  "capabilities": {"skills": [{"name": "fragile.tool", "kind": "prompt"}]},
  "dependencies": {"acme/strict": "^1.0"}})";

const std::string loop_a = R"({"name": "acme/loop-a", "version": "1.0.0",
  "description": "a", "dependencies": {"acme/loop-b": "^1.0"}})";
const std::string loop_b = R"({"name": "acme/loop-b", "version": "1.0.0",
  "description": "b", "dependencies": {"acme/loop-a": "^1.0"}})";

} // namespace

TEST_CASE("dependencies: auto-installed, uninstall refused while needed, "
          "removed with the root",
          "[packages][install][dependencies]") {
  fixture f{"pkg_deps"};
  auto& a = f.acme;
  for (auto& m : {base_v1, needy_v1, strict_v1, fragile_v1, loop_a, loop_b})
    publish(*f.db, m);

  // A cycle is refused synchronously.
  auto cycle = install(f, a, R"({"package":"acme/loop-a"})");
  INFO(cycle.body);
  CHECK(cycle.status == 422);
  CHECK(cycle.body.find("acme/loop-b") != std::string::npos);

  auto res = install(f, a, R"({"package":"acme/needy"})");
  INFO(res.body);
  REQUIRE(res.status == 202);
  auto root = id_of(res);
  auto done = await_state(f, a, root, "installed");
  json_doc d{done};
  CHECK(str(d.root["dependencies"], "acme/base") == "^1.0");

  auto list = f.req(a.reader, "GET", "/api/v1/installations?package=acme/base");
  REQUIRE(list.status == 200);
  json_doc l{list.body};
  REQUIRE(count(l.root, "items") == 1);
  simdjson::dom::element dep = l.root["items"].at(0).value();
  CHECK(str(dep, "state") == "installed");
  CHECK(str(dep, "required_by") == root);
  auto dep_id = str(dep, "id");
  CHECK(count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                      + ".skills WHERE name = 'base.tool' AND installation_id = $1::uuid",
                 {dep_id})
        == 1);
  CHECK(count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                      + ".signals WHERE type = 'package.install.completed'")
        == 2);

  // Installing it directly answers with the existing installation.
  auto direct = install(f, a, R"({"package":"acme/base","range":"^1.0"})");
  CHECK(direct.status == 200);
  CHECK(id_of(direct) == dep_id);

  // Needed: uninstall refused.
  auto refused = f.req(a.admin, "DELETE", "/api/v1/installations/" + dep_id);
  INFO(refused.body);
  CHECK(refused.status == 409);
  CHECK(refused.body.find("acme/needy") != std::string::npos);

  // A yank hides a version from new installs but does not break the
  // installations of it: reconfiguring one still works.
  f.db->exec("UPDATE public.package_versions SET yanked = true "
             "WHERE package = 'acme/needy' AND version = '1.0.0'");
  auto patched = f.req(a.admin, "PATCH", "/api/v1/installations/" + root,
                       R"({"config": {}})");
  INFO(patched.body);
  REQUIRE(patched.status == 202);
  json_doc reconfigured{await_state(f, a, root, "installed")};
  CHECK(str(reconfigured.root, "version") == "1.0.0");
  CHECK(reconfigured.root["error"].is_null());

  // Uninstalling the root takes the dependency it pulled in with it.
  REQUIRE(f.req(a.admin, "DELETE", "/api/v1/installations/" + root).status == 202);
  await_state(f, a, root, "uninstalled");
  await_state(f, a, dep_id, "uninstalled");
  CHECK(count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                      + ".skills WHERE name = 'base.tool'")
        == 0);

  // A dependency whose config needs a value without default fails the
  // root, and nothing of either stays.
  auto frag = install(f, a, R"({"package":"acme/fragile"})");
  REQUIRE(frag.status == 202);
  auto failed = await_state(f, a, id_of(frag), "failed");
  json_doc x{failed};
  CHECK(str(x.root["error"], "step") == "dependencies");
  CHECK(str(x.root["error"], "message").find("acme/strict") != std::string::npos);
  CHECK(str(x.root["error"], "message").find("key") != std::string::npos);
  CHECK(count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                      + ".installations WHERE package = 'acme/strict'")
        == 0);
  CHECK(count_of(f, "SELECT count(*) FROM " + schema(a.slug)
                      + ".skills WHERE name IN ('strict.tool', 'fragile.tool')")
        == 0);
}
