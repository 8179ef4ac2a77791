// The plain functions behind authentication: cookie and header parsing,
// the session cookie, throttle keys, account input checks and the cache of
// verified API keys.

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "fp/net/api_key_cache.hpp"
#include "fp/net/auth.hpp"
#include "fp/storage/api_keys.hpp"
#include "fp/storage/login_throttle.hpp"
#include "fp/storage/users.hpp"

using namespace std::chrono_literals;
using namespace fp::net;

TEST_CASE("auth: cookie_value finds one cookie among several", "[auth]") {
  CHECK(cookie_value("fp_session=abc", "fp_session") == "abc");
  CHECK(cookie_value("a=1; fp_session=abc; b=2", "fp_session") == "abc");
  CHECK(cookie_value("a=1;fp_session=x-y_z", "fp_session") == "x-y_z");
  CHECK(cookie_value("xfp_session=abc", "fp_session").empty());
  CHECK(cookie_value("", "fp_session").empty());
  CHECK(cookie_value("fp_session", "fp_session").empty());
}

TEST_CASE("auth: bearer_token reads Authorization: Bearer", "[auth]") {
  http_request req;
  CHECK_FALSE(bearer_token(req).has_value());
  req.headers.push_back({"authorization", "Bearer fpk_1234abcd_s3cret"});
  CHECK(bearer_token(req) == std::string_view{"fpk_1234abcd_s3cret"});
  req.headers[0].value = "bearer  tok ";
  CHECK(bearer_token(req) == std::string_view{"tok"});
  req.headers[0].value = "Basic eDp5";
  REQUIRE(bearer_token(req).has_value());
  CHECK(bearer_token(req)->empty());
}

TEST_CASE("auth: the session cookie's attributes", "[auth]") {
  auto c = session_cookie("tok", 3600s, false);
  CHECK(c == "fp_session=tok; HttpOnly; SameSite=Lax; Path=/; Max-Age=3600");
  CHECK(session_cookie("tok", 60s, true).ends_with("; Secure"));
  CHECK(session_cookie("", 0s, false).find("Max-Age=0") != std::string::npos);
}

TEST_CASE("auth: unsafe methods need the CSRF token", "[auth]") {
  for (auto m : {"POST", "PUT", "PATCH", "DELETE"})
    CHECK(is_unsafe_method(m));
  for (auto m : {"GET", "HEAD", "OPTIONS"})
    CHECK_FALSE(is_unsafe_method(m));
}

TEST_CASE("auth: throttle keys drop the port and normalize the email",
          "[auth]") {
  using fp::storage::make_throttle_keys;
  auto k = make_throttle_keys(" Ann@Example.COM ", "10.1.2.3:5555");
  CHECK(k.account == "account:ann@example.com");
  CHECK(k.address == "addr:10.1.2.3");
  CHECK(make_throttle_keys("a@b.c", "::1:40000").address == "addr:::1");
  CHECK(make_throttle_keys("a@b.c", "[2001:db8::1]:443").address
        == "addr:2001:db8::1");
}

TEST_CASE("auth: account input checks", "[auth]") {
  using namespace fp::storage;
  CHECK(email_error("a@b.c").empty());
  CHECK_FALSE(email_error("ab.c").empty());
  CHECK_FALSE(email_error("@b.c").empty());
  CHECK_FALSE(email_error("a@").empty());
  CHECK_FALSE(email_error("a@@b").empty());
  CHECK_FALSE(email_error("a b@c.d").empty());
  CHECK(is_uuid("0190d7a2-1b2c-7d3e-8f40-123456789abc"));
  CHECK_FALSE(is_uuid("0190d7a2-1b2c-7d3e-8f40-123456789ab"));
  CHECK_FALSE(is_uuid("0190d7a2x1b2c-7d3e-8f40-123456789abc"));
  CHECK(valid_scope("read"));
  CHECK(valid_scope("write"));
  CHECK(valid_scope("admin"));
  CHECK_FALSE(valid_scope("Admin"));
  CHECK_FALSE(valid_scope(""));
}

