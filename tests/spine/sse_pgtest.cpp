// The SSE stream of signals against a real node: resume with Last-Event-ID
// (no gap, no duplicate, also across the hub's ring into PostgreSQL pages),
// a stalled subscriber cut off with a retry hint while others and ingest go
// on, heartbeats, tenant isolation and type filters.

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

#include <caf/all.hpp>

#include "fp/actors/pubsub_hub.hpp"
#include "fp/actors/signal_emit.hpp"
#include "fp/config/settings.hpp"
#include "fp/net/node.hpp"
#include "fp/net/signal_stream.hpp"
#include "fp/runtime/interfaces.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/errc.hpp"
#include "fp/storage/pg_listener.hpp"
#include "fp/storage/migrations.hpp"
#include "fp/storage/users.hpp"
#include "http_client.hpp"
#include "pg_cluster.hpp"
#include "spine_fixture.hpp"
#include "sse_client.hpp"

using namespace std::chrono_literals;
using namespace fp;
using storage::pg_session;
using ms = std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

namespace {

using test::sse_client;
using test::sse_event;

// -- a node with two organizations ---------------------------------------------------

using test::call;

using test::open_session;

struct tenant {
  actors::tenant_ref ref;
  /// "Authorization: Bearer ..." of an API key of the organization.
  std::string auth;
};

struct fixture {
  std::string url;
  std::unique_ptr<net::node> node;
  std::unique_ptr<pg_session> db;
  uint16_t port = 0;
  tenant acme;
  tenant beta;

  explicit fixture(ms heartbeat = 15000ms) {
    url = test::migrated_database("sse");
    db = open_session(url);
    test::create_test_user(*db, "owner@example.com");
    auto cfg = test::node_settings(url);
    cfg.sse_heartbeat = heartbeat;
    node = test::start_node(cfg);
    port = node->port();
    auto owner = test::log_in(port, "owner@example.com");
    acme = make_tenant(owner, "acme");
    beta = make_tenant(owner, "beta");
  }

  ~fixture() {
    if (node)
      node->stop();
  }

  tenant make_tenant(const std::vector<std::string>& owner, const std::string& slug) {
    auto made = call(port, "POST", "/api/v1/orgs", owner,
                     R"({"slug":")" + slug + R"(","name":"Org"})");
    REQUIRE(made.status == 201);
    REQUIRE(call(port, "POST", "/api/v1/session/org", owner,
                 R"({"org":")" + slug + R"("})")
              .status
            == 200);
    auto key = call(port, "POST", "/api/v1/api-keys", owner,
                    R"({"name":"sse","scopes":["read","write"]})");
    REQUIRE(key.status == 201);
    auto r = db->exec("SELECT id::text FROM public.organizations WHERE slug = $1",
                      {slug});
    REQUIRE(r);
    REQUIRE(r->rows() == 1);
    tenant t;
    t.ref.org_id = std::string{r->text(0, 0)};
    t.ref.slug = slug;
    t.auth = "Authorization: Bearer " + test::json_string(key.body, "key");
    return t;
  }

  /// Emits `n` signals of `type` in one transaction (the one emit path;
  /// its NOTIFY is what the hub follows); returns their ids in seq order.
  std::vector<std::string> emit(const tenant& t, int n,
                                const std::string& type = "test.tick",
                                std::size_t pad = 0) {
    std::vector<actors::signal_input> items;
    for (int i = 0; i < n; ++i) {
      actors::signal_input in;
      in.type = type;
      in.payload = R"({"i":)" + std::to_string(i) + R"(,"pad":")"
                   + std::string(pad, 'x') + "\"}";
      items.push_back(std::move(in));
    }
    storage::signal_actor who{"system", "sse_test", "SSE test"};
    std::vector<std::string> ids;
    auto err = storage::run_transaction(*db, [&](pg_session& s) -> caf::error {
      ids.clear();
      auto out = actors::emit_in_transaction(s, t.ref, who, items);
      if (!out)
        return std::move(out.error());
      for (auto& r : *out) {
        if (!r.error.empty())
          return caf::make_error(caf::sec::runtime_error, r.error);
        ids.push_back(r.record.id);
      }
      return caf::none;
    });
    if (err)
      FAIL("emit: " << caf::to_string(err));
    return ids;
  }

