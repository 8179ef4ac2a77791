#include <catch2/catch.hpp>

#include "fp/actors/orgs.hpp"
#include "fp/actors/tenancy.hpp"
#include "fp/storage/tenant_migrations.hpp"

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

// -- tenant migrations and orphan detection (pure) ---------------------------------

TEST_CASE("tenant migration SQL gets the quoted schema for every placeholder",
          "[tenancy][migrations]") {
  using fp::storage::render_tenant_sql;
  CHECK(render_tenant_sql("CREATE TABLE {{schema}}.t (a int);"
                          " CREATE INDEX i ON {{schema}}.t (a);",
                          quoted_tenant_schema("acme"))
        == "CREATE TABLE \"org_acme\".t (a int);"
           " CREATE INDEX i ON \"org_acme\".t (a);");
  CHECK(render_tenant_sql("SELECT 1", "\"org_x\"") == "SELECT 1");
  CHECK(render_tenant_sql("{{schema}}", "\"org_x\"") == "\"org_x\"");
  // Near misses stay as they are.
  CHECK(render_tenant_sql("{{schema} {schema}}", "\"org_x\"")
        == "{{schema} {schema}}");
}

TEST_CASE("the embedded tenant migrations start with the audit log",
          "[tenancy][migrations]") {
  const auto& all = fp::storage::tenant_migrations();
  REQUIRE_FALSE(all.empty());
  CHECK(all.front().version == 1);
  CHECK(all.front().name == "audit_log");
  CHECK(all.front().checksum.size() == 64);
  CHECK(fp::storage::latest_version(all) == all.back().version);
  for (const auto& m : all) {
    INFO(m.name);
    // Every tenant table is schema-qualified, never left to search_path.
    CHECK(m.sql.find("{{schema}}.") != std::string::npos);
    auto rendered = fp::storage::render_tenant_sql(m.sql, quoted_tenant_schema("a"));
    CHECK(rendered.find("{{") == std::string::npos);
  }
}

TEST_CASE("schemas without an owning organization are orphans",
          "[tenancy][doctor]") {
  auto audit = audit_schemas({"org_acme", "org_ghost", "org_Bad", "org_"},
                             {"acme", "other"});
  CHECK(audit.orphans == std::vector<std::string>{"ghost"});
  CHECK(audit.foreign == std::vector<std::string>{"org_Bad", "org_"});
}

TEST_CASE("organization names are 1..200 bytes", "[tenancy]") {
  CHECK(org_name_error("Acme").empty());
  CHECK_FALSE(org_name_error("").empty());
  CHECK(org_name_error(std::string(200, 'x')).empty());
  CHECK_FALSE(org_name_error(std::string(201, 'x')).empty());
}
