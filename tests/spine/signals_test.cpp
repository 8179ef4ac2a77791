// Pure rules of the signal path: validation, subscription patterns, the
// POST body shapes and the opaque cursor.

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "fp/actors/signal_bus.hpp"
#include "fp/actors/signal_emit.hpp"
#include "fp/actors/signal_rules.hpp"
#include "fp/net/signal_routes.hpp"
#include "fp/runtime/crypto.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/system_config.hpp"
#include "fp/storage/storage_pool.hpp"
#include "fp/storage/subscriptions.hpp"

using namespace fp;
using fp::describe_atom;
using fp::describe_atom_v;
using fp::emit_atom_v;
using fp::run_atom;

namespace {

net::http_request json_post(std::string body) {
  net::http_request req;
  req.method = "POST";
  req.target = "/api/v1/signals";
  req.path = req.target;
  req.headers.push_back({"content-type", "application/json"});
  req.body = std::move(body);
  return req;
}

} // namespace

TEST_CASE("signals: types are dotted lowercase words", "[signals]") {
  using actors::signal_type_error;
  CHECK(signal_type_error("forum.post.created").empty());
  CHECK(signal_type_error("a.b").empty());
  CHECK(signal_type_error("a1_x.b_2.c3").empty());
  CHECK(signal_type_error("a.0").empty());
  CHECK_FALSE(signal_type_error("").empty());
  CHECK_FALSE(signal_type_error("forum").empty());      // one word
  CHECK_FALSE(signal_type_error("Forum.post").empty()); // upper case
  CHECK_FALSE(signal_type_error("1forum.post").empty());
  CHECK_FALSE(signal_type_error("_forum.post").empty());
  CHECK_FALSE(signal_type_error("forum..post").empty());
  CHECK_FALSE(signal_type_error("forum.post.").empty());
  CHECK_FALSE(signal_type_error(".forum.post").empty());
  CHECK_FALSE(signal_type_error("forum.po-st").empty());
  CHECK_FALSE(signal_type_error("forum.post created").empty());
  std::string longest = "a." + std::string(198, 'b');
  CHECK(signal_type_error(longest).empty());
  CHECK_FALSE(signal_type_error(longest + "b").empty());
  CHECK(signal_type_error("forum").find("type") == 0); // names the member
}

TEST_CASE("signals: payloads are JSON objects within the limit",
          "[signals]") {
  using actors::signal_payload_error;
  CHECK(signal_payload_error("{}", 10).empty());
  CHECK(signal_payload_error(" {\"a\":1} ", 10).empty());
  CHECK_FALSE(signal_payload_error("[]", 10).empty());
  CHECK_FALSE(signal_payload_error("\"x\"", 10).empty());
  CHECK_FALSE(signal_payload_error("", 10).empty());
  CHECK_FALSE(signal_payload_error("{\"a\":\"0123456789\"}", 10).empty());
  CHECK(signal_payload_error("{\"a\":\"0123456789\"}", 10).find("10 bytes")
        != std::string::npos);
  // jsonb cannot hold U+0000; an escaped backslash before "u0000" is fine.
  CHECK_FALSE(signal_payload_error(R"({"a":"x\u0000"})", 100).empty());
  CHECK(signal_payload_error(R"({"a":"x\\u0000"})", 100).empty());
  CHECK(signal_payload_error(R"({"a\"":"\u0001"})", 100).empty());
}

