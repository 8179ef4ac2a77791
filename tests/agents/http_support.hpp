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

struct sse_event {
  std::string id;
  std::string event;
  std::string data;
  std::string comment;
  int retry = -1;
};

/// One SSE connection over a raw socket: chunked decoding and event
/// parsing, nothing else.
class sse_client {
public:
  sse_client(uint16_t port, const std::string& target,
             const std::vector<std::string>& headers) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    auto req = test::request_text("GET", target, headers);
    REQUIRE(::send(fd_, req.data(), req.size(), MSG_NOSIGNAL)
            == static_cast<ssize_t>(req.size()));
  }

  sse_client(const sse_client&) = delete;
  sse_client& operator=(const sse_client&) = delete;

  ~sse_client() {
    close();
  }

  void close() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

  /// Reads the response head; returns the status (0 on timeout).
  int head(ms timeout = 5000ms) {
    auto deadline = steady::now() + timeout;
    while (status_ == 0) {
      auto end = raw_.find("\r\n\r\n");
      if (end != std::string::npos) {
        auto head = raw_.substr(0, end);
        raw_.erase(0, end + 4);
        status_ = std::stoi(head.substr(9, 3));
        auto lower = test::lower(head);
        chunked_ = lower.find("transfer-encoding: chunked") != std::string::npos;
        break;
      }
      if (!read_more(deadline))
        return 0;
    }
    return status_;
  }

  /// The body read so far (for non-stream answers such as a 404).
  std::string body() {
    decode();
    return body_;
  }

  /// The next event or comment; nullopt on timeout or end of stream.
  std::optional<sse_event> next(ms timeout = 5000ms) {
    auto deadline = steady::now() + timeout;
    for (;;) {
      decode();
      auto end = body_.find("\n\n", pos_);
      if (end != std::string::npos) {
        auto block = body_.substr(pos_, end - pos_);
        pos_ = end + 2;
        return parse(block);
      }
      if (ended_ || !read_more(deadline))
        return std::nullopt;
    }
  }

  /// The next named event (comments and retry hints skipped).
  std::optional<sse_event> next_event(ms timeout = 10000ms) {
    auto deadline = steady::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
      if (left <= 0ms)
        return std::nullopt;
      auto ev = next(left);
      if (!ev)
        return std::nullopt;
      if (!ev->event.empty())
        return ev;
    }
  }

  bool ended() {
    decode();
    return ended_;
  }

private:
  bool read_more(steady::time_point deadline) {
    if (eof_)
      return false;
    auto left = std::max(std::chrono::duration_cast<ms>(deadline - steady::now()), 0ms);
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return false;
    char buf[65536];
    auto n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      eof_ = true;
      ended_ = true;
      decode();
      return false;
    }
    raw_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  void decode() {
    if (status_ == 0)
      return;
    if (!chunked_) {
      body_ += raw_;
      raw_.clear();
      return;
    }
    std::size_t at = 0;
    for (;;) {
      auto eol = raw_.find("\r\n", at);
      if (eol == std::string::npos)
        break;
      auto size = std::stoul(raw_.substr(at, eol - at), nullptr, 16);
      if (raw_.size() < eol + 2 + size + 2)
        break;
      if (size == 0) {
        ended_ = true;
        at = raw_.size();
        break;
      }
      body_.append(raw_, eol + 2, size);
      at = eol + 2 + size + 2;
    }
    raw_.erase(0, at);
  }

  static sse_event parse(const std::string& block) {
    sse_event ev;
    std::size_t at = 0;
    while (at <= block.size()) {
      auto nl = block.find('\n', at);
      auto line = block.substr(at, nl == std::string::npos ? std::string::npos
                                                            : nl - at);
      if (line.rfind("id: ", 0) == 0)
        ev.id = line.substr(4);
      else if (line.rfind("event: ", 0) == 0)
        ev.event = line.substr(7);
      else if (line.rfind("data: ", 0) == 0)
        ev.data = line.substr(6);
      else if (line.rfind("retry: ", 0) == 0)
        ev.retry = std::stoi(line.substr(7));
      else if (line.rfind(":", 0) == 0)
        ev.comment = line.substr(1);
      if (nl == std::string::npos)
        break;
      at = nl + 1;
    }
    return ev;
  }

  int fd_ = -1;
  int status_ = 0;
  bool chunked_ = false;
  bool eof_ = false;
  bool ended_ = false;
  std::string raw_;
  std::string body_;
  std::size_t pos_ = 0;
};

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
