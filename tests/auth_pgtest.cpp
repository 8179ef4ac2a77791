// Accounts over real HTTP: sessions, CSRF, login throttling, API keys and
// their tenant scoping, and the `user create` command, against a node
// started in-process on the test database. Users, organizations and
// memberships are made directly through the repositories and SQL.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <caf/all.hpp>

#include "fp/config/settings.hpp"
#include "fp/net/auth.hpp"
#include "fp/net/node.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/users.hpp"
#include "http_client.hpp"
#include "pg_cluster.hpp"

using namespace std::chrono_literals;
using namespace fp::test;

namespace {

constexpr const char* password = "correct horse battery";

/// A short random name part, so reruns on one database never collide.
std::string unique() {
  return fp::runtime::new_request_id().substr(0, 10);
}

/// The fp_session token of a Set-Cookie value.
std::string cookie_token(const response& res) {
  auto v = res.header("set-cookie");
  auto at = v.find("fp_session=");
  if (at == std::string::npos)
    return {};
  at += 11;
  return v.substr(at, v.find(';', at) - at);
}

/// A node on the test database plus a direct connection for set-up.
struct auth_env {
  std::unique_ptr<fp::net::node> node;
  std::unique_ptr<fp::storage::pg_session> db;
  uint16_t port = 0;

  explicit auth_env(std::chrono::milliseconds session_ttl = 12h,
                    std::chrono::milliseconds grace = 24h) {
    fp::config::settings s;
    s.database_url = fp::test::database_url();
    s.listen_host = "127.0.0.1";
    s.listen_port = 0;
    s.io_threads = 2;
    s.log_level = "warn";
    s.shutdown_grace = 2000ms;
    s.session_ttl = session_ttl;
    s.api_key_rotation_grace = grace;
    auto started = fp::net::node::start(s);
    if (!started)
      FAIL("node did not start: " << caf::to_string(started.error()));
    node = std::move(*started);
    port = node->port();
    auto conn = fp::storage::connect(fp::test::database_url(), 5000ms);
    if (!conn)
      FAIL("cannot connect: " << caf::to_string(conn.error()));
    db = std::move(*conn);
    // Throttle counters are per address, and every test logs in from
    // 127.0.0.1: start each test from a clean slate.
    sql("DELETE FROM public.login_throttle");
  }

  ~auth_env() {
    sql("DELETE FROM public.login_throttle");
    node->stop();
  }

  void sql(const std::string& text, fp::storage::sql_params params = {}) {
    auto r = db->exec(text, std::move(params));
    if (!r)
      FAIL("SQL failed: " << caf::to_string(r.error()));
  }

  /// Creates a user; returns its id.
  std::string user(const std::string& email, bool platform_admin = false) {
    auto u = fp::storage::create_user(*db, email, password, platform_admin);
    if (!u)
      FAIL("create_user failed: " << caf::to_string(u.error()));
    return u->id;
  }

  /// Creates an active organization; returns its id.
  std::string org(const std::string& slug) {
    auto id = fp::runtime::new_uuid_v7();
    sql("INSERT INTO public.organizations (id, slug, name, state) "
        "VALUES ($1, $2, $2, 'active')",
        {id, slug});
    return id;
  }

  void member(const std::string& org_id, const std::string& user_id,
              const std::string& role) {
    sql("INSERT INTO public.memberships (org_id, user_id, role) "
        "VALUES ($1, $2, $3)",
        {org_id, user_id, role});
  }

  response call(const std::string& method, const std::string& target,
                std::vector<std::string> headers = {},
                const std::string& body = {}) {
    if (!body.empty())
      headers.push_back("Content-Type: application/json");
    auto res = fetch(port, method, target, headers, body);
    REQUIRE(res);
    return *res;
  }

  response login(const std::string& email, const std::string& pw = password,
                 std::vector<std::string> headers = {}) {
    return call("POST", "/api/v1/session", std::move(headers),
                R"({"email":")" + email + R"(","password":")" + pw + "\"}");
  }
};

/// A logged-in browser: cookie plus CSRF token.
struct browser {
  std::string token;
  std::string csrf;