namespace {

fp::storage::usable_api_key verified_key(std::string id) {
  fp::storage::usable_api_key k;
  k.id = std::move(id);
  k.org_id = "org-1";
  k.org_slug = "acme";
  k.scopes = {"read", "write"};
  return k;
}

} // namespace

TEST_CASE("auth: the key cache remembers verified keys by token", "[auth]") {
  api_key_cache cache{{}};
  CHECK(cache.enabled());
  CHECK_FALSE(cache.find("fpk_a_secret"));
  cache.remember("fpk_a_secret", verified_key("a"), cache.generation());
  auto hit = cache.find("fpk_a_secret");
  REQUIRE(hit);
  CHECK(hit->key.id == "a");
  CHECK(hit->key.org_slug == "acme");
  // Another secret of the same key is not the remembered one.
  CHECK_FALSE(cache.find("fpk_a_other"));
  CHECK(cache.size() == 1);
  cache.clear();
  CHECK_FALSE(cache.find("fpk_a_secret"));
  CHECK(cache.size() == 0);
}

TEST_CASE("auth: a lookup that raced a clear is not remembered", "[auth]") {
  api_key_cache cache{{}};
  auto before = cache.generation();
  cache.clear(); // e.g. the key was revoked while it was being looked up
  cache.remember("fpk_a_secret", verified_key("a"), before);
  CHECK_FALSE(cache.find("fpk_a_secret"));
  cache.remember("fpk_a_secret", verified_key("a"), cache.generation());
  CHECK(cache.find("fpk_a_secret"));
}

TEST_CASE("auth: remembered keys end with the cache lifetime or the key",
          "[auth]") {
  api_key_cache::options o;
  o.lifetime = 50ms;
  api_key_cache cache{o};
  cache.remember("fpk_a_secret", verified_key("a"), cache.generation());
  auto expiring = verified_key("b");
  expiring.usable_for = 0ms; // expires (or its grace ends) now
  cache.remember("fpk_b_secret", expiring, cache.generation());
  CHECK(cache.find("fpk_a_secret"));
  CHECK_FALSE(cache.find("fpk_b_secret"));
  std::this_thread::sleep_for(80ms);
  CHECK_FALSE(cache.find("fpk_a_secret"));

  api_key_cache off{api_key_cache::options{0ms}};
  CHECK_FALSE(off.enabled());
  off.remember("fpk_a_secret", verified_key("a"), off.generation());
  CHECK_FALSE(off.find("fpk_a_secret"));
}

TEST_CASE("auth: a remembered key's use is recorded once per interval",
          "[auth]") {
  api_key_cache::options o;
  o.touch_every = 40ms;
  api_key_cache cache{o};
  cache.remember("fpk_a_secret", verified_key("a"), cache.generation());
  // The lookup that verified the key recorded its use.
  CHECK_FALSE(cache.find("fpk_a_secret")->touch_due);
  std::this_thread::sleep_for(60ms);
  CHECK(cache.find("fpk_a_secret")->touch_due);
  CHECK_FALSE(cache.find("fpk_a_secret")->touch_due);
}

TEST_CASE("auth: the key cache stays within its capacity", "[auth]") {
  api_key_cache::options o;
  o.capacity = 3;
  api_key_cache cache{o};
  for (int i = 0; i < 10; ++i) {
    cache.remember("fpk_k_" + std::to_string(i), verified_key("k"),
                   cache.generation());
    CHECK(cache.size() <= 3);
  }
  CHECK(cache.find("fpk_k_9"));
}

TEST_CASE("auth: clearing_first clears before the answer", "[auth]") {
  auto cache = std::make_shared<api_key_cache>(api_key_cache::options{});
  cache->remember("fpk_a_secret", verified_key("a"), cache->generation());
  bool seen_empty = false;
  auto then = clearing_first(cache, [&](bool found) {
    seen_empty = cache->size() == 0;
    return found;
  });
  CHECK(then(true));
  CHECK(seen_empty);
  // Without a cache it only forwards.
  auto plain = clearing_first(nullptr, [](int v) { return v + 1; });
  CHECK(plain(1) == 2);
}
