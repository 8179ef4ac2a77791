// The installation lifecycle, its signal names and the config an upgrade
// migrates and an install validates.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "fp/actors/installation_rules.hpp"
#include "fp/runtime/errc.hpp"

using namespace fp::actors;
using st = installation_state;

namespace {

const std::vector<st> all_states{st::requested, st::installing, st::installed,
                                 st::failed,    st::disabled,   st::upgrading,
                                 st::uninstalling, st::uninstalled};

manifest_step step(const std::string& action, const std::string& args) {
  return {action, args};
}

std::string migrated(const std::string& config,
                     const std::vector<manifest_step>& steps) {
  auto out = migrate_config(config, steps);
  if (!out)
    FAIL(fp::runtime::context_of(out.error()));
  return *out;
}

} // namespace

TEST_CASE("installation states round-trip through text", "[packages][install_rules]") {
  for (auto s : all_states) {
    auto back = parse_installation_state(to_string(s));
    REQUIRE(back);
    CHECK(*back == s);
  }
  CHECK(std::string{to_string(st::uninstalling)} == "uninstalling");
  CHECK_FALSE(parse_installation_state("Installed"));
  CHECK_FALSE(parse_installation_state(""));
}

TEST_CASE("the lifecycle allows exactly its transitions", "[packages][install_rules]") {
  const std::vector<std::pair<st, st>> allowed{
    {st::requested, st::installing},   {st::installing, st::installed},
    {st::installing, st::failed},      {st::installed, st::disabled},
    {st::disabled, st::installed},     {st::installed, st::upgrading},
    {st::upgrading, st::installed},    {st::installed, st::uninstalling},
    {st::disabled, st::uninstalling},  {st::failed, st::uninstalling},
    {st::uninstalling, st::uninstalled}, {st::failed, st::installing}};
  for (auto from : all_states) {
    for (auto to : all_states) {
      bool expected = std::find(allowed.begin(), allowed.end(),
                                std::make_pair(from, to))
                      != allowed.end();
      INFO(to_string(from) << " -> " << to_string(to));
      CHECK(installation_transition_allowed(from, to) == expected);
    }
  }
}

TEST_CASE("lifecycle signal types", "[packages][install_rules]") {
  CHECK(installation_signal_type("install", "requested") == "package.install.requested");
  CHECK(installation_signal_type("install", "completed") == "package.install.completed");
  CHECK(installation_signal_type("install", "failed") == "package.install.failed");
  CHECK(installation_signal_type("upgrade", "failed") == "package.upgrade.failed");
  CHECK(installation_signal_type("uninstall", "completed")
        == "package.uninstall.completed");
  CHECK(installation_signal_type("disable", "") == "package.installation.disabled");
  CHECK(installation_signal_type("enable", "completed")
        == "package.installation.enabled");
}

