// The HTTP front end over loopback with a raw-socket client (so malformed
// and slow requests can be sent): first a server built from net/'s pieces
// with a test router (error paths, timeouts, limits, streams, shutdown),
// then the full node composition against the test PostgreSQL cluster.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fp/config/settings.hpp"
#include "fp/net/http_server.hpp"
#include "fp/net/json.hpp"
#include "fp/net/node.hpp"
#include "fp/net/problem.hpp"
#include "fp/net/router.hpp"
#include "fp/runtime/log.hpp"
#include "fp/runtime/metrics.hpp"
#include "http_client.hpp"
#include "pg_cluster.hpp"

using namespace std::chrono_literals;
using namespace fp::net;

using namespace fp::test;

namespace {

bool is_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// -- the test server ---------------------------------------------------------------------

/// Quiets the log for the duration of a test (errors are expected here).
struct quiet_log {
  quiet_log() {
    fp::runtime::log::set_sink([](std::string_view, void*) {}, nullptr);
  }
  ~quiet_log() {
    fp::runtime::log::set_sink(nullptr, nullptr);
  }
};

/// Handlers that answer later hand their responders to this thread.
class delayed_answers {
public:
  delayed_answers() : thread_([this] { run(); }) {
  }

  ~delayed_answers() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void later(ms delay, std::function<void()> fn) {
    std::lock_guard<std::mutex> guard{mtx_};
    jobs_.push_back({steady::now() + delay, std::move(fn)});
    cv_.notify_all();
  }

private:
  void run() {
    std::unique_lock<std::mutex> guard{mtx_};
    while (!done_ || !jobs_.empty()) {
      if (jobs_.empty()) {
        cv_.wait(guard);
        continue;
      }
      auto next = std::min_element(jobs_.begin(), jobs_.end(),
                                   [](auto& a, auto& b) { return a.at < b.at; });
      if (next->at > steady::now() && !done_) {
        cv_.wait_until(guard, next->at);
        continue;
      }
      auto fn = std::move(next->fn);
      jobs_.erase(next);
      guard.unlock();
      fn();
      guard.lock();
    }
  }

  struct job {
    steady::time_point at;
    std::function<void()> fn;
  };
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<job> jobs_;
  bool done_ = false;
  std::thread thread_;
};

struct stream_probe {
  std::mutex mtx;
  stream_writer_ptr writer;
  std::atomic<bool> closed{false};
  std::condition_variable cv;

  stream_writer_ptr wait_writer(ms timeout = 2000ms) {
    std::unique_lock<std::mutex> guard{mtx};
    cv.wait_for(guard, timeout, [this] { return writer != nullptr; });
    return writer;
  }
};

struct test_server {
  fp::runtime::metrics_registry metrics;
  delayed_answers later;
  stream_probe stream;
  std::mutex kept_mtx;
  std::vector<responder_ptr> kept; // never answered
  std::unique_ptr<http_server> server;

  explicit test_server(server_options opts) {
    auto r = std::make_shared<router>();
    auto text = [](std::string body) {
      return http_response::text(200, std::move(body));
    };
    r->add("GET", "/ok", [text](const request_context&, const responder_ptr& res) {
      res->send(text("ok"));
    });
    r->add("GET", "/items/{id}",
           [text](const request_context& ctx, const responder_ptr& res) {
             res->send(text("item " + std::string{ctx.param("id")}));
           });
    r->add("GET", "/context",
           [](const request_context& ctx, const responder_ptr& res) {
             std::string body;
             json_writer w{body};
             w.begin_object()
               .member("request_id", ctx.request_id)
               .member("trace_id", ctx.trace.trace_id)
               .member("span_id", ctx.trace.span_id)
               .member("parent_id", ctx.trace.parent_id)
               .member("path", ctx.request.path)
               .member("query", ctx.request.query)
               .member("route", ctx.route)
               .end_object();
             res->send(http_response::json(200, std::move(body)));
           });
    route_doc json_in;
    json_in.request_type = "application/json";
    r->add(
      "POST", "/echo",
      [](const request_context& ctx, const responder_ptr& res) {
        // The server checked the body already (declared JSON route).
        res->send(http_response::json(200, ctx.request.body));
      },
      json_in);
    r->add("POST", "/action",
           [text](const request_context&, const responder_ptr& res) {
             res->send(text("done"));
           });
    route_doc form_in;
    form_in.request_type = "application/x-www-form-urlencoded";
    r->add(
      "POST", "/form",
      [text](const request_context& ctx, const responder_ptr& res) {
        res->send(text("form " + ctx.request.body));
      },
      form_in);
    r->add("GET", "/throw", [](const request_context&, const responder_ptr&) {
      throw std::runtime_error("secret internal detail 42");
    });
    r->add("GET", "/drop", [](const request_context&, const responder_ptr&) {
      // returns without answering and without keeping the responder
    });
    r->add("GET", "/never",
           [this](const request_context&, const responder_ptr& res) {
             std::lock_guard<std::mutex> guard{kept_mtx};
             kept.push_back(res);
           });
    r->add("GET", "/slow",
           [this, text](const request_context&, const responder_ptr& res) {
             later.later(400ms, [res, text] { res->send(text("slow")); });
           });
    r->add("GET", "/stream",
           [this](const request_context&, const responder_ptr& res) {
             auto w = res->start_stream({{"X-Stream", "yes"}});
             if (!w)
               return; // the test waiting for the writer fails
             w->on_close([this] {
               stream.closed = true;
               stream.cv.notify_all();
             });
             std::lock_guard<std::mutex> guard{stream.mtx};
             stream.writer = w;
             stream.cv.notify_all();
           });
    auto started = http_server::start(std::move(opts), r, metrics);
    if (!started)
      FAIL("server did not start: " << caf::to_string(started.error()));
    server = std::move(*started);
  }

