#pragma once

// Setup shared by the store_*_pgtest files: a scratch database with one or
// two organizations (tenant migrations applied) and small builders of
// agents and executions. Storage functions are called directly on a
// session (autocommit, or explicit BEGIN/COMMIT where a test needs one
// transaction).

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "fp/runtime/ids.hpp"
#include "fp/storage/agents.hpp"
#include "fp/storage/executions.hpp"
#include "support/spine_fixture.hpp"

namespace fp::test {

/// A scratch database with organizations "sta" and "stb".
struct store_fixture {
  std::string url;
  std::unique_ptr<storage::pg_session> db;
  std::string user_id;
  std::string slug = "sta";
  std::string other = "stb";

  store_fixture() {
    url = migrated_database("store");
    db = open_session(url);
    user_id = create_test_user(*db, "store@example.com");
    create_test_org(*db, slug, "Store A", user_id);
    create_test_org(*db, other, "Store B", user_id);
  }

  /// Runs `sql` (no result wanted), failing the test on error.
  void exec(const std::string& sql) {
    auto r = db->exec(sql);
    if (!r)
      FAIL(caf::to_string(r.error()) << "\n" << sql);
  }
};

/// An agent named `name` in `state` with `triggers`.
inline storage::agent_record make_agent(const std::string& name,
                                        const std::string& state = "active",
                                        std::vector<std::string> triggers = {}) {
  storage::agent_record a;
  a.id = runtime::new_uuid_v7();
  a.name = name;
  a.state = state;
  a.triggers = std::move(triggers);
  a.system_prompt = "You help.";
  return a;
}

/// A manual execution of `agent_id` (empty: none).
inline storage::execution_record make_execution(const std::string& agent_id) {
  storage::execution_record e;
  e.id = runtime::new_uuid_v7();
  e.agent_id = agent_id;
  e.input = R"({"message":"hello"})";
  e.trace_id = "trace-" + e.id;
  e.correlation_id = e.id;
  e.initiator = {"human", "user-1", "Ann"};
  e.initiator_role = "admin";
  return e;
}

/// `r`'s value, failing the test on error.
template <class T>
T must(caf::expected<T> r) {
  if (!r)
    FAIL(caf::to_string(r.error()));
  return std::move(*r);
}

/// Fails the test when `err` is set.
inline void must_ok(const caf::error& err) {
  if (err)
    FAIL(caf::to_string(err));
}

} // namespace fp::test
