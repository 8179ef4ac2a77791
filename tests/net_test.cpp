// Unit tests of net/'s pure parts: routing, the error-to-HTTP mapping, JSON
// writing and body checks, request ids, and the plain functions behind the
// system handlers. No sockets, actors or database.

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <future>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/sec.hpp>

#include "fp/net/bridge.hpp"
#include "fp/net/http_types.hpp"
#include "fp/net/json.hpp"
#include "fp/net/problem.hpp"
#include "fp/net/responder.hpp"
#include "fp/net/router.hpp"
#include "fp/net/system_routes.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/log.hpp"
#include "fp/runtime/system_config.hpp"
#include "fp/runtime/type_ids.hpp"
#include "fp/storage/errc.hpp"
#include "fp/config/settings.hpp"
#include "fp/runtime/metrics.hpp"

using namespace fp::net;
using fp::runtime::errc;

namespace {

handler noop() {
  return [](const request_context&, const responder_ptr&) {};
}

request_context make_ctx(std::string path = "/x", std::string id = "req-1") {
  request_context ctx;
  ctx.request.method = "GET";
  ctx.request.path = std::move(path);
  ctx.request.target = ctx.request.path;
  ctx.request_id = std::move(id);
  ctx.route = "/x";
  return ctx;
}

http_request json_request(std::string body,
                          std::string content_type = "application/json") {
  http_request req;
  req.method = "POST";
  req.target = req.path = "/admin/log-level";
  if (!content_type.empty())
    req.headers.push_back({"content-type", std::move(content_type)});
  req.body = std::move(body);
  return req;
}

// Quiet logs: from_error writes 5xx details to the log.
struct log_capture {
  std::string text;
  log_capture() {
    fp::runtime::log::set_sink(
      [](std::string_view line, void* self) {
        static_cast<log_capture*>(self)->text.append(line);
      },
      this);
  }
  ~log_capture() {
    fp::runtime::log::set_sink(nullptr, nullptr);
  }
};

} // namespace

// -- router -------------------------------------------------------------------------

TEST_CASE("router matches literal and parameter routes", "[net][router]") {
  router r;
  r.add("GET", "/", noop());
  r.add("GET", "/livez", noop());
  r.add("GET", "/api/v1/agents/{id}", noop());
  r.add("GET", "/api/v1/orgs/{slug}/members/{user}", noop());

  auto root = r.match("GET", "/");
  REQUIRE(root.kind == router::match_result::found);
  CHECK(root.matched->pattern == "/");

  auto live = r.match("GET", "/livez");
  REQUIRE(live.kind == router::match_result::found);
  CHECK(live.matched->pattern == "/livez");
  CHECK(live.params.empty());

  auto agent = r.match("GET", "/api/v1/agents/a-42");
  REQUIRE(agent.kind == router::match_result::found);
  CHECK(agent.params.at("id") == "a-42");

  auto member = r.match("GET", "/api/v1/orgs/acme/members/u%20x");
  REQUIRE(member.kind == router::match_result::found);
  CHECK(member.params.at("slug") == "acme");
  CHECK(member.params.at("user") == "u x");

  CHECK(r.match("GET", "/api/v1/agents").kind
        == router::match_result::not_found);
  CHECK(r.match("GET", "/nope").kind == router::match_result::not_found);
  CHECK(r.match("GET", "").kind == router::match_result::not_found);
}

TEST_CASE("router: an encoded slash stays inside one parameter",
          "[net][router]") {
  router r;
  r.add("GET", "/files/{name}", noop());
  auto m = r.match("GET", "/files/a%2Fb");
  REQUIRE(m.kind == router::match_result::found);
  CHECK(m.params.at("name") == "a/b");
  // Literals compare after decoding.
  r.add("GET", "/livez", noop());
  CHECK(r.match("GET", "/live%7A").kind == router::match_result::found);
  CHECK(r.match("GET", "/files/%zz").kind == router::match_result::bad_path);
  CHECK(r.match("GET", "/files/%4").kind == router::match_result::bad_path);
}

TEST_CASE("router: trailing and double slashes are strict", "[net][router]") {
  router r;
  r.add("GET", "/livez", noop());
  r.add("GET", "/api/v1/version", noop());
  r.add("GET", "/a/{id}", noop());
  CHECK(r.match("GET", "/livez/").kind == router::match_result::not_found);
  CHECK(r.match("GET", "//livez").kind == router::match_result::not_found);
  CHECK(r.match("GET", "/api//v1/version").kind
        == router::match_result::not_found);
  // An empty segment never binds a parameter.
  CHECK(r.match("GET", "/a/").kind == router::match_result::not_found);
}