  ~test_server() {
    if (server)
      server->stop(1000ms);
    std::lock_guard<std::mutex> guard{kept_mtx};
    kept.clear();
  }

  uint16_t port() const {
    return server->port();
  }

  /// The server still answers on a fresh connection.
  bool healthy() {
    auto res = fetch(port(), "GET", "/ok");
    return res && res->status == 200 && res->body == "ok";
  }
};

server_options test_options() {
  server_options o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.io_threads = 2;
  o.body_limit = 1024;
  o.header_timeout = 400ms;
  o.read_timeout = 2000ms;
  o.idle_timeout = 2000ms;
  o.request_timeout = 1000ms;
  o.max_connections = 64;
  return o;
}

void check_problem(const response& res, int status) {
  CHECK(res.status == status);
  CHECK(res.header("content-type") == "application/problem+json");
  CHECK(res.body.find("\"status\":" + std::to_string(status))
        != std::string::npos);
  auto id = res.header("x-request-id");
  CHECK_FALSE(id.empty());
  CHECK(res.body.find("\"request_id\":\"" + id + "\"") != std::string::npos);
}

} // namespace

// -- server built from net/'s pieces ---------------------------------------------------------

TEST_CASE("http: basic answers carry the standard headers", "[http]") {
  quiet_log quiet;
  test_server ts{test_options()};
  REQUIRE(ts.port() != 0);
  auto res = fetch(ts.port(), "GET", "/ok");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body == "ok");
  CHECK(res->header("content-length") == "2");
  CHECK(res->header("content-type") == "text/plain; charset=utf-8");
  CHECK(res->header("server") == "fleetprompt");
  CHECK(res->header("date").ends_with(" GMT"));
  CHECK(res->header("x-request-id").size() == 16);
  CHECK(fp::runtime::parse_traceparent(res->header("traceparent")));

  auto item = fetch(ts.port(), "GET", "/items/a%20b?x=1");
  REQUIRE(item);
  CHECK(item->body == "item a b");

  auto head = fetch(ts.port(), "HEAD", "/ok");
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->header("content-length") == "2");
  CHECK(head->body.empty());
}

TEST_CASE("http: keep-alive reuses one connection", "[http]") {
  quiet_log quiet;
  test_server ts{test_options()};
  client c{ts.port()};
  for (int i = 0; i < 5; ++i) {
    REQUIRE(c.send(request_text("GET", "/items/" + std::to_string(i))));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->body == "item " + std::to_string(i));
    CHECK_FALSE(res->has("connection"));
  }
  // Two pipelined requests in one write are answered in order.
  REQUIRE(c.send(request_text("GET", "/items/p1") + request_text("GET", "/items/p2")));
  auto p1 = c.read_response();
  auto p2 = c.read_response();
  REQUIRE(p1);
  REQUIRE(p2);
  CHECK(p1->body == "item p1");
  CHECK(p2->body == "item p2");
  CHECK(ts.server->connections() == 1);

  // Connection: close is honoured.
  REQUIRE(c.send(request_text("GET", "/ok", {"Connection: close"})));
  auto last = c.read_response();
  REQUIRE(last);
  CHECK(last->header("connection") == "close");
  CHECK(c.wait_closed(2000ms));
}

TEST_CASE("http: HTTP/1.0 closes unless keep-alive is asked for", "[http]") {
  quiet_log quiet;
  test_server ts{test_options()};
  {
    client c{ts.port()};
    c.send("GET /ok HTTP/1.0\r\n\r\n");
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->header("connection") == "close");
    CHECK(c.wait_closed(2000ms));
  }
  {
    client c{ts.port()};
    c.send("GET /ok HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->header("connection") == "keep-alive");
    c.send("GET /ok HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK(c.read_response());
  }
}

TEST_CASE("http: X-Request-Id is echoed when valid, generated otherwise",
          "[http]") {
  quiet_log quiet;
  test_server ts{test_options()};
  auto echoed = fetch(ts.port(), "GET", "/context", {"X-Request-Id: my-id.1:a_b"});
  REQUIRE(echoed);
  CHECK(echoed->header("x-request-id") == "my-id.1:a_b");
  CHECK(echoed->body.find("\"request_id\":\"my-id.1:a_b\"") != std::string::npos);

  auto invalid = fetch(ts.port(), "GET", "/context", {"X-Request-Id: bad id!"});
  REQUIRE(invalid);
  auto generated = invalid->header("x-request-id");
  CHECK(generated.size() == 16);
  CHECK(is_hex(generated));
  CHECK(invalid->body.find(generated) != std::string::npos);

  auto a = fetch(ts.port(), "GET", "/ok");
  auto b = fetch(ts.port(), "GET", "/ok");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->header("x-request-id") != b->header("x-request-id"));

  // Error answers carry it too, in the header and in the problem body.
  auto missing = fetch(ts.port(), "GET", "/nope", {"X-Request-Id: err-1"});
  REQUIRE(missing);
  check_problem(*missing, 404);
  CHECK(missing->header("x-request-id") == "err-1");
}

