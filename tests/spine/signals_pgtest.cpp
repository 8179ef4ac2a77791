// Signals against a real node over HTTP and the test PostgreSQL: emits
// (single, duplicate, batches with invalid neighbours, limits), the actor
// taken from the caller, listing with filters and cursors, tenant
// isolation, subscriptions enqueueing handler jobs in the emit transaction,
// and concurrent emits committed in seq order.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

// simdjson's class layouts depend on this macro; the packaged library (and
// every target linking it through CMake) is built with it.
#ifndef SIMDJSON_THREADS_ENABLED
#  define SIMDJSON_THREADS_ENABLED 1
#endif
#include <simdjson.h>

#include "fp/actors/orgs.hpp"
#include "fp/actors/signal_emit.hpp"
#include "fp/config/settings.hpp"
#include "fp/net/node.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/api_keys.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/migrations.hpp"
#include "fp/storage/signals.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/spine_fixture.hpp"

using namespace std::chrono_literals;
using namespace fp;

namespace {

/// A parsed JSON answer (DOM: test bodies are small).
struct json_doc {
  simdjson::dom::parser parser;
  simdjson::dom::element root;

  explicit json_doc(const std::string& text) {
    if (parser.parse(text).get(root))
      FAIL("not JSON: " << text);
  }
};

std::string str(simdjson::dom::element e, std::string_view key) {
  std::string_view v;
  if (e[key].get_string().get(v))
    return {};
  return std::string{v};
}

int64_t num(simdjson::dom::element e, std::string_view key) {
  int64_t v = 0;
  if (e[key].get_int64().get(v))
    return -1;
  return v;
}

struct org_keys {
  std::string id;
  std::string writer;    // "write" scope: emits
  std::string writer_id; // its key id (the actor id of its signals)
  std::string admin;     // "admin" scope: subscriptions
};

/// A scratch database with organizations "sga" and "sgb", keys for each,
/// and a node serving them.
struct sig_fixture {
  std::string url;
  std::unique_ptr<storage::pg_session> db;
  std::string user_id;
  org_keys a;
  org_keys b;
  std::unique_ptr<net::node> node;
  uint16_t port = 0;

  sig_fixture() {
    url = test::migrated_database("sig");
    db = test::open_session(url);
    user_id = test::create_test_user(*db, "sig@example.com");
    for (auto [slug, keys] : {std::pair{"sga", &a}, std::pair{"sgb", &b}}) {
      auto org = test::create_test_org(*db, slug, slug, user_id);
      keys->id = org.id;
      auto w = test::create_test_key(*db, org.id, user_id, "writer", {"write"});
      auto adm = test::create_test_key(*db, org.id, user_id, "admin", {"admin"});
      keys->writer = w.key;
      keys->writer_id = w.record.id;
      keys->admin = adm.key;
    }
    auto cfg = test::node_settings(url);
    cfg.signal_payload_limit = 2048;
    node = test::start_node(cfg);
    port = node->port();
  }

  ~sig_fixture() {
    if (node)
      node->stop();
  }

  test::response call(const std::string& key, const std::string& method,
                      const std::string& target,
                      const std::string& body = {}) {
    return test::call_with_key(port, key, method, target, body);
  }

  test::response emit(const std::string& key, const std::string& body) {
    return call(key, "POST", "/api/v1/signals", body);
  }

  int64_t scalar(const std::string& sql) { return test::scalar(*db, sql); }
};

std::string batch_of(const std::vector<std::string>& items) {
  std::string out = R"({"signals":[)";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0)
      out += ',';
    out += items[i];
  }
  return out + "]}";
}

} // namespace