TEST_CASE("router: a literal segment beats a parameter", "[net][router]") {
  router r;
  r.add("GET", "/agents/{id}", noop());
  r.add("GET", "/agents/search", noop());
  r.add("GET", "/x/{a}/y", noop());
  r.add("GET", "/x/b/{c}", noop());
  CHECK(r.match("GET", "/agents/search").matched->pattern == "/agents/search");
  CHECK(r.match("GET", "/agents/other").matched->pattern == "/agents/{id}");
  // First differing position decides: literal "b" wins over {a}.
  CHECK(r.match("GET", "/x/b/y").matched->pattern == "/x/b/{c}");
  CHECK(r.match("GET", "/x/q/y").matched->pattern == "/x/{a}/y");
}

TEST_CASE("router answers 405 with an Allow list that includes HEAD",
          "[net][router]") {
  router r;
  r.add("GET", "/things", noop());
  r.add("POST", "/things", noop());
  r.add("DELETE", "/things/{id}", noop());
  auto m = r.match("PUT", "/things");
  REQUIRE(m.kind == router::match_result::method_not_allowed);
  CHECK(m.allow == "GET, HEAD, POST");
  auto d = r.match("GET", "/things/7");
  REQUIRE(d.kind == router::match_result::method_not_allowed);
  CHECK(d.allow == "DELETE");
  auto head = r.match("HEAD", "/things");
  REQUIRE(head.kind == router::match_result::found);
  CHECK(head.matched->method == "GET");
  CHECK(r.match("HEAD", "/things/7").kind
        == router::match_result::method_not_allowed);
}

TEST_CASE("router rejects malformed and duplicate routes", "[net][router]") {
  router r;
  CHECK_THROWS_AS(r.add("GET", "nope", noop()), std::invalid_argument);
  CHECK_THROWS_AS(r.add("get", "/x", noop()), std::invalid_argument);
  CHECK_THROWS_AS(r.add("GET", "/a//b", noop()), std::invalid_argument);
  CHECK_THROWS_AS(r.add("GET", "/a/", noop()), std::invalid_argument);
  CHECK_THROWS_AS(r.add("GET", "/a/{}", noop()), std::invalid_argument);
  CHECK_THROWS_AS(r.add("GET", "/a/{x", noop()), std::invalid_argument);
  CHECK_THROWS_AS(r.add("GET", "/a/x{y}", noop()), std::invalid_argument);
  CHECK_THROWS_AS(r.add("GET", "/a/{x}/{x}", noop()), std::invalid_argument);
  CHECK_THROWS_AS(r.add("GET", "/a", handler{}), std::invalid_argument);
  r.add("GET", "/a", noop());
  CHECK_THROWS_AS(r.add("GET", "/a", noop()), std::invalid_argument);
  CHECK_NOTHROW(r.add("POST", "/a", noop()));
  CHECK(r.routes().size() == 2);
  CHECK(r.routes()[1].index == 1);
}

// -- http types ----------------------------------------------------------------------

TEST_CASE("targets split into decoded path and raw query", "[net][http]") {
  std::string path, query;
  REQUIRE(split_target("/a%20b/c?x=1&y=%2F", path, query));
  CHECK(path == "/a b/c");
  CHECK(query == "x=1&y=%2F");
  REQUIRE(split_target("/plain", path, query));
  CHECK(path == "/plain");
  CHECK(query.empty());
  CHECK_FALSE(split_target("http://host/x", path, query));
  CHECK_FALSE(split_target("*", path, query));
  CHECK_FALSE(split_target("/bad%zz", path, query));

  http_request req;
  req.query = "limit=5&name=a+b%21&flag&limit=9";
  CHECK(req.query_param("limit") == "5");
  CHECK(req.query_param("name") == "a b!");
  CHECK(req.query_param("flag").empty());
  CHECK(req.query_param("missing").empty());
}

TEST_CASE("header lookup is case-insensitive", "[net][http]") {
  http_request req;
  req.headers.push_back({"content-type", "application/json"});
  CHECK(req.header("Content-Type") == "application/json");
  CHECK(req.has_header("CONTENT-TYPE"));
  CHECK(req.header("x-missing").empty());
  http_response res;
  res.set_header("Allow", "GET");
  res.set_header("allow", "POST");
  CHECK(res.headers.size() == 1);
  CHECK(res.header("ALLOW") == "POST");
}