TEST_CASE("http: traceparent continues the caller's trace", "[http]") {
  quiet_log quiet;
  test_server ts{test_options()};
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string parent = "00f067aa0ba902b7";
  auto res = fetch(ts.port(), "GET", "/context",
                   {"traceparent: 00-" + trace + "-" + parent + "-01"});
  REQUIRE(res);
  auto tp = fp::runtime::parse_traceparent(res->header("traceparent"));
  REQUIRE(tp);
  // Parsed from our answer, the span in the header is ours: a new one.
  const auto& our_span = tp->parent_id;
  CHECK(tp->trace_id == trace);
  CHECK(our_span.size() == 16);
  CHECK(our_span != parent);
  CHECK(tp->flags == 1);
  // Handlers see the same context.
  CHECK(res->body.find("\"trace_id\":\"" + trace + "\"") != std::string::npos);
  CHECK(res->body.find("\"span_id\":\"" + our_span + "\"") != std::string::npos);
  CHECK(res->body.find("\"parent_id\":\"" + parent + "\"") != std::string::npos);

  auto fresh = fetch(ts.port(), "GET", "/context", {"traceparent: garbage"});
  REQUIRE(fresh);
  auto new_tp = fp::runtime::parse_traceparent(fresh->header("traceparent"));
  REQUIRE(new_tp);
  CHECK(new_tp->trace_id != trace);
}

TEST_CASE("http: 404 and 405 are problem documents", "[http]") {
  quiet_log quiet;
  test_server ts{test_options()};
  auto missing = fetch(ts.port(), "GET", "/nope?x=1");
  REQUIRE(missing);
  check_problem(*missing, 404);
  CHECK(missing->body.find("\"instance\":\"/nope\"") != std::string::npos);

  auto wrong = fetch(ts.port(), "POST", "/items/7", {}, "{}");
  REQUIRE(wrong);
  check_problem(*wrong, 405);
  CHECK(wrong->header("allow") == "GET, HEAD");

  auto trailing = fetch(ts.port(), "GET", "/ok/");
  REQUIRE(trailing);
  CHECK(trailing->status == 404);

  auto bad_escape = fetch(ts.port(), "GET", "/items/%zz");
  REQUIRE(bad_escape);
  check_problem(*bad_escape, 400);
  CHECK(ts.healthy());
}

TEST_CASE("http: JSON bodies are checked", "[http]") {
  quiet_log quiet;
  test_server ts{test_options()};
  auto ok = fetch(ts.port(), "POST", "/echo",
                  {"Content-Type: application/json"}, R"({"a":[1,2]})");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body == R"({"a":[1,2]})");

  auto bad = fetch(ts.port(), "POST", "/echo",
                   {"Content-Type: application/json"}, R"({"a" 1})");
  REQUIRE(bad);
  check_problem(*bad, 400);
  CHECK(bad->body.find("at byte 5") != std::string::npos);
  CHECK(ts.healthy());

  auto empty = fetch(ts.port(), "POST", "/echo",
                     {"Content-Type: application/json"}, "");
  REQUIRE(empty);
  check_problem(*empty, 400);

  auto media = fetch(ts.port(), "POST", "/echo", {"Content-Type: text/plain"},
                     R"({"a":1})");
  REQUIRE(media);
  check_problem(*media, 415);

  // A route that declares no body takes none, or JSON.
  auto bare = fetch(ts.port(), "POST", "/action");
  REQUIRE(bare);
  CHECK(bare->status == 200);
  auto text_body = fetch(ts.port(), "POST", "/action",
                         {"Content-Type: text/plain"}, "hello");
  REQUIRE(text_body);
  check_problem(*text_body, 415);
  // A route that declares another media type gets it as is.
  auto form = fetch(ts.port(), "POST", "/form",
                    {"Content-Type: application/x-www-form-urlencoded"}, "a=1");
  REQUIRE(form);
  CHECK(form->body == "form a=1");
  CHECK(ts.healthy());
}

