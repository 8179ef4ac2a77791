// SemVer 2.0 parsing and precedence, version ranges and max_satisfying.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "fp/actors/semver.hpp"

namespace sv = fp::actors::semver;

namespace {

sv::version v(const std::string& text) {
  auto out = sv::parse(text);
  REQUIRE(out);
  return *out;
}

sv::range r(const std::string& text) {
  std::string why;
  auto out = sv::range::parse(text, &why);
  INFO(text << ": " << why);
  REQUIRE(out);
  return *out;
}

bool sat(const std::string& range, const std::string& version,
         bool prerelease = false) {
  return r(range).satisfies(v(version), prerelease);
}

} // namespace

TEST_CASE("semver parses the parts of a version", "[packages][semver]") {
  auto x = v("1.2.3-alpha.1+build.5");
  CHECK(x.major == 1);
  CHECK(x.minor == 2);
  CHECK(x.patch == 3);
  CHECK(x.prerelease == std::vector<std::string>{"alpha", "1"});
  CHECK(x.build == std::vector<std::string>{"build", "5"});
  CHECK(x.is_prerelease());
  CHECK(x.to_string() == "1.2.3-alpha.1+build.5");
  CHECK(x.without_build() == "1.2.3-alpha.1");
  CHECK(v("10.20.30").to_string() == "10.20.30");
  CHECK(v("1.0.0-0A.is.legal").to_string() == "1.0.0-0A.is.legal");
  CHECK(v("1.0.0+0.build.1-rc.10000aaa-kk-0.1").build.size() == 5);
  CHECK(v("18446744073709551615.0.0").major == 18446744073709551615ull);
}

TEST_CASE("semver refuses texts outside the grammar", "[packages][semver]") {
  for (const char* bad :
       {"", "1", "1.2", "1.2.3.4", "01.1.1", "1.01.1", "1.1.01", "v1.2.3",
        "1.2.3-", "1.2.3+", "1.2.3-0123", "1.2.3-alpha..1", "1.2.3-alpha_beta",
        "1.2.3+build..1", "-1.0.0", "1.0.0-+", " 1.0.0", "1.0.0 ", "a.b.c",
        "1.2.3-beta!", "18446744073709551616.0.0", "1.2.-3"}) {
    std::string why;
    INFO(bad);
    CHECK_FALSE(sv::parse(bad, &why));
    CHECK_FALSE(why.empty());
  }
  std::string why;
  CHECK_FALSE(sv::parse("1.2.3-01", &why));
  CHECK(why.find("leading zeros") != std::string::npos);
  // Build metadata may have leading zeros.
  CHECK(sv::parse("1.2.3+001"));
}

TEST_CASE("semver precedence follows the specification", "[packages][semver]") {
  const std::vector<std::string> ordered{
    "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
    "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0",
    "2.0.0", "2.1.0", "2.1.1"};
  for (size_t i = 0; i < ordered.size(); ++i) {
    for (size_t j = 0; j < ordered.size(); ++j) {
      INFO(ordered[i] << " vs " << ordered[j]);
      auto c = sv::compare(v(ordered[i]), v(ordered[j]));
      if (i < j)
        CHECK(c < 0);
      else if (i > j)
        CHECK(c > 0);
      else
        CHECK(c == 0);
    }
  }
  // Build metadata is ignored; numbers compare as numbers.
  CHECK(v("1.0.0+a") == v("1.0.0+b"));
  CHECK(sv::compare(v("1.0.0-alpha+001"), v("1.0.0-alpha")) == 0);
  CHECK(v("1.9.0") < v("1.10.0"));
  CHECK(v("1.0.0-rc.9") < v("1.0.0-rc.10"));
  CHECK(v("1.0.0-2") < v("1.0.0-10"));
  CHECK(v("1.0.0-10") < v("1.0.0-a"));
  CHECK(v("1.0.0-Z") < v("1.0.0-a")); // ASCII order
}

TEST_CASE("caret and tilde ranges", "[packages][semver]") {
  CHECK(sat("^1.2.3", "1.2.3"));
  CHECK(sat("^1.2.3", "1.9.9"));
  CHECK_FALSE(sat("^1.2.3", "2.0.0"));
  CHECK_FALSE(sat("^1.2.3", "1.2.2"));
  CHECK(sat("^0.2.3", "0.2.9"));
  CHECK_FALSE(sat("^0.2.3", "0.3.0"));
  CHECK(sat("^0.0.3", "0.0.3"));
  CHECK_FALSE(sat("^0.0.3", "0.0.4"));
  CHECK(sat("^1.2", "1.2.0"));
  CHECK(sat("^1.2", "1.99.0"));
  CHECK_FALSE(sat("^1.2", "2.0.0"));
  CHECK(sat("^0.x", "0.9.9"));
  CHECK_FALSE(sat("^0.x", "1.0.0"));
  CHECK(sat("^1", "1.5.0"));
  CHECK(sat("~1.2.3", "1.2.9"));
  CHECK_FALSE(sat("~1.2.3", "1.3.0"));
  CHECK(sat("~1.2", "1.2.0"));
  CHECK_FALSE(sat("~1.2", "1.3.0"));
  CHECK(sat("~1", "1.9.0"));
  CHECK_FALSE(sat("~1", "2.0.0"));
}