TEST_CASE("caller request ids are kept only when valid", "[net][ids]") {
  CHECK(accept_request_id("abc-123_x.y:z") == "abc-123_x.y:z");
  auto generated = accept_request_id("has space");
  CHECK(generated.size() == 16);
  CHECK(fp::runtime::valid_request_id(generated));
  CHECK(accept_request_id("") != accept_request_id(""));
  CHECK(accept_request_id(std::string(129, 'a')).size() == 16);
  CHECK(accept_request_id("evil\r\nSet-Cookie: x").size() == 16);
  CHECK(accept_request_id("bad id", "0123456789abcdef") == "0123456789abcdef");
  CHECK(accept_request_id("good-id", "0123456789abcdef") == "good-id");
}

// -- problem mapping ------------------------------------------------------------------

TEST_CASE("every runtime errc maps to its HTTP status", "[net][problem]") {
  using fp::runtime::make_error;
  CHECK(status_of(make_error(errc::invalid_argument)) == 422);
  CHECK(status_of(make_error(errc::bad_request)) == 400);
  CHECK(status_of(make_error(errc::unauthorized)) == 401);
  CHECK(status_of(make_error(errc::forbidden)) == 403);
  CHECK(status_of(make_error(errc::not_found)) == 404);
  CHECK(status_of(make_error(errc::conflict)) == 409);
  CHECK(status_of(make_error(errc::payload_too_large)) == 413);
  CHECK(status_of(make_error(errc::unsupported_media)) == 415);
  CHECK(status_of(make_error(errc::rate_limited)) == 429);
  CHECK(status_of(make_error(errc::unavailable)) == 503);
  CHECK(status_of(make_error(errc::overloaded)) == 503);
  CHECK(status_of(make_error(errc::timeout)) == 504);
  CHECK(status_of(make_error(errc::internal)) == 500);
  CHECK(status_of(caf::error{}) == 500);
}

TEST_CASE("storage errors and CAF errors map to HTTP status",
          "[net][problem]") {
  namespace st = fp::storage;
  CHECK(status_of(st::make_error(st::errc::unavailable)) == 503);
  CHECK(status_of(st::make_error(st::errc::overloaded)) == 503);
  CHECK(status_of(st::make_error(st::errc::serialization_failure)) == 503);
  CHECK(status_of(st::make_error(st::errc::unique_violation, "orgs_slug_key"))
        == 409);
  CHECK(status_of(st::make_error(st::errc::statement_timeout)) == 504);
  CHECK(status_of(st::make_error(st::errc::commit_unknown)) == 500);
  CHECK(status_of(st::make_error(st::errc::constraint_violation)) == 500);
  CHECK(status_of(st::make_error(st::errc::query_failed)) == 500);
  CHECK(status_of(st::make_error(st::errc::migration_failed)) == 500);
  CHECK(status_of(st::make_error(st::errc::migration_tampered)) == 500);
  CHECK(status_of(caf::make_error(caf::sec::request_timeout)) == 504);
  CHECK(status_of(caf::make_error(caf::sec::request_receiver_down)) == 503);
  CHECK(status_of(caf::make_error(caf::sec::unexpected_message)) == 500);
}

TEST_CASE("problem documents follow RFC 9457", "[net][problem]") {
  auto ctx = make_ctx("/api/v1/things/7", "rid-7");
  auto res = problem(ctx, 404, {}, "no such thing");
  CHECK(res.status == 404);
  CHECK(res.content_type == "application/problem+json");
  CHECK(res.body
        == R"({"type":"about:blank","title":"Not Found","status":404,)"
           R"("detail":"no such thing","instance":"/api/v1/things/7",)"
           R"("request_id":"rid-7"})");
  auto extra = problem(418, "Teapot", {}, [](json_writer& w) {
    w.member("temperature", 90);
  });
  CHECK(extra.body
        == R"({"type":"about:blank","title":"Teapot","status":418,)"
           R"("temperature":90})");
  CHECK(check_json_body(json_request(extra.body)) == caf::error{});
}

