#pragma once

// Shared by the agent HTTP tests: a node with two organizations (owner
// session, admin / member / read-only API keys each), JSON access to
// answers, and a raw SSE client that sees exactly what the server sent.

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

// simdjson's class layouts depend on this macro; the packaged library (and
// every target linking it through CMake) is built with it.
#ifndef SIMDJSON_THREADS_ENABLED
#  define SIMDJSON_THREADS_ENABLED 1
#endif
#include <simdjson.h>

#include "support/spine_fixture.hpp"
#include "support/sse_client.hpp"

namespace fp::http_test {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;
using steady = std::chrono::steady_clock;
using test::call;

// -- JSON ---------------------------------------------------------------------------------

/// A parsed JSON answer (DOM: test bodies are small).
struct json_doc {
  simdjson::dom::parser parser;
  simdjson::dom::element root;

  explicit json_doc(const std::string& text) {
    if (parser.parse(text).get(root))
      FAIL("not JSON: " << text);
  }
};

inline std::string str(simdjson::dom::element e, std::string_view key) {
  std::string_view v;
  if (e[key].get_string().get(v))
    return {};
  return std::string{v};
}

inline int64_t num(simdjson::dom::element e, std::string_view key) {
  int64_t v = 0;
  if (e[key].get_int64().get(v))
    return -1;
  return v;
}

inline bool is_null(simdjson::dom::element e, std::string_view key) {
  simdjson::dom::element v;
  return !e[key].get(v) && v.is_null();
}

inline std::size_t count(simdjson::dom::element e, std::string_view key) {
  simdjson::dom::array arr;
  if (e[key].get_array().get(arr))
    return 0;
  return arr.size();
}

// -- SSE ------------------------------------------------------------------------------------

using test::sse_client;
using test::sse_event;

// -- a node with two organizations --------------------------------------------------------

struct tenant {
  std::string id;
  std::string slug;
  /// "Authorization: Bearer ..." headers of API keys with these scopes.
  std::string admin;  // ["admin"]
  std::string member; // ["read", "write"]
  std::string reader; // ["read"]
};

struct fixture {
  std::string url;
  std::unique_ptr<net::node> node;
  std::unique_ptr<storage::pg_session> db;
  uint16_t port = 0;
  tenant acme;
  tenant beta;

  explicit fixture(const std::string& prefix,
                   std::function<void(config::settings&)> tweak = {}) {
    url = test::migrated_database(prefix);
    db = test::open_session(url);
    test::create_test_user(*db, "owner@example.com");
    auto cfg = test::node_settings(url);
    if (tweak)
      tweak(cfg);
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

  std::string make_key(const std::vector<std::string>& owner,
                       const std::string& scopes) {
    auto key = call(port, "POST", "/api/v1/api-keys", owner,
                    R"({"name":"k","scopes":)" + scopes + "}");
    REQUIRE(key.status == 201);
    return "Authorization: Bearer " + test::json_string(key.body, "key");
  }

  tenant make_tenant(const std::vector<std::string>& owner,
                     const std::string& slug) {
    auto made = call(port, "POST", "/api/v1/orgs", owner,
                     R"({"slug":")" + slug + R"(","name":"Org"})");
    REQUIRE(made.status == 201);
    REQUIRE(call(port, "POST", "/api/v1/session/org", owner,
                 R"({"org":")" + slug + R"("})")
              .status
            == 200);
    tenant t;
    t.slug = slug;
    t.admin = make_key(owner, R"(["admin"])");
    t.member = make_key(owner, R"(["read","write"])");
    t.reader = make_key(owner, R"(["read"])");
    t.id = test::text(*db, "SELECT id::text FROM public.organizations "
                           "WHERE slug = $1",
                      {slug});
    return t;
  }

  /// One request authorized by `auth` (a header from `tenant`).
  test::response req(const std::string& auth, const std::string& method,
                     const std::string& target, const std::string& body = {}) {
    std::vector<std::string> headers{auth};
    return call(port, method, target, headers, body);
  }

  /// Creates an agent of `t` (as admin) from a JSON body; its id.
  std::string make_agent(const tenant& t, const std::string& body) {
    auto res = req(t.admin, "POST", "/api/v1/agents", body);
    INFO(res.body);
    REQUIRE(res.status == 201);
    json_doc d{res.body};
    return str(d.root, "id");
  }

  /// Polls execution `id` of `t` until it finished; its last JSON.
  std::string await_execution(const tenant& t, const std::string& id,
                              ms limit = 20000ms) {
    std::string last;
    auto done = test::eventually(
      [&] {
        auto res = req(t.reader, "GET", "/api/v1/executions/" + id);
        if (res.status != 200)
          return false;
        last = res.body;
        json_doc d{res.body};
        auto s = str(d.root, "status");
        return s != "queued" && s != "running";
      },
      limit, 50ms);
    INFO(last);
    REQUIRE(done);
    return last;
  }
};

} // namespace fp::http_test