TEST_CASE("migrate_config renames, sets and removes", "[packages][install_rules]") {
  const std::string config
    = R"({"url":"https://x","labels":["a"],"smtp":{"host":"h","port":25},"old":1})";
  CHECK(migrated(config, {step("config.rename", R"({"from":"url","to":"webhook_url"})")})
        == R"({"labels":["a"],"smtp":{"host":"h","port":25},"old":1,"webhook_url":"https://x"})");
  // Into and out of nested objects, creating the objects on the way.
  CHECK(migrated(config, {step("config.rename", R"({"from":"smtp.host","to":"mail.server.host"})")})
        == R"({"url":"https://x","labels":["a"],"smtp":{"port":25},"old":1,"mail":{"server":{"host":"h"}}})");
  // An absent source does nothing; a present target is replaced.
  CHECK(migrated(config, {step("config.rename", R"({"from":"nope","to":"url"})")}) == config);
  CHECK(migrated(config, {step("config.rename", R"({"from":"old","to":"url"})")})
        == R"({"url":1,"labels":["a"],"smtp":{"host":"h","port":25}})");
  CHECK(migrated(config, {step("config.set", R"({"path":"smtp.port","value":587})"),
                          step("config.set", R"({"path":"mode","value":{"k":[1,2]}})")})
        == R"({"url":"https://x","labels":["a"],"smtp":{"host":"h","port":587},"old":1,"mode":{"k":[1,2]}})");
  CHECK(migrated(config, {step("config.remove", R"({"path":"smtp.port"})"),
                          step("config.remove", R"({"path":"missing.deep"})")})
        == R"({"url":"https://x","labels":["a"],"smtp":{"host":"h"},"old":1})");
  // Other actions are skipped; steps apply in order.
  CHECK(migrated(config, {step("signal.emit", R"({"type":"a.b"})"),
                          step("config.rename", R"({"from":"old","to":"new"})"),
                          step("config.set", R"({"path":"new","value":2})")})
        == R"({"url":"https://x","labels":["a"],"smtp":{"host":"h","port":25},"new":2})");
  CHECK(migrated("{}", {}) == "{}");
}

TEST_CASE("migrate_config refuses bad paths and configs", "[packages][install_rules]") {
  using fp::runtime::errc;
  auto code = [](const caf::expected<std::string>& r) {
    return fp::runtime::code_of(r.error());
  };
  auto not_object = migrate_config("[1]", {});
  REQUIRE_FALSE(not_object);
  CHECK(code(not_object) == errc::invalid_argument);
  auto not_json = migrate_config("{", {});
  REQUIRE_FALSE(not_json);
  CHECK(code(not_json) == errc::invalid_argument);
  auto bad_path = migrate_config("{}", {step("config.set", R"({"path":"a..b","value":1})")});
  REQUIRE_FALSE(bad_path);
  CHECK(code(bad_path) == errc::invalid_argument);
  auto no_from = migrate_config("{}", {step("config.rename", R"({"to":"b"})")});
  REQUIRE_FALSE(no_from);
  // A scalar in the way of a nested path.
  auto blocked = migrate_config(R"({"a":1,"b":2})",
                                {step("config.rename", R"({"from":"b","to":"a.c"})")});
  REQUIRE_FALSE(blocked);
  CHECK(code(blocked) == errc::invalid_argument);
}

TEST_CASE("merge_config puts secrets back and applies defaults",
          "[packages][install_rules]") {
  const std::string schema = R"({"type":"object","properties":{
    "url":{"type":"string"},
    "labels":{"type":"array","default":["billing","other"]},
    "secret":{"type":"string","secret":true},
    "smtp":{"type":"object","properties":{"password":{"type":"string","secret":true},
                                          "port":{"type":"integer","default":25}}}}})";
  auto full = merge_config(schema, R"({"url":"https://x"})",
                           {{"secret", R"("whsec_1")"}, {"smtp.password", R"("pw")"}});
  REQUIRE(full);
  CHECK(*full == R"({"url":"https://x","secret":"whsec_1","smtp":{"password":"pw","port":25},"labels":["billing","other"]})");
  auto plain_only = merge_config(schema, "{}", {});
  REQUIRE(plain_only);
  CHECK(*plain_only == R"({"labels":["billing","other"]})");
  // A secret that is not JSON is named by its field, never shown.
  auto bad = merge_config(schema, "{}", {{"secret", "whsec_unquoted"}});
  REQUIRE_FALSE(bad);
  auto why = fp::runtime::context_of(bad.error());
  CHECK(why.find("secret") != std::string::npos);
  CHECK(why.find("whsec_unquoted") == std::string::npos);
  CHECK_FALSE(merge_config(schema, "[]", {}));
  // split_secrets and merge_config are inverses (up to defaults).
  auto split = split_secrets(schema, R"({"url":"u","secret":"s","smtp":{"password":"p","port":1}})");
  std::vector<std::pair<std::string, std::string>> secrets(split.secrets.begin(),
                                                           split.secrets.end());
  auto merged = merge_config(schema, split.plain, secrets);
  REQUIRE(merged);
  CHECK(validate_json(R"({"type":"object","properties":{"secret":{"const":"s"},
          "smtp":{"properties":{"password":{"const":"p"},"port":{"const":1}}}},
          "required":["secret","url","labels"]})", *merged).empty());
}