TEST_CASE("from_error: client errors explain, server errors do not leak",
          "[net][problem]") {
  log_capture logs;
  auto ctx = make_ctx("/p", "rid-9");
  auto bad = from_error(
    fp::runtime::make_error(errc::invalid_argument, "name must not be empty"),
    ctx);
  CHECK(bad.status == 422);
  CHECK(bad.body.find("name must not be empty") != std::string::npos);
  CHECK(bad.body.find("\"request_id\":\"rid-9\"") != std::string::npos);
  CHECK(bad.body.find("\"instance\":\"/p\"") != std::string::npos);

  auto secret = "password=hunter2 at db.internal:5432";
  auto internal
    = from_error(fp::runtime::make_error(errc::internal, secret), ctx);
  CHECK(internal.status == 500);
  CHECK(internal.body.find("hunter2") == std::string::npos);
  CHECK(internal.body.find("rid-9") != std::string::npos);
  // ... but the log has it, with the request id.
  CHECK(logs.text.find("hunter2") != std::string::npos);
  CHECK(logs.text.find("rid-9") != std::string::npos);

  auto sql = from_error(
    fp::storage::make_error(fp::storage::errc::query_failed,
                            "42P01 relation \"secret_table\" does not exist"),
    ctx);
  CHECK(sql.status == 500);
  CHECK(sql.body.find("secret_table") == std::string::npos);

  auto unauth = from_error(fp::runtime::make_error(errc::unauthorized), ctx);
  CHECK(unauth.status == 401);
  CHECK(unauth.header("WWW-Authenticate").starts_with("Bearer"));

  auto down = from_error(fp::storage::make_error(
                           fp::storage::errc::unavailable, "conn refused"),
                         ctx);
  CHECK(down.status == 503);
  CHECK_FALSE(down.header("Retry-After").empty());
  CHECK(down.body.find("conn refused") == std::string::npos);

  auto busy = from_error(fp::runtime::make_error(errc::overloaded), ctx);
  CHECK(busy.status == 503);
  CHECK(busy.header("Retry-After") == "1");

  auto gone = from_error(caf::make_error(caf::sec::request_receiver_down), ctx);
  CHECK(gone.status == 503);
  auto slow = from_error(caf::make_error(caf::sec::request_timeout), ctx);
  CHECK(slow.status == 504);
}

// -- JSON ----------------------------------------------------------------------------

TEST_CASE("json_writer escapes strings and tracks commas", "[net][json]") {
  std::string out;
  json_writer w{out};
  w.begin_object()
    .member("q", "say \"hi\"\\")
    .member("ctl", std::string_view{"a\nb\tc\x01\x1f", 7})
    .member("utf8", "grüße ✓")
    .member("n", -5)
    .member("u", uint64_t{18446744073709551615ull})
    .member("d", 1.5)
    .member("inf", std::numeric_limits<double>::infinity())
    .member("b", true)
    .key("nothing")
    .null()
    .key("list")
    .begin_array()
    .value(1)
    .begin_object()
    .end_object()
    .begin_array()
    .end_array()
    .value("x")
    .end_array()
    .key("raw")
    .raw(R"({"k":[1]})")
    .end_object();
  CHECK(out
        == R"({"q":"say \"hi\"\\","ctl":"a\nb\tc\u0001\u001f",)"
           R"("utf8":"grüße ✓","n":-5,"u":18446744073709551615,"d":1.5,)"
           R"("inf":null,"b":true,"nothing":null,"list":[1,{},[],"x"],)"
           R"("raw":{"k":[1]}})");
  CHECK(check_json_body(json_request(out)) == caf::error{});
}