  std::vector<std::string> headers(bool with_csrf = true) const {
    std::vector<std::string> h{"Cookie: fp_session=" + token};
    if (with_csrf)
      h.push_back("X-CSRF-Token: " + csrf);
    return h;
  }
};

browser log_in(auth_env& env, const std::string& email) {
  auto res = env.login(email);
  REQUIRE(res.status == 200);
  browser b{cookie_token(res), json_string(res.body, "csrf_token")};
  REQUIRE_FALSE(b.token.empty());
  REQUIRE_FALSE(b.csrf.empty());
  return b;
}

/// Logs `email` in and selects the organization `slug`.
browser log_in_to(auth_env& env, const std::string& email,
                  const std::string& slug) {
  auto b = log_in(env, email);
  auto sel = env.call("POST", "/api/v1/session/org", b.headers(),
                      R"({"org":")" + slug + "\"}");
  REQUIRE(sel.status == 200);
  return b;
}

/// Creates a key with `scopes` (JSON array text); returns the 201 body.
response create_key(auth_env& env, const std::vector<std::string>& auth,
                    const std::string& scopes,
                    const std::string& extra = {}) {
  return env.call("POST", "/api/v1/api-keys", auth,
                  R"({"name":"ci","scopes":)" + scopes + extra + "}");
}

std::vector<std::string> bearer(const std::string& key) {
  return {"Authorization: Bearer " + key};
}

/// An admin of a fresh organization, logged in with it selected.
struct tenant_admin {
  std::string email;
  std::string user_id;
  std::string slug;
  std::string org_id;
  browser session;
};

tenant_admin make_tenant_admin(auth_env& env, const std::string& role = "admin") {
  tenant_admin t;
  auto tag = unique();
  t.email = "admin_" + tag + "@example.com";
  t.user_id = env.user(t.email);
  t.slug = "t" + tag;
  t.org_id = env.org(t.slug);
  env.member(t.org_id, t.user_id, role);
  t.session = log_in_to(env, t.email, t.slug);
  return t;
}

struct quiet_log {
  quiet_log() {
    fp::runtime::log::set_sink([](std::string_view, void*) {}, nullptr);
  }
  ~quiet_log() {
    fp::runtime::log::set_sink(nullptr, nullptr);
  }
};

} // namespace

TEST_CASE("auth: login sets an HttpOnly SameSite cookie and a CSRF token",
          "[auth]") {
  quiet_log quiet;
  auth_env env;
  auto email = "Mixed_" + unique() + "@Example.com";
  auto id = env.user(email);

  auto res = env.login(email); // the stored address is lower-case; any case logs in
  REQUIRE(res.status == 200);
  auto cookie = res.header("set-cookie");
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  CHECK(cookie.find("SameSite=Lax") != std::string::npos);
  CHECK(cookie.find("Path=/") != std::string::npos);
  CHECK(cookie.find("Max-Age=43200") != std::string::npos);
  CHECK(cookie.find("Secure") == std::string::npos);
  CHECK(fp::net::session_cookie("t", 60s, true).find("; Secure")
        != std::string::npos); // with secure-cookies
  auto token = cookie_token(res);
  CHECK(token.size() >= 22); // >= 128 bits in base64url
  CHECK(json_string(res.body, "id") == id);
  CHECK(json_string(res.body, "email") == fp::storage::normalize_email(email));
  CHECK_FALSE(json_string(res.body, "csrf_token").empty());
  CHECK_FALSE(json_string(res.body, "expires_at").empty());
  CHECK(res.body.find("\"selected_org\":null") != std::string::npos);
  CHECK(res.body.find("\"platform_admin\":false") != std::string::npos);

  auto me = env.call("GET", "/api/v1/session", {"Cookie: fp_session=" + token});
  CHECK(me.status == 200);
  CHECK(json_string(me.body, "via") == "session");

  auto anon = env.call("GET", "/api/v1/session");
  CHECK(anon.status == 401);
  CHECK(anon.header("www-authenticate").rfind("Bearer", 0) == 0);
  CHECK(env.call("GET", "/api/v1/session", {"Cookie: fp_session=nope"}).status
        == 401);

  // Unknown email and wrong password: the same answer.
  auto wrong = env.login(email, "not the password");
  auto unknown = env.login("nobody_" + unique() + "@example.com");
  CHECK(wrong.status == 401);
  CHECK(unknown.status == 401);
  CHECK(json_string(wrong.body, "detail") == json_string(unknown.body, "detail"));
  CHECK_FALSE(wrong.has("set-cookie"));
}