TEST_CASE("signals: single emits, duplicates, refusals and the actor",
          "[signals]") {
  sig_fixture f;
  auto made = f.emit(f.a.writer,
                     R"({"type":"order.created","payload":{"n":1},)"
                     R"("dedupe_key":"order-1","causation_id":"c-0"})");
  REQUIRE(made.status == 201);
  json_doc one{made.body};
  auto id = str(one.root, "id");
  CHECK(made.header("location") == "/api/v1/signals/" + id);
  CHECK(str(one.root, "type") == "order.created");
  CHECK(str(one.root, "correlation_id") == id); // defaults to its own id
  CHECK(str(one.root, "causation_id") == "c-0");
  CHECK(num(one.root["payload"], "n") == 1);
  CHECK(num(one.root, "seq") > 0);
  // The actor is the calling API key, not anything in the body.
  CHECK(str(one.root["actor"], "kind") == "integration");
  CHECK(str(one.root["actor"], "id") == f.a.writer_id);

  auto dup = f.emit(f.a.writer,
                    R"({"type":"order.created","payload":{"n":2},)"
                    R"("dedupe_key":"order-1"})");
  CHECK(dup.status == 200);
  json_doc two{dup.body};
  CHECK(str(two.root, "id") == id);
  CHECK(num(two.root["payload"], "n") == 1); // the original
  CHECK(f.scalar("SELECT count(*) FROM org_sga.signals WHERE dedupe_key = "
                 "'order-1'")
        == 1);

  auto with_actor = f.emit(f.a.writer,
                           R"({"type":"order.created","actor":{"kind":)"
                           R"("human","id":"x"}})");
  CHECK(with_actor.status == 422);
  CHECK(with_actor.header("content-type") == "application/problem+json");
  CHECK(with_actor.body.find("actor") != std::string::npos);

  auto big = f.emit(f.a.writer, R"({"type":"order.big","payload":{"x":")"
                                  + std::string(3000, 'x') + "\"}}");
  CHECK(big.status == 422);
  CHECK(big.body.find("payload must be at most 2048 bytes")
        != std::string::npos);

  auto bad_type = f.emit(f.a.writer, R"({"type":"Order"})");
  CHECK(bad_type.status == 422);
  json_doc p{bad_type.body};
  CHECK(num(p.root["errors"].at(0), "index") == 0);

  auto bad_time = f.emit(f.a.writer,
                         R"({"type":"order.late","occurred_at":"2026-02-30T00:00:00Z"})");
  CHECK(bad_time.status == 422);
  auto when = f.emit(f.a.writer,
                     R"({"type":"order.late","occurred_at":"2026-02-03T04:05:06.5+01:00"})");
  REQUIRE(when.status == 201);
  CHECK(json_doc{when.body}.root["occurred_at"].get_string().value()
        == "2026-02-03T03:05:06.500000Z");

  CHECK(f.scalar("SELECT count(*) FROM org_sga.signals") == 2);
  // Reading needs no more than the write key; a missing key is refused.
  // The stored signal reads exactly as the POST answered it.
  auto fetched = f.call(f.a.writer, "GET", "/api/v1/signals/" + id);
  CHECK(fetched.status == 200);
  CHECK(fetched.body == made.body);
  CHECK(str(one.root, "occurred_at") == str(one.root, "recorded_at"));
  CHECK(str(one.root, "recorded_at").size() == 27); // ...:SS.uuuuuuZ
  CHECK(test::fetch(f.port, "GET", "/api/v1/signals/" + id)->status == 401);
}

