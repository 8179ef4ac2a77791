// The plain functions behind authentication: cookie and header parsing,
// the session cookie, throttle keys and account input checks.

#include <catch2/catch.hpp>

#include <chrono>

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
