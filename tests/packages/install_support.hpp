#pragma once

// Shared by the installation tests: publishing test packages straight
// through storage, waiting for an installation's state, and counting rows
// of a tenant's tables.

#include <string>

#include "agents/http_support.hpp"
#include "fp/actors/package_manifest.hpp"
#include "fp/runtime/crypto.hpp"
#include "fp/storage/packages.hpp"
#include "fp/storage/tenant_migrations.hpp"

namespace fp::install_test {

using namespace fp::http_test;

/// Publishes `manifest` (JSON) as a platform admin; fails the test when it
/// does not validate.
inline void publish(storage::pg_session& db, const std::string& manifest) {
  auto parsed = actors::parse_manifest(manifest, actors::platform_catalog());
  INFO(actors::describe_issues(parsed.issues));
  REQUIRE(parsed.manifest);
  auto& m = *parsed.manifest;
  storage::publisher_identity who;
  who.platform_admin = true;
  who.who = "user:test";
  std::string hex;
  for (unsigned char c : runtime::hmac_sha256("test", m.canonical)) {
    static const char* digits = "0123456789abcdef";
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  auto done = storage::publish_package_version(db, who, m.name, m.version_text,
                                               m.version.without_build(),
                                               m.description, m.canonical, hex);
  if (!done)
    FAIL("publish: " << caf::to_string(done.error()));
}

/// The schema of tenant `slug` in SQL.
inline std::string schema(const std::string& slug) {
  return storage::quoted_tenant_schema(slug);
}

/// Polls installation `id` until its state is `state`; its last JSON.
inline std::string await_state(fixture& f, const tenant& t, const std::string& id,
                               const std::string& state, ms limit = 20000ms) {
  std::string last;
  auto done = test::eventually(
    [&] {
      auto res = f.req(t.reader, "GET", "/api/v1/installations/" + id);
      if (res.status != 200)
        return false;
      last = res.body;
      json_doc d{res.body};
      return str(d.root, "state") == state;
    },
    limit, 50ms);
  INFO(last);
  REQUIRE(done);
  return last;
}

/// The number of rows of `sql` (a count query) in the test database.
inline int64_t count_of(fixture& f, const std::string& sql,
                        storage::sql_params params = {}) {
  return test::scalar(*f.db, sql, std::move(params));
}

/// POSTs an install request as `t`'s admin.
inline test::response install(fixture& f, const tenant& t, const std::string& body) {
  return f.req(t.admin, "POST", "/api/v1/installations", body);
}

/// The id in an installation answer.
inline std::string id_of(const test::response& res) {
  json_doc d{res.body};
  return str(d.root, "id");
}

} // namespace fp::install_test