TEST_CASE("signals: dedupe keys, ids and times", "[signals]") {
  CHECK(actors::dedupe_key_error("").empty());
  CHECK(actors::dedupe_key_error("order-42:created").empty());
  CHECK_FALSE(actors::dedupe_key_error(std::string(201, 'k')).empty());
  CHECK_FALSE(actors::dedupe_key_error("tab\there").empty());
  CHECK(actors::opaque_id_error("corr 1", "correlation_id").empty());
  CHECK(actors::opaque_id_error(std::string(201, 'c'), "correlation_id")
          .find("correlation_id")
        == 0);
  CHECK(actors::is_rfc3339("2026-01-02T03:04:05Z"));
  CHECK(actors::is_rfc3339("2026-01-02T03:04:05.123456Z"));
  CHECK(actors::is_rfc3339("2026-01-02t03:04:05+02:00"));
  CHECK(actors::is_rfc3339("2024-02-29T23:59:59-11:30"));
  CHECK_FALSE(actors::is_rfc3339("2025-02-29T00:00:00Z")); // no leap day
  CHECK_FALSE(actors::is_rfc3339("2026-13-01T00:00:00Z"));
  CHECK_FALSE(actors::is_rfc3339("2026-01-02T24:00:00Z"));
  CHECK_FALSE(actors::is_rfc3339("2026-01-02T23:59:60Z"));
  CHECK_FALSE(actors::is_rfc3339("2026-01-02T03:04:05"));   // no offset
  CHECK_FALSE(actors::is_rfc3339("2026-01-02 03:04"));
  CHECK_FALSE(actors::is_rfc3339("2026-01-02T03:04:05.Z"));
  CHECK_FALSE(actors::is_rfc3339("2026-01-02T03:04:05+0200"));
  CHECK_FALSE(actors::is_rfc3339("yesterday"));
}

TEST_CASE("signals: one item is refused with the first reason",
          "[signals]") {
  actors::emit_limits limits;
  limits.payload_limit = 32;
  actors::signal_input ok;
  ok.type = "a.b";
  CHECK(actors::signal_input_error(ok, limits).empty());
  auto bad = ok;
  bad.occurred_at = "soon";
  CHECK(actors::signal_input_error(bad, limits).find("occurred_at") == 0);
  bad = ok;
  bad.payload = "{\"x\":\"" + std::string(40, 'x') + "\"}";
  CHECK(actors::signal_input_error(bad, limits).find("payload") == 0);
  bad = ok;
  bad.causation_id = std::string(300, 'c');
  CHECK(actors::signal_input_error(bad, limits).find("causation_id") == 0);
}

TEST_CASE("signals: subscription patterns", "[signals]") {
  using actors::subscription_pattern_error;
  using storage::subscription_matches;
  CHECK(subscription_pattern_error("*").empty());
  CHECK(subscription_pattern_error("forum.*").empty());
  CHECK(subscription_pattern_error("forum.post.*").empty());
  CHECK(subscription_pattern_error("forum.post.created").empty());
  CHECK_FALSE(subscription_pattern_error("forum").empty());
  CHECK_FALSE(subscription_pattern_error(".*").empty());
  CHECK_FALSE(subscription_pattern_error("forum.*.created").empty());
  CHECK_FALSE(subscription_pattern_error("forum..*").empty());
  CHECK_FALSE(subscription_pattern_error("fo*").empty());
  CHECK(subscription_matches("*", "a.b"));
  CHECK(subscription_matches("a.b", "a.b"));
  CHECK_FALSE(subscription_matches("a.b", "a.bc"));
  CHECK(subscription_matches("a.*", "a.b"));
  CHECK(subscription_matches("a.*", "a.b.c"));
  CHECK_FALSE(subscription_matches("a.*", "a"));
  CHECK_FALSE(subscription_matches("a.*", "ab.c"));
  CHECK(subscription_matches("a.b.*", "a.b.c"));
  CHECK_FALSE(subscription_matches("a.b.*", "a.bc.d"));
}