TEST_CASE("auth: every login issues a fresh token and revokes the one sent",
          "[auth]") {
  quiet_log quiet;
  auth_env env;
  auto email = "fix_" + unique() + "@example.com";
  env.user(email);
  auto first = log_in(env, email);
  auto again = env.login(email, password, {"Cookie: fp_session=" + first.token});
  REQUIRE(again.status == 200);
  auto second = cookie_token(again);
  CHECK(second != first.token);
  CHECK(json_string(again.body, "csrf_token") != first.csrf);
  CHECK(env.call("GET", "/api/v1/session", first.headers(false)).status == 401);
  CHECK(env.call("GET", "/api/v1/session", {"Cookie: fp_session=" + second})
          .status
        == 200);
}

TEST_CASE("auth: logout revokes the session", "[auth]") {
  quiet_log quiet;
  auth_env env;
  auto email = "out_" + unique() + "@example.com";
  env.user(email);
  auto b = log_in(env, email);
  auto out = env.call("DELETE", "/api/v1/session", b.headers());
  CHECK(out.status == 204);
  CHECK(out.header("set-cookie").find("Max-Age=0") != std::string::npos);
  CHECK(env.call("GET", "/api/v1/session", b.headers()).status == 401);
}

TEST_CASE("auth: an expired session is refused", "[auth]") {
  quiet_log quiet;
  auth_env env{1000ms};
  auto email = "exp_" + unique() + "@example.com";
  env.user(email);
  auto b = log_in(env, email);
  CHECK(env.call("GET", "/api/v1/session", b.headers()).status == 200);
  std::this_thread::sleep_for(1300ms);
  CHECK(env.call("GET", "/api/v1/session", b.headers()).status == 401);
}

TEST_CASE("auth: cookie writes need the CSRF token, bearer keys do not",
          "[auth]") {
  quiet_log quiet;
  auth_env env;
  auto t = make_tenant_admin(env);
  auto body = R"({"org":")" + t.slug + "\"}";
  auto none = env.call("POST", "/api/v1/session/org", t.session.headers(false),
                       body);
  CHECK(none.status == 403);
  auto wrong_headers = t.session.headers(false);
  wrong_headers.push_back("X-CSRF-Token: " + t.session.csrf + "x");
  CHECK(env.call("POST", "/api/v1/session/org", wrong_headers, body).status
        == 403);
  CHECK(env.call("DELETE", "/api/v1/session", t.session.headers(false)).status
        == 403);
  CHECK(env.call("POST", "/api/v1/session/org", t.session.headers(), body)
          .status
        == 200);
  // Reads need no token.
  CHECK(env.call("GET", "/api/v1/api-keys", t.session.headers(false)).status
        == 200);

  auto key = create_key(env, t.session.headers(), R"(["admin"])");
  REQUIRE(key.status == 201);
  auto secret = json_string(key.body, "key");
  // A bearer request with no CSRF header (and even a stale cookie) passes.
  auto h = bearer(secret);
  h.push_back("Cookie: fp_session=stale");
  CHECK(create_key(env, h, R"(["read"])").status == 201);
}

TEST_CASE("auth: failed logins are throttled per account and per address",
          "[auth]") {
  quiet_log quiet;
  auth_env env;
  auto email = "bf_" + unique() + "@example.com";
  env.user(email);

  SECTION("a success resets the account counter") {
    for (int round = 0; round < 2; ++round) {
      for (int i = 0; i < 4; ++i)
        CHECK(env.login(email, "guess").status == 401);
      CHECK(env.login(email).status == 200);
    }
  }

  SECTION("per account") {
    for (int i = 0; i < 5; ++i)
      CHECK(env.login(email, "guess").status == 401);
    // Refused before the password is checked: the right one too.
    auto res = env.login(email);
    CHECK(res.status == 429);
    CHECK(res.header("content-type") == "application/problem+json");
    auto retry = res.header("retry-after");
    REQUIRE_FALSE(retry.empty());
    CHECK(std::stoi(retry) > 0);
    CHECK(std::stoi(retry) <= 900);
    // Another account from the same address still logs in.
    auto other = "bf2_" + unique() + "@example.com";
    env.user(other);
    CHECK(env.login(other).status == 200);
  }

  SECTION("per address") {
    for (int i = 0; i < 20; ++i)
      CHECK(env.login("spray_" + std::to_string(i) + unique() + "@example.com",
                      "guess")
              .status
            == 401);
    auto res = env.login(email);
    CHECK(res.status == 429);
    CHECK_FALSE(res.header("retry-after").empty());
  }
}

