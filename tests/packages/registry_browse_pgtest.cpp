// Reading the registry over real HTTP: listing with search and cursors,
// versions ordered by SemVer precedence (never by text), the latest
// version, yanking (hidden from resolution, still readable), and
// resolution with ranges, pre-releases, dependencies, conflicts and cycles.

#include "packages/registry_support.hpp"

using namespace fp;
using namespace fp::registry_test;

namespace {

/// The `name` members of a list answer's items, and its next_cursor.
std::pair<std::vector<std::string>, std::string> page(const std::string& body) {
  json_doc d{body};
  std::vector<std::string> names;
  for (auto item : d.root["items"].get_array())
    names.push_back(str(item, "name"));
  return {names, str(d.root, "next_cursor")};
}

std::string resolve_target(const std::string& package, const std::string& range,
                           const std::string& extra = {}) {
  return "/api/v1/packages/" + package + "/resolve?range=" + query_value(range)
         + extra;
}

} // namespace

TEST_CASE("registry: list, search and cursor", "[packages][registry]") {
  registry_fixture r{"reg_list"};
  r.published(manifest("acme/alpha", "1.0.0", "Alpha tools"));
  r.published(manifest("acme/beta-kit", "1.0.0", "Search me: WIDGETS inside"));
  r.published(manifest("acme/beta-kit", "1.1.0-rc.1", "Search me: WIDGETS inside"));
  r.published(manifest("zeta/omega", "0.1.0", "Last one"));
  r.published(manifest("zeta/pre", "0.1.0-alpha.1", "Only a pre-release"));

  // Any authenticated reader: an org's read key, a session without an
  // organization.
  auto all = r.with(r.f.acme.reader, "GET", "/api/v1/packages");
  INFO(all.body);
  REQUIRE(all.status == 200);
  auto [names, cursor] = page(all.body);
  CHECK(names == std::vector<std::string>{"acme/alpha", "acme/beta-kit",
                                          "zeta/omega", "zeta/pre"});
  CHECK(cursor.empty());
  json_doc d{all.body};
  simdjson::dom::array items = d.root["items"].get_array();
  auto first = *items.begin();
  CHECK(str(first, "publisher") == "acme");
  CHECK(str(first, "description") == "Alpha tools");
  CHECK(str(first, "latest_version") == "1.0.0");
  CHECK(num(first, "version_count") == 1);
  CHECK(!str(first, "created_at").empty());
  CHECK(!str(first, "updated_at").empty());
  for (auto item : items) {
    if (str(item, "name") == "acme/beta-kit") {
      // A release beats a higher pre-release.
      CHECK(str(item, "latest_version") == "1.0.0");
      CHECK(num(item, "version_count") == 2);
    }
    if (str(item, "name") == "zeta/pre")
      CHECK(str(item, "latest_version") == "0.1.0-alpha.1");
  }
  CHECK(r.as(r.owner, "GET", "/api/v1/packages").status == 200);
  CHECK(call(r.f.port, "GET", "/api/v1/packages").status == 401);

  // Pages of two.
  auto p1 = r.with(r.f.acme.reader, "GET", "/api/v1/packages?limit=2");
  REQUIRE(p1.status == 200);
  auto [n1, c1] = page(p1.body);
  CHECK(n1 == std::vector<std::string>{"acme/alpha", "acme/beta-kit"});
  REQUIRE(!c1.empty());
  auto p2 = r.with(r.f.acme.reader, "GET",
                   "/api/v1/packages?limit=2&cursor=" + query_value(c1));
  REQUIRE(p2.status == 200);
  auto [n2, c2] = page(p2.body);
  CHECK(n2 == std::vector<std::string>{"zeta/omega", "zeta/pre"});
  CHECK(c2.empty());

  // Search: name or description, case-insensitive.
  auto widgets = r.with(r.f.acme.reader, "GET", "/api/v1/packages?q=widgets");
  CHECK(page(widgets.body).first == std::vector<std::string>{"acme/beta-kit"});
  auto alpha = r.with(r.f.acme.reader, "GET", "/api/v1/packages?q=ALPHA");
  CHECK(page(alpha.body).first == std::vector<std::string>{"acme/alpha"});
  auto zeta = r.with(r.f.acme.reader, "GET", "/api/v1/packages?q=zeta%2F");
  CHECK(page(zeta.body).first
        == std::vector<std::string>{"zeta/omega", "zeta/pre"});
  auto none = r.with(r.f.acme.reader, "GET", "/api/v1/packages?q=100%25");
  CHECK(none.status == 200);
  CHECK(page(none.body).first.empty());

  // Documented in the OpenAPI document.
  auto openapi = call(r.f.port, "GET", "/api/v1/openapi.json");
  REQUIRE(openapi.status == 200);
  for (auto path : {"\"/api/v1/packages\":{\"post\"",
                    "\"/api/v1/packages/{publisher}/{name}\":{\"get\"",
                    "\"/api/v1/packages/{publisher}/{name}/resolve\"",
                    "\"/api/v1/packages/{publisher}/{name}/versions/{version}\"",
                    "/versions/{version}/yank\":{\"post\"",
                    "/versions/{version}/unyank\":{\"post\""}) {
    INFO(path);
    CHECK(openapi.body.find(path) != std::string::npos);
  }

  // Bad parameters.
  CHECK(r.with(r.f.acme.reader, "GET", "/api/v1/packages?limit=0").status == 422);
  CHECK(r.with(r.f.acme.reader, "GET", "/api/v1/packages?cursor=nonsense").status
        == 422);
  CHECK(r.with(r.f.acme.reader, "GET", "/api/v1/packages/acme/nothing").status
        == 404);
  CHECK(r.with(r.f.acme.reader, "GET",
               "/api/v1/packages/acme/alpha/versions/9.0.0")
          .status
        == 404);
}

