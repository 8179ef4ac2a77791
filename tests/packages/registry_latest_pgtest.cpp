// GET /api/v1/packages/{publisher}/{name}/versions/latest over real HTTP:
// the version the listing calls latest (SemVer precedence, releases before
// pre-releases, yanked versions skipped), with its manifest.

#include "packages/registry_support.hpp"

using namespace fp;
using namespace fp::registry_test;

namespace {

std::string latest(registry_fixture& r, const std::string& package, int status = 200) {
  auto res = r.with(r.f.acme.reader, "GET",
                    "/api/v1/packages/" + package + "/versions/latest");
  INFO(res.body);
  REQUIRE(res.status == status);
  if (status != 200)
    return {};
  json_doc d{res.body};
  CHECK(str(d.root, "package") == package);
  CHECK(str(d.root["manifest"], "name") == package);
  CHECK(str(d.root["manifest"], "version") == str(d.root, "version"));
  return str(d.root, "version");
}

} // namespace

TEST_CASE("registry: the latest version with its manifest", "[packages][registry]") {
  registry_fixture r{"reg_latest"};
  // By text "1.10.0" < "1.9.0"; a release beats a higher pre-release.
  for (auto v : {"1.9.0", "1.10.0", "1.0.0", "2.0.0-beta.1"})
    r.published(manifest("acme/tools", v, "Tools"));
  r.published(manifest("acme/pre", "0.1.0-alpha.1"));
  CHECK(latest(r, "acme/tools") == "1.10.0");
  CHECK(latest(r, "acme/pre") == "0.1.0-alpha.1");

  // Yanked versions are skipped; a package whose every version is yanked
  // has none.
  REQUIRE(r.as(r.admin, "POST", "/api/v1/packages/acme/tools/versions/1.10.0/yank")
            .status
          == 200);
  CHECK(latest(r, "acme/tools") == "1.9.0");
  REQUIRE(r.as(r.admin, "POST", "/api/v1/packages/acme/pre/versions/0.1.0-alpha.1/yank")
            .status
          == 200);
  latest(r, "acme/pre", 404);
  latest(r, "acme/nothing", 404);

  // A real version named like the route still resolves through
  // .../versions/{version}; "latest" is never a SemVer version.
  CHECK(r.with(r.f.acme.reader, "GET", "/api/v1/packages/acme/tools/versions/1.0.0")
          .status
        == 200);

  // Documented.
  auto openapi = call(r.f.port, "GET", "/api/v1/openapi.json");
  REQUIRE(openapi.status == 200);
  CHECK(openapi.body.find("\"/api/v1/packages/{publisher}/{name}/versions/latest\"")
        != std::string::npos);
}
