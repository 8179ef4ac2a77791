// `Idempotency-Key` on POST /api/v1/signals against a real node over HTTP:
// concurrent repeats make one signal, completed requests are replayed,
// reuse with another body is refused, failures do not burn the key, and
// keys of different callers never collide.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fp/actors/orgs.hpp"
#include "fp/config/settings.hpp"
#include "fp/net/node.hpp"
#include "fp/storage/api_keys.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/idempotency.hpp"
#include "fp/storage/migrations.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/spine_fixture.hpp"

using namespace std::chrono_literals;
using namespace fp;

namespace {

/// A scratch database with one organization "idem" and two write keys.
struct idem_fixture {
  std::string url;
  std::unique_ptr<storage::pg_session> db;
  std::string key_a;
  std::string key_b;
  std::string key_a_id;
  std::unique_ptr<net::node> node;
  uint16_t port = 0;

  idem_fixture() {
    url = test::migrated_database("idem");
    db = test::open_session(url);
    auto user_id = test::create_test_user(*db, "idem@example.com");
    auto org = test::create_test_org(*db, "idem", "Idem", user_id);
    for (auto* out : {&key_a, &key_b}) {
      auto k = test::create_test_key(*db, org.id, user_id, "writer", {"write"});
      *out = k.key;
      if (key_a_id.empty())
        key_a_id = k.record.id;
    }
    node = test::start_node(test::node_settings(url));
    port = node->port();
  }

  ~idem_fixture() {
    if (node)
      node->stop();
  }

  test::response post(const std::string& key, const std::string& body,
                      const std::string& idem_key) {
    std::vector<std::string> headers{"Authorization: Bearer " + key,
                                     "Content-Type: application/json"};
    if (!idem_key.empty())
      headers.push_back("Idempotency-Key: " + idem_key);
    auto res = test::fetch(port, "POST", "/api/v1/signals", headers, body);
    REQUIRE(res);
    return *res;
  }

  int64_t signals_of_type(const std::string& type) {
    return test::scalar(*db, "SELECT count(*) FROM \"org_idem\".signals "
                            "WHERE type = '" + type + "'");
  }
};

} // namespace

TEST_CASE("idempotency: 50 concurrent identical POSTs with one key make one "
          "signal",
          "[idempotency]") {
  idem_fixture f;
  const std::string body = R"({"type":"idem.burst","payload":{"n":1}})";
  constexpr int n = 50;
  std::vector<test::response> answers(n);
  std::mutex mtx;
  std::condition_variable cv;
  bool go = false;
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      // Every connection is open before any request goes out.
      test::client c{f.port};
      {
        std::unique_lock<std::mutex> guard{mtx};
        cv.wait(guard, [&] { return go; });
      }
      c.send(test::request_text("POST", "/api/v1/signals",
                                {"Authorization: Bearer " + f.key_a,
                                 "Content-Type: application/json",
                                 "Idempotency-Key: burst-1"},
                                body));
      if (auto res = c.read_response(20000ms))
        answers[static_cast<std::size_t>(i)] = *res;
    });
  std::this_thread::sleep_for(200ms); // let the threads connect
  {
    std::lock_guard<std::mutex> guard{mtx};
    go = true;
  }
  cv.notify_all();
  for (auto& t : threads)
    t.join();

  std::map<int, int> by_status;
  std::set<std::string> ids;
  for (auto& a : answers) {
    ++by_status[a.status];
    if (a.status == 200 || a.status == 201)
      ids.insert(test::json_string(a.body, "id"));
    if (a.status == 200)
      CHECK(a.header("idempotent-replayed") == "true");
  }
  INFO("201: " << by_status[201] << ", 200: " << by_status[200]
               << ", 409: " << by_status[409]);
  CHECK(by_status[201] == 1);
  CHECK(by_status[200] + by_status[201] + by_status[409] == n);
  CHECK(ids.size() == 1);
  CHECK(f.signals_of_type("idem.burst") == 1);

  // A retry after completion gets the original answer, as 200.
  auto first = std::find_if(answers.begin(), answers.end(),
                            [](auto& a) { return a.status == 201; });
  REQUIRE(first != answers.end());
  auto retry = f.post(f.key_a, body, "burst-1");
  CHECK(retry.status == 200);
  CHECK(retry.header("idempotent-replayed") == "true");
  CHECK(retry.body == first->body);
  CHECK(f.signals_of_type("idem.burst") == 1);

  // The same key with another body is refused.
  auto other = f.post(f.key_a, R"({"type":"idem.burst","payload":{"n":2}})",
                      "burst-1");
  CHECK(other.status == 422);
  CHECK(other.header("content-type") == "application/problem+json");
  CHECK(other.body.find("different request") != std::string::npos);
  CHECK(f.signals_of_type("idem.burst") == 1);
}