  /// Emits `n` signals through `POST /api/v1/signals` (one batch; the
  /// signal bus commits it); returns their ids in order.
  std::vector<std::string> emit_http(const tenant& t, int n,
                                     const std::string& type = "test.tick",
                                     std::size_t pad = 0) {
    std::string body = "[";
    for (int i = 0; i < n; ++i) {
      if (i > 0)
        body += ',';
      body += R"({"type":")" + type + R"(","payload":{"i":)" + std::to_string(i)
              + R"(,"pad":")" + std::string(pad, 'x') + R"("}})";
    }
    body += ']';
    auto res = call(port, "POST", "/api/v1/signals", {t.auth}, body);
    INFO(res.body.substr(0, 300));
    REQUIRE(res.status == 201);
    std::vector<std::string> ids;
    const std::string key = R"("signal":{"id":")";
    for (auto at = res.body.find(key); at != std::string::npos;
         at = res.body.find(key, at)) {
      at += key.size();
      ids.push_back(res.body.substr(at, res.body.find('"', at) - at));
    }
    REQUIRE(ids.size() == static_cast<std::size_t>(n));
    return ids;
  }

  std::unique_ptr<sse_client> stream(const tenant& t, const std::string& query = {},
                                     const std::string& last_id = {},
                                     int rcvbuf = 0) {
    std::vector<std::string> headers{t.auth};
    if (!last_id.empty())
      headers.push_back("Last-Event-ID: " + last_id);
    auto c = std::make_unique<sse_client>(port, "/api/v1/signals/stream" + query,
                                          headers, rcvbuf);
    REQUIRE(c->head() == 200);
    return c;
  }
};

std::vector<std::string> ids_of(const std::vector<sse_event>& events) {
  std::vector<std::string> out;
  for (auto& e : events)
    out.push_back(e.id);
  return out;
}

std::vector<std::string> concat(std::vector<std::string> a,
                                const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

/// True when no further signal event arrives within `quiet`.
bool no_more_signals(sse_client& c, ms quiet = 300ms) {
  auto deadline = steady::now() + quiet;
  for (;;) {
    auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
    if (left <= 0ms)
      return true;
    auto ev = c.next(left);
    if (!ev)
      return true;
    if (ev->is_signal()) {
      UNSCOPED_INFO("unexpected event " << ev->id << " " << ev->event);
      return false;
    }
  }
}

} // namespace

TEST_CASE("sse: the stream starts with a retry hint and streams new signals",
          "[sse]") {
  fixture fx;
  auto origin = fx.emit(fx.acme, 1);
  // Resuming from a known signal: nothing emitted after it can be missed,
  // however long the subscription takes to register.
  auto c = fx.stream(fx.acme, {}, origin[0]);
  CHECK(c->head_text().find("content-type: text/event-stream") != std::string::npos);
  CHECK(c->head_text().find("cache-control: no-store") != std::string::npos);
  CHECK(c->head_text().find("x-accel-buffering: no") != std::string::npos);
  auto first = c->next();
  REQUIRE(first);
  CHECK(first->retry == net::signal_stream_retry_ms);
  auto ids = fx.emit_http(fx.acme, 3, "order.created");
  auto got = c->signals(3);
  REQUIRE(ids_of(got) == ids);
  CHECK(got[0].event == "order.created");
  // The data is the REST representation of the signal.
  CHECK(got[0].data.find(R"("id":")" + ids[0] + "\"") != std::string::npos);
  CHECK(got[0].data.find(R"("type":"order.created")") != std::string::npos);
  CHECK(got[0].data.find(R"("payload":)") != std::string::npos);
  CHECK(no_more_signals(*c));

  // A subscriber without a resume point gets what is committed after it
  // registered: poll until a probe arrives, then everything follows.
  auto live = fx.stream(fx.acme);
  std::vector<sse_event> probe;
  for (int i = 0; i < 50 && probe.empty(); ++i) {
    fx.emit(fx.acme, 1, "probe.ping");
    probe = live->signals(1, 200ms);
  }
  REQUIRE(probe.size() == 1);
  CHECK(probe[0].event == "probe.ping");
  // Drain further probes that may have raced the registration.
  while (!live->signals(1, 300ms).empty()) {
  }
  auto later = fx.emit(fx.acme, 5);
  CHECK(ids_of(live->signals(5)) == later);
}