TEST_CASE("http: malformed requests get 400 and the connection closes",
          "[http]") {
  quiet_log quiet;
  test_server ts{test_options()};
  for (std::string garbage :
       {"GARBAGE\r\n\r\n", "GET /ok HTTP/9.9\r\n\r\n",
        "GET /ok HTTP/1.1\r\nBad Header\r\n\r\n",
        "GET /ok HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        "GET http://example.com/ok HTTP/1.1\r\n\r\n"}) {
    INFO(garbage);
    client c{ts.port()};
    c.send(garbage);
    auto res = c.read_response();
    REQUIRE(res);
    check_problem(*res, 400);
    CHECK(res->header("connection") == "close");
    CHECK(c.wait_closed(3000ms));
    CHECK(ts.healthy());
  }
}

TEST_CASE("http: oversized bodies get 413 and the connection closes",
          "[http]") {
  quiet_log quiet;
  test_server ts{test_options()};
  {
    // Declared too large: answered before the body is read.
    client c{ts.port()};
    c.send("POST /echo HTTP/1.1\r\nContent-Type: application/json\r\n"
           "Content-Length: 5000\r\n\r\n{\"a\":");
    auto res = c.read_response();
    REQUIRE(res);
    check_problem(*res, 413);
    CHECK(res->header("connection") == "close");
    CHECK(c.wait_closed(3000ms));
  }
  {
    // Chunked, growing past the limit.
    client c{ts.port()};
    std::string chunk(800, 'x');
    c.send("POST /echo HTTP/1.1\r\nContent-Type: application/json\r\n"
           "Transfer-Encoding: chunked\r\n\r\n320\r\n" + chunk + "\r\n320\r\n"
           + chunk + "\r\n");
    auto res = c.read_response();
    REQUIRE(res);
    check_problem(*res, 413);
  }
  {
    // Expect: 100-continue is answered with 413 straight away.
    client c{ts.port()};
    c.send("POST /echo HTTP/1.1\r\nContent-Type: application/json\r\n"
           "Expect: 100-continue\r\nContent-Length: 100000\r\n\r\n");
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 413);
  }
  {
    // Within the limit, with Expect: 100-continue.
    client c{ts.port()};
    c.send("POST /echo HTTP/1.1\r\nContent-Type: application/json\r\n"
           "Expect: 100-continue\r\nContent-Length: 7\r\n\r\n");
    auto cont = c.read_response();
    REQUIRE(cont);
    CHECK(cont->status == 100);
    c.send(R"({"a":1})");
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
  }
  CHECK(ts.healthy());
}

TEST_CASE("http: handler failures become 500/504 without internals",
          "[http]") {
  quiet_log quiet;
  test_server ts{test_options()};
  auto thrown = fetch(ts.port(), "GET", "/throw");
  REQUIRE(thrown);
  check_problem(*thrown, 500);
  CHECK(thrown->body.find("secret") == std::string::npos);
  CHECK(thrown->body.find("internal detail") == std::string::npos);
  CHECK(ts.healthy());

  auto dropped = fetch(ts.port(), "GET", "/drop");
  REQUIRE(dropped);
  check_problem(*dropped, 500);
  CHECK(ts.healthy());

  auto start = steady::now();
  client c{ts.port()};
  c.send(request_text("GET", "/never"));
  auto never = c.read_response(5000ms);
  REQUIRE(never);
  check_problem(*never, 504);
  CHECK(steady::now() - start >= 900ms);
  // The connection stays usable after a timeout.
  c.send(request_text("GET", "/ok"));
  auto after = c.read_response();
  REQUIRE(after);
  CHECK(after->status == 200);
}

TEST_CASE("http: a slow header is cut off; silent and idle connections close",
          "[http]") {
  quiet_log quiet;
  test_server ts{test_options()};
  {
    client c{ts.port()};
    auto start = steady::now();
    c.send("GET /ok HTTP/1.1\r\nHost: x\r\n");
    // Trickle one header line at a time: slower than the header timeout.
    for (int i = 0; i < 8 && !c.eof(); ++i) {
      std::this_thread::sleep_for(100ms);
      c.send("X-Slow: " + std::to_string(i) + "\r\n");
    }
    CHECK(c.wait_closed(3000ms));
    auto took = steady::now() - start;
    CHECK(took >= 350ms);
    // Without the header timeout the idle timeout (2 s after the last
    // trickled byte, ~2.8 s in all) would close it; the margin absorbs a
    // loaded CI machine.
    CHECK(took < 2500ms);
  }
  {
    client c{ts.port()}; // never sends anything
    CHECK(c.wait_closed(3000ms));
  }
  {
    client c{ts.port()};
    c.send(request_text("GET", "/ok"));
    REQUIRE(c.read_response());
    auto start = steady::now();
    CHECK(c.wait_closed(5000ms)); // idle timeout: 2 s
    CHECK(steady::now() - start >= 1500ms);
  }
  CHECK(ts.healthy());
}