TEST_CASE("json_writer replaces invalid UTF-8 and escapes JS separators",
          "[net][json]") {
  std::string out;
  append_json_string_body(out, "a\xff" "b\xc3(" "\xe2\x80\xa8");
  CHECK(out == "a\xef\xbf\xbd" "b\xef\xbf\xbd(\\u2028");
  out.clear();
  // Overlong encodings and surrogates are invalid too.
  append_json_string_body(out, "\xc0\xaf|\xed\xa0\x80");
  CHECK(out == "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  out.clear();
  append_json_string_body(out, "</script>&", true);
  CHECK(out == "\\u003c/script\\u003e\\u0026");
  out.clear();
  append_json_string_body(out, "</script>", false);
  CHECK(out == "</script>");
}

TEST_CASE("JSON bodies need the JSON media type", "[net][json]") {
  CHECK(is_json_media_type("application/json"));
  CHECK(is_json_media_type("Application/JSON; charset=utf-8"));
  CHECK(is_json_media_type("application/merge-patch+json"));
  CHECK_FALSE(is_json_media_type("text/plain"));
  CHECK_FALSE(is_json_media_type("application/jsonx"));
  CHECK_FALSE(is_json_media_type("application/+json"));
  CHECK_FALSE(is_json_media_type(""));

  auto none = check_json_body(json_request(R"({"a":1})", ""));
  CHECK(status_of(none) == 415);
  auto text = check_json_body(json_request(R"({"a":1})", "text/plain"));
  CHECK(status_of(text) == 415);
  CHECK(fp::runtime::context_of(text).find("text/plain") != std::string::npos);
  CHECK(check_json_body(json_request(R"({"a":1})",
                                     "application/json; charset=utf-8"))
        == caf::error{});
}

TEST_CASE("invalid or empty JSON bodies are 400 with a position",
          "[net][json]") {
  auto empty = check_json_body(json_request(""));
  CHECK(status_of(empty) == 400);
  CHECK(fp::runtime::context_of(empty).find("empty") != std::string::npos);
  CHECK(status_of(check_json_body(json_request("  \n"))) == 400);

  auto bad = check_json_body(json_request(R"({"a" 1})"));
  CHECK(status_of(bad) == 400);
  CHECK(fp::runtime::context_of(bad).find("at byte 5") != std::string::npos);

  auto cut = check_json_body(json_request(R"({"a":[1,2)"));
  CHECK(status_of(cut) == 400);
  CHECK(fp::runtime::context_of(cut).find("at byte 9") != std::string::npos);

  auto trailing = check_json_body(json_request(R"({"a":1}})"));
  CHECK(status_of(trailing) == 400);
  CHECK(fp::runtime::context_of(trailing).find("at byte 7")
        != std::string::npos);

  CHECK(status_of(check_json_body(json_request(R"({"a":tru})"))) == 400);
  CHECK(status_of(check_json_body(json_request(R"([1,2,])"))) == 400);
  CHECK(status_of(check_json_body(json_request(R"({"s":"\u12"})"))) == 400);
  CHECK(status_of(check_json_body(json_request("{\"s\":\"a\x01\"}"))) == 400);
  CHECK(status_of(check_json_body(json_request("nul"))) == 400);
  CHECK(check_json_body(json_request(R"({"a":[1,{"b":null}],"c":"\u00e9"})"))
        == caf::error{});
  CHECK(check_json_body(json_request("42")) == caf::error{});
  std::string deep(300, '[');
  deep += std::string(300, ']');
  CHECK(status_of(check_json_body(json_request(deep))) == 400);
}

TEST_CASE("the server's body rule depends on method and declared type",
          "[net][json]") {
  auto req = [](std::string method, std::string body, std::string type) {
    auto r = json_request(std::move(body), std::move(type));
    r.method = std::move(method);
    return r;
  };
  // Safe methods are never checked.
  CHECK(check_request_body(req("GET", "x", "text/plain"), "") == caf::error{});
  // Nothing declared: no body, or a JSON one.
  CHECK(check_request_body(req("POST", "", ""), "") == caf::error{});
  CHECK(check_request_body(req("DELETE", R"({"a":1})", "application/json"), "")
        == caf::error{});
  CHECK(status_of(check_request_body(req("PUT", "x", "text/plain"), "")) == 415);
  CHECK(status_of(check_request_body(req("PATCH", "{", "application/json"), ""))
        == 400);
  // Declared JSON: a body is required.
  CHECK(status_of(check_request_body(req("POST", "", "application/json"),
                                     "application/json"))
        == 400);
  CHECK(status_of(check_request_body(req("POST", "{}", "text/plain"),
                                     "application/json"))
        == 415);
  // Declared something else: the handler decides.
  CHECK(check_request_body(req("POST", "a=1", "application/x-www-form-urlencoded"),
                           "application/x-www-form-urlencoded")
        == caf::error{});
}

// -- responder -----------------------------------------------------------------------

TEST_CASE("a responder answers once", "[net][responder]") {
  std::vector<http_response> got;
  auto res = make_capturing_responder(make_ctx(), [&](http_response r) {
    got.push_back(std::move(r));
  });
  CHECK_FALSE(res->answered());
  CHECK(res->send(http_response::json(200, "{}")));
  CHECK(res->answered());
  CHECK_FALSE(res->send(http_response::json(201, "{}")));
  CHECK_FALSE(res->fail(fp::runtime::make_error(errc::not_found)));
  CHECK(res->start_stream() == nullptr);
  REQUIRE(got.size() == 1);
  CHECK(got[0].status == 200);

  std::vector<http_response> failed;
  auto res2 = make_capturing_responder(make_ctx("/y", "r2"), [&](http_response r) {
    failed.push_back(std::move(r));
  });
  CHECK(res2->fail(fp::runtime::make_error(errc::conflict, "exists")));
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].status == 409);
  CHECK(failed[0].body.find("\"instance\":\"/y\"") != std::string::npos);
}

// -- bridge ---------------------------------------------------------------------------

