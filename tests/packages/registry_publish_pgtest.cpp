// Publishing over real HTTP: immutable versions (201, 200 unchanged, 409
// for other content or a build-metadata twin), manifest problems with
// their paths (422), who may publish (403 for members, keys without the
// scope and other organizations' publishers), the publish-key flow
// (claiming a publisher, a key that can do nothing else, yanking), and the
// `fleetprompt package publish` command.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <algorithm>

#include "packages/registry_support.hpp"

using namespace fp;
using namespace fp::registry_test;

namespace {

/// The `path` members of a 422 problem's `errors`.
std::vector<std::string> error_paths(const std::string& body) {
  json_doc d{body};
  std::vector<std::string> out;
  simdjson::dom::array arr;
  if (d.root["errors"].get_array().get(arr))
    return out;
  for (auto e : arr) {
    out.push_back(str(e, "path"));
    CHECK(!str(e, "message").empty());
  }
  return out;
}

bool has(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

} // namespace

TEST_CASE("registry: published versions are immutable", "[packages][registry]") {
  registry_fixture r{"reg_publish"};
  auto body = manifest("acme/tools", "1.0.0", "Handy tools");

  auto made = r.publish(body);
  INFO(made.body);
  REQUIRE(made.status == 201);
  CHECK(made.header("location") == "/api/v1/packages/acme/tools/versions/1.0.0");
  json_doc d{made.body};
  CHECK(str(d.root, "package") == "acme/tools");
  CHECK(str(d.root, "version") == "1.0.0");
  CHECK_FALSE(d.root["yanked"].get_bool().value());
  CHECK(str(d.root, "published_by").rfind("user:", 0) == 0);
  CHECK(!str(d.root, "published_at").empty());
  auto sha = str(d.root, "content_sha256");
  CHECK(sha.size() == 64);
  // The hash is the sha256 of the canonical manifest the answer carries.
  std::string canonical = simdjson::to_string(d.root["manifest"]);
  CHECK(runtime::sha256_hex(canonical) == sha);
  CHECK(str(d.root["manifest"], "name") == "acme/tools");

  // The same manifest, written differently: unchanged.
  auto spaced = R"({ "description" : "Handy tools",  "version": "1.0.0",
                     "name": "acme/tools" })";
  auto again = r.publish(spaced);
  INFO(again.body);
  CHECK(again.status == 200);
  json_doc a{again.body};
  CHECK(str(a.root, "content_sha256") == sha);
  CHECK(test::scalar(*r.f.db, "SELECT count(*) FROM public.package_versions")
        == 1);

  // The same version with other content: 409, nothing stored.
  auto changed = r.publish(manifest("acme/tools", "1.0.0", "Other tools"));
  CHECK(changed.status == 409);
  CHECK(is_problem(changed));
  CHECK(changed.body.find("immutable") != std::string::npos);

  // A twin differing only in build metadata: 409 naming it.
  auto twin = r.publish(manifest("acme/tools", "1.0.0+build.7", "Handy tools"));
  CHECK(twin.status == 409);
  CHECK(twin.body.find("build metadata") != std::string::npos);
  CHECK(test::scalar(*r.f.db, "SELECT count(*) FROM public.package_versions")
        == 1);
  CHECK(test::text(*r.f.db, "SELECT description FROM public.packages WHERE "
                            "name = 'acme/tools'")
        == "Handy tools");

  // A new version is fine, and updates the package's description.
  r.published(manifest("acme/tools", "1.1.0", "Handier tools"));
  CHECK(test::text(*r.f.db, "SELECT description FROM public.packages WHERE "
                            "name = 'acme/tools'")
        == "Handier tools");
  // A version with build metadata is stored as published and found by
  // either text.
  r.published(manifest("acme/tools", "2.0.0+sha.5114f85", "Handy tools"));
  auto by_key = r.as(r.admin, "GET", "/api/v1/packages/acme/tools/versions/2.0.0");
  CHECK(by_key.status == 200);
  CHECK(by_key.body.find("\"version\":\"2.0.0+sha.5114f85\"") != std::string::npos);
  auto exact = r.as(r.admin, "GET",
                    "/api/v1/packages/acme/tools/versions/2.0.0+sha.5114f85");
  CHECK(exact.status == 200);

  // A published manifest read back hashes to its content_sha256.
  auto got = r.as(r.admin, "GET", "/api/v1/packages/acme/tools/versions/1.0.0");
  REQUIRE(got.status == 200);
  json_doc g{got.body};
  std::string stored = simdjson::to_string(g.root["manifest"]);
  CHECK(runtime::sha256_hex(stored) == sha);
  CHECK(str(g.root, "content_sha256") == sha);
}

