#include <catch2/catch.hpp>

#include "fp/actors/tenancy.hpp"

using namespace fp::actors;

TEST_CASE("organization slugs follow ^[a-z][a-z0-9_]{0,47}$", "[tenancy][slug]") {
  CHECK(slug_error("acme").empty());
  CHECK(slug_error("a").empty());
  CHECK(slug_error("acme_2024").empty());
  CHECK(slug_error(std::string(48, 'a')).empty());
  // Hostile or malformed slugs.
  for (std::string bad : {"", "Acme", "1acme", "_acme", "acme-co", "ac me",
                          "acme\"; drop schema public; --", "..", "a/../b",
                          "caf\xc3\xa9", "acme\n", "org'x", "a.b"}) {
    INFO(bad);
    CHECK_FALSE(slug_error(bad).empty());
  }
  CHECK_FALSE(slug_error(std::string(49, 'a')).empty());
}

TEST_CASE("slugs map to quoted tenant schemas and back", "[tenancy][slug]") {
  CHECK(tenant_schema("acme") == "org_acme");
  CHECK(quoted_tenant_schema("acme") == "\"org_acme\"");
  CHECK(slug_of_schema("org_acme") == std::optional<std::string>{"acme"});
  CHECK_FALSE(slug_of_schema("public"));
  CHECK_FALSE(slug_of_schema("org_"));
  CHECK_FALSE(slug_of_schema("org_Bad"));
}

TEST_CASE("the role policy table is ordered by privilege", "[tenancy][policy]") {
  CHECK(allowed(role::member, action::org_read));
  CHECK(allowed(role::member, action::tenant_write));
  CHECK_FALSE(allowed(role::member, action::members_add));
  CHECK_FALSE(allowed(role::member, action::api_keys_create));
  CHECK(allowed(role::admin, action::members_add));
  CHECK(allowed(role::admin, action::api_keys_rotate));
  CHECK_FALSE(allowed(role::admin, action::org_delete));
  CHECK_FALSE(allowed(role::admin, action::members_grant_owner));
  CHECK(allowed(role::owner, action::org_delete));
  CHECK(allowed(role::owner, action::members_grant_owner));
  // Every action has exactly one row.
  for (auto a = 0; a <= static_cast<int>(action::tenant_admin); ++a) {
    int rows = 0;
    for (auto& row : policy_table())
      rows += static_cast<int>(row.what) == a ? 1 : 0;
    INFO(to_string(static_cast<action>(a)));
    CHECK(rows == 1);
  }
  CHECK(parse_role("admin") == role::admin);
  CHECK_FALSE(parse_role("root"));
}
