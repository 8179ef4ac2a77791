#pragma once

// Setup shared by the PostgreSQL tests that run a real node: scratch
// databases, users, organizations and API keys, node settings and start,
// one-value queries, HTTP calls and log-in, and polling with a deadline.
// Every helper fails the running test case (Catch2 FAIL/REQUIRE) instead of
// returning an error.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fp/actors/orgs.hpp"
#include "fp/config/settings.hpp"
#include "fp/net/node.hpp"
#include "fp/runtime/crypto.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/api_keys.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/migrations.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"
#include "http_client.hpp"
#include "pg_cluster.hpp"

namespace fp::test {

// -- databases --------------------------------------------------------------------------

/// A connection to `url`.
inline std::unique_ptr<storage::pg_session> open_session(const std::string& url) {
  using namespace std::chrono_literals;
  auto s = storage::connect(url, 10s);
  if (!s)
    FAIL("cannot connect: " << caf::to_string(s.error()));
  return std::move(*s);
}

/// Applies the public migrations to `db`.
inline void apply_public_migrations(storage::pg_session& db) {
  auto applied = storage::apply_migrations(db, storage::public_migrations());
  if (!applied)
    FAIL("public migrations: " << caf::to_string(applied.error()));
}

/// A scratch database (see create_scratch_database) with the public
/// migrations applied; its URL.
inline std::string migrated_database(std::string_view prefix) {
  auto url = create_scratch_database(prefix);
  apply_public_migrations(*open_session(url));
  return url;
}

/// The single integer of a one-row query.
inline int64_t scalar(storage::pg_session& s, const std::string& sql,
                      storage::sql_params params = {}) {
  auto r = s.exec(sql, std::move(params));
  if (!r)
    FAIL("query failed: " << caf::to_string(r.error()) << "\n" << sql);
  REQUIRE(r->rows() == 1);
  return r->int64(0, 0);
}

/// The single text of a one-row query.
inline std::string text(storage::pg_session& s, const std::string& sql,
                        storage::sql_params params = {}) {
  auto r = s.exec(sql, std::move(params));
  if (!r)
    FAIL("query failed: " << caf::to_string(r.error()) << "\n" << sql);
  REQUIRE(r->rows() == 1);
  return std::string{r->text(0, 0)};
}

// -- users, organizations, keys ---------------------------------------------------------

/// Creates a user with the password "correct horse"; its id.
inline std::string create_test_user(storage::pg_session& db,
                                    const std::string& email) {
  auto user = storage::create_user(db, email, "correct horse");
  REQUIRE(user);
  return user->id;
}

/// Creates an active organization owned by `owner_id`.
inline storage::org_row create_test_org(storage::pg_session& db,
                                        const std::string& slug,
                                        const std::string& name,
                                        const std::string& owner_id) {
  auto org = actors::create_org(db, slug, name, owner_id,
                                storage::tenant_migrations());
  if (!org)
    FAIL("create org: " << caf::to_string(org.error()));
  return std::move(*org);
}

/// Issues an API key of `org_id` without expiry.
inline storage::issued_api_key
create_test_key(storage::pg_session& db, const std::string& org_id,
                const std::string& user_id, const std::string& name,
                const std::vector<std::string>& scopes) {
  auto k = storage::create_api_key(db, org_id, user_id, name, scopes, "");
  REQUIRE(k);
  return std::move(*k);
}

// -- the node ---------------------------------------------------------------------------

/// Settings of a test node on `url`: loopback, an ephemeral port and a
/// short shutdown grace.
/// The master keys of this test run ("t1:<base64>"): one fresh key per
/// process, so nodes restarted within a run open what earlier ones sealed
/// and no key file is written.
inline const std::string& test_master_keys() {
  static const std::string keys = [] {
    std::string raw(32, '\0');
    runtime::random_bytes(raw.data(), raw.size());
    return "t1:" + runtime::base64_encode(raw);
  }();
  return keys;
}

inline config::settings node_settings(const std::string& url,
                                      std::string log_level = "warn") {
  using namespace std::chrono_literals;
  config::settings cfg;
  cfg.database_url = url;
  cfg.master_keys = test_master_keys();
  cfg.listen_host = "127.0.0.1";
  cfg.listen_port = 0;
  cfg.log_level = std::move(log_level);
  cfg.shutdown_grace = 2000ms;
  return cfg;
}

/// Starts a node with `cfg`.
inline std::unique_ptr<net::node> start_node(const config::settings& cfg) {
  auto started = net::node::start(cfg);
  if (!started)
    FAIL("node: " << caf::to_string(started.error()));
  return std::move(*started);
}

// -- HTTP -----------------------------------------------------------------------------

/// One request on a fresh connection; a non-empty `body` is sent as JSON.
inline response call(uint16_t port, const std::string& method,
                     const std::string& target,
                     std::vector<std::string> headers = {},
                     const std::string& body = {}) {
  if (!body.empty())
    headers.push_back("Content-Type: application/json");
  auto res = fetch(port, method, target, headers, body);
  REQUIRE(res);
  return *res;
}

/// `call` authorized by the API key `key`.
inline response call_with_key(uint16_t port, const std::string& key,
                              const std::string& method,
                              const std::string& target,
                              const std::string& body = {}) {
  return call(port, method, target, {"Authorization: Bearer " + key}, body);
}

/// Logs in `email` (password "correct horse"); its cookie and CSRF headers.
inline std::vector<std::string> log_in(uint16_t port, const std::string& email) {
  auto res = call(port, "POST", "/api/v1/session", {},
                  R"({"email":")" + email + R"(","password":"correct horse"})");
  REQUIRE(res.status == 200);
  auto cookie = res.headers["set-cookie"];
  auto at = cookie.find("fp_session=");
  REQUIRE(at != std::string::npos);
  auto token = cookie.substr(at + 11, cookie.find(';', at) - at - 11);
  return {"Cookie: fp_session=" + token,
          "X-CSRF-Token: " + json_string(res.body, "csrf_token")};
}

// -- waiting ----------------------------------------------------------------------------

/// Polls `pred` every `step` until it holds or `limit` passes; the last
/// answer of `pred`.
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds limit = std::chrono::seconds{20},
                       std::chrono::milliseconds step
                       = std::chrono::milliseconds{50}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(step);
  }
  return pred();
}

} // namespace fp::test