TEST_CASE("signals: batches keep valid items beside invalid ones",
          "[signals]") {
  sig_fixture f;
  std::vector<std::string> items;
  for (int i = 0; i < 1000; ++i) {
    if (i == 17)
      items.push_back(R"({"type":"Bad.Type"})");
    else if (i == 503)
      items.push_back(R"({"type":"batch.item","payload":[1,2]})");
    else
      items.push_back(R"({"type":"batch.item","payload":{"i":)"
                      + std::to_string(i) + "}}");
  }
  auto res = f.emit(f.a.writer, batch_of(items));
  REQUIRE(res.status == 200);
  json_doc d{res.body};
  CHECK(num(d.root, "created") == 998);
  CHECK(num(d.root, "rejected") == 2);
  CHECK(num(d.root, "duplicates") == 0);
  simdjson::dom::array results;
  REQUIRE_FALSE(d.root["results"].get_array().get(results));
  REQUIRE(results.size() == 1000);
  CHECK(str(results.at(17), "status") == "rejected");
  CHECK(str(results.at(17), "error").find("type") == 0);
  CHECK(str(results.at(503), "status") == "rejected");
  CHECK(str(results.at(503), "error") == "payload must be a JSON object");
  CHECK(str(results.at(0), "status") == "created");
  CHECK(num(results.at(999)["signal"]["payload"], "i") == 999);
  CHECK(f.scalar("SELECT count(*) FROM org_sga.signals") == 998);
  // Within a batch, seq follows the item order.
  CHECK(num(results.at(999)["signal"], "seq")
        > num(results.at(998)["signal"], "seq"));

  // Over the limit: refused as a whole.
  items.push_back(R"({"type":"batch.item"})");
  items.push_back(R"({"type":"batch.item"})");
  auto over = f.emit(f.a.writer, batch_of(items));
  CHECK(over.status == 413);
  CHECK(f.scalar("SELECT count(*) FROM org_sga.signals") == 998);

  // Nothing valid: 422 naming each item.
  auto none = f.emit(f.a.writer,
                     batch_of({R"({"type":"x"})", R"({"type":"a.b","payload":1})"}));
  CHECK(none.status == 422);
  json_doc n{none.body};
  CHECK(num(n.root["errors"].at(0), "index") == 0);
  CHECK(num(n.root["errors"].at(1), "index") == 1);

  // A bare array; repeated dedupe keys resolve to the first item.
  auto dups = f.emit(f.a.writer,
                     R"([{"type":"batch.dup","dedupe_key":"d1","payload":{"k":1}},)"
                     R"({"type":"batch.dup","dedupe_key":"d1","payload":{"k":2}},)"
                     R"({"type":"batch.dup","dedupe_key":"d2"}])");
  REQUIRE(dups.status == 200);
  json_doc dd{dups.body};
  simdjson::dom::element r0, r1;
  REQUIRE_FALSE(dd.root["results"].at(0).get(r0));
  REQUIRE_FALSE(dd.root["results"].at(1).get(r1));
  CHECK(str(r0, "status") == "created");
  CHECK(str(r1, "status") == "duplicate");
  CHECK(str(r0["signal"], "id") == str(r1["signal"], "id"));
  CHECK(num(r1["signal"]["payload"], "k") == 1);
  CHECK(f.scalar("SELECT count(*) FROM org_sga.signals WHERE type = "
                 "'batch.dup'")
        == 2);

  // All new: 201.
  auto fresh = f.emit(f.a.writer, batch_of({R"({"type":"batch.fresh"})",
                                            R"({"type":"batch.fresh"})"}));
  CHECK(fresh.status == 201);
}

TEST_CASE("signals: listing filters and walks every row once", "[signals]") {
  sig_fixture f;
  std::vector<std::string> items;
  for (int i = 0; i < 150; ++i) {
    auto type = i % 3 == 0 ? "list.alpha.x" : "list.beta.y";
    items.push_back(std::string{R"({"type":")"} + type
                    + R"(","correlation_id":"c)" + std::to_string(i % 5)
                    + R"(","occurred_at":"2026-03-01T00:)"
                    + (i % 60 < 10 ? "0" : "") + std::to_string(i % 60)
                    + R"(:00Z"})");
  }
  REQUIRE(f.emit(f.a.writer, batch_of(items)).status == 201);
  // Another caller's signal, for the actor filter.
  REQUIRE(f.emit(f.a.admin, R"({"type":"list.other"})").status == 201);

  // Walk all pages.
  std::set<std::string> seen;
  std::vector<int64_t> seqs;
  std::string cursor;
  int pages = 0;
  for (;;) {
    auto target = "/api/v1/signals?limit=17"
                  + (cursor.empty() ? std::string{} : "&cursor=" + cursor);
    auto res = f.call(f.a.writer, "GET", target);
    REQUIRE(res.status == 200);
    json_doc d{res.body};
    for (auto s : d.root["signals"].get_array()) {
      CHECK(seen.insert(str(s, "id")).second);
      seqs.push_back(num(s, "seq"));
    }
    ++pages;
    std::string_view next;
    if (d.root["next_cursor"].get_string().get(next))
      break;
    cursor = std::string{next};
    REQUIRE(pages < 20);
  }
  CHECK(seen.size() == 151);
  CHECK(pages == 9);
  CHECK(std::is_sorted(seqs.rbegin(), seqs.rend())); // newest first

  auto count = [&](const std::string& query) {
    auto res = f.call(f.a.writer, "GET", "/api/v1/signals?limit=500&" + query);
    REQUIRE(res.status == 200);
    json_doc d{res.body};
    return d.root["signals"].get_array().size();
  };
  CHECK(count("type=list.alpha") == 50);
  CHECK(count("type=list.alpha.x") == 50);
  CHECK(count("type=list.") == 151);
  CHECK(count("type=list.gamma") == 0);
  CHECK(count("actor=" + f.a.writer_id) == 150);
  CHECK(count("actor=" + f.a.writer_id + "&actor_kind=human") == 0);
  CHECK(count("correlation_id=c2") == 30);
  CHECK(count("correlation_id=c2&type=list.alpha") == 10);
  CHECK(count("since=2026-03-01T00:30:00Z&until=2026-03-01T00:40:00Z") == 20);
  CHECK(f.call(f.a.writer, "GET", "/api/v1/signals?limit=0").status == 422);
  CHECK(f.call(f.a.writer, "GET", "/api/v1/signals?cursor=nope").status == 422);
}