TEST_CASE("comparators, hyphens, x-ranges and unions", "[packages][semver]") {
  CHECK(sat(">=1.2.0 <2.0.0", "1.5.0"));
  CHECK_FALSE(sat(">=1.2.0 <2.0.0", "2.0.0"));
  CHECK(sat(">= 1.2.0", "1.2.0")); // operator and version apart
  CHECK(sat(">1.2.3", "1.2.4"));
  CHECK_FALSE(sat(">1.2.3", "1.2.3"));
  CHECK(sat("<=1.2.3", "1.2.3"));
  CHECK(sat("=1.2.3", "1.2.3"));
  CHECK(sat("1.2.3", "1.2.3+build"));
  CHECK_FALSE(sat("1.2.3", "1.2.4"));
  CHECK(sat("1.2 - 2.3.4", "1.2.0"));
  CHECK(sat("1.2 - 2.3.4", "2.3.4"));
  CHECK_FALSE(sat("1.2 - 2.3.4", "2.3.5"));
  CHECK(sat("1.2.3 - 2.3", "2.3.9"));
  CHECK_FALSE(sat("1.2.3 - 2.3", "2.4.0"));
  CHECK(sat("1.x", "1.9.0"));
  CHECK_FALSE(sat("1.x", "2.0.0"));
  CHECK(sat("1.2.*", "1.2.7"));
  CHECK_FALSE(sat("1.2.*", "1.3.0"));
  CHECK(sat("*", "3.4.5"));
  CHECK(sat("", "0.0.1"));
  CHECK(sat("x", "9.0.0"));
  CHECK(sat(">1.2", "1.3.0"));
  CHECK_FALSE(sat(">1.2", "1.2.9"));
  CHECK(sat("<1.2", "1.1.9"));
  CHECK_FALSE(sat("<1.2", "1.2.0"));
  CHECK(sat("<=1.2", "1.2.9"));
  CHECK(sat("^1.0 || ^3.0", "3.1.0"));
  CHECK(sat("^1.0 || ^3.0", "1.1.0"));
  CHECK_FALSE(sat("^1.0 || ^3.0", "2.0.0"));
  CHECK(r("  ^1.2  ").text() == "^1.2");
}

TEST_CASE("pre-releases satisfy a range only when asked for or named",
          "[packages][semver]") {
  CHECK_FALSE(sat("^1.2.0", "1.3.0-beta.1"));
  CHECK(sat("^1.2.0", "1.3.0-beta.1", true));
  CHECK(sat(">=1.2.3-beta.1", "1.2.3-beta.2"));
  CHECK_FALSE(sat(">=1.2.3-beta.1", "1.2.4-beta.1"));
  CHECK(sat(">=1.2.3-beta.1", "1.2.4"));
  CHECK(sat("^1.2.3-rc.1", "1.2.3-rc.2"));
  CHECK_FALSE(sat("^1.2.3-rc.1", "1.2.3-alpha"));
  // The next major's pre-releases stay out even when pre-releases are wanted.
  CHECK_FALSE(sat("^1.2.0", "2.0.0-alpha", true));
  CHECK_FALSE(sat("<2.0.0", "2.0.0-rc.1"));
  CHECK_FALSE(sat("*", "1.0.0-rc.1"));
  CHECK(sat("*", "1.0.0-rc.1", true));
}

TEST_CASE("bad ranges are refused with a reason", "[packages][semver]") {
  for (const char* bad : {"^", ">=", "1.2.3 -", "- 1.2.3", "1.2.3 - 2 - 3",
                          "=>1.2.3", "^1.2.3.4", "~v1.2", "1.x.3", "^01.2",
                          "1.2.3 |", "|| 1.2.3", "^1.0 ||", "1.2 | 3", "abc",
                          "1.2.3-", "!1.0"}) {
    std::string why;
    INFO(bad);
    CHECK_FALSE(sv::range::parse(bad, &why));
    CHECK_FALSE(why.empty());
  }
}

TEST_CASE("max_satisfying picks the highest match", "[packages][semver]") {
  std::vector<sv::version> vs{v("1.0.0"), v("1.2.0"), v("1.10.0"),
                              v("1.9.0"), v("2.0.0"), v("2.1.0-rc.1")};
  CHECK(sv::max_satisfying(vs, r("^1.0"))->to_string() == "1.10.0");
  CHECK(sv::max_satisfying(vs, r("~1.2"))->to_string() == "1.2.0");
  CHECK(sv::max_satisfying(vs, r(">=2"))->to_string() == "2.0.0");
  CHECK(sv::max_satisfying(vs, r(">=2"), true)->to_string() == "2.1.0-rc.1");
  CHECK_FALSE(sv::max_satisfying(vs, r("^3")));
  CHECK_FALSE(sv::max_satisfying({}, r("*")));
}
