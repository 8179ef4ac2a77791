// Every example package under examples/packages/ is a valid manifest for
// this build's platform catalog, and the pieces the README walkthrough
// relies on are where it says they are.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fp/actors/package_manifest.hpp"

using namespace fp;

namespace {

namespace fs = std::filesystem;

fs::path examples_dir() {
  return fs::path{__FILE__}.parent_path().parent_path().parent_path() / "examples"
         / "packages";
}

std::string slurp(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// Every example manifest file, sorted by directory name.
std::vector<fs::path> manifest_files() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator{examples_dir()})
    if (entry.is_directory() && fs::exists(entry.path() / "fleetprompt.package.json"))
      out.push_back(entry.path() / "fleetprompt.package.json");
  std::sort(out.begin(), out.end());
  return out;
}

actors::package_manifest parse_example(const std::string& dir) {
  auto text = slurp(examples_dir() / dir / "fleetprompt.package.json");
  auto parsed = actors::parse_manifest(text, actors::platform_catalog());
  INFO(dir << ": " << actors::describe_issues(parsed.issues));
  REQUIRE(parsed.issues.empty());
  REQUIRE(parsed.manifest);
  return std::move(*parsed.manifest);
}

template <class T>
const T* named(const std::vector<T>& items, const std::string& name) {
  for (const auto& x : items)
    if (x.name == name)
      return &x;
  return nullptr;
}

} // namespace

TEST_CASE("examples: every example manifest parses without issues",
          "[packages][examples]") {
  auto files = manifest_files();
  REQUIRE(files.size() >= 5);
  for (const auto& file : files) {
    INFO(file.parent_path().filename().string());
    auto text = slurp(file);
    auto parsed = actors::parse_manifest(text, actors::platform_catalog());
    INFO(actors::describe_issues(parsed.issues, 50));
    CHECK(parsed.issues.empty());
    REQUIRE(parsed.manifest);
    // The canonical text is itself a manifest with the same canonical text.
    auto again = actors::parse_manifest(parsed.manifest->canonical,
                                        actors::platform_catalog());
    REQUIRE(again.manifest);
    CHECK(again.manifest->canonical == parsed.manifest->canonical);
  }
}

TEST_CASE("examples: support-triage keeps its secret out of the plain config "
          "and 1.1.0 renames urgent_keywords",
          "[packages][examples]") {
  auto v1 = parse_example("support-triage");
  CHECK(v1.name == "fleetprompt/support-triage");
  CHECK(v1.version_text == "1.0.0");
  CHECK(actors::secret_fields(v1.config_schema)
        == std::vector<std::string>{"webhook_secret"});
  auto split = actors::split_secrets(
    v1.config_schema,
    R"({"webhook_url":"https://hooks.example.com/t","webhook_secret":"whsec_c2VjcmV0"})");
  CHECK(split.plain.find("whsec_") == std::string::npos);
  REQUIRE(split.secrets.count("webhook_secret") == 1);
  CHECK(split.secrets["webhook_secret"] == R"("whsec_c2VjcmV0")");

  const auto* agent = named(v1.agents, "support-triage");
  REQUIRE(agent);
  CHECK(agent->state == "active");
  CHECK(agent->triggers == std::vector<std::string>{"support.ticket.created"});
  // The system prompt is filled from the config: the local provider's
  // labels line and tool rule come out of it.
  auto prompt = actors::fill_config(
    agent->system_prompt,
    R"({"labels":["billing","outage","account","other"],"urgent_keywords":"urgent|outage"})");
  CHECK(prompt.find(R"(Labels: ["billing","outage","account","other"])")
        != std::string::npos);
  CHECK(prompt.find("when urgent|outage call triage.escalate") != std::string::npos);
  const auto* skill = named(v1.skills, "triage.escalate");
  REQUIRE(skill);
  CHECK(skill->kind == "directive");
  auto cfg = actors::fill_config(skill->config,
                                 R"({"webhook_url":"https://hooks.example.com/t"})",
                                 true);
  CHECK(cfg.find(R"("https://hooks.example.com/t")") != std::string::npos);
  REQUIRE(v1.webhook_destinations.size() == 1);
  CHECK(v1.webhook_destinations[0].secret == "{{secrets.webhook_secret}}");

  auto v2 = parse_example("support-triage-1.1.0");
  CHECK(v2.name == v1.name);
  CHECK(v1.version < v2.version);
  REQUIRE(v2.upgrade_steps.size() == 1);
  CHECK(v2.upgrade_steps[0].action == "config.rename");
}

TEST_CASE("examples: daily-digest runs on a schedule and support-suite depends "
          "on both",
          "[packages][examples]") {
  auto digest = parse_example("daily-digest");
  REQUIRE(digest.schedules.size() == 1);
  CHECK(digest.schedules[0].agent == "daily-digest");
  CHECK(digest.schedules[0].window_hours == 24);
  const auto* publish = named(digest.skills, "digest.publish");
  REQUIRE(publish);
  CHECK(publish->config.find("digest.daily.created") != std::string::npos);
  CHECK(actors::uncovered_scopes(digest.permissions, publish->required_scopes).empty());

  auto suite = parse_example("support-suite");
  REQUIRE(suite.dependencies.size() == 2);
  CHECK(suite.dependencies.at("fleetprompt/support-triage") == "^1.0");
  CHECK(suite.dependencies.at("fleetprompt/daily-digest") == "^1.0");
  auto range = actors::semver::range::parse(suite.dependencies.at("fleetprompt/support-triage"));
  REQUIRE(range);
  CHECK(range->satisfies(parse_example("support-triage").version));
  CHECK(range->satisfies(parse_example("support-triage-1.1.0").version));
}