TEST_CASE("registry: versions by precedence, yanking and resolution",
          "[packages][registry]") {
  registry_fixture r{"reg_versions"};
  // Published out of order; by text "1.10.0" < "1.9.0".
  for (auto v : {"1.9.0", "1.0.0-rc.1", "1.10.0", "1.0.0", "2.0.0-beta.1"})
    r.published(manifest("acme/tools", v));

  auto got = r.with(r.f.acme.reader, "GET", "/api/v1/packages/acme/tools");
  INFO(got.body);
  REQUIRE(got.status == 200);
  json_doc d{got.body};
  std::vector<std::string> order;
  for (auto v : d.root["versions"].get_array()) {
    order.push_back(str(v, "version"));
    CHECK(str(v, "content_sha256").size() == 64);
    CHECK(!str(v, "published_at").empty());
  }
  CHECK(order == std::vector<std::string>{"2.0.0-beta.1", "1.10.0", "1.9.0",
                                          "1.0.0", "1.0.0-rc.1"});
  CHECK(str(d.root, "latest_version") == "1.10.0");
  CHECK(num(d.root, "version_count") == 5);

  auto resolved = [&](const std::string& range, const std::string& extra = {}) {
    auto res = r.with(r.f.acme.reader, "GET",
                      resolve_target("acme/tools", range, extra));
    INFO(range << extra << " -> " << res.body);
    REQUIRE(res.status == 200);
    json_doc j{res.body};
    return str(j.root, "version");
  };
  CHECK(resolved("^1.0") == "1.10.0");
  CHECK(resolved("~1.9") == "1.9.0");
  CHECK(resolved("1.0.0") == "1.0.0");
  CHECK(resolved(">=1.0.0 <1.10.0") == "1.9.0");
  CHECK(resolved("1.0.0 - 1.9") == "1.9.0");
  CHECK(resolved("") == "1.10.0");
  // Pre-releases only when asked for, or named by the range.
  CHECK(resolved("*", "&prerelease=true") == "2.0.0-beta.1");
  CHECK(resolved(">=2.0.0-beta.0") == "2.0.0-beta.1");
  CHECK(resolved("<1.0.0", "&prerelease=true") == "1.0.0-rc.1");

  // Yank 1.10.0: gone from resolution and from latest, still readable.
  auto yank = r.as(r.admin, "POST",
                   "/api/v1/packages/acme/tools/versions/1.10.0/yank",
                   R"({"reason":"leaks memory"})");
  INFO(yank.body);
  REQUIRE(yank.status == 200);
  CHECK(resolved("^1.0") == "1.9.0");
  auto exact_yanked = r.with(r.f.acme.reader, "GET",
                             resolve_target("acme/tools", "1.10.0"));
  CHECK(exact_yanked.status == 422);
  auto still = r.with(r.f.acme.reader, "GET",
                      "/api/v1/packages/acme/tools/versions/1.10.0");
  REQUIRE(still.status == 200);
  json_doc s{still.body};
  CHECK(s.root["yanked"].get_bool().value());
  CHECK(str(s.root, "yanked_reason") == "leaks memory");
  CHECK(str(s.root["manifest"], "version") == "1.10.0");
  auto after = r.with(r.f.acme.reader, "GET", "/api/v1/packages/acme/tools");
  json_doc a{after.body};
  CHECK(str(a.root, "latest_version") == "1.9.0");
  for (auto v : a.root["versions"].get_array())
    if (str(v, "version") == "1.10.0")
      CHECK(v["yanked"].get_bool().value());

  // Nothing matches: 422 with the resolver's words and kind.
  auto none = r.with(r.f.acme.reader, "GET", resolve_target("acme/tools", "^3.0"));
  INFO(none.body);
  CHECK(none.status == 422);
  CHECK(is_problem(none));
  json_doc nd{none.body};
  CHECK(str(nd.root, "kind") == "no_match");
  CHECK(str(nd.root, "detail").find("acme/tools") != std::string::npos);
  auto unknown = r.with(r.f.acme.reader, "GET", resolve_target("acme/nope", "^1"));
  CHECK(unknown.status == 404);
  json_doc ud{unknown.body};
  CHECK(str(ud.root, "kind") == "not_found");
  auto bad = r.with(r.f.acme.reader, "GET", resolve_target("acme/tools", "^^1"));
  CHECK(bad.status == 422);
  CHECK(r.with(r.f.acme.reader, "GET",
               resolve_target("acme/tools", "^1", "&prerelease=maybe"))
          .status
        == 422);
}