TEST_CASE("auth: API keys are created, listed, used, rotated and revoked",
          "[auth][api-keys]") {
  quiet_log quiet;
  auth_env env;
  auto t = make_tenant_admin(env);

  auto created = create_key(env, t.session.headers(), R"(["read","write"])");
  REQUIRE(created.status == 201);
  CHECK(created.header("cache-control") == "no-store");
  auto secret = json_string(created.body, "key");
  auto id = json_string(created.body, "id");
  auto prefix = json_string(created.body, "prefix");
  REQUIRE(secret.rfind("fpk_", 0) == 0);
  CHECK(prefix.size() == 12);
  CHECK(secret.rfind(prefix + "_", 0) == 0);

  auto list = env.call("GET", "/api/v1/api-keys", t.session.headers());
  REQUIRE(list.status == 200);
  CHECK(list.body.find(id) != std::string::npos);
  CHECK(list.body.find(prefix) != std::string::npos);
  CHECK(list.body.find(secret) == std::string::npos);
  CHECK(list.body.find("\"key\"") == std::string::npos);

  auto me = env.call("GET", "/api/v1/session", bearer(secret));
  REQUIRE(me.status == 200);
  CHECK(json_string(me.body, "via") == "api_key");
  CHECK(json_string(me.body, "slug") == t.slug);
  CHECK(json_string(me.body, "role") == "member");
  // last_used_at was recorded.
  list = env.call("GET", "/api/v1/api-keys", t.session.headers());
  CHECK(list.body.find("\"last_used_at\":null") == std::string::npos);

  auto rotated = env.call("POST", "/api/v1/api-keys/" + id + "/rotate",
                          t.session.headers());
  REQUIRE(rotated.status == 200);
  auto fresh = json_string(rotated.body, "key");
  CHECK(fresh != secret);
  CHECK(fresh.rfind(prefix + "_", 0) == 0);
  CHECK(env.call("GET", "/api/v1/session", bearer(fresh)).status == 200);
  CHECK(env.call("GET", "/api/v1/session", bearer(secret)).status == 200);

  CHECK(env.call("DELETE", "/api/v1/api-keys/" + id, t.session.headers()).status
        == 204);
  CHECK(env.call("GET", "/api/v1/session", bearer(fresh)).status == 401);
  CHECK(env.call("GET", "/api/v1/session", bearer(secret)).status == 401);
  list = env.call("GET", "/api/v1/api-keys", t.session.headers());
  CHECK(list.body.find("\"revoked\":true") != std::string::npos);

  // Malformed or wrong keys.
  CHECK(env.call("GET", "/api/v1/session", bearer(prefix + "_wrong")).status
        == 401);
  CHECK(env.call("GET", "/api/v1/session", {"Authorization: Basic eDp5"})
          .status
        == 401);
}

TEST_CASE("auth: a rotated key's old secret ends with the grace period",
          "[auth][api-keys]") {
  quiet_log quiet;
  auth_env env{12h, 800ms};
  auto t = make_tenant_admin(env);
  auto created = create_key(env, t.session.headers(), R"(["read"])");
  REQUIRE(created.status == 201);
  auto old_key = json_string(created.body, "key");
  auto rotated = env.call("POST",
                          "/api/v1/api-keys/" + json_string(created.body, "id")
                            + "/rotate",
                          t.session.headers());
  REQUIRE(rotated.status == 200);
  auto new_key = json_string(rotated.body, "key");
  CHECK(env.call("GET", "/api/v1/session", bearer(old_key)).status == 200);
  std::this_thread::sleep_for(1200ms);
  CHECK(env.call("GET", "/api/v1/session", bearer(old_key)).status == 401);
  CHECK(env.call("GET", "/api/v1/session", bearer(new_key)).status == 200);
}

