// The `publish` API key scope: a valid scope, and on its own one that no
// tenant action accepts (the registry routes check it themselves).

#include <catch2/catch.hpp>

#include "fp/net/auth.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/api_keys.hpp"

using fp::actors::action;

namespace {

fp::net::principal key_with(std::vector<std::string> scopes,
                            std::optional<fp::actors::role> role) {
  fp::net::principal p;
  p.how = fp::net::principal::via::api_key;
  p.org_id = "0190d7a2-1b2c-7d3e-8f40-123456789abc";
  p.org_slug = "acme";
  p.org_role = role;
  p.scopes = std::move(scopes);
  return p;
}

} // namespace

TEST_CASE("registry: publish is an API key scope", "[packages][registry]") {
  CHECK(fp::storage::valid_scope("publish"));
  CHECK(fp::storage::valid_scope("read"));
  CHECK_FALSE(fp::storage::valid_scope("Publish"));
  CHECK_FALSE(fp::storage::valid_scope("publish:*"));
}

TEST_CASE("registry: a publish-only key may do no tenant action",
          "[packages][registry]") {
  // Even with a role attached by mistake, the scopes decide.
  auto only = key_with({"publish"}, fp::actors::role::admin);
  for (auto a : {action::tenant_read, action::tenant_write,
                 action::tenant_admin, action::api_keys_list,
                 action::api_keys_create, action::org_read}) {
    auto err = fp::net::authorize(only, a);
    REQUIRE(err);
    CHECK(fp::runtime::code_of(err) == fp::runtime::errc::forbidden);
    CHECK(fp::runtime::context_of(err).find("publish") != std::string::npos);
  }
  // With another scope it is an ordinary key.
  auto reader = key_with({"publish", "read"}, fp::actors::role::member);
  CHECK_FALSE(fp::net::authorize(reader, action::tenant_read));
  CHECK(fp::net::authorize(reader, action::tenant_write));
  auto writer = key_with({"write", "publish"}, fp::actors::role::member);
  CHECK_FALSE(fp::net::authorize(writer, action::tenant_write));
}