TEST_CASE("sse: Last-Event-ID resumes with no gap and no duplicate", "[sse]") {
  fixture fx;
  auto origin = fx.emit(fx.acme, 1);
  auto first = fx.emit(fx.acme, 10);
  std::vector<std::string> seen;
  {
    auto c = fx.stream(fx.acme, {}, origin[0]);
    auto got = c->signals(5);
    REQUIRE(ids_of(got) == std::vector<std::string>(first.begin(), first.begin() + 5));
    seen = ids_of(got);
    // Dropped mid-stream: whatever else was on the wire is lost to it.
  }
  auto second = fx.emit(fx.acme, 10);
  auto missing = concat(std::vector<std::string>(first.begin() + 5, first.end()), second);
  {
    auto c = fx.stream(fx.acme, {}, seen.back());
    CHECK(ids_of(c->signals(missing.size())) == missing);
    CHECK(no_more_signals(*c));
  }
  // The query parameter works for clients that cannot set headers.
  {
    auto c = fx.stream(fx.acme, "?last_event_id=" + second[4]);
    CHECK(ids_of(c->signals(5)) == std::vector<std::string>(second.begin() + 5, second.end()));
    CHECK(no_more_signals(*c));
  }
  // An id that names no signal of this organization is refused.
  auto beta_id = fx.emit(fx.beta, 1);
  for (auto bad : {std::string{"not-a-uuid"}, beta_id[0],
                   std::string{"0190c0de-0000-7000-8000-000000000000"}}) {
    INFO(bad);
    test::client c{fx.port};
    c.send(test::request_text("GET", "/api/v1/signals/stream",
                              {fx.acme.auth, "Last-Event-ID: " + bad}));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(res->header("content-type").find("application/problem+json") == 0);
  }
  // Without credentials: 401.
  CHECK(call(fx.port, "GET", "/api/v1/signals/stream").status == 401);
}

TEST_CASE("sse: resume far behind reads pages from PostgreSQL and joins live",
          "[sse]") {
  fixture fx;
  auto origin = fx.emit(fx.acme, 1);
  // Subscribed first, so the hub serves the tenant and its ring fills.
  auto watcher = fx.stream(fx.acme, {}, origin[0]);
  std::vector<std::string> all;
  for (int i = 0; i < 6; ++i)
    all = concat(all, fx.emit(fx.acme, 500));
  REQUIRE(ids_of(watcher->signals(all.size(), 30000ms)) == all);
  // From the very start: beyond the ring (1,024 events), so the catch-up
  // reads pages from PostgreSQL while new signals keep committing.
  auto c = fx.stream(fx.acme, {}, origin[0]);
  std::vector<std::string> during;
  std::thread producer([&] {
    auto db = open_session(fx.url);
    for (int i = 0; i < 20; ++i) {
      std::vector<actors::signal_input> items(10);
      for (auto& in : items)
        in.type = "test.late";
      storage::signal_actor who{"system", "sse_test", "SSE test"};
      auto err = storage::run_transaction(*db, [&](pg_session& s) -> caf::error {
        auto out = actors::emit_in_transaction(s, fx.acme.ref, who, items);
        if (!out)
          return std::move(out.error());
        for (auto& r : *out)
          during.push_back(r.record.id);
        return caf::none;
      });
      if (err)
        break;
      std::this_thread::sleep_for(5ms);
    }
  });
  auto got = c->signals(all.size() + 200, 60000ms);
  producer.join();
  REQUIRE(during.size() == 200);
  CHECK(ids_of(got) == concat(all, during));
  CHECK(no_more_signals(*c));
}