TEST_CASE("signals: another tenant's signals are never visible",
          "[signals]") {
  sig_fixture f;
  auto made = f.emit(f.a.writer, R"({"type":"secret.made","dedupe_key":"k1"})");
  REQUIRE(made.status == 201);
  auto id = test::json_string(made.body, "id");
  CHECK(f.call(f.b.writer, "GET", "/api/v1/signals/" + id).status == 404);
  CHECK(f.call(f.b.writer, "GET", "/api/v1/signals/not-a-uuid").status == 404);
  auto listed = f.call(f.b.writer, "GET", "/api/v1/signals");
  REQUIRE(listed.status == 200);
  CHECK(listed.body.find(id) == std::string::npos);
  // Dedupe keys are per tenant: the same key makes a new signal in B.
  auto other = f.emit(f.b.writer, R"({"type":"secret.made","dedupe_key":"k1"})");
  CHECK(other.status == 201);
  CHECK(test::json_string(other.body, "id") != id);
}

TEST_CASE("signals: subscriptions enqueue handler jobs in the emit "
          "transaction",
          "[signals]") {
  sig_fixture f;
  // Subscriptions need an admin.
  CHECK(f.call(f.a.writer, "POST", "/api/v1/subscriptions",
               R"({"pattern":"order.*","directive_type":"signal.emit"})")
          .status
        == 403);
  CHECK(f.call(f.a.admin, "POST", "/api/v1/subscriptions",
               R"({"pattern":"order*","directive_type":"signal.emit"})")
          .status
        == 422);
  auto sub = f.call(f.a.admin, "POST", "/api/v1/subscriptions",
                    R"({"pattern":"order.*","directive_type":"signal.emit",)"
                    R"("params":{"type":"order.seen"}})");
  REQUIRE(sub.status == 201);
  auto sub_id = test::json_string(sub.body, "id");
  auto all = f.call(f.a.admin, "POST", "/api/v1/subscriptions",
                    R"({"pattern":"*","directive_type":"signal.emit"})");
  REQUIRE(all.status == 201);
  auto all_id = test::json_string(all.body, "id");
  auto listed = f.call(f.a.writer, "GET", "/api/v1/subscriptions");
  CHECK(listed.status == 200);
  CHECK(listed.body.find(sub_id) != std::string::npos);
  // The other tenant sees none of them.
  CHECK(f.call(f.b.admin, "GET", "/api/v1/subscriptions/" + sub_id).status
        == 404);
  CHECK(f.call(f.b.admin, "DELETE", "/api/v1/subscriptions/" + sub_id).status
        == 404);

  auto jobs_for = [&](const std::string& signal_id) {
    return f.scalar("SELECT count(*) FROM public.jobs WHERE kind = "
                    "'signal.handle' AND queue = 'signals' AND args->>"
                    "'signal_id' = '"
                    + signal_id + "' AND tenant = '" + f.a.id + "'");
  };
  auto made = f.emit(f.a.writer, R"({"type":"order.created","dedupe_key":"o1"})");
  REQUIRE(made.status == 201);
  auto id = test::json_string(made.body, "id");
  CHECK(jobs_for(id) == 2); // "order.*" and "*"
  CHECK(f.scalar("SELECT count(*) FROM public.jobs WHERE unique_key = "
                 "'signal.handle:"
                 + id + ":" + sub_id + "'")
        == 1);
  CHECK(f.scalar("SELECT count(*) FROM public.jobs WHERE args->>"
                 "'subscription_id' = '"
                 + sub_id + "' AND args->>'org_slug' = 'sga' AND args->>"
                 "'correlation_id' = '" + id + "'")
        == 1);
  // A duplicate enqueues nothing more.
  REQUIRE(f.emit(f.a.writer, R"({"type":"order.created","dedupe_key":"o1"})")
            .status
          == 200);
  CHECK(jobs_for(id) == 2);
  // Only "*" matches this one.
  auto other = f.emit(f.a.writer, R"({"type":"invoice.sent"})");
  REQUIRE(other.status == 201);
  CHECK(jobs_for(test::json_string(other.body, "id")) == 1);
  // Disabled and deleted subscriptions match nothing.
  CHECK(f.call(f.a.admin, "PATCH", "/api/v1/subscriptions/" + all_id,
               R"({"enabled":false})")
          .status
        == 200);
  CHECK(f.call(f.a.admin, "DELETE", "/api/v1/subscriptions/" + sub_id).status
        == 204);
  auto later = f.emit(f.a.writer, R"({"type":"order.updated"})");
  REQUIRE(later.status == 201);
  CHECK(jobs_for(test::json_string(later.body, "id")) == 0);
  CHECK(f.call(f.a.admin, "PATCH", "/api/v1/subscriptions/" + all_id,
               R"({"enabled":true})")
          .status
        == 200);

  // A rolled-back emit leaves neither the signal nor its jobs.
  REQUIRE(f.db->exec("BEGIN"));
  actors::signal_input in;
  in.type = "order.rolled";
  auto r = actors::emit_in_transaction(*f.db, {f.a.id, "sga"},
                                       {"system", "test", "Test"}, {in});
  REQUIRE(r);
  REQUIRE(r->size() == 1);
  CHECK(r->front().created);
  auto rolled_id = r->front().record.id;
  CHECK(jobs_for(rolled_id) == 1); // visible inside the transaction
  REQUIRE(f.db->exec("ROLLBACK"));
  CHECK(jobs_for(rolled_id) == 0);
  CHECK(f.scalar("SELECT count(*) FROM org_sga.signals WHERE type = "
                 "'order.rolled'")
        == 0);
}