TEST_CASE("http: connections above the cap get 503", "[http]") {
  quiet_log quiet;
  auto opts = test_options();
  opts.max_connections = 3;
  opts.header_timeout = 10000ms;
  test_server ts{opts};
  std::vector<std::unique_ptr<client>> held;
  for (int i = 0; i < 3; ++i)
    held.push_back(std::make_unique<client>(ts.port()));
  for (int i = 0; i < 50 && ts.server->connections() < 3; ++i)
    std::this_thread::sleep_for(20ms);
  REQUIRE(ts.server->connections() == 3);
  {
    client extra{ts.port()};
    extra.send(request_text("GET", "/ok"));
    auto res = extra.read_response();
    REQUIRE(res);
    check_problem(*res, 503);
    CHECK(res->header("retry-after") == "1");
    CHECK(res->header("connection") == "close");
    CHECK(extra.wait_closed(3000ms));
  }
  CHECK(ts.metrics.render().find("fp_http_connections_rejected_total 1")
        != std::string::npos);
  // The held connections still work, and a freed slot is usable again.
  held[0]->send(request_text("GET", "/ok"));
  auto res = held[0]->read_response();
  REQUIRE(res);
  CHECK(res->status == 200);
  held.pop_back();
  for (int i = 0; i < 50 && ts.server->connections() >= 3; ++i)
    std::this_thread::sleep_for(20ms);
  CHECK(ts.healthy());
}

TEST_CASE("http: SSE streams deliver chunks in order and end cleanly",
          "[http][stream]") {
  quiet_log quiet;
  test_server ts{test_options()};
  client c{ts.port()};
  c.send(request_text("GET", "/stream"));
  auto head = c.read_response(5000ms, true);
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->header("content-type") == "text/event-stream");
  CHECK(head->header("cache-control") == "no-cache");
  CHECK(head->header("transfer-encoding") == "chunked");
  CHECK(head->header("x-stream") == "yes");
  CHECK_FALSE(head->header("x-request-id").empty());
  auto w = ts.stream.wait_writer();
  REQUIRE(w);
  for (int i = 0; i < 20; ++i)
    CHECK(w->write(std::make_shared<const std::string>(
      "data: " + std::to_string(i) + "\n\n")));
  // The request timeout does not apply to streams.
  std::this_thread::sleep_for(1200ms);
  CHECK(w->write(std::make_shared<const std::string>("data: late\n\n")));
  std::string got;
  for (int i = 0; i < 21; ++i) {
    auto chunk = c.read_chunk();
    REQUIRE(chunk);
    got += *chunk;
  }
  CHECK(got.starts_with("data: 0\n\ndata: 1\n\n"));
  CHECK(got.ends_with("data: 19\n\ndata: late\n\n"));
  w->close();
  auto last = c.read_chunk();
  REQUIRE(last);
  CHECK(last->empty());
  CHECK(c.wait_closed(3000ms));
  for (int i = 0; i < 50 && !ts.stream.closed; ++i)
    std::this_thread::sleep_for(20ms);
  CHECK(ts.stream.closed);
  CHECK(w->closed());
  CHECK_FALSE(w->write(std::make_shared<const std::string>("data: x\n\n")));
  CHECK(ts.healthy());
}

TEST_CASE("http: a client leaving a stream closes it", "[http][stream]") {
  quiet_log quiet;
  test_server ts{test_options()};
  {
    client c{ts.port()};
    c.send(request_text("GET", "/stream"));
    REQUIRE(c.read_response(5000ms, true));
    REQUIRE(ts.stream.wait_writer());
  }
  for (int i = 0; i < 100 && !ts.stream.closed; ++i)
    std::this_thread::sleep_for(20ms);
  CHECK(ts.stream.closed);
  CHECK(ts.stream.writer->closed());
}

TEST_CASE("http: a slow stream consumer is disconnected", "[http][stream]") {
  quiet_log quiet;
  auto opts = test_options();
  opts.stream_queue_chunks = 8;
  opts.stream_queue_bytes = 256 * 1024;
  test_server ts{opts};
  client c{ts.port()};
  c.send(request_text("GET", "/stream"));
  REQUIRE(c.read_response(5000ms, true));
  auto w = ts.stream.wait_writer();
  REQUIRE(w);
  // The client reads nothing: socket buffers fill, then the queue.
  auto big = std::make_shared<const std::string>(64 * 1024, 'x');
  bool refused = false;
  auto start = steady::now();
  for (int i = 0; i < 20000 && steady::now() - start < 10s; ++i) {
    if (!w->write(big)) {
      refused = true;
      break;
    }
    if (i % 16 == 15)
      std::this_thread::sleep_for(1ms);
  }
  CHECK(refused);
  CHECK(w->closed());
  for (int i = 0; i < 100 && !ts.stream.closed; ++i)
    std::this_thread::sleep_for(20ms);
  CHECK(ts.stream.closed);
  CHECK(ts.healthy());
}