namespace {

/// The status of GET /api/v1/session with `key` once it is not 200, or
/// 200 when that does not happen within `limit`.
int status_once_refused(auth_env& env, const std::string& key,
                        std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto status = env.call("GET", "/api/v1/session", bearer(key)).status;
    if (status != 200 || std::chrono::steady_clock::now() > until)
      return status;
    std::this_thread::sleep_for(20ms);
  }
}

} // namespace

// Keys are remembered for api-key-cache (10 s by default): a change made
// by another node, the CLI or psql must still end a key within a
// notification's latency, far below that lifetime.
TEST_CASE("auth: a remembered key ends when changed outside this node",
          "[auth][api-keys]") {
  quiet_log quiet;
  auth_env env;
  auto t = make_tenant_admin(env);
  auto revoked = create_key(env, t.session.headers(), R"(["read"])");
  auto suspended = create_key(env, t.session.headers(), R"(["read"])");
  REQUIRE(revoked.status == 201);
  REQUIRE(suspended.status == 201);
  auto revoked_key = json_string(revoked.body, "key");
  auto suspended_key = json_string(suspended.body, "key");
  // Used, so remembered.
  REQUIRE(env.call("GET", "/api/v1/session", bearer(revoked_key)).status == 200);
  REQUIRE(env.call("GET", "/api/v1/session", bearer(suspended_key)).status == 200);

  env.sql("UPDATE public.api_keys SET revoked_at = now() WHERE id = $1",
          {json_string(revoked.body, "id")});
  CHECK(status_once_refused(env, revoked_key, 2s) == 401);
  CHECK(env.call("GET", "/api/v1/session", bearer(suspended_key)).status == 200);

  // The organization leaves 'active': all of its keys stop.
  env.sql("UPDATE public.organizations SET state = 'deleting' WHERE id = $1",
          {t.org_id});
  CHECK(status_once_refused(env, suspended_key, 2s) == 401);
}

TEST_CASE("auth: a remembered key ends at its expiry", "[auth][api-keys]") {
  quiet_log quiet;
  auth_env env;
  auto t = make_tenant_admin(env);
  auto created = create_key(env, t.session.headers(), R"(["read"])");
  REQUIRE(created.status == 201);
  auto key = json_string(created.body, "key");
  env.sql("UPDATE public.api_keys SET expires_at = now() + interval '900 ms' "
          "WHERE id = $1",
          {json_string(created.body, "id")});
  // First use: remembered, with the expiry as its end.
  CHECK(env.call("GET", "/api/v1/session", bearer(key)).status == 200);
  std::this_thread::sleep_for(1000ms);
  CHECK(env.call("GET", "/api/v1/session", bearer(key)).status == 401);
}

TEST_CASE("auth: key requests are validated and expired keys refused",
          "[auth][api-keys]") {
  quiet_log quiet;
  auth_env env;
  auto t = make_tenant_admin(env);
  auto h = t.session.headers();
  CHECK(create_key(env, h, R"(["root"])").status == 422);
  CHECK(create_key(env, h, R"([])").status == 422);
  CHECK(create_key(env, h, R"("read")").status == 422);
  CHECK(create_key(env, h, R"(["read"])", R"(,"expires_at":"soon")").status
        == 422);
  auto ok = create_key(env, h, R"(["read"])",
                       R"(,"expires_at":"2999-01-01T00:00:00Z")");
  CHECK(ok.status == 201);
  CHECK(json_string(ok.body, "expires_at").rfind("2999-01-01T00:00:00", 0)
        == 0);
  auto expired = create_key(env, h, R"(["read"])",
                            R"(,"expires_at":"2001-01-01T00:00:00Z")");
  REQUIRE(expired.status == 201);
  CHECK(env.call("GET", "/api/v1/session", bearer(json_string(expired.body, "key")))
          .status
        == 401);
}

