// The console's pure parts: the Inertia protocol decisions, the shell, the
// asset names it serves, and the flash store's one-shot, bounded life.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "console/assets.hpp"
#include "console/flash.hpp"
#include "console/inertia.hpp"

using namespace fp::net;
using namespace fp::net::console;

namespace {

http_request inertia_get(std::string target) {
  http_request req;
  req.method = "GET";
  req.target = std::move(target);
  req.headers.push_back({"x-inertia", "true"});
  return req;
}

} // namespace

TEST_CASE("an Inertia visit is told apart from a first visit", "[console]") {
  http_request plain;
  plain.method = "GET";
  CHECK_FALSE(is_inertia(plain));
  CHECK(is_inertia(inertia_get("/")));
}

TEST_CASE("a stale asset version asks for a full reload", "[console]") {
  auto req = inertia_get("/agents");
  CHECK_FALSE(stale_version(req, "v1")); // no version sent: nothing to compare
  req.headers.push_back({"x-inertia-version", "v0"});
  CHECK(stale_version(req, "v1"));
  CHECK_FALSE(stale_version(req, "v0"));
  req.method = "POST"; // only visits (GET) are sent to reload
  CHECK_FALSE(stale_version(req, "v1"));
  auto res = location_response("/agents?x=1");
  CHECK(res.status == 409);
  CHECK(res.header("X-Inertia-Location") == "/agents?x=1");
}

TEST_CASE("a partial reload names its component and props", "[console]") {
  auto req = inertia_get("/system/actors");
  CHECK_FALSE(partial_props(req, "System/Actors"));
  req.headers.push_back({"x-inertia-partial-component", "System/Actors"});
  req.headers.push_back({"x-inertia-partial-data", "tree, stamp"});
  CHECK_FALSE(partial_props(req, "Dashboard/Index")); // another page: full props
  auto p = partial_props(req, "System/Actors");
  REQUIRE(p);
  CHECK(p->wants("tree", false));
  CHECK(p->wants("stamp", true)); // asked for: lazy props too
  CHECK_FALSE(p->wants("auth", false));
  req.headers.push_back({"x-inertia-partial-except", "stamp"});
  p = partial_props(req, "System/Actors");
  CHECK_FALSE(p->wants("stamp", false));
  partial_request none;
  CHECK(none.wants("auth", false));
  CHECK_FALSE(none.wants("history", true)); // lazy: only when named
}

TEST_CASE("the shell carries the page object where the client reads it",
          "[console]") {
  auto page = page_object("Auth/Login", R"({"note":"</script><b>&"})", "/login", "abc");
  auto html = html_shell(page, "main-1.js", {"main-1.css"});
  CHECK(html.find(R"(<script data-page="app" type="application/json">{"component":"Auth/Login")")
        != std::string::npos);
  CHECK(html.find("</script><b>") == std::string::npos); // cannot end the element
  CHECK(html.find(R"(\u003c/script\u003e\u003cb\u003e\u0026)") != std::string::npos);
  CHECK(html.find(R"(<script type="module" src="/assets/main-1.js">)") != std::string::npos);
  CHECK(html.find(R"(<link rel="stylesheet" href="/assets/main-1.css">)") != std::string::npos);
  CHECK(page.find(R"("url":"/login","version":"abc")") != std::string::npos);

  auto json = page_response(inertia_get("/login"), 200, page, "main-1.js", {});
  CHECK(json.content_type == "application/json");
  CHECK(json.header("X-Inertia") == "true");
  CHECK(json.header("Vary") == "X-Inertia");
  CHECK(json.header("Cache-Control") == "no-store");
  CHECK(json.body == page);
  auto see = see_other("/installations");
  CHECK(see.status == 303);
  CHECK(see.header("Location") == "/installations");
}

TEST_CASE("only hashed build files are served, cached for a year", "[console]") {
  CHECK(servable_name("main-C6QG_tUR.js"));
  CHECK_FALSE(servable_name(".vite"));
  CHECK_FALSE(servable_name("../secret"));
  CHECK_FALSE(servable_name("a/b.js"));
  CHECK_FALSE(servable_name(""));
  CHECK(media_type_of("x.css") == "text/css; charset=utf-8");
  CHECK(media_type_of("x.js") == "text/javascript; charset=utf-8");

  auto dir = std::filesystem::temp_directory_path() / "fp_console_assets_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / ".vite");
  assets files{dir};
  CHECK_FALSE(files.current().built);
  std::ofstream{dir / ".vite" / "manifest.json"}
    << R"({"src/main.js":{"file":"main-1.js","isEntry":true,"css":["main-1.css"]}})";
  std::ofstream{dir / "main-1.js"} << "console.log(1)";
  auto entry = files.current();
  REQUIRE(entry.built);
  CHECK(entry.script == "main-1.js");
  CHECK(entry.styles == std::vector<std::string>{"main-1.css"});
  CHECK(entry.version.size() == 20);
  auto res = files.serve("main-1.js");
  CHECK(res.status == 200);
  CHECK(res.body == "console.log(1)");
  CHECK(res.header("Cache-Control") == "public, max-age=31536000, immutable");
  CHECK(files.serve("missing.js").status == 404);
  CHECK(files.serve(".vite").status == 404);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a flash is read once and bounded", "[console]") {
  flash_store store{2};
  store.put("a", flash_entry{"saved", "", "", ""});
  CHECK(store.take("a").success == "saved");
  CHECK(store.take("a").success.empty()); // one shot
  store.put("a", flash_entry{"1", "", "", ""});
  store.put("b", flash_entry{"2", "", "", ""});
  store.put("c", flash_entry{"3", "", "", ""});
  CHECK(store.size() == 2); // the oldest gave way
  CHECK(store.take("c").success == "3");

  flash_store expired{10, std::chrono::seconds{0}};
  expired.put("k", flash_entry{"late", "", "", ""});
  CHECK(expired.take("k").success.empty());
}
