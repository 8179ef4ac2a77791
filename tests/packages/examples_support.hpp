#pragma once

// Shared by the example-package tests: a node with a platform admin (who
// publishes), organizations with admin / member API keys, a loopback
// webhook receiver, a log capture, and the calls the walkthrough makes
// (publish every example, install, wait for an installation's state).

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <openssl/rand.h>

#include "agents/http_support.hpp"
#include "support/hook_receiver.hpp"
#include "fp/runtime/crypto.hpp"
#include "fp/runtime/log.hpp"
#include "fp/runtime/webhook_signature.hpp"

namespace fp::pkg_test {

using namespace std::chrono_literals;
using http_test::json_doc;
using http_test::str;
using http_test::num;
using http_test::count;
using ms = std::chrono::milliseconds;

// -- files ----------------------------------------------------------------------------------

inline std::filesystem::path examples_dir() {
  return std::filesystem::path{__FILE__}.parent_path().parent_path().parent_path()
         / "examples" / "packages";
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// The manifest text of example directory `dir`.
inline std::string example_manifest(const std::string& dir) {
  auto text = slurp(examples_dir() / dir / "fleetprompt.package.json");
  REQUIRE(!text.empty());
  return text;
}

/// The example directories, in the order they can be published (any order
/// works: dependencies are resolved at install time).
inline std::vector<std::string> example_dirs() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator{examples_dir()})
    if (e.is_directory()
        && std::filesystem::exists(e.path() / "fleetprompt.package.json"))
      out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// -- JSON -----------------------------------------------------------------------------------

/// The JSON string literal of `text` (test values only: no control characters).
inline std::string json_quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

/// `e[key]` as an element, or FAIL.
inline simdjson::dom::element at(simdjson::dom::element e, std::string_view key) {
  simdjson::dom::element v;
  if (e[key].get(v))
    FAIL("no member " << key);
  return v;
}

/// The strings of array member `key` of `e`.
inline std::vector<std::string> strings(simdjson::dom::element e, std::string_view key) {
  std::vector<std::string> out;
  simdjson::dom::array arr;
  if (e[key].get_array().get(arr))
    return out;
  for (auto v : arr) {
    std::string_view s;
    if (!v.get_string().get(s))
      out.emplace_back(s);
  }
  return out;
}

// -- secrets --------------------------------------------------------------------------------

/// A fresh Standard Webhooks secret: "whsec_" + base64 of 24 random bytes.
inline std::string fresh_webhook_secret() {
  unsigned char raw[24];
  REQUIRE(RAND_bytes(raw, sizeof(raw)) == 1);
  return "whsec_"
         + runtime::base64_encode(std::string_view{reinterpret_cast<char*>(raw), sizeof(raw)});
}

// -- log capture ----------------------------------------------------------------------------

/// Collects every log line the process writes while it lives.
class log_capture {
public:
  log_capture() {
    runtime::log::set_sink(&log_capture::sink, this);
  }
  ~log_capture() {
    runtime::log::set_sink(nullptr, nullptr);
  }
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  std::string text() {
    std::lock_guard<std::mutex> guard{mtx_};
    return text_;
  }
  std::size_t lines() {
    std::lock_guard<std::mutex> guard{mtx_};
    return lines_;
  }

private:
  static void sink(std::string_view line, void* user) {
    auto* self = static_cast<log_capture*>(user);
    std::lock_guard<std::mutex> guard{self->mtx_};
    self->text_.append(line);
    ++self->lines_;
  }