TEST_CASE("auth: scopes and roles limit what a caller may do", "[auth]") {
  quiet_log quiet;
  auth_env env;
  auto t = make_tenant_admin(env);
  auto read_key = json_string(
    create_key(env, t.session.headers(), R"(["read"])").body, "key");
  auto write_key = json_string(
    create_key(env, t.session.headers(), R"(["write"])").body, "key");
  REQUIRE_FALSE(read_key.empty());

  // Keys without "admin" act as members: no key management.
  CHECK(create_key(env, bearer(read_key), R"(["read"])").status == 403);
  CHECK(create_key(env, bearer(write_key), R"(["read"])").status == 403);

  // A member of the organization may not create keys.
  auto member_email = "member_" + unique() + "@example.com";
  auto member_id = env.user(member_email);
  env.member(t.org_id, member_id, "member");
  auto m = log_in_to(env, member_email, t.slug);
  auto denied = create_key(env, m.headers(), R"(["read"])");
  CHECK(denied.status == 403);
  CHECK(denied.header("content-type") == "application/problem+json");

  // A session without a selected organization has no tenant.
  auto fresh = log_in(env, member_email);
  CHECK(create_key(env, fresh.headers(), R"(["read"])").status == 403);

  // The write rule, as every tenant handler applies it.
  fp::net::principal key_p;
  key_p.how = fp::net::principal::via::api_key;
  key_p.org_id = t.org_id;
  key_p.org_role = fp::actors::role::member;
  key_p.scopes = {"read"};
  using fp::actors::action;
  CHECK_FALSE(static_cast<bool>(fp::net::authorize(key_p, action::tenant_read)));
  CHECK(static_cast<bool>(fp::net::authorize(key_p, action::tenant_write)));
  key_p.scopes = {"write"};
  CHECK_FALSE(static_cast<bool>(fp::net::authorize(key_p, action::tenant_write)));
}

TEST_CASE("auth: key ids of another organization answer like unknown ids",
          "[auth][api-keys]") {
  quiet_log quiet;
  auth_env env;
  auto a = make_tenant_admin(env);
  auto b = make_tenant_admin(env);
  auto theirs = create_key(env, b.session.headers(), R"(["read"])");
  REQUIRE(theirs.status == 201);
  auto their_id = json_string(theirs.body, "id");

  auto foreign = env.call("DELETE", "/api/v1/api-keys/" + their_id,
                          a.session.headers());
  auto unknown = env.call("DELETE",
                          "/api/v1/api-keys/" + fp::runtime::new_uuid_v7(),
                          a.session.headers());
  auto garbage = env.call("DELETE", "/api/v1/api-keys/not-a-uuid",
                          a.session.headers());
  CHECK(foreign.status == 404);
  CHECK(unknown.status == 404);
  CHECK(garbage.status == 404);
  CHECK(json_string(foreign.body, "detail") == json_string(unknown.body, "detail"));
  CHECK(env.call("POST", "/api/v1/api-keys/" + their_id + "/rotate",
                 a.session.headers())
          .status
        == 404);
  auto list = env.call("GET", "/api/v1/api-keys", a.session.headers());
  CHECK(list.body.find(their_id) == std::string::npos);
  // Untouched in its own organization.
  CHECK(env.call("GET", "/api/v1/session", bearer(json_string(theirs.body, "key")))
          .status
        == 200);
}

TEST_CASE("auth: selecting an organization needs a membership", "[auth]") {
  quiet_log quiet;
  auth_env env;
  auto t = make_tenant_admin(env);
  auto other = make_tenant_admin(env);
  auto h = t.session.headers();
  auto unknown = env.call("POST", "/api/v1/session/org", h,
                          R"({"org":"nosuch)" + unique() + "\"}");
  auto not_member = env.call("POST", "/api/v1/session/org", h,
                             R"({"org":")" + other.slug + "\"}");
  CHECK(unknown.status == 404);
  CHECK(not_member.status == 404);
  CHECK(json_string(unknown.body, "detail")
        == json_string(not_member.body, "detail"));

  auto me = env.call("GET", "/api/v1/session", h);
  CHECK(json_string(me.body, "slug") == t.slug);
  CHECK(json_string(me.body, "role") == "admin");
  // Membership is re-checked on every request.
  env.sql("DELETE FROM public.memberships WHERE org_id = $1 AND user_id = $2",
          {t.org_id, t.user_id});
  me = env.call("GET", "/api/v1/session", h);
  CHECK(me.status == 200);
  CHECK(me.body.find("\"selected_org\":null") != std::string::npos);
  CHECK(env.call("GET", "/api/v1/api-keys", h).status == 403);
}