TEST_CASE("registry: invalid manifests are refused with their paths",
          "[packages][registry]") {
  registry_fixture r{"reg_invalid"};
  auto bad = r.publish(R"({"name":"Not A Name","version":"1.0","description":"x"})");
  INFO(bad.body);
  CHECK(bad.status == 422);
  CHECK(is_problem(bad));
  auto paths = error_paths(bad.body);
  CHECK(has(paths, "$.name"));
  CHECK(has(paths, "$.version"));

  auto unknown = r.publish(manifest("acme/x", "1.0.0", "x", {}, R"("colour":"red")"));
  CHECK(unknown.status == 422);
  CHECK(has(error_paths(unknown.body), "$.colour"));

  auto self_dep = r.publish(manifest("acme/x", "1.0.0", "x", {{"acme/x", "^1.0"}}));
  CHECK(self_dep.status == 422);
  auto bad_range = r.publish(manifest("acme/x", "1.0.0", "x", {{"acme/y", "^^1"}}));
  CHECK(bad_range.status == 422);
  CHECK(bad_range.body.find("$.dependencies") != std::string::npos);
  auto bad_permission
    = r.publish(manifest("acme/x", "1.0.0", "x", {}, R"("permissions":["root:*"])"));
  CHECK(bad_permission.status == 422);
  CHECK(bad_permission.body.find("$.permissions[0]") != std::string::npos);

  // Not JSON: 400; not JSON at all by media type: 415.
  CHECK(r.publish("{\"name\":").status == 400);
  auto headers = r.admin;
  headers.push_back("Content-Type: text/plain");
  auto plain = test::fetch(r.f.port, "POST", "/api/v1/packages", headers,
                           manifest("acme/x", "1.0.0"));
  REQUIRE(plain);
  CHECK(plain->status == 415);
  CHECK(test::scalar(*r.f.db, "SELECT count(*) FROM public.packages") == 0);
}

TEST_CASE("registry: who may publish", "[packages][registry]") {
  registry_fixture r{"reg_who"};
  auto body = manifest("acme/tools", "1.0.0");

  // Unauthenticated, an owner's session (no platform admin), an admin key
  // without the scope: refused.
  CHECK(call(r.f.port, "POST", "/api/v1/packages", {}, body).status == 401);
  auto owner = r.as(r.owner, "POST", "/api/v1/packages", body);
  CHECK(owner.status == 403);
  CHECK(is_problem(owner));
  CHECK(r.with(r.f.acme.admin, "POST", "/api/v1/packages", body).status == 403);
  CHECK(r.with(r.f.acme.member, "POST", "/api/v1/packages", body).status == 403);

  // acme's publish key claims the unclaimed publisher "acme".
  auto made = r.with(r.acme_publish, "POST", "/api/v1/packages", body);
  INFO(made.body);
  REQUIRE(made.status == 201);
  json_doc d{made.body};
  CHECK(str(d.root, "published_by").rfind("api_key:", 0) == 0);
  CHECK(test::text(*r.f.db, "SELECT org_id::text FROM public.package_publishers "
                            "WHERE name = 'acme'")
        == r.f.acme.id);

  // beta's key may not publish under acme's publisher, not even the same
  // content, nor yank there.
  auto other = r.with(r.beta_publish, "POST", "/api/v1/packages",
                      manifest("acme/other", "1.0.0"));
  CHECK(other.status == 403);
  CHECK(other.body.find("another organization") != std::string::npos);
  CHECK(r.with(r.beta_publish, "POST", "/api/v1/packages", body).status == 403);
  CHECK(r.with(r.beta_publish, "POST",
               "/api/v1/packages/acme/tools/versions/1.0.0/yank")
          .status
        == 403);
  CHECK(test::scalar(*r.f.db,
                     "SELECT count(*) FROM public.packages WHERE name = "
                     "'acme/other'")
        == 0);

  // The platform admin publishes under any publisher without claiming it.
  r.published(manifest("acme/admin-made", "1.0.0"));
  r.published(manifest("freebies/thing", "1.0.0"));
  CHECK(test::text(*r.f.db, "SELECT coalesce(org_id::text, 'none') FROM "
                            "public.package_publishers WHERE name = 'freebies'")
        == "none");
  // ... so beta may claim "freebies" afterwards.
  CHECK(r.with(r.beta_publish, "POST", "/api/v1/packages",
               manifest("freebies/other", "1.0.0"))
          .status
        == 201);
  CHECK(test::text(*r.f.db, "SELECT org_id::text FROM public.package_publishers "
                            "WHERE name = 'freebies'")
        == r.f.beta.id);
}