TEST_CASE("http: stop drains an in-flight request and closes idle ones",
          "[http][stop]") {
  quiet_log quiet;
  auto ts = std::make_unique<test_server>(test_options());
  auto port = ts->port();
  client idle{port};
  idle.send(request_text("GET", "/ok"));
  REQUIRE(idle.read_response());
  client busy{port};
  busy.send(request_text("GET", "/slow"));
  std::this_thread::sleep_for(100ms);
  auto start = steady::now();
  auto stopper = std::async(std::launch::async,
                            [&] { ts->server->stop(3000ms); });
  auto res = busy.read_response(5000ms);
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body == "slow");
  CHECK(busy.wait_closed(3000ms));
  CHECK(idle.wait_closed(3000ms));
  stopper.get();
  auto took = steady::now() - start;
  CHECK(took >= 250ms);
  CHECK(took < 2500ms);
  // Not accepting any more.
  bool refused = false;
  try {
    client late{port};
    late.send(request_text("GET", "/ok"));
    refused = !late.read_response(1000ms);
  } catch (const std::exception&) {
    refused = true;
  }
  CHECK(refused);
}

TEST_CASE("http: stop closes a request that outlives the grace period",
          "[http][stop]") {
  quiet_log quiet;
  test_server ts{test_options()};
  client c{ts.port()};
  c.send(request_text("GET", "/never"));
  std::this_thread::sleep_for(100ms);
  auto start = steady::now();
  ts.server->stop(200ms);
  CHECK(steady::now() - start < 2000ms);
  CHECK(c.wait_closed(2000ms));
}

TEST_CASE("http: request metrics are recorded per route", "[http][metrics]") {
  quiet_log quiet;
  test_server ts{test_options()};
  REQUIRE(ts.healthy());
  REQUIRE(fetch(ts.port(), "GET", "/nope"));
  REQUIRE(fetch(ts.port(), "GET", "/items/1"));
  REQUIRE(fetch(ts.port(), "BREW", "/ok"));
  // Metrics are recorded when the write completes, which may be just after
  // the client has read the response.
  const std::string last_series
    = R"(fp_http_requests_total{method="OTHER",route="unmatched",status="405"} 1)";
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text = ts.metrics.render();
    if (text.find(last_series) != std::string::npos)
      break;
    std::this_thread::sleep_for(10ms);
  }
  CHECK(text.find(R"(fp_http_requests_total{method="GET",route="/ok",status="200"} 1)")
        != std::string::npos);
  CHECK(text.find(R"(fp_http_requests_total{method="GET",route="unmatched",status="404"} 1)")
        != std::string::npos);
  CHECK(text.find(R"(fp_http_requests_total{method="OTHER",route="unmatched",status="405"} 1)")
        != std::string::npos);
  CHECK(text.find(R"(fp_http_request_duration_seconds_count{route="/items/{id}"} 1)")
        != std::string::npos);
  CHECK(text.find("fp_http_connections ") != std::string::npos);
}

// -- the full node ----------------------------------------------------------------------------

namespace {

fp::config::settings node_settings(std::string admin_token) {
  fp::config::settings s;
  s.database_url = fp::test::database_url();
  s.listen_host = "127.0.0.1";
  s.listen_port = 0;
  s.io_threads = 2;
  s.body_limit = 4096;
  s.admin_token = std::move(admin_token);
  s.log_level = "warn";
  s.shutdown_grace = 2000ms;
  return s;
}

std::unique_ptr<node> start_node(std::string admin_token) {
  auto started = node::start(node_settings(std::move(admin_token)));
  if (!started)
    FAIL("node did not start: " << caf::to_string(started.error()));
  return std::move(*started);
}

} // namespace

TEST_CASE("node: probes, version, metrics and OpenAPI", "[http][node]") {
  quiet_log quiet;
  auto n = start_node("t0ken");
  auto port = n->port();
  REQUIRE(port != 0);

  auto live = fetch(port, "GET", "/livez");
  REQUIRE(live);
  CHECK(live->status == 200);
  CHECK(live->body == R"({"status":"ok"})");

  auto ready = fetch(port, "GET", "/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK(ready->body.find("\"status\":\"ready\"") != std::string::npos);

  auto version = fetch(port, "GET", "/api/v1/version");
  REQUIRE(version);
  CHECK(version->status == 200);
  CHECK(version->header("content-type") == "application/json");
  CHECK(version->body.find("\"name\":\"fleetprompt\"") != std::string::npos);
  CHECK(version->body.find("\"version\":") != std::string::npos);

  auto openapi = fetch(port, "GET", "/api/v1/openapi.json");
  REQUIRE(openapi);
  CHECK(openapi->status == 200);
  CHECK(openapi->body.find("\"openapi\":\"3.1.0\"") != std::string::npos);
  CHECK(openapi->body.find("\"/api/v1/version\":{\"get\"") != std::string::npos);
  CHECK(openapi->body.find("\"/admin/log-level\":{\"post\"") != std::string::npos);

  auto metrics = fetch(port, "GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->header("content-type")
        == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(metrics->body.find(
          R"(fp_http_requests_total{method="GET",route="/api/v1/version",status="200"} 1)")
        != std::string::npos);
  CHECK(metrics->body.find("fp_http_request_duration_seconds_bucket")
        != std::string::npos);

  // Keep-alive against the actor-routed endpoint.
  client c{port};
  for (int i = 0; i < 50; ++i) {
    c.send(request_text("GET", "/api/v1/version"));
    auto res = c.read_response();
    REQUIRE(res);
    REQUIRE(res->status == 200);
  }
  n->stop();
}