TEST_CASE("signals: POST bodies: one object, a wrapper or an array",
          "[signals]") {
  auto one = net::parse_signal_post(
    json_post(R"({"type":"a.b","payload":{"x":[1,{"y":2}]},"dedupe_key":"k",)"
              R"("correlation_id":null,"occurred_at":"2026-01-02T03:04:05Z",)"
              R"("extra":true})"),
    10);
  REQUIRE(one);
  CHECK_FALSE(one->batch);
  REQUIRE(one->items.size() == 1);
  CHECK(one->shape_errors[0].empty());
  CHECK(one->items[0].type == "a.b");
  CHECK(one->items[0].payload == R"({"x":[1,{"y":2}]})");
  CHECK(one->items[0].dedupe_key == "k");
  CHECK(one->items[0].correlation_id.empty());
  CHECK(one->items[0].occurred_at == "2026-01-02T03:04:05Z");

  auto wrapped = net::parse_signal_post(
    json_post(R"({"signals":[{"type":"a.b"},{"type":7},42,)"
              R"({"type":"a.c","actor":{"kind":"human"}},{"payload":{}}]})"),
    10);
  REQUIRE(wrapped);
  CHECK(wrapped->batch);
  REQUIRE(wrapped->items.size() == 5);
  CHECK(wrapped->shape_errors[0].empty());
  CHECK(wrapped->items[0].payload == "{}");
  CHECK(wrapped->shape_errors[1] == "type must be a string");
  CHECK(wrapped->shape_errors[2] == "each signal must be a JSON object");
  CHECK(wrapped->shape_errors[3].find("actor") == 0);
  CHECK(wrapped->shape_errors[4] == "missing member \"type\"");

  auto bare = net::parse_signal_post(
    json_post(R"([{"type":"a.b","payload":[]},{"type":"a.b"}])"), 10);
  REQUIRE(bare);
  CHECK(bare->batch);
  CHECK(bare->shape_errors[0] == "payload must be a JSON object");
  CHECK(bare->shape_errors[1].empty());

  auto too_many = net::parse_signal_post(
    json_post(R"([{"type":"a.b"},{"type":"a.b"},{"type":"a.b"}])"), 2);
  REQUIRE_FALSE(too_many);
  CHECK(runtime::code_of(too_many.error())
        == runtime::errc::payload_too_large);

  auto empty = net::parse_signal_post(json_post(R"({"signals":[]})"), 2);
  REQUIRE_FALSE(empty);
  CHECK(runtime::code_of(empty.error()) == runtime::errc::invalid_argument);

  auto scalar = net::parse_signal_post(json_post("12"), 2);
  REQUIRE_FALSE(scalar);
  auto broken = net::parse_signal_post(json_post(R"({"type":)"), 2);
  REQUIRE_FALSE(broken);
  CHECK(runtime::code_of(broken.error()) == runtime::errc::bad_request);
}

TEST_CASE("signals: cursors are opaque and checked", "[signals]") {
  auto c = net::encode_signal_cursor(12345);
  CHECK(c.find("12345") == std::string::npos);
  CHECK(net::decode_signal_cursor(c) == int64_t{12345});
  CHECK_FALSE(net::decode_signal_cursor("").has_value());
  CHECK_FALSE(net::decode_signal_cursor("!!!").has_value());
  CHECK_FALSE(net::decode_signal_cursor(net::encode_signal_cursor(0)));
  CHECK_FALSE(net::decode_signal_cursor(runtime::base64url_encode("s:12x")));
  CHECK_FALSE(net::decode_signal_cursor(runtime::base64url_encode("t:12")));
  CHECK_FALSE(net::decode_signal_cursor(runtime::base64url_encode("s:-3")));
}

TEST_CASE("signals: list queries are validated", "[signals]") {
  net::http_request req;
  req.method = "GET";
  req.query = "type=forum.post&actor=u1&limit=7&since=2026-01-01T00:00:00Z";
  auto f = net::parse_signal_query(req);
  REQUIRE(f);
  CHECK(f->type_prefix == "forum.post");
  CHECK(f->actor_id == "u1");
  CHECK(f->limit == 7);
  CHECK(f->since == "2026-01-01T00:00:00Z");
  for (auto bad : {"limit=0", "limit=501", "limit=x", "type=Forum",
                   "since=yesterday", "cursor=zzz", "actor_kind=robot"}) {
    req.query = bad;
    INFO(bad);
    CHECK_FALSE(net::parse_signal_query(req));
  }
}

// -- the signal bus's grouping, with a pool that only records tasks ----------------

namespace {

/// A storage pool that keeps each task's promise until the test answers it.
struct held_tasks {
  std::mutex mtx;
  std::vector<caf::typed_response_promise<uint32_t>> promises;
  std::vector<std::string> labels;

  std::size_t size() {
    std::lock_guard<std::mutex> guard{mtx};
    return promises.size();
  }