  std::mutex mtx_;
  std::string text_;
  std::size_t lines_ = 0;
};

// -- a local webhook receiver (support/hook_receiver.hpp) ----------------------------

using test::hook_receiver;
using test::received_hook;

/// True when `h` carries a valid Standard Webhooks signature under `secret`.
inline bool signed_with(const received_hook& h, const std::string& secret) {
  auto key = runtime::webhook_secret_key(secret);
  if (!key || !h.headers.count("webhook-id") || !h.headers.count("webhook-timestamp")
      || !h.headers.count("webhook-signature"))
    return false;
  return h.headers.at("webhook-signature")
         == runtime::webhook_signature(*key, h.headers.at("webhook-id"),
                                       std::stoll(h.headers.at("webhook-timestamp")),
                                       h.body);
}

inline std::filesystem::path js_dir() {
  return std::filesystem::path{__FILE__}.parent_path().parent_path() / "js";
}

/// Runs the npm `standardwebhooks` verifier (tests/js) on one delivery: its
/// exit code, or -1 when tests/js/node_modules is missing (then it warns,
/// or fails under CI=true).
inline int verify_with_npm(const std::string& secret, const received_hook& h) {
  if (!std::filesystem::exists(js_dir() / "node_modules" / "standardwebhooks")) {
    auto ci = std::getenv("CI");
    if (ci && std::string{ci} == "true")
      FAIL("tests/js/node_modules is missing: run `npm ci` in tests/js");
    WARN("tests/js/node_modules is missing; skipping the npm verification");
    return -1;
  }
  auto input = std::filesystem::temp_directory_path()
               / ("fp_pkg_hook_" + std::to_string(::getpid()) + ".json");
  {
    std::ofstream out{input};
    out << "{\"secret\":" << json_quoted(secret) << ",\"headers\":{"
        << "\"webhook-id\":" << json_quoted(h.headers.at("webhook-id"))
        << ",\"webhook-timestamp\":" << json_quoted(h.headers.at("webhook-timestamp"))
        << ",\"webhook-signature\":" << json_quoted(h.headers.at("webhook-signature"))
        << "},\"body\":" << json_quoted(h.body) << "}";
  }
  auto cmd = "node '" + (js_dir() / "verify_webhook.mjs").string() + "' < '"
             + input.string() + "' > /dev/null 2>&1";
  int status = std::system(cmd.c_str());
  std::filesystem::remove(input);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// -- the node -------------------------------------------------------------------------------

struct tenant {
  std::string id;
  std::string slug;
  /// "Authorization: Bearer ..." headers.
  std::string admin;  // ["admin"]
  std::string member; // ["read", "write"]
};

/// A node whose platform admin (admin@example.com) owns the organizations
/// it makes; loopback webhooks allowed, jobs polled often.
struct fixture {
  std::string url;
  config::settings cfg;
  std::unique_ptr<storage::pg_session> db;
  std::unique_ptr<net::node> node;
  uint16_t port = 0;
  /// Cookie and CSRF headers of the platform admin's session.
  std::vector<std::string> admin_session;

  explicit fixture(const std::string& prefix, std::string log_level = "warn") {
    url = test::migrated_database(prefix);
    db = test::open_session(url);
    auto u = storage::create_user(*db, "admin@example.com", "correct horse", true);
    REQUIRE(u);
    cfg = test::node_settings(url, std::move(log_level));
    cfg.job_poll_interval = 200ms;
    cfg.job_backoff_min = 50ms;
    cfg.job_backoff_max = 200ms;
    cfg.webhook_timeout = 3000ms;
    cfg.webhook_allow_networks = "127.0.0.0/8";
    node = test::start_node(cfg);
    port = node->port();
    admin_session = test::log_in(port, "admin@example.com");
  }

  ~fixture() {
    if (node)
      node->stop();
  }

  fixture(const fixture&) = delete;
  fixture& operator=(const fixture&) = delete;

  test::response as(const std::vector<std::string>& headers, const std::string& method,
                    const std::string& target, const std::string& body = {}) {
    return test::call(port, method, target, headers, body);
  }

  test::response req(const std::string& auth, const std::string& method,
                     const std::string& target, const std::string& body = {}) {
    return test::call(port, method, target, {auth}, body);
  }

  std::string make_key(const std::string& scopes) {
    auto key = as(admin_session, "POST", "/api/v1/api-keys",
                  R"({"name":"k","scopes":)" + scopes + "}");
    REQUIRE(key.status == 201);
    return "Authorization: Bearer " + test::json_string(key.body, "key");
  }

  tenant make_tenant(const std::string& slug) {
    auto made = as(admin_session, "POST", "/api/v1/orgs",
                   R"({"slug":")" + slug + R"(","name":"Org )" + slug + R"("})");
    INFO(made.body);
    REQUIRE(made.status == 201);
    REQUIRE(as(admin_session, "POST", "/api/v1/session/org", R"({"org":")" + slug + R"("})")
              .status
            == 200);
    tenant t;
    t.slug = slug;
    t.admin = make_key(R"(["admin"])");
    t.member = make_key(R"(["read","write"])");
    t.id = text("SELECT id::text FROM public.organizations WHERE slug = $1", {slug});
    return t;
  }

  std::string text(const std::string& sql, storage::sql_params params = {}) {
    return test::text(*db, sql, std::move(params));
  }

  int64_t scalar(const std::string& sql, storage::sql_params params = {}) {
    return test::scalar(*db, sql, std::move(params));
  }

  /// Publishes every example through POST /api/v1/packages as the platform
  /// admin; each answers 201.
  void publish_examples() {
    for (const auto& dir : example_dirs()) {
      INFO(dir);
      auto res = as(admin_session, "POST", "/api/v1/packages", example_manifest(dir));
      INFO(res.body);
      REQUIRE(res.status == 201);
    }
  }

  /// POST /api/v1/installations as `t`'s admin; the answer.
  test::response install(const tenant& t, const std::string& body) {
    return req(t.admin, "POST", "/api/v1/installations", body);
  }

  /// Polls installation `id` until its state is one of `states`; its last JSON.
  std::string await_state(const tenant& t, const std::string& id,
                          const std::set<std::string>& states, ms limit = 30000ms) {
    std::string last;
    auto done = test::eventually(
      [&] {
        auto res = req(t.admin, "GET", "/api/v1/installations/" + id);
        if (res.status != 200)
          return false;
        last = res.body;
        json_doc d{res.body};
        return states.count(str(d.root, "state")) > 0;
      },
      limit, 100ms);
    INFO(last);
    REQUIRE(done);
    return last;
  }

  /// The first execution triggered by signal `signal_id` once it finished;
  /// its JSON (with tool calls).
  std::string await_triggered_execution(const tenant& t, const std::string& signal_id,
                                        const std::string& agent_name,
                                        ms limit = 30000ms) {
    auto schema = "\"org_" + t.slug + "\"";
    std::string exec_id;
    REQUIRE(test::eventually(
      [&] {
        auto r = db->exec("SELECT e.id::text FROM " + schema + ".executions e JOIN "
                            + schema + ".agents a ON a.id = e.agent_id WHERE "
                                       "e.trigger_signal_id = $1 AND a.name = $2",
                          {signal_id, agent_name});
        if (!r || r->rows() == 0)
          return false;
        exec_id = std::string{r->text(0, 0)};
        return true;
      },
      limit, 100ms));
    std::string last;
    auto done = test::eventually(
      [&] {
        auto res = req(t.admin, "GET", "/api/v1/executions/" + exec_id);
        if (res.status != 200)
          return false;
        last = res.body;
        json_doc d{res.body};
        auto s = str(d.root, "status");
        return s != "queued" && s != "running";
      },
      limit, 100ms);
    INFO(last);
    REQUIRE(done);
    return last;
  }

  /// Emits one signal as `t`'s admin; its id.
  std::string emit(const tenant& t, const std::string& body) {
    auto res = req(t.admin, "POST", "/api/v1/signals", body);
    INFO(res.body);
    REQUIRE(res.status == 201);
    return test::json_string(res.body, "id");
  }
};

} // namespace fp::pkg_test