namespace {

using echo_actor
  = caf::typed_actor<caf::replies_to<fp::version_atom>::with<std::string>>;

echo_actor::behavior_type echo_impl() {
  return {[](fp::version_atom) { return std::string{"v1"}; }};
}

echo_actor::behavior_type silent_impl(echo_actor::pointer self) {
  return {[self](fp::version_atom) {
    // Promises an answer and never gives it.
    return self->make_response_promise<std::string>();
  }};
}

/// Runs `ask` and waits for whichever callback runs.
std::pair<std::string, caf::error>
ask_and_wait(caf::actor_system& sys, const echo_actor& target,
             std::chrono::milliseconds timeout) {
  std::promise<std::pair<std::string, caf::error>> done;
  auto fut = done.get_future();
  ask<std::string>(
    sys, target, timeout,
    [&done](std::string&& s) { done.set_value({std::move(s), caf::error{}}); },
    [&done](caf::error&& err) { done.set_value({{}, std::move(err)}); },
    fp::version_atom_v);
  REQUIRE(fut.wait_for(std::chrono::seconds{5}) == std::future_status::ready);
  return fut.get();
}

} // namespace

TEST_CASE("the bridge asks an actor without blocking on it", "[net][bridge]") {
  fp::runtime::system_config cfg;
  caf::actor_system sys{cfg};
  auto echo = sys.spawn(echo_impl);
  auto [reply, err] = ask_and_wait(sys, echo, std::chrono::seconds{2});
  CHECK(reply == "v1");
  CHECK_FALSE(err);

  // No actor: 503 at once.
  auto [r1, missing] = ask_and_wait(sys, echo_actor{}, std::chrono::seconds{2});
  CHECK(status_of(missing) == 503);

  // A dead actor: 503 from CAF.
  {
    caf::scoped_actor self{sys};
    auto doomed = sys.spawn(echo_impl);
    self->monitor(doomed);
    self->send_exit(doomed, caf::exit_reason::kill);
    self->receive([](const caf::down_msg&) {});
    auto [r2, dead] = ask_and_wait(sys, doomed, std::chrono::seconds{2});
    CHECK(status_of(dead) == 503);
  }

  // No answer in time: 504.
  auto silent = sys.spawn(silent_impl);
  auto [r3, late] = ask_and_wait(sys, silent, std::chrono::milliseconds{50});
  CHECK(status_of(late) == 504);
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}

TEST_CASE("ask_and_respond renders replies and maps errors", "[net][bridge]") {
  log_capture quiet;
  fp::runtime::system_config cfg;
  caf::actor_system sys{cfg};
  auto echo = sys.spawn(echo_impl);
  auto run = [&](const echo_actor& target) {
    std::promise<http_response> done;
    auto fut = done.get_future();
    auto res = make_capturing_responder(make_ctx("/v", "rid-b"),
                                        [&done](http_response r) {
                                          done.set_value(std::move(r));
                                        });
    ask_and_respond<std::string>(
      sys, target, std::chrono::seconds{2}, res,
      [](std::string&& s) { return http_response::text(200, s); },
      fp::version_atom_v);
    res.reset();
    REQUIRE(fut.wait_for(std::chrono::seconds{5}) == std::future_status::ready);
    return fut.get();
  };
  auto ok = run(echo);
  CHECK(ok.status == 200);
  CHECK(ok.body == "v1");
  auto down = run(echo_actor{});
  CHECK(down.status == 503);
  CHECK(down.body.find("rid-b") != std::string::npos);
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
}

// -- system handlers ------------------------------------------------------------------

TEST_CASE("probe and version responses", "[net][handlers]") {
  auto live = livez_response();
  CHECK(live.status == 200);
  CHECK(live.body == R"({"status":"ok"})");

  fp::runtime::readiness ok;
  ok.ready = true;
  ok.database_reachable = true;
  ok.pending_migrations = 0;
  auto ready = readiness_response(ok, make_ctx("/readyz"));
  CHECK(ready.status == 200);
  CHECK(ready.body.find("\"status\":\"ready\"") != std::string::npos);

  fp::runtime::readiness down;
  down.detail = "database unreachable";
  auto not_ready = readiness_response(down, make_ctx("/readyz"));
  CHECK(not_ready.status == 503);
  CHECK(not_ready.content_type == "application/problem+json");
  CHECK(not_ready.body.find("database unreachable") != std::string::npos);
  CHECK(not_ready.body.find("\"pending_migrations\":-1") != std::string::npos);

  fp::runtime::readiness pending;
  pending.database_reachable = true;
  pending.pending_migrations = 3;
  auto migrating = readiness_response(pending, make_ctx("/readyz"));
  CHECK(migrating.status == 503);
  CHECK(migrating.body.find("3 pending migrations") != std::string::npos);

  fp::runtime::version_info v{"fleetprompt", "0.1.0", "abc\"def", "Release"};
  auto ver = version_response(v);
  CHECK(ver.body
        == R"({"name":"fleetprompt","version":"0.1.0","commit":"abc\"def",)"
           R"("build_type":"Release"})");
}

