// Dependency resolution: highest versions, backtracking, conflicts, cycles,
// yanked and installed versions.

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "fp/actors/dependency_resolver.hpp"

using namespace fp::actors;

namespace {

// An in-memory registry.
struct registry {
  std::map<std::string, std::vector<candidate_version>> packages;

  registry& add(const std::string& name, const std::string& version,
                std::map<std::string, std::string> deps = {},
                bool yanked = false) {
    candidate_version c;
    c.version = *semver::parse(version);
    c.version_text = version;
    c.dependencies = std::move(deps);
    c.yanked = yanked;
    packages[name].push_back(std::move(c));
    return *this;
  }

  version_source source() const {
    return [this](const std::string& name) {
      auto i = packages.find(name);
      return i == packages.end() ? std::vector<candidate_version>{} : i->second;
    };
  }

  resolution_result resolve(const std::string& root, const std::string& range,
                            const installed_versions& installed = {},
                            bool prerelease = false) const {
    return resolve_dependencies(root, range, source(), installed, prerelease);
  }
};

std::string describe(const resolution_result& r) {
  if (r.error)
    return r.error->kind + ": " + r.error->message;
  std::string out;
  for (auto& [k, v] : r.ok->chosen)
    out += k + "@" + v + " ";
  return out;
}

} // namespace

TEST_CASE("the resolver picks the highest matching versions", "[packages][resolver]") {
  registry reg;
  reg.add("acme/a", "1.0.0", {{"acme/b", "^1.0"}})
    .add("acme/a", "1.2.0", {{"acme/b", "^1.1"}})
    .add("acme/a", "2.0.0", {{"acme/b", "^2.0"}})
    .add("acme/b", "1.0.0")
    .add("acme/b", "1.1.0")
    .add("acme/b", "1.9.0")
    .add("acme/b", "2.0.0");
  auto r = reg.resolve("acme/a", "^1.0");
  INFO(describe(r));
  REQUIRE(r.ok);
  CHECK(r.ok->chosen.at("acme/a") == "1.2.0");
  CHECK(r.ok->chosen.at("acme/b") == "1.9.0");
  CHECK(r.ok->install_order == std::vector<std::string>{"acme/b", "acme/a"});
  auto exact = reg.resolve("acme/a", "1.0.0");
  REQUIRE(exact.ok);
  CHECK(exact.ok->chosen.at("acme/a") == "1.0.0");
  auto top = reg.resolve("acme/a", "*");
  REQUIRE(top.ok);
  CHECK(top.ok->chosen.at("acme/b") == "2.0.0");
}

TEST_CASE("a diamond shares one version of the common dependency",
          "[packages][resolver]") {
  registry reg;
  reg.add("acme/app", "1.0.0", {{"acme/left", "^1"}, {"acme/right", "^1"}})
    .add("acme/left", "1.0.0", {{"acme/base", ">=1.2.0 <3.0.0"}})
    .add("acme/right", "1.0.0", {{"acme/base", "~1.4"}})
    .add("acme/base", "1.2.0")
    .add("acme/base", "1.4.2")
    .add("acme/base", "1.5.0")
    .add("acme/base", "2.0.0");
  auto r = reg.resolve("acme/app", "^1");
  INFO(describe(r));
  REQUIRE(r.ok);
  CHECK(r.ok->chosen.at("acme/base") == "1.4.2");
  CHECK(r.ok->chosen.size() == 4);
  auto& order = r.ok->install_order;
  REQUIRE(order.size() == 4);
  CHECK(order.front() == "acme/base");
  CHECK(order.back() == "acme/app");
}