TEST_CASE("node: admin endpoints need the admin token", "[http][node]") {
  quiet_log quiet;
  auto saved = fp::runtime::log::current_level();
  auto n = start_node("t0ken");
  auto port = n->port();

  auto none = fetch(port, "GET", "/admin/actors");
  REQUIRE(none);
  check_problem(*none, 401);
  CHECK(none->header("www-authenticate").starts_with("Bearer"));
  auto wrong = fetch(port, "GET", "/admin/actors", {"Authorization: Bearer nope"});
  REQUIRE(wrong);
  check_problem(*wrong, 401);

  auto tree = fetch(port, "GET", "/admin/actors", {"Authorization: Bearer t0ken"});
  REQUIRE(tree);
  CHECK(tree->status == 200);
  CHECK(tree->body.find("\"actors\":[") != std::string::npos);
  CHECK(tree->body.find("\"tree\":[") != std::string::npos);
  CHECK(tree->body.find("\"kind\":\"supervisor\"") != std::string::npos);
  CHECK(tree->body.find("\"kind\":\"version\"") != std::string::npos);
  CHECK(tree->body.find("\"children\":[") != std::string::npos);

  const std::vector<std::string> auth = {"Authorization: Bearer t0ken",
                                         "Content-Type: application/json"};
  auto set = fetch(port, "POST", "/admin/log-level", auth, R"({"level":"error"})");
  REQUIRE(set);
  CHECK(set->status == 200);
  CHECK(set->body == R"({"level":"error"})");
  CHECK(fp::runtime::log::current_level() == fp::runtime::log::level::error);

  auto invalid = fetch(port, "POST", "/admin/log-level", auth, R"({"level":"loud"})");
  REQUIRE(invalid);
  check_problem(*invalid, 422);
  auto broken = fetch(port, "POST", "/admin/log-level", auth, R"({"level":)");
  REQUIRE(broken);
  check_problem(*broken, 400);
  auto media = fetch(port, "POST", "/admin/log-level",
                     {"Authorization: Bearer t0ken", "Content-Type: text/plain"},
                     "level=debug");
  REQUIRE(media);
  check_problem(*media, 415);
  auto big = fetch(port, "POST", "/admin/log-level", auth,
                   R"({"level":")" + std::string(5000, 'x') + R"("})");
  REQUIRE(big);
  check_problem(*big, 413);
  auto unauth = fetch(port, "POST", "/admin/log-level",
                      {"Content-Type: application/json"}, R"({"level":"debug"})");
  REQUIRE(unauth);
  check_problem(*unauth, 401);

  auto live = fetch(port, "GET", "/livez");
  REQUIRE(live);
  CHECK(live->status == 200);
  n->stop();
  fp::runtime::log::set_level(saved);
}

TEST_CASE("node: admin endpoints are disabled without a token",
          "[http][node]") {
  quiet_log quiet;
  auto n = start_node("");
  auto res = fetch(n->port(), "GET", "/admin/actors",
                   {"Authorization: Bearer anything"});
  REQUIRE(res);
  check_problem(*res, 403);
  CHECK(res->body.find("admin endpoints are disabled: set admin-token")
        != std::string::npos);
  n->stop();
}

// -- the node under failure -------------------------------------------------------------

#include <caf/all.hpp>

#include "fp/storage/connection.hpp"
#include "fp/storage/embedded_postgres.hpp"
#include "fp/storage/migrations.hpp"