TEST_CASE("registry: resolution through dependencies", "[packages][registry]") {
  registry_fixture r{"reg_resolve"};
  // app/a -> lib/b ^1.0; lib/b 1.1.0 -> lib/c ^2.0.
  r.published(manifest("lib/c", "1.0.0"));
  r.published(manifest("lib/c", "2.0.0"));
  r.published(manifest("lib/b", "1.0.0"));
  r.published(manifest("lib/b", "1.1.0", "B", {{"lib/c", "^2.0"}}));
  r.published(manifest("app/a", "1.0.0", "A", {{"lib/b", "^1.0"}}));

  auto ok = r.with(r.f.acme.reader, "GET", resolve_target("app/a", "^1"));
  INFO(ok.body);
  REQUIRE(ok.status == 200);
  json_doc d{ok.body};
  CHECK(str(d.root, "version") == "1.0.0");
  CHECK(str(d.root["chosen"], "app/a") == "1.0.0");
  CHECK(str(d.root["chosen"], "lib/b") == "1.1.0");
  CHECK(str(d.root["chosen"], "lib/c") == "2.0.0");
  CHECK(strings(d.root, "install_order")
        == std::vector<std::string>{"lib/c", "lib/b", "app/a"});

  // A conflict: x/a needs x/c ^1.0, x/b needs x/c ^2.0.
  r.published(manifest("x/c", "1.0.0"));
  r.published(manifest("x/c", "2.0.0"));
  r.published(manifest("x/a", "1.0.0", "A", {{"x/c", "^1.0"}}));
  r.published(manifest("x/b", "1.0.0", "B", {{"x/c", "^2.0"}}));
  r.published(manifest("x/root", "1.0.0", "Root", {{"x/a", "^1.0"}, {"x/b", "^1.0"}}));
  auto conflict = r.with(r.f.acme.reader, "GET", resolve_target("x/root", "1.0.0"));
  INFO(conflict.body);
  CHECK(conflict.status == 422);
  json_doc cd{conflict.body};
  CHECK(str(cd.root, "kind") == "conflict");
  auto detail = str(cd.root, "detail");
  CHECK(detail.find("x/c") != std::string::npos);
  CHECK(detail.find("^1.0") != std::string::npos);
  CHECK(detail.find("^2.0") != std::string::npos);
  auto involved = strings(cd.root, "packages");
  CHECK(std::find(involved.begin(), involved.end(), "x/c") != involved.end());

  // A cycle: y/a -> y/b -> y/a.
  r.published(manifest("y/a", "1.0.0", "A", {{"y/b", "^1"}}));
  r.published(manifest("y/b", "1.0.0", "B", {{"y/a", "^1"}}));
  auto cycle = r.with(r.f.acme.reader, "GET", resolve_target("y/a", "^1"));
  INFO(cycle.body);
  CHECK(cycle.status == 422);
  json_doc yd{cycle.body};
  CHECK(str(yd.root, "kind") == "cycle");
  auto cycle_detail = str(yd.root, "detail");
  CHECK(cycle_detail.find("y/a") != std::string::npos);
  CHECK(cycle_detail.find("y/b") != std::string::npos);
  CHECK(cycle_detail.find("->") != std::string::npos);

  // An unknown dependency is the dependent's problem: 422, kind not_found.
  r.published(manifest("z/a", "1.0.0", "A", {{"z/missing", "^1"}}));
  auto missing = r.with(r.f.acme.reader, "GET", resolve_target("z/a", "^1"));
  INFO(missing.body);
  CHECK(missing.status == 422);
  json_doc md{missing.body};
  CHECK(str(md.root, "kind") == "not_found");
  CHECK(str(md.root, "detail").find("z/missing") != std::string::npos);
}