TEST_CASE("the resolver backtracks to an older version", "[packages][resolver]") {
  // app needs lib ^1 and util ^1; the newest lib wants util ^2, which the
  // app's own range rules out, so lib falls back to 1.1.0.
  registry reg;
  reg.add("acme/app", "1.0.0", {{"acme/lib", "^1"}, {"acme/util", "^1"}})
    .add("acme/lib", "1.1.0", {{"acme/util", "^1"}})
    .add("acme/lib", "1.2.0", {{"acme/util", "^2"}})
    .add("acme/util", "1.0.0")
    .add("acme/util", "2.0.0");
  auto r = reg.resolve("acme/app", "1.0.0");
  INFO(describe(r));
  REQUIRE(r.ok);
  CHECK(r.ok->chosen.at("acme/lib") == "1.1.0");
  CHECK(r.ok->chosen.at("acme/util") == "1.0.0");

  // Backtracking through a later choice: x 2.0.0 needs z ^2, but y (chosen
  // after z) only exists needing z ^1, so x falls back to 1.0.0.
  registry deep;
  deep.add("acme/root", "1.0.0", {{"acme/x", "*"}, {"acme/y", "*"}})
    .add("acme/x", "1.0.0", {{"acme/z", "^1"}})
    .add("acme/x", "2.0.0", {{"acme/z", "^2"}})
    .add("acme/y", "1.0.0", {{"acme/z", "^1"}})
    .add("acme/z", "1.3.0")
    .add("acme/z", "2.0.0");
  auto d = deep.resolve("acme/root", "^1");
  INFO(describe(d));
  REQUIRE(d.ok);
  CHECK(d.ok->chosen.at("acme/x") == "1.0.0");
  CHECK(d.ok->chosen.at("acme/z") == "1.3.0");
}

TEST_CASE("failures are spelled out", "[packages][resolver]") {
  registry reg;
  reg.add("acme/a", "1.2.0", {{"acme/b", "^3.0"}})
    .add("acme/b", "1.0.0")
    .add("acme/b", "2.1.0")
    .add("acme/b", "3.0.0", {}, true);
  SECTION("unknown root") {
    auto r = reg.resolve("acme/nope", "^1");
    REQUIRE(r.error);
    CHECK(r.error->kind == "not_found");
    CHECK(r.error->packages == std::vector<std::string>{"acme/nope"});
  }
  SECTION("unknown dependency") {
    registry other;
    other.add("acme/a", "1.0.0", {{"acme/ghost", "^1"}});
    auto r = other.resolve("acme/a", "^1");
    REQUIRE(r.error);
    CHECK(r.error->kind == "not_found");
    CHECK(r.error->message == "no package acme/ghost (required by acme/a 1.0.0)");
  }
  SECTION("no version matches (yanked ones are not offered)") {
    auto r = reg.resolve("acme/a", "^1");
    REQUIRE(r.error);
    CHECK(r.error->kind == "no_match");
    CHECK(r.error->message
          == "no version of acme/b satisfies ^3.0 (required by acme/a 1.2.0); "
             "available: 1.0.0, 2.1.0");
    CHECK(r.error->packages == std::vector<std::string>{"acme/b", "acme/a"});
  }
  SECTION("no root version matches") {
    auto r = reg.resolve("acme/a", "^2");
    REQUIRE(r.error);
    CHECK(r.error->kind == "no_match");
    CHECK(r.error->message == "no version of acme/a satisfies ^2; available: 1.2.0");
  }
  SECTION("a bad range") {
    auto r = reg.resolve("acme/a", "^^2");
    REQUIRE(r.error);
    CHECK(r.error->kind == "no_match");
    CHECK(r.error->message.find("invalid range") != std::string::npos);
  }
}

TEST_CASE("two requirements no version meets conflict", "[packages][resolver]") {
  registry reg;
  reg.add("acme/root", "1.0.0", {{"acme/a", "^1"}, {"acme/b", "^2"}})
    .add("acme/a", "1.0.0", {{"acme/c", "^1.0"}})
    .add("acme/b", "2.0.0", {{"acme/c", "^2.0"}})
    .add("acme/c", "1.0.0")
    .add("acme/c", "2.0.0");
  auto r = reg.resolve("acme/root", "^1");
  INFO(describe(r));
  REQUIRE(r.error);
  CHECK(r.error->kind == "conflict");
  CHECK(r.error->message
        == "acme/c: acme/a 1.0.0 requires ^1.0, acme/b 2.0.0 requires ^2.0");
  CHECK(r.error->packages
        == std::vector<std::string>{"acme/c", "acme/a", "acme/b"});
}