namespace {

/// Polls `pred` every 50 ms until it holds or `limit` passes.
template <class Pred>
bool within(ms limit, Pred pred) {
  auto deadline = steady::now() + limit;
  while (steady::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

int status_of(uint16_t port, const std::string& target) {
  auto res = fetch(port, "GET", target);
  return res ? res->status : 0;
}

/// The directory entry of the live actor of `kind`, if exactly one exists.
std::optional<fp::runtime::actor_directory::entry>
only_actor(node& n, const std::string& kind) {
  std::optional<fp::runtime::actor_directory::entry> found;
  for (auto& e : n.directory().snapshot()) {
    if (e.kind != kind)
      continue;
    if (found)
      return std::nullopt;
    found = e;
  }
  return found;
}

/// Kills the live actor of `kind` and waits for its supervisor to replace it.
fp::runtime::actor_directory::entry kill_and_await_restart(node& n,
                                                           const std::string& kind) {
  auto victim = only_actor(n, kind);
  REQUIRE(victim);
  caf::anon_send_exit(caf::actor_cast<caf::actor>(victim->addr),
                      caf::exit_reason::kill);
  std::optional<fp::runtime::actor_directory::entry> next;
  REQUIRE(within(5000ms, [&] {
    next = only_actor(n, kind);
    return next && next->actor_id != victim->actor_id;
  }));
  return *next;
}

} // namespace

TEST_CASE("node: /readyz follows the database down and back up",
          "[http][node][readyz]") {
  quiet_log quiet;
  auto* cluster = fp::test::cluster();
  REQUIRE(cluster != nullptr); // the test command always runs a private cluster
  auto n = start_node("t0ken");
  auto port = n->port();
  REQUIRE(status_of(port, "/readyz") == 200);

  REQUIRE_FALSE(cluster->pg_ctl("stop"));
  // Whatever happens next, the cluster comes back for the other tests.
  struct restart_guard {
    fp::storage::embedded_postgres* c;
    ~restart_guard() { c->pg_ctl("start"); }
  } guard{cluster};

  std::optional<response> down;
  REQUIRE(within(15000ms, [&] {
    down = fetch(port, "GET", "/readyz");
    return down && down->status == 503;
  }));
  check_problem(*down, 503);
  CHECK(down->body.find("database unreachable") != std::string::npos);
  CHECK(down->body.find("\"database_reachable\":false") != std::string::npos);
  // The process keeps serving what does not need the database.
  CHECK(status_of(port, "/livez") == 200);
  CHECK(status_of(port, "/api/v1/version") == 200);
  CHECK(status_of(port, "/metrics") == 200);

  REQUIRE_FALSE(cluster->pg_ctl("start"));
  CHECK(within(15000ms, [&] { return status_of(port, "/readyz") == 200; }));
  n->stop();
}

TEST_CASE("node: /readyz is 503 while public migrations are pending",
          "[http][node][readyz]") {
  quiet_log quiet;
  auto url = fp::test::create_scratch_database("pending");
  auto s = node_settings("t0ken");
  s.database_url = url;
  s.migrate_on_start = false;
  auto started = node::start(s);
  REQUIRE(started);
  auto& n = **started;
  auto pending = fetch(n.port(), "GET", "/readyz");
  REQUIRE(pending);
  check_problem(*pending, 503);
  CHECK(pending->body.find("pending") != std::string::npos);
  CHECK(pending->body.find("\"database_reachable\":true") != std::string::npos);

  // `fleetprompt migrate` from elsewhere makes the running node ready.
  auto session = fp::storage::connect(url, 5000ms);
  REQUIRE(session);
  auto applied = fp::storage::apply_migrations(**session,
                                               fp::storage::public_migrations());
  REQUIRE(applied);
  CHECK(*applied == static_cast<int>(fp::storage::public_migrations().size()));
  CHECK(within(5000ms, [&] { return status_of(n.port(), "/readyz") == 200; }));
  n.stop();
}

TEST_CASE("node: a killed service actor is restarted and keeps answering",
          "[http][node][supervision]") {
  quiet_log quiet;
  auto n = start_node("t0ken");
  auto port = n->port();
  REQUIRE(status_of(port, "/api/v1/version") == 200);

  auto replacement = kill_and_await_restart(*n, "version");
  CHECK(replacement.restarts == 1);
  CHECK(within(5000ms, [&] { return status_of(port, "/api/v1/version") == 200; }));

  auto tree = fetch(port, "GET", "/admin/actors", {"Authorization: Bearer t0ken"});
  REQUIRE(tree);
  CHECK(tree->status == 200);
  CHECK(tree->body.find("\"kind\":\"version\",\"id\":\"version\"") != std::string::npos);
  CHECK(tree->body.find("\"restarts\":1") != std::string::npos);
  auto metrics = fetch(port, "GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find(R"(fp_actor_restarts_total{kind="version",id="version"} 1)")
        != std::string::npos);
  CHECK(metrics->body.find(R"(fp_actors_live{kind="storage_worker"})")
        != std::string::npos);

  // The storage pool too: after its restart the node is ready again.
  kill_and_await_restart(*n, "storage_pool");
  CHECK(within(10000ms, [&] { return status_of(port, "/readyz") == 200; }));
  n->stop();
}

TEST_CASE("node: a crash loop beyond the restart budget stops the node",
          "[http][node][supervision]") {
  quiet_log quiet;
  auto s = node_settings("t0ken");
  s.restart_limit = 2;
  s.restart_backoff_min = 1ms;
  s.restart_backoff_max = 10ms;
  auto started = node::start(s);
  REQUIRE(started);
  auto& n = **started;
  auto stopped = std::async(std::launch::async, [&n] { return n.wait_for_stop(); });
  kill_and_await_restart(n, "version");
  kill_and_await_restart(n, "version");
  CHECK(stopped.wait_for(0ms) == std::future_status::timeout);
  auto last = only_actor(n, "version");
  REQUIRE(last);
  caf::anon_send_exit(caf::actor_cast<caf::actor>(last->addr), caf::exit_reason::kill);
  REQUIRE(stopped.wait_for(10s) == std::future_status::ready);
  CHECK(stopped.get() == 70);
  n.stop();
}
