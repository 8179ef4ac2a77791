#pragma once

// Setup of the engine's PostgreSQL tests: an organization, agents written
// straight through storage, runs queued with actors::queue_execution in a
// transaction of the test's own connection, and small queries.

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "fp/actors/agent_engine.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/agents.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/executions.hpp"
#include "support/spine_fixture.hpp"

namespace fp::test {

using namespace std::chrono_literals;

struct engine_fixture {
  std::string url;
  std::unique_ptr<storage::pg_session> db;
  std::string org_id;
  std::string user_id;
  std::string admin_key;
  std::unique_ptr<net::node> node;
  uint16_t port = 0;
  config::settings cfg;

  explicit engine_fixture(const std::string& prefix = "engine") {
    url = migrated_database(prefix);
    db = open_session(url);
    user_id = create_test_user(*db, "engine@example.com");
    auto org = create_test_org(*db, "eng", "Engine", user_id);
    org_id = org.id;
    admin_key = create_test_key(*db, org.id, user_id, "k", {"admin"}).key;
    cfg = node_settings(url, "error");
    cfg.job_poll_interval = 100ms;
    cfg.job_backoff_min = 50ms;
    cfg.job_backoff_max = 200ms;
    cfg.execution_stream_flush = 20ms;
  }

  ~engine_fixture() {
    if (node)
      node->stop();
  }

  void start() {
    node = start_node(cfg);
    port = node->port();
  }

  actors::tenant_ref tenant() const {
    return {org_id, "eng"};
  }

  /// Inserts `a` (id assigned here); its id.
  std::string add_agent(storage::agent_record a) {
    a.id = runtime::new_uuid_v7();
    auto err = storage::run_transaction(*db, [&a](storage::pg_session& s) -> caf::error {
      auto r = storage::insert_agent(s, "eng", a);
      if (!r)
        return std::move(r.error());
      return caf::none;
    });
    REQUIRE_FALSE(err);
    return a.id;
  }

  /// Queues a manual run of `agent_id` with `input`; the execution id.
  std::string queue(const std::string& agent_id, const std::string& input,
                    const std::string& role = "admin") {
    actors::execution_request req;
    req.agent_id = agent_id;
    req.input = input;
    req.initiator = {"human", user_id, "tester"};
    req.initiator_role = role;
    std::string id;
    auto t = tenant();
    auto err = storage::run_transaction(*db, [&](storage::pg_session& s) -> caf::error {
      auto e = actors::queue_execution(s, t, req);
      if (!e)
        return std::move(e.error());
      id = e->id;
      return caf::none;
    });
    INFO(caf::to_string(err));
    REQUIRE_FALSE(err);
    return id;
  }

  std::string text_of(const std::string& sql, storage::sql_params params = {}) {
    return text(*db, sql, std::move(params));
  }

  int64_t count(const std::string& sql, storage::sql_params params = {}) {
    return std::stoll(text_of(sql, std::move(params)));
  }

  std::string status_of(const std::string& id) {
    return text_of("SELECT status FROM \"org_eng\".executions WHERE id = $1", {id});
  }

  /// Waits until execution `id` is finished; its status.
  std::string await_finished(const std::string& id,
                             std::chrono::milliseconds limit = 20s) {
    eventually(
      [&] { return storage::execution_finished(status_of(id)); }, limit);
    return status_of(id);
  }
};

/// A local agent with `prompt` as its system prompt.
inline storage::agent_record local_agent(std::string name, std::string prompt = {}) {
  storage::agent_record a;
  a.name = std::move(name);
  a.system_prompt = std::move(prompt);
  a.state = "active";
  return a;
}

} // namespace fp::test