TEST_CASE("dependency cycles are refused", "[packages][resolver]") {
  registry reg;
  reg.add("acme/a", "1.0.0", {{"acme/b", "^1"}})
    .add("acme/b", "1.0.0", {{"acme/a", "^1"}});
  auto r = reg.resolve("acme/a", "^1");
  INFO(describe(r));
  REQUIRE(r.error);
  CHECK(r.error->kind == "cycle");
  CHECK(r.error->message == "acme/a 1.0.0 -> acme/b 1.0.0 -> acme/a");
  CHECK(r.error->packages
        == std::vector<std::string>{"acme/a", "acme/b", "acme/a"});

  registry longer;
  longer.add("acme/a", "1.0.0", {{"acme/b", "^1"}})
    .add("acme/b", "1.0.0", {{"acme/c", "^1"}})
    .add("acme/c", "1.0.0", {{"acme/a", "*"}});
  auto l = longer.resolve("acme/a", "1.0.0");
  REQUIRE(l.error);
  CHECK(l.error->kind == "cycle");
  CHECK(l.error->message == "acme/a 1.0.0 -> acme/b 1.0.0 -> acme/c 1.0.0 -> acme/a");

  // A version without the cycle is taken instead.
  registry escape;
  escape.add("acme/a", "1.0.0", {{"acme/b", "^1"}})
    .add("acme/b", "1.0.0")
    .add("acme/b", "1.1.0", {{"acme/a", "^1"}});
  auto e = escape.resolve("acme/a", "^1");
  INFO(describe(e));
  REQUIRE(e.ok);
  CHECK(e.ok->chosen.at("acme/b") == "1.0.0");
}

TEST_CASE("yanked versions are not chosen", "[packages][resolver]") {
  registry reg;
  reg.add("acme/a", "1.0.0")
    .add("acme/a", "1.1.0", {}, true)
    .add("acme/a", "2.0.0-rc.1");
  auto r = reg.resolve("acme/a", "^1");
  REQUIRE(r.ok);
  CHECK(r.ok->chosen.at("acme/a") == "1.0.0");
  auto exact = reg.resolve("acme/a", "1.1.0");
  REQUIRE(exact.error);
  CHECK(exact.error->kind == "no_match");
  CHECK(exact.error->message == "acme/a 1.1.0 is yanked");
  // Pre-releases only when asked for (or named exactly).
  CHECK(reg.resolve("acme/a", "*").ok->chosen.at("acme/a") == "1.0.0");
  CHECK(reg.resolve("acme/a", "*", {}, true).ok->chosen.at("acme/a")
        == "2.0.0-rc.1");
  CHECK(reg.resolve("acme/a", "2.0.0-rc.1").ok->chosen.at("acme/a")
        == "2.0.0-rc.1");
  auto missing = reg.resolve("acme/a", "3.0.0");
  REQUIRE(missing.error);
  CHECK(missing.error->kind == "no_match");
}

TEST_CASE("installed versions are kept", "[packages][resolver]") {
  registry reg;
  reg.add("acme/app", "1.0.0", {{"acme/base", "^1.0"}, {"acme/extra", "^1"}})
    .add("acme/base", "1.0.0")
    .add("acme/base", "1.5.0")
    .add("acme/base", "2.0.0")
    .add("acme/extra", "1.0.0");
  auto r = reg.resolve("acme/app", "^1", {{"acme/base", "1.0.0"}});
  INFO(describe(r));
  REQUIRE(r.ok);
  CHECK(r.ok->chosen.at("acme/base") == "1.0.0");
  CHECK(r.ok->install_order == std::vector<std::string>{"acme/extra", "acme/app"});

  auto conflict = reg.resolve("acme/app", "^1", {{"acme/base", "2.0.0"}});
  REQUIRE(conflict.error);
  CHECK(conflict.error->kind == "conflict");
  CHECK(conflict.error->message
        == "acme/base: acme/app 1.0.0 requires ^1.0; installed is 2.0.0 "
           "(upgrade it first)");
}