TEST_CASE("admin authorization", "[net][handlers][admin]") {
  http_request req;
  auto with_auth = [](std::string value) {
    http_request r;
    r.headers.push_back({"authorization", std::move(value)});
    return r;
  };
  auto disabled = check_admin(with_auth("Bearer s3cret"), "");
  CHECK(status_of(disabled) == 403);
  CHECK(fp::runtime::context_of(disabled)
        == "admin endpoints are disabled: set admin-token");
  CHECK(status_of(check_admin(req, "s3cret")) == 401);
  CHECK(status_of(check_admin(with_auth("Bearer wrong"), "s3cret")) == 401);
  CHECK(status_of(check_admin(with_auth("Basic s3cret"), "s3cret")) == 401);
  CHECK(status_of(check_admin(with_auth("Bearer s3cre"), "s3cret")) == 401);
  CHECK(status_of(check_admin(with_auth("Bearer "), "s3cret")) == 401);
  CHECK(check_admin(with_auth("Bearer s3cret"), "s3cret") == caf::error{});
  CHECK(check_admin(with_auth("bearer  s3cret "), "s3cret") == caf::error{});
}

TEST_CASE("the actor tree is rendered flat and nested", "[net][handlers]") {
  std::vector<fp::runtime::actor_node> nodes;
  nodes.push_back({10, "supervisor", "root", 0, "running", 0, 0, 1000});
  nodes.push_back({11, "version", "version", 10, "running", 2, 1, 1500});
  nodes.push_back({12, "health", "health", 10, "running", 0, 0, 0});
  nodes.push_back({13, "worker", "w1", 11, "idle", 0, 0, 1900});
  nodes.push_back({14, "orphan", "o", 99, "running", 0, 0, 1000});
  auto res = actors_response(nodes, 2000);
  CHECK(res.status == 200);
  CHECK(check_json_body(json_request(res.body)) == caf::error{});
  const auto& b = res.body;
  CHECK(b.find(R"("count":5)") != std::string::npos);
  CHECK(b.find(R"({"actor_id":11,"kind":"version","id":"version",)"
               R"("parent_id":10,"state":"running","mailbox":2,"restarts":1,)"
               R"("uptime_ms":500,"started_at":"1970-01-01T00:00:01.500Z"})")
        != std::string::npos);
  CHECK(b.find(R"("uptime_ms":0,"started_at":null)") != std::string::npos);
  auto tree = b.substr(b.find("\"tree\""));
  // root > version > worker, root > health; the orphan is its own root.
  CHECK(tree.find(R"("id":"root")") < tree.find(R"("id":"version")"));
  CHECK(tree.find(R"("id":"version")") < tree.find(R"("id":"w1")"));
  CHECK(tree.find(R"("id":"w1","parent_id":11,"state":"idle","mailbox":0,)"
                  R"("restarts":0,"uptime_ms":100,)"
                  R"("started_at":"1970-01-01T00:00:01.900Z","children":[]})")
        != std::string::npos);
  CHECK(tree.find(R"("id":"o","parent_id":99)") != std::string::npos);
}

TEST_CASE("log level bodies are parsed and validated", "[net][handlers]") {
  auto ok = parse_log_level_body(json_request(R"({"level":"debug"})"));
  REQUIRE(ok);
  CHECK(*ok == fp::runtime::log::level::debug);
  auto extra = parse_log_level_body(
    json_request(R"({"other":[1,2],"level":"warn"})"));
  REQUIRE(extra);
  CHECK(*extra == fp::runtime::log::level::warn);
  CHECK(status_of(parse_log_level_body(json_request(R"({"level":"loud"})"))
                    .error())
        == 422);
  CHECK(status_of(parse_log_level_body(json_request(R"({"level":3})")).error())
        == 422);
  CHECK(status_of(parse_log_level_body(json_request(R"({})")).error()) == 422);
  CHECK(status_of(parse_log_level_body(json_request(R"(["debug"])")).error())
        == 422);
  CHECK(status_of(parse_log_level_body(json_request(R"({"level":)")).error())
        == 400);
  CHECK(status_of(parse_log_level_body(json_request("")).error()) == 400);
  CHECK(status_of(
          parse_log_level_body(json_request("level=debug", "text/plain"))
            .error())
        == 415);
  CHECK(log_level_response(fp::runtime::log::level::error).body
        == R"({"level":"error"})");
}