TEST_CASE("sse: a stalled subscriber is cut off with a retry hint and loses "
          "nothing on resume",
          "[sse]") {
  fixture fx;
  auto origin = fx.emit(fx.acme, 1);
  constexpr int batches = 20;
  constexpr int per_batch = 20;
  constexpr std::size_t pad = 32 * 1024;

  // A reader that keeps up, in its own thread.
  auto normal = fx.stream(fx.acme, {}, origin[0]);
  auto read_all = [&](std::size_t n, std::vector<sse_event>& out) {
    return std::thread([&, n] { out = normal->signals(n, 60000ms); });
  };

  // Ingest at a pace a reader that keeps up can follow; what is measured is
  // the time the POSTs take (until COMMIT), not the pauses between them.
  auto ingest = [&](std::vector<std::string>& ids) {
    steady::duration spent{};
    for (int i = 0; i < batches; ++i) {
      auto t = steady::now();
      ids = concat(ids, fx.emit_http(fx.acme, per_batch, "bulk.item", pad));
      spent += steady::now() - t;
      std::this_thread::sleep_for(10ms);
    }
    return spent;
  };

  // Baseline: the same ingest with only the normal reader.
  std::vector<sse_event> baseline_got;
  auto baseline_reader = read_all(batches * per_batch, baseline_got);
  std::vector<std::string> baseline_ids;
  auto baseline = ingest(baseline_ids);
  baseline_reader.join();
  REQUIRE(ids_of(baseline_got) == baseline_ids);

  // Now with a subscriber that never reads, on a tiny receive buffer.
  auto slow = fx.stream(fx.acme, {}, baseline_ids.back(), 4096);
  std::vector<sse_event> normal_got;
  auto reader = read_all(batches * per_batch, normal_got);
  std::vector<std::string> ids;
  auto stalled = ingest(ids);
  reader.join();
  // The normal subscriber got everything, in order.
  CHECK(ids_of(normal_got) == ids);
  // Ingest did not wait for the stalled one.
  INFO("baseline " << std::chrono::duration_cast<ms>(baseline).count()
                   << " ms, with a stalled subscriber "
                   << std::chrono::duration_cast<ms>(stalled).count() << " ms");
  CHECK(stalled < 3 * baseline + 2s);

  // The stalled one now reads: a prefix of the events, a retry hint, the end.
  auto preamble = slow->next();
  REQUIRE(preamble);
  CHECK(preamble->retry == net::signal_stream_retry_ms);
  std::vector<std::string> slow_ids;
  bool hinted = false;
  auto deadline = steady::now() + 30s;
  while (steady::now() < deadline) {
    auto ev = slow->next(5000ms);
    if (!ev)
      break;
    if (ev->is_signal()) {
      CHECK_FALSE(hinted);
      slow_ids.push_back(ev->id);
    } else if (ev->retry >= 0) {
      hinted = true;
    }
  }
  CHECK(hinted);
  CHECK(slow->ended());
  auto metrics = fx.node->metrics().render();
  CHECK(metrics.find("fp_sse_cut_off_total 1") != std::string::npos);
  REQUIRE(slow_ids.size() < ids.size());
  CHECK(slow_ids == std::vector<std::string>(ids.begin(), ids.begin() + slow_ids.size()));

  // Resuming from its last event loses nothing.
  auto resumed = fx.stream(fx.acme, {}, slow_ids.empty() ? baseline_ids.back()
                                                         : slow_ids.back());
  auto rest = resumed->signals(ids.size() - slow_ids.size(), 60000ms);
  CHECK(ids_of(rest)
        == std::vector<std::string>(ids.begin() + slow_ids.size(), ids.end()));
  CHECK(no_more_signals(*resumed));
}

TEST_CASE("sse: heartbeats arrive as comments", "[sse]") {
  fixture fx{200ms};
  auto origin = fx.emit(fx.acme, 1);
  auto c = fx.stream(fx.acme, {}, origin[0]);
  int beats = 0;
  auto deadline = steady::now() + 5s;
  while (beats < 2 && steady::now() < deadline) {
    auto ev = c->next(1000ms);
    if (ev && ev->comment == " heartbeat")
      ++beats;
  }
  CHECK(beats == 2);
}