TEST_CASE("auth: the routes are in the OpenAPI document", "[auth]") {
  quiet_log quiet;
  auth_env env;
  auto doc = env.call("GET", "/api/v1/openapi.json");
  REQUIRE(doc.status == 200);
  for (auto* path : {"\"/api/v1/session\"", "\"/api/v1/session/org\"",
                     "\"/api/v1/api-keys\"", "\"/api/v1/api-keys/{id}\"",
                     "\"/api/v1/api-keys/{id}/rotate\""})
    CHECK(doc.body.find(path) != std::string::npos);
}

#ifdef FP_FLEETPROMPT_BIN
TEST_CASE("auth: fleetprompt user create makes a user who can log in",
          "[auth][cli]") {
  quiet_log quiet;
  auth_env env;
  auto email = "cli_" + unique() + "@example.com";
  auto file = std::string{"/tmp/fp_pw_"} + unique();
  auto out = file + ".out";
  {
    std::ofstream f{file};
    f << "cli password 1234\n"; // the newline is not part of the password
  }
  auto cmd = std::string{FP_FLEETPROMPT_BIN} + " user create --email " + email
             + " --password-file " + file + " --database-url '"
             + fp::test::database_url() + "' --log-level warn > " + out
             + " 2>&1";
  auto read_out = [&] {
    std::ifstream in{out};
    return std::string{std::istreambuf_iterator<char>{in},
                       std::istreambuf_iterator<char>{}};
  };
  CHECK(std::system(cmd.c_str()) == 0);
  CHECK(read_out().find("created user " + email) != std::string::npos);
  CHECK(env.login(email, "cli password 1234").status == 200);
  CHECK(env.login(email, "cli password 1234\\n").status == 401);

  // Again: a one-line error and a failing exit code.
  CHECK(std::system(cmd.c_str()) != 0);
  auto err = read_out();
  CHECK(err.find("exists") != std::string::npos);
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);

  auto missing = std::string{FP_FLEETPROMPT_BIN}
                 + " user create --email x@y.z --password-file /nonexistent "
                   "--database-url '"
                 + fp::test::database_url() + "' > " + out + " 2>&1";
  CHECK(std::system(missing.c_str()) != 0);
  std::remove(file.c_str());
  std::remove(out.c_str());
}
#endif