TEST_CASE("idempotency: failures free the key; callers have their own keys; "
          "bad keys are refused",
          "[idempotency]") {
  idem_fixture f;
  // An invalid signal fails, and the key stays usable.
  auto bad = f.post(f.key_a, R"({"type":"","payload":{}})", "retry-me");
  CHECK(bad.status == 422);
  CHECK(bad.header("idempotent-replayed").empty());
  auto good = f.post(f.key_a, R"({"type":"idem.retry","payload":{}})",
                     "retry-me");
  CHECK(good.status == 201);
  auto again = f.post(f.key_a, R"({"type":"idem.retry","payload":{}})",
                      "retry-me");
  CHECK(again.status == 200);
  CHECK(test::json_string(again.body, "id") == test::json_string(good.body, "id"));
  CHECK(f.signals_of_type("idem.retry") == 1);

  // Another API key with the same key text is another caller.
  auto b = f.post(f.key_b, R"({"type":"idem.retry","payload":{}})", "retry-me");
  CHECK(b.status == 201);
  CHECK(test::json_string(b.body, "id") != test::json_string(good.body, "id"));
  CHECK(f.signals_of_type("idem.retry") == 2);

  // Without the header nothing is deduplicated.
  CHECK(f.post(f.key_a, R"({"type":"idem.plain","payload":{}})", "").status == 201);
  CHECK(f.post(f.key_a, R"({"type":"idem.plain","payload":{}})", "").status == 201);
  CHECK(f.signals_of_type("idem.plain") == 2);

  // Malformed keys: too long, or control characters.
  CHECK(f.post(f.key_a, R"({"type":"idem.x","payload":{}})",
               std::string(256, 'k'))
          .status
        == 400);
  CHECK(f.post(f.key_a, R"({"type":"idem.x","payload":{}})", "a\tb").status
        == 400);
  CHECK(f.signals_of_type("idem.x") == 0);

  // An abandoned claim (its runner died) blocks the key with 409 until its
  // lease has passed; then the next request takes it over.
  const std::string body = R"({"type":"idem.stuck","payload":{}})";
  auto hash = storage::idempotency_request_hash("POST", "/api/v1/signals", body);
  REQUIRE(f.db->exec("INSERT INTO \"org_idem\".idempotency_keys (scope, key, "
                     "route, request_hash, claim_token) VALUES ($1, 'stuck', "
                     "'POST /api/v1/signals', $2, gen_random_uuid())",
                     {"key:" + f.key_a_id, hash}));
  CHECK(f.post(f.key_a, body, "stuck").status == 409);
  CHECK(f.signals_of_type("idem.stuck") == 0);
  REQUIRE(f.db->exec("UPDATE \"org_idem\".idempotency_keys SET created_at = "
                     "now() - interval '10 minutes' WHERE key = 'stuck'"));
  CHECK(f.post(f.key_a, body, "stuck").status == 201);
  CHECK(f.signals_of_type("idem.stuck") == 1);
  CHECK(test::scalar(*f.db, "SELECT count(*) FROM \"org_idem\".idempotency_keys "
                           "WHERE key = 'stuck' AND state = 'completed'")
        == 1);

  // Rows older than the retention are gone at the scope's next claim.
  REQUIRE(f.db->exec("UPDATE \"org_idem\".idempotency_keys SET created_at = "
                     "now() - interval '25 hours' WHERE key = 'stuck'"));
  CHECK(f.post(f.key_a, body, "stuck").status == 201);
  CHECK(f.signals_of_type("idem.stuck") == 2);
}

TEST_CASE("idempotency: claims, takeover and release in storage",
          "[idempotency]") {
  using outcome = storage::idempotency_claim::outcome;
  auto url = test::create_scratch_database("idem_store");
  auto db = test::open_session(url);
  REQUIRE(storage::apply_migrations(*db, storage::public_migrations()));
  auto user = storage::create_user(*db, "store@example.com", "correct horse");
  REQUIRE(user);
  REQUIRE(actors::create_org(*db, "idem_store", "S", user->id,
                             storage::tenant_migrations()));
  storage::idempotency_ref ref{"idem_store", "user:" + user->id, "k1"};
  auto hash = storage::idempotency_request_hash("POST", "/x", "{}");
  auto claim = [&](const std::string& h, std::chrono::milliseconds lease = 2min) {
    auto c = storage::claim_idempotency_key(*db, ref, "POST /x", h, lease);
    if (!c)
      FAIL(caf::to_string(c.error()));
    return *c;
  };
  auto first = claim(hash);
  REQUIRE(first.what == outcome::claimed);
  CHECK(claim(hash).what == outcome::in_flight);
  CHECK(claim(storage::idempotency_request_hash("POST", "/x", "{ }")).what
        == outcome::mismatch);
  // A lease of zero: the claim counts as abandoned and is taken over; the
  // first holder can then neither complete nor release it.
  auto second = claim(hash, 0ms);
  REQUIRE(second.what == outcome::claimed);
  CHECK(second.token != first.token);
  CHECK_FALSE(*storage::complete_idempotency_key(*db, ref, first.token, 201,
                                                 "application/json", "{}"));
  CHECK_FALSE(*storage::release_idempotency_key(*db, ref, first.token));
  CHECK(*storage::complete_idempotency_key(*db, ref, second.token, 201,
                                           "application/json", R"({"id":1})"));
  auto done = claim(hash);
  CHECK(done.what == outcome::completed);
  CHECK(done.status == 201);
  CHECK(done.content_type == "application/json");
  CHECK(done.body == R"({"id":1})");
  // A completed key is never taken over, however old.
  CHECK(claim(hash, 0ms).what == outcome::completed);
  // Released keys are free again.
  storage::idempotency_ref other{"idem_store", ref.scope, "k2"};
  auto c2 = storage::claim_idempotency_key(*db, other, "POST /x", hash, 2min);
  REQUIRE(c2);
  CHECK(*storage::release_idempotency_key(*db, other, c2->token));
  auto c3 = storage::claim_idempotency_key(*db, other, "POST /x", hash, 2min);
  REQUIRE(c3);
  CHECK(c3->what == outcome::claimed);
  // Slugs that are no slug never reach SQL.
  storage::idempotency_ref evil{"x\"; drop table y; --", ref.scope, "k"};
  CHECK_FALSE(storage::claim_idempotency_key(*db, evil, "POST /x", hash, 2min));
}