TEST_CASE("sse: a tenant's stream never shows another tenant's signals",
          "[sse]") {
  fixture fx;
  auto a0 = fx.emit(fx.acme, 1);
  auto b0 = fx.emit(fx.beta, 1);
  auto a = fx.stream(fx.acme, {}, a0[0]);
  auto b = fx.stream(fx.beta, {}, b0[0]);
  auto a_ids = fx.emit(fx.acme, 20, "secret.acme");
  auto b_ids = fx.emit(fx.beta, 3, "public.beta");
  auto a_more = fx.emit(fx.acme, 5, "secret.acme");
  CHECK(ids_of(a->signals(25)) == concat(a_ids, a_more));
  auto got = b->signals(3);
  CHECK(ids_of(got) == b_ids);
  for (auto& e : got)
    CHECK(e.data.find("secret.acme") == std::string::npos);
  CHECK(no_more_signals(*b));
  // Beta cannot resume from an acme id either.
  test::client c{fx.port};
  c.send(test::request_text("GET", "/api/v1/signals/stream",
                            {fx.beta.auth, "Last-Event-ID: " + a_ids[0]}));
  auto res = c.read_response();
  REQUIRE(res);
  CHECK(res->status == 400);
}

TEST_CASE("sse: the type filter keeps matching prefixes, live and on resume",
          "[sse]") {
  fixture fx;
  auto origin = fx.emit(fx.acme, 1);
  auto c = fx.stream(fx.acme, "?types=order.,invoice.paid", origin[0]);
  auto o1 = fx.emit(fx.acme, 2, "order.created");
  fx.emit(fx.acme, 2, "orders.other");
  auto i1 = fx.emit(fx.acme, 1, "invoice.paid");
  fx.emit(fx.acme, 1, "invoice.sent");
  auto o2 = fx.emit(fx.acme, 1, "order.shipped");
  auto want = concat(concat(o1, i1), o2);
  auto got = c->signals(want.size());
  CHECK(ids_of(got) == want);
  for (auto& e : got)
    CHECK((e.event.rfind("order.", 0) == 0 || e.event == "invoice.paid"));
  CHECK(no_more_signals(*c));
  // The same filter on resume from PostgreSQL.
  auto again = fx.stream(fx.acme, "?types=order.,invoice.paid", o1[0]);
  CHECK(ids_of(again->signals(want.size() - 1))
        == std::vector<std::string>(want.begin() + 1, want.end()));
  CHECK(no_more_signals(*again));
  // Malformed prefixes are refused.
  CHECK(call(fx.port, "GET", "/api/v1/signals/stream?types=a%22b", {fx.acme.auth})
          .status
        == 422);
}

namespace {

/// The hub's own description ("<n> subscribers, <m> tenants").
std::string hub_status(net::node& node) {
  for (auto& e : node.directory().snapshot()) {
    if (e.kind != "pubsub_hub")
      continue;
    auto hub = caf::actor_cast<caf::actor>(e.addr);
    if (!hub)
      continue;
    caf::scoped_actor self{node.system()};
    std::string out;
    self->request(hub, 5s, describe_atom_v)
      .receive([&](runtime::actor_status& st) { out = st.state; },
               [&](caf::error& err) { out = caf::to_string(err); });
    return out;
  }
  return "no hub";
}

bool eventually(const std::function<bool()>& pred, ms timeout = 10000ms) {
  return test::eventually(pred, timeout, 20ms);
}

} // namespace

TEST_CASE("sse: closed streams leave the hub", "[sse]") {
  fixture fx;
  auto origin = fx.emit(fx.acme, 1);
  {
    auto a = fx.stream(fx.acme, {}, origin[0]);
    auto b = fx.stream(fx.beta);
    auto ids = fx.emit(fx.acme, 2);
    CHECK(ids_of(a->signals(2)) == ids);
    CHECK(eventually([&] { return hub_status(*fx.node) == "2 subscribers, 2 tenants"; }));
  }
  CHECK(eventually([&] { return hub_status(*fx.node) == "0 subscribers, 0 tenants"; }));
  // The listener is part of the actor tree, below the hub.
  bool listener = false;
  for (auto& e : fx.node->directory().snapshot())
    listener = listener || e.kind == "pubsub_listener";
  CHECK(listener);
  CHECK(fx.node->metrics().render().find("fp_sse_subscribers 0") != std::string::npos);
}