TEST_CASE("the OpenAPI document is generated from the routes",
          "[net][handlers][openapi]") {
  router r;
  route_doc d;
  d.summary = "Get one agent";
  d.tags = {"agents"};
  r.add("GET", "/api/v1/agents/{id}", noop(), d);
  route_doc post;
  post.summary = "Create an agent";
  post.request_type = "application/json";
  post.success_status = 201;
  post.bearer_auth = true;
  r.add("POST", "/api/v1/agents", noop(), post);
  route_doc hidden;
  hidden.hidden = true;
  r.add("GET", "/internal", noop(), hidden);
  auto doc = openapi_document(r, "9.9.9");
  CHECK(check_json_body(json_request(doc)) == caf::error{});
  CHECK(doc.starts_with(R"({"openapi":"3.1.0","info":{"title":"FleetPrompt API","version":"9.9.9"})"));
  CHECK(doc.find(R"("/api/v1/agents/{id}":{"get":{"summary":"Get one agent",)"
                 R"("operationId":"get_api_v1_agents_by_id","tags":["agents"],)"
                 R"("parameters":[{"name":"id","in":"path","required":true,)"
                 R"("schema":{"type":"string"}}])")
        != std::string::npos);
  CHECK(doc.find(R"("requestBody":{"required":true,"content":{"application/json")")
        != std::string::npos);
  CHECK(doc.find(R"("security":[{"bearerAuth":[]}])") != std::string::npos);
  CHECK(doc.find(R"("201":{"description":"OK")") != std::string::npos);
  CHECK(doc.find(R"("securitySchemes":{"bearerAuth":{"type":"http","scheme":"bearer"}})")
        != std::string::npos);
  CHECK(doc.find("/internal") == std::string::npos);
  CHECK(doc.find(R"("$ref":"#/components/schemas/Problem")") != std::string::npos);
}

TEST_CASE("system routes answer without a server", "[net][handlers]") {
  log_capture quiet; // 503s are logged
  router r;
  system_services missing;
  CHECK_THROWS_AS(add_system_routes(r, missing), std::invalid_argument);

  fp::runtime::system_config cfg;
  caf::actor_system sys{cfg};
  fp::config::settings settings; // no admin token
  fp::runtime::metrics_registry metrics;
  metrics.get_counter("fp_test_total", "A test counter.").inc();
  system_services svc;
  svc.sys = &sys;
  svc.settings = &settings;
  svc.metrics = &metrics;
  // Slots without a running actor: asking them must answer 503 at once.
  svc.version = std::make_shared<fp::runtime::actor_slot>();
  svc.health = std::make_shared<fp::runtime::actor_slot>();
  svc.tree = nullptr;
  add_system_routes(r, svc);

  auto call = [&](std::string method, std::string path) {
    auto m = r.match(method, path);
    REQUIRE(m.kind == router::match_result::found);
    auto ctx = make_ctx(path);
    ctx.request.method = method;
    ctx.route = m.matched->pattern;
    http_response out;
    out.status = 0;
    auto res = make_capturing_responder(std::move(ctx),
                                        [&](http_response x) { out = x; });
    m.matched->fn(res->context(), res);
    return out;
  };
  CHECK(call("GET", "/livez").body == R"({"status":"ok"})");
  auto ready = call("GET", "/readyz");
  CHECK(ready.status == 503);
  CHECK(ready.content_type == "application/problem+json");
  CHECK(call("GET", "/api/v1/version").status == 503);
  auto prom = call("GET", "/metrics");
  CHECK(prom.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(prom.body.find("fp_test_total 1") != std::string::npos);
  auto admin = call("GET", "/admin/actors");
  CHECK(admin.status == 403);
  CHECK(admin.body.find("admin endpoints are disabled: set admin-token")
        != std::string::npos);
  auto doc = call("GET", "/api/v1/openapi.json");
  CHECK(doc.status == 200);
  for (auto path : {"/livez", "/readyz", "/metrics", "/api/v1/version",
                    "/api/v1/openapi.json", "/admin/actors",
                    "/admin/log-level"})
    CHECK(doc.body.find("\"" + std::string{path} + "\":{") != std::string::npos);
  CHECK(doc.body == call("GET", "/api/v1/openapi.json").body);
}