TEST_CASE("signals: concurrent emits all commit, each with its own seq in "
          "commit order",
          "[signals]") {
  sig_fixture f;
  constexpr int threads = 32;
  constexpr int per_thread = 7; // 224 requests
  std::vector<std::vector<int64_t>> seqs(threads);
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      test::client c{f.port};
      for (int i = 0; i < per_thread; ++i) {
        auto body = R"({"type":"load.tick","payload":{"t":)"
                    + std::to_string(t) + R"(,"i":)" + std::to_string(i)
                    + "}}";
        // Two tenants share the bus's groups.
        auto& key = t % 4 == 3 ? f.b.writer : f.a.writer;
        c.send(test::request_text("POST", "/api/v1/signals",
                                  {"Authorization: Bearer " + key,
                                   "Content-Type: application/json"},
                                  body));
        auto res = c.read_response(20000ms);
        if (!res || res->status != 201) {
          ++failures;
          return;
        }
        auto at = res->body.find("\"seq\":");
        seqs[static_cast<std::size_t>(t)].push_back(
          std::stoll(res->body.substr(at + 6)));
      }
    });
  for (auto& t : pool)
    t.join();
  CHECK(failures == 0);
  std::set<int64_t> all;
  std::set<int64_t> all_b;
  for (int t = 0; t < threads; ++t) {
    auto& s = seqs[static_cast<std::size_t>(t)];
    // A request sent after the previous one was acknowledged committed
    // later, so its seq is higher.
    CHECK(std::is_sorted(s.begin(), s.end()));
    (t % 4 == 3 ? all_b : all).insert(s.begin(), s.end());
  }
  constexpr int b_count = (threads / 4) * per_thread;
  constexpr int a_count = threads * per_thread - b_count;
  CHECK(all.size() == static_cast<std::size_t>(a_count));
  CHECK(all_b.size() == static_cast<std::size_t>(b_count));
  CHECK(f.scalar("SELECT count(*) FROM org_sga.signals WHERE type = "
                 "'load.tick'")
        == a_count);
  CHECK(f.scalar("SELECT count(*) FROM org_sgb.signals WHERE type = "
                 "'load.tick'")
        == b_count);
  // The hub's view: everything after seq 0, ascending, nothing missing.
  auto after = storage::signals_after(*f.db, "sga", 0, 1000, {"load."});
  REQUIRE(after);
  CHECK(after->size() == static_cast<std::size_t>(a_count));
  CHECK(std::is_sorted(after->begin(), after->end(),
                       [](auto& x, auto& y) { return x.seq < y.seq; }));
  auto last = storage::last_signal_seq(*f.db, "sga");
  REQUIRE(last);
  CHECK(*last == *all.rbegin());
  auto one_seq = storage::signal_seq(*f.db, "sga", after->front().id);
  REQUIRE(one_seq);
  CHECK(*one_seq == after->front().seq);
}