TEST_CASE("sse: the hub's listener recovers a lost connection without a gap",
          "[sse]") {
  fixture fx;
  auto origin = fx.emit(fx.acme, 1);
  auto c = fx.stream(fx.acme, {}, origin[0]);
  auto before = fx.emit(fx.acme, 3);
  REQUIRE(ids_of(c->signals(3)) == before);
  auto killed = fx.db->exec("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                            " WHERE datname = current_database()"
                            " AND query = 'LISTEN \"fp_signals\"'");
  REQUIRE(killed);
  CHECK(killed->int64(0, 0) == 1);
  // Emitted while nobody listens: the NOTIFY is lost, the re-read after the
  // reconnect finds the signals.
  auto during = fx.emit(fx.acme, 3);
  CHECK(ids_of(c->signals(3, 15000ms)) == during);
  auto after = fx.emit(fx.acme, 3);
  CHECK(ids_of(c->signals(3)) == after);
  CHECK(no_more_signals(*c));
}

TEST_CASE("sse: pg_listener delivers notifications and listens again after a "
          "lost connection",
          "[sse][pg_listener]") {
  auto url = test::create_scratch_database("listen");
  std::vector<std::string> channels{"fp_signals", "Odd \"Name\""};
  auto opened = storage::pg_listener::open(url, channels, 5s);
  if (!opened)
    FAIL("open: " << caf::to_string(opened.error()));
  auto& l = **opened;
  auto db = open_session(url);
  std::vector<std::pair<std::string, std::string>> got;
  auto collect = [&](std::string_view ch, std::string_view payload) {
    got.emplace_back(std::string{ch}, std::string{payload});
  };
  // A quiet timeout is no error.
  CHECK_FALSE(l.wait(50ms, collect));
  CHECK(got.empty());
  REQUIRE(db->exec("SELECT pg_notify('fp_signals', 'acme:1'),"
                   " pg_notify('Odd \"Name\"', 'x'), pg_notify('other', 'y')"));
  CHECK(eventually([&] {
    CHECK_FALSE(l.wait(100ms, collect));
    return got.size() >= 2;
  }));
  REQUIRE(got.size() == 2);
  CHECK(got[0] == std::pair<std::string, std::string>{"fp_signals", "acme:1"});
  CHECK(got[1] == std::pair<std::string, std::string>{"Odd \"Name\"", "x"});
  // Lose the connection: a wait reports it...
  REQUIRE(db->exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                   " WHERE datname = current_database() AND query LIKE 'LISTEN %'"));
  caf::error lost;
  CHECK(eventually([&] {
    lost = l.wait(100ms, collect);
    return static_cast<bool>(lost);
  }));
  CHECK(storage::code_of(lost) == storage::errc::unavailable);
  // ...and the next one reconnects and listens again.
  CHECK_FALSE(l.wait(50ms, collect));
  got.clear();
  REQUIRE(db->exec("SELECT pg_notify('fp_signals', 'acme:2')"));
  CHECK(eventually([&] {
    CHECK_FALSE(l.wait(100ms, collect));
    return !got.empty();
  }));
  REQUIRE(got.size() == 1);
  CHECK(got[0].second == "acme:2");
}

TEST_CASE("sse: a fan-out to many subscribers reaches every stream in order",
          "[sse]") {
  fixture fx;
  auto origin = fx.emit(fx.acme, 1);
  // More subscribers than one hand-over of wake-ups to the io threads
  // holds, so a fan-out spans several of them.
  constexpr int subscribers = 300;
  std::vector<std::unique_ptr<sse_client>> streams;
  for (int i = 0; i < subscribers; ++i)
    streams.push_back(fx.stream(fx.acme, {}, origin[0]));
  auto ids = fx.emit(fx.acme, 3);
  for (auto& c : streams)
    CHECK(ids_of(c->signals(3)) == ids);
  auto more = fx.emit(fx.acme, 2);
  for (auto& c : streams)
    CHECK(ids_of(c->signals(2)) == more);
}