TEST_CASE("cross-tenant matrix: org B's objects answer org A like unknown ids",
          "[auth][tenancy][isolation]") {
  quiet_log quiet;
  auth_env env;
  // Owners, so that nothing below is refused for want of a role: the only
  // reason left for a refusal is the tenant boundary.
  auto a = make_tenant_admin(env, "owner");
  auto b = make_tenant_admin(env, "owner");
  auto a_key = create_key(env, a.session.headers(), R"(["admin"])");
  auto b_key = create_key(env, b.session.headers(), R"(["read"])");
  REQUIRE(a_key.status == 201);
  REQUIRE(b_key.status == 201);
  auto b_key_id = json_string(b_key.body, "id");
  auto unknown_id = fp::runtime::new_uuid_v7();
  auto unknown_slug = "nobody_" + unique();

  struct probe {
    std::string method;
    std::string foreign; // names one of org B's objects
    std::string unknown; // names nothing at all
    std::string body;
  };
  std::vector<probe> probes = {
    {"DELETE", "/api/v1/api-keys/" + b_key_id, "/api/v1/api-keys/" + unknown_id, ""},
    {"POST", "/api/v1/api-keys/" + b_key_id + "/rotate",
     "/api/v1/api-keys/" + unknown_id + "/rotate", ""},
    {"GET", "/api/v1/orgs/" + b.slug + "/members",
     "/api/v1/orgs/" + unknown_slug + "/members", ""},
    {"POST", "/api/v1/orgs/" + b.slug + "/members",
     "/api/v1/orgs/" + unknown_slug + "/members",
     R"({"email":")" + a.email + R"(","role":"member"})"},
    {"DELETE", "/api/v1/orgs/" + b.slug + "/members/" + b.user_id,
     "/api/v1/orgs/" + unknown_slug + "/members/" + b.user_id, ""},
    {"DELETE", "/api/v1/orgs/" + b.slug, "/api/v1/orgs/" + unknown_slug, ""},
  };
  std::vector<std::pair<std::string, std::vector<std::string>>> callers = {
    {"session", a.session.headers()},
    {"api key", bearer(json_string(a_key.body, "key"))},
  };
  // Details may echo the name the caller asked for; anything else must match.
  auto masked = [&](std::string text) {
    for (auto* name : {&b.slug, &unknown_slug})
      for (auto pos = text.find(*name); pos != std::string::npos;
           pos = text.find(*name))
        text.replace(pos, name->size(), "<requested>");
    return text;
  };
  for (auto& [who, auth] : callers) {
    for (auto& p : probes) {
      INFO(who << ": " << p.method << " " << p.foreign);
      auto foreign = env.call(p.method, p.foreign, auth, p.body);
      auto unknown = env.call(p.method, p.unknown, auth, p.body);
      CHECK(foreign.status == 404);
      CHECK(unknown.status == foreign.status);
      CHECK(json_string(foreign.body, "title") == json_string(unknown.body, "title"));
      CHECK(masked(json_string(foreign.body, "detail"))
            == masked(json_string(unknown.body, "detail")));
      // Nothing about org B leaks into the answer.
      CHECK(foreign.body.find(b.org_id) == std::string::npos);
    }
    // Listings show only the caller's own organization.
    auto keys = env.call("GET", "/api/v1/api-keys", auth);
    CHECK(keys.status == 200);
    CHECK(keys.body.find(b_key_id) == std::string::npos);
  }
  auto orgs = env.call("GET", "/api/v1/orgs", a.session.headers());
  CHECK(orgs.status == 200);
  CHECK(orgs.body.find(b.slug) == std::string::npos);
  // A session cannot bind itself to org B either.
  auto select = env.call("POST", "/api/v1/session/org", a.session.headers(),
                         R"({"org":")" + b.slug + "\"}");
  auto select_unknown = env.call("POST", "/api/v1/session/org", a.session.headers(),
                                 R"({"org":")" + unknown_slug + "\"}");
  CHECK(select.status == 404);
  CHECK(masked(json_string(select.body, "detail"))
        == masked(json_string(select_unknown.body, "detail")));
  // And org B is untouched: its key still works, its owner is still there.
  CHECK(env.call("GET", "/api/v1/session", bearer(json_string(b_key.body, "key"))).status
        == 200);
  auto members = env.call("GET", "/api/v1/orgs/" + b.slug + "/members",
                          b.session.headers());
  CHECK(members.status == 200);
  CHECK(members.body.find(b.user_id) != std::string::npos);
}

TEST_CASE("admin: a platform admin's session reaches /admin, others do not",
          "[auth][admin]") {
  quiet_log quiet;
  auth_env env;
  auto tag = unique();
  auto admin_email = "root_" + tag + "@example.com";
  env.user(admin_email, /*platform_admin=*/true);
  auto plain = make_tenant_admin(env, "owner");
  auto root = log_in(env, admin_email);

  auto tree = env.call("GET", "/admin/actors", root.headers(false));
  CHECK(tree.status == 200);
  CHECK(tree.body.find("\"kind\":\"supervisor\"") != std::string::npos);
  // Writes through a cookie still need the CSRF token.
  auto level_body = std::string{R"({"level":"info"})"};
  CHECK(env.call("POST", "/admin/log-level", root.headers(false), level_body).status
        == 403);
  CHECK(env.call("POST", "/admin/log-level", root.headers(true), level_body).status
        == 200);
  // An org owner is not a platform admin, and API keys never reach /admin.
  auto denied = env.call("GET", "/admin/actors", plain.session.headers(false));
  CHECK(denied.status == 403);
  auto key = create_key(env, plain.session.headers(), R"(["admin"])");
  REQUIRE(key.status == 201);
  CHECK(env.call("GET", "/admin/actors", bearer(json_string(key.body, "key"))).status
        == 403);
  // Without a session the admin token is the only way in (none configured).
  CHECK(env.call("GET", "/admin/actors").status == 403);
}