  /// Fails task `i` with `err` (the group's database error).
  void fail(std::size_t i, caf::error err) {
    std::lock_guard<std::mutex> guard{mtx};
    promises.at(i).deliver(std::move(err));
  }
};

storage::storage_pool_actor::behavior_type
holding_pool(storage::storage_pool_actor::pointer self,
             std::shared_ptr<held_tasks> held) {
  return {
    [self](describe_atom) -> runtime::actor_status {
      return {"holding", self->mailbox().size()};
    },
    [self, held](run_atom, storage::db_task& task)
      -> caf::typed_response_promise<uint32_t> {
      auto promise = self->make_response_promise<uint32_t>();
      std::lock_guard<std::mutex> guard{held->mtx};
      held->promises.push_back(promise);
      held->labels.push_back(task.label);
      return promise;
    },
  };
}

template <class Pred>
bool soon(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  return pred();
}

actors::signal_emit_request emit_req(const std::string& slug, std::size_t n) {
  auto b = std::make_shared<actors::emit_batch>();
  b->tenant = {"id-" + slug, slug};
  b->actor = {"system", "test", "Test"};
  b->items.resize(n);
  for (auto& item : b->items)
    item.type = "a.b";
  return {std::move(b)};
}

} // namespace

TEST_CASE("signals: the bus groups emits, one group per tenant at a time",
          "[signals]") {
  runtime::system_config cfg;
  caf::actor_system sys{cfg};
  auto held = std::make_shared<held_tasks>();
  auto pool = sys.spawn(holding_pool, held);
  actors::signal_bus_options opts;
  opts.storage_pool = std::make_shared<runtime::actor_slot>();
  opts.storage_pool->set(caf::actor_cast<caf::actor>(pool));
  opts.linger = std::chrono::hours{1}; // only group_max and commits flush
  opts.group_max = 6;
  opts.max_pending = 9;
  opts.tenant_in_flight = 1;
  caf::scoped_actor self{sys};
  auto bus = actors::spawn_signal_bus(self.ptr(), opts);
  auto state_of = [&] {
    std::string text;
    self->request(bus, caf::infinite, describe_atom_v)
      .receive([&](runtime::actor_status& st) { text = st.state; },
               [&](caf::error& err) { text = caf::to_string(err); });
    return text;
  };

  // Six signals fill a group: one task for tenants a and b together.
  self->send(bus, emit_atom_v, emit_req("a", 2));
  self->send(bus, emit_atom_v, emit_req("b", 1));
  self->send(bus, emit_atom_v, emit_req("a", 3));
  REQUIRE(soon([&] { return held->size() == 1; }));
  CHECK(held->labels[0] == "signals.emit");
  // Both tenants are committing: their next requests wait, however full.
  self->send(bus, emit_atom_v, emit_req("a", 5));
  self->send(bus, emit_atom_v, emit_req("b", 3));
  CHECK(state_of().find("gathering 8 signals, 1 groups committing") == 0);
  // Beyond max_pending: refused at once.
  self->send(bus, emit_atom_v, emit_req("b", 2));
  self->receive([](actors::signal_emit_reply&) { FAIL("accepted"); },
                [](caf::error& err) {
                  CHECK(runtime::code_of(err) == runtime::errc::overloaded);
                });

  // A database error fails every request of the group...
  held->fail(0, runtime::make_error(runtime::errc::unavailable, "db down"));
  int failed = 0;
  for (int i = 0; i < 3; ++i)
    self->receive([](actors::signal_emit_reply&) { FAIL("no error"); },
                  [&](caf::error& err) {
                    CHECK(runtime::code_of(err) == runtime::errc::unavailable);
                    ++failed;
                  });
  CHECK(failed == 3);
  // ...and the commit frees the tenants: the waiting requests go out at
  // once, split at group_max (5 + 3 > 6).
  REQUIRE(soon([&] { return held->size() == 3; }));
  CHECK(state_of().find("gathering 0 signals, 2 groups committing") == 0);
  held->fail(1, runtime::make_error(runtime::errc::unavailable, "db down"));
  held->fail(2, runtime::make_error(runtime::errc::unavailable, "db down"));
  for (int i = 0; i < 2; ++i)
    self->receive([](actors::signal_emit_reply&) { FAIL("no error"); },
                  [](caf::error&) {});
  self->send_exit(bus, caf::exit_reason::user_shutdown);
  self->send_exit(pool, caf::exit_reason::user_shutdown);
}