TEST_CASE("registry: a publish-only key publishes and yanks, nothing else",
          "[packages][registry]") {
  registry_fixture r{"reg_key"};
  auto key = r.acme_publish;
  REQUIRE(r.with(key, "POST", "/api/v1/packages", manifest("acme/tools", "1.0.0"))
            .status
          == 201);
  REQUIRE(r.with(key, "POST", "/api/v1/packages", manifest("acme/tools", "1.1.0"))
            .status
          == 201);

  // Nothing but publishing: tenant routes, registry reads, key management.
  for (auto target : {"/api/v1/agents", "/api/v1/skills", "/api/v1/signals",
                      "/api/v1/packages", "/api/v1/packages/acme/tools",
                      "/api/v1/api-keys"}) {
    auto res = r.with(key, "GET", target);
    INFO(target << " " << res.body);
    CHECK(res.status == 403);
  }
  CHECK(r.with(key, "POST", "/api/v1/agents", R"({"name":"x"})").status == 403);
  CHECK(r.with(key, "POST", "/api/v1/api-keys", R"({"name":"k","scopes":["admin"]})")
          .status
        == 403);
  CHECK(r.with(key, "GET", "/api/v1/orgs/acme/members").status == 404);

  // A key with publish and read may read as well.
  auto both = r.key_of("acme", R"(["publish","read"])");
  CHECK(r.with(both, "GET", "/api/v1/packages").status == 200);
  CHECK(r.with(both, "GET", "/api/v1/agents").status == 200);

  // Yank and unyank its own version.
  auto yanked = r.with(key, "POST", "/api/v1/packages/acme/tools/versions/1.1.0/yank",
                       R"({"reason":"broken upgrade"})");
  INFO(yanked.body);
  REQUIRE(yanked.status == 200);
  json_doc y{yanked.body};
  CHECK(y.root["yanked"].get_bool().value());
  CHECK(str(y.root, "yanked_reason") == "broken upgrade");
  auto back = r.with(key, "POST", "/api/v1/packages/acme/tools/versions/1.1.0/unyank");
  REQUIRE(back.status == 200);
  json_doc b{back.body};
  CHECK_FALSE(b.root["yanked"].get_bool().value());
  CHECK(str(b.root, "yanked_reason").empty());

  // The body is optional but must be {reason} when sent.
  auto colour = r.with(key, "POST",
                       "/api/v1/packages/acme/tools/versions/1.1.0/yank",
                       R"({"colour":"red"})");
  CHECK(colour.status == 422);
  CHECK(colour.body.find("colour") != std::string::npos);
  CHECK(r.with(key, "POST", "/api/v1/packages/acme/tools/versions/1.1.0/yank",
               R"({"reason":7})")
          .status
        == 422);

  // Unknown versions and packages: 404; a non-admin session: 403.
  CHECK(r.with(key, "POST", "/api/v1/packages/acme/tools/versions/9.9.9/yank")
          .status
        == 404);
  CHECK(r.with(key, "POST", "/api/v1/packages/acme/nothing/versions/1.0.0/yank")
          .status
        == 404);
  CHECK(r.as(r.owner, "POST", "/api/v1/packages/acme/tools/versions/1.0.0/yank")
          .status
        == 403);
  CHECK(r.with(r.f.acme.admin, "POST",
               "/api/v1/packages/acme/tools/versions/1.0.0/yank")
          .status
        == 403);
  // The platform admin may.
  CHECK(r.as(r.admin, "POST", "/api/v1/packages/acme/tools/versions/1.0.0/yank")
          .status
        == 200);

  // Keys accept the new scope, and still refuse unknown ones.
  auto bad = call(r.f.port, "POST", "/api/v1/api-keys", r.owner,
                  R"({"name":"k","scopes":["publish","root"]})");
  CHECK(bad.status == 422);
  CHECK(bad.body.find("publish") != std::string::npos);
}

#ifdef FP_FLEETPROMPT_BIN
TEST_CASE("registry: fleetprompt package publish", "[packages][registry][cli]") {
  registry_fixture r{"reg_cli"};
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path()
             / ("fp_pkg_" + runtime::new_uuid_v7());
  fs::create_directories(dir);
  auto file = dir / "fleetprompt.package.json";
  auto out = (dir / "out.txt").string();
  auto write = [&](const std::string& text) {
    std::ofstream f{file};
    f << text;
  };
  auto run = [&](const std::string& target) {
    auto cmd = std::string{FP_FLEETPROMPT_BIN} + " package publish '" + target
               + "' --database-url '" + r.f.url + "' --log-level warn > "
               + out + " 2>&1";
    return std::system(cmd.c_str());
  };
  auto output = [&] {
    std::ifstream in{out};
    return std::string{std::istreambuf_iterator<char>{in},
                       std::istreambuf_iterator<char>{}};
  };

  write(manifest("acme/cli-made", "1.2.0", "From the command line"));
  CHECK(run(dir.string()) == 0);
  CHECK(output() == "published acme/cli-made@1.2.0\n");
  CHECK(run(file.string()) == 0);
  CHECK(output() == "unchanged acme/cli-made@1.2.0\n");
  CHECK(test::text(*r.f.db, "SELECT published_by FROM public.package_versions "
                            "WHERE package = 'acme/cli-made'")
        == "cli");
  // Visible through the API.
  CHECK(r.as(r.admin, "GET", "/api/v1/packages/acme/cli-made").status == 200);

  // Other content under the same version: a one-line error.
  write(manifest("acme/cli-made", "1.2.0", "Changed"));
  CHECK(run(dir.string()) != 0);
  auto err = output();
  CHECK(err.find("immutable") != std::string::npos);
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);

  // An invalid manifest: a one-line error naming the path.
  write(R"({"name":"acme/cli-made","version":"one","description":"x"})");
  CHECK(run(dir.string()) != 0);
  err = output();
  CHECK(err.find("$.version") != std::string::npos);
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);

  // A missing file.
  CHECK(run((dir / "nothing").string()) != 0);
  CHECK(output().find("cannot read") != std::string::npos);
  fs::remove_all(dir);
}
#endif
