#pragma once

// Shared by the console tests: a node serving the built console (web/dist)
// with four users — a platform admin who owns `acme`, a member of `acme`,
// a newcomer without an organization and a platform admin without one (the
// walkthrough's new user) — and every example package
// published. Browser tests run a playwright-core script of tests/js/browser
// against it (`run_browser_script`).

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "packages/examples_support.hpp"

namespace fp::console_test {

using namespace std::chrono_literals;

inline std::filesystem::path source_dir() {
  return std::filesystem::path{__FILE__}.parent_path().parent_path().parent_path();
}

/// The built console (web/dist); the tests need `npm run build` in web/.
inline std::filesystem::path web_dist() {
  // FP_WEB_DIST: a copy of the build, so rebuilding web/ while the tests
  // run (watch mode, say) cannot pull the assets away mid-run.
  if (const char* dir = std::getenv("FP_WEB_DIST"); dir && *dir)
    return dir;
  return source_dir() / "web" / "dist";
}

/// The password of every fixture user.
inline constexpr const char* password = "correct horse";

struct fixture {
  std::string url;
  config::settings cfg;
  std::unique_ptr<storage::pg_session> db;
  std::unique_ptr<net::node> node;
  uint16_t port = 0;
  /// Cookie and CSRF headers of the platform admin's API session.
  std::vector<std::string> admin_session;

  explicit fixture(const std::string& prefix) {
    if (!std::filesystem::exists(web_dist() / ".vite" / "manifest.json"))
      FAIL("web/dist is not built: run `npm ci && npm run build` in web/");
    url = test::migrated_database(prefix);
    db = test::open_session(url);
    REQUIRE(storage::create_user(*db, "admin@example.com", password, true));
    REQUIRE(storage::create_user(*db, "member@example.com", password, false));
    REQUIRE(storage::create_user(*db, "newbie@example.com", password, false));
    // A platform administrator who starts with nothing (the walkthrough).
    REQUIRE(storage::create_user(*db, "founder@example.com", password, true));
    cfg = test::node_settings(url);
    cfg.web_dir = web_dist().string();
    cfg.job_poll_interval = 200ms;
    cfg.job_backoff_min = 50ms;
    cfg.job_backoff_max = 200ms;
    cfg.webhook_timeout = 3000ms;
    cfg.webhook_allow_networks = "127.0.0.0/8";
    // A price for the local model, so executions show a cost.
    cfg.llm_prices = "local/*=1000:1000";
    node = test::start_node(cfg);
    port = node->port();
    admin_session = test::log_in(port, "admin@example.com");
    auto org = call("POST", "/api/v1/orgs", R"({"slug":"acme","name":"Acme Support"})");
    INFO(org.body);
    REQUIRE(org.status == 201);
    auto member = call("POST", "/api/v1/orgs/acme/members",
                       R"({"email":"member@example.com","role":"member"})");
    INFO(member.body);
    REQUIRE(member.status / 100 == 2);
    REQUIRE(call("POST", "/api/v1/session/org", R"({"org":"acme"})").status == 200);
    for (const auto& dir : pkg_test::example_dirs()) {
      auto res = call("POST", "/api/v1/packages", pkg_test::example_manifest(dir));
      INFO(dir << ": " << res.body);
      REQUIRE(res.status == 201);
    }
  }

  ~fixture() {
    if (node)
      node->stop();
  }

  fixture(const fixture&) = delete;
  fixture& operator=(const fixture&) = delete;

  /// An API call as the platform admin (session, `acme` selected).
  test::response call(const std::string& method, const std::string& target,
                      const std::string& body = {}) {
    return test::call(port, method, target, admin_session, body);
  }

  std::string base_url() const {
    return "http://127.0.0.1:" + std::to_string(port);
  }
};

/// Runs tests/js/browser/<name>.mjs against `f`'s node; its exit code. The
/// script's output goes to the test log; screenshots go to
/// <build>/test-artifacts/console/<name>/ (the working directory of ctest).
inline int run_browser_script(const fixture& f, const std::string& name) {
  auto script = source_dir() / "tests" / "js" / "browser" / (name + ".mjs");
  REQUIRE(std::filesystem::exists(script));
  if (!std::filesystem::exists(source_dir() / "tests" / "js" / "node_modules"
                               / "playwright-core"))
    FAIL("tests/js/node_modules is missing: run `npm ci` in tests/js");
  auto artifacts = std::filesystem::current_path() / "test-artifacts" / "console" / name;
  std::filesystem::create_directories(artifacts);
  auto cmd = "FP_BASE_URL='" + f.base_url() + "' FP_ARTIFACTS='" + artifacts.string()
             + "' FP_PASSWORD='" + password + "' node '" + script.string() + "' 2>&1";
  int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace fp::console_test

/// One test case running tests/js/browser/<name>.mjs against a fresh
/// fixture.
#define FP_BROWSER_TEST(name)                                                  \
  TEST_CASE("browser: " name, "[console][browser]") {                          \
    fp::console_test::fixture f{"console_" name};                              \
    CHECK(fp::console_test::run_browser_script(f, name) == 0);                 \
  }