TEST_CASE("signals: seq follows commit order, not insert order",
          "[signals]") {
  sig_fixture f;
  auto open = [&] {
    return test::open_session(f.url);
  };
  auto first = open();
  auto second = open();
  auto one = [](const std::string& type) {
    storage::new_signal s;
    s.id = runtime::new_uuid_v7();
    s.type = type;
    s.actor = {"system", "test", "Test"};
    return std::vector<storage::new_signal>{s};
  };
  REQUIRE(first->exec("BEGIN"));
  auto a = storage::insert_signals(*first, "sga", one("order.first"));
  REQUIRE(a);
  // The second inserter waits for the first one's emit lock...
  std::atomic<bool> inserted{false};
  std::optional<caf::expected<std::vector<storage::inserted_signal>>> got;
  REQUIRE(second->exec("BEGIN"));
  std::thread t{[&] {
    got = storage::insert_signals(*second, "sga", one("order.second"));
    inserted = true;
  }};
  auto pid = std::to_string(second->backend_pid());
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (f.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid
                  + " AND wait_event_type = 'Lock'")
         == 0) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(5ms);
  }
  CHECK_FALSE(inserted.load());
  // ...and numbers its signal after the first one's commit.
  REQUIRE(first->exec("COMMIT"));
  t.join();
  REQUIRE(got);
  auto& b = *got;
  REQUIRE(b);
  REQUIRE(second->exec("COMMIT"));
  CHECK(b->front().record.seq > a->front().record.seq);
  CHECK(b->front().created);
  // A rolled-back insert leaves a gap at most, never a reused or lower seq.
  REQUIRE(first->exec("BEGIN"));
  REQUIRE(storage::insert_signals(*first, "sga", one("order.gone")));
  REQUIRE(first->exec("ROLLBACK"));
  auto c = storage::insert_signals(*first, "sga", one("order.third"));
  REQUIRE(c);
  CHECK(c->front().record.seq > b->front().record.seq);
  // Unknown slugs never reach SQL.
  auto bad = storage::insert_signals(*first, "sga\"; drop", one("a.b"));
  CHECK_FALSE(bad);
}

TEST_CASE("signals: a session's signals carry the logged-in user",
          "[signals]") {
  sig_fixture f;
  auto login = test::fetch(f.port, "POST", "/api/v1/session",
                           {"Content-Type: application/json"},
                           R"({"email":"sig@example.com","password":"correct horse"})");
  REQUIRE(login);
  REQUIRE(login->status == 200);
  auto cookie = login->header("set-cookie");
  auto at = cookie.find("fp_session=");
  REQUIRE(at != std::string::npos);
  std::vector<std::string> headers{
    "Cookie: " + cookie.substr(at, cookie.find(';', at) - at),
    "X-CSRF-Token: " + test::json_string(login->body, "csrf_token"),
    "Content-Type: application/json"};
  // No organization selected yet: nothing to emit into.
  auto none = test::fetch(f.port, "POST", "/api/v1/signals", headers,
                          R"({"type":"user.clicked"})");
  REQUIRE(none);
  CHECK(none->status == 403);
  auto chosen = test::fetch(f.port, "POST", "/api/v1/session/org", headers,
                            R"({"org":"sgb"})");
  REQUIRE(chosen);
  REQUIRE(chosen->status == 200);
  auto made = test::fetch(f.port, "POST", "/api/v1/signals", headers,
                          R"({"type":"user.clicked"})");
  REQUIRE(made);
  REQUIRE(made->status == 201);
  json_doc d{made->body};
  CHECK(str(d.root["actor"], "kind") == "human");
  CHECK(str(d.root["actor"], "id") == f.user_id);
  CHECK(str(d.root["actor"], "display") == "sig@example.com");
  CHECK(f.scalar("SELECT count(*) FROM org_sgb.signals WHERE actor_kind = "
                 "'human'")
        == 1);
}
