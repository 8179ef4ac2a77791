// The Inertia protocol over real HTTP: the first visit's HTML shell, the
// X-Inertia JSON page object, 409 on a stale asset version, partial reloads,
// 303 after form posts with validation errors in the adapter's shape, and
// the log-in / log-out cookies.

#include <boost/json/src.hpp>

#include "console/account_support.hpp"

namespace {

using namespace fp::console_test;
namespace json = boost::json;

bool has_prop(const json::value& page, const std::string& name) {
  return page.at("props").as_object().contains(name);
}

} // namespace

TEST_CASE("console protocol: first visit, X-Inertia JSON, stale version, partial reload",
          "[console][protocol]") {
  fixture f{"console_protocol_pages"};
  browser b{f.port};

  SECTION("a first visit gets the HTML shell carrying the page object") {
    auto res = b.visit("/login");
    REQUIRE(res.status == 200);
    CHECK(res.header("content-type").find("text/html") == 0);
    CHECK(res.header("cache-control").find("no-") != std::string::npos);
    CHECK(res.header("vary").find("X-Inertia") != std::string::npos);
    CHECK(res.body.find("<script data-page=\"app\" type=\"application/json\">")
          != std::string::npos);
    // The built entry script is referenced by its hashed name.
    CHECK(res.body.find("/assets/") != std::string::npos);
    auto page = page_of_shell(res.body);
    CHECK(page.at("component").as_string() == "Auth/Login");
    CHECK(page.at("url").as_string() == "/login");
    CHECK_FALSE(page.at("version").as_string().empty());
    CHECK(page.at("props").is_object());
    // A logged-in first visit carries the caller's session as `auth`.
    b.log_in("admin@example.com");
    auto members = b.visit("/members");
    REQUIRE(members.status == 200);
    auto mp = page_of_shell(members.body);
    CHECK(mp.at("component").as_string() == "Members/Index");
    CHECK(mp.at("props").at("auth").at("user").at("email").as_string()
          == "admin@example.com");
  }

  SECTION("an Inertia navigation gets the page object as JSON") {
    REQUIRE(b.log_in("admin@example.com").status == 303);
    auto res = b.inertia("/members");
    INFO(res.body);
    REQUIRE(res.status == 200);
    CHECK(res.header("content-type").find("application/json") == 0);
    CHECK(res.header("x-inertia") == "true");
    CHECK(res.header("vary").find("X-Inertia") != std::string::npos);
    auto page = res.json();
    CHECK(page.at("component").as_string() == "Members/Index");
    CHECK(page.at("url").as_string() == "/members");
    CHECK(page.at("version").as_string() == b.version());
    // Props are the API's answers; shared props come with every page.
    auto props = page.at("props");
    auto members = props.at("members").at("members").as_array();
    CHECK(members.size() == 2);
    CHECK(props.at("auth").at("selected_org").at("slug").as_string() == "acme");
    CHECK(props.at("orgs").at("orgs").as_array().size() == 1);
    CHECK(props.at("errors").is_object());
    // The query string stays part of the page's url.
    auto q = b.inertia("/members?x=1");
    REQUIRE(q.status == 200);
    CHECK(q.json().at("url").as_string() == "/members?x=1");
  }

  SECTION("a stale asset version gets 409 with X-Inertia-Location") {
    REQUIRE(b.log_in("admin@example.com").status == 303);
    auto res = b.send("GET", "/members",
                      {"X-Inertia: true", "X-Inertia-Version: stale-0000"}, {});
    CHECK(res.status == 409);
    CHECK(location_path(res.header("x-inertia-location")) == "/members");
    // The current version is served normally.
    CHECK(b.inertia("/members").status == 200);
  }

  SECTION("partial reloads answer only the props asked for") {
    REQUIRE(b.log_in("admin@example.com").status == 303);
    auto only = b.inertia("/members", {"X-Inertia-Partial-Component: Members/Index",
                                       "X-Inertia-Partial-Data: members"});
    REQUIRE(only.status == 200);
    auto page = only.json();
    CHECK(page.at("component").as_string() == "Members/Index");
    CHECK(has_prop(page, "members"));
    // The other fetched props are neither fetched nor sent.
    CHECK_FALSE(has_prop(page, "orgs"));

    auto except = b.inertia("/members", {"X-Inertia-Partial-Component: Members/Index",
                                         "X-Inertia-Partial-Except: members"});
    REQUIRE(except.status == 200);
    auto ep = except.json();
    CHECK_FALSE(has_prop(ep, "members"));
    CHECK(has_prop(ep, "orgs"));

    // A partial header naming another component is a full visit.
    auto other = b.inertia("/members", {"X-Inertia-Partial-Component: Orgs/Index",
                                        "X-Inertia-Partial-Data: auth"});
    REQUIRE(other.status == 200);
    auto op = other.json();
    CHECK(has_prop(op, "members"));
    CHECK(has_prop(op, "orgs"));
  }

  SECTION("unknown console paths are 404, API paths stay the API's") {
    REQUIRE(b.log_in("admin@example.com").status == 303);
    CHECK(b.inertia("/no-such-page").status == 404);
    auto api = b.api("GET", "/api/v1/session");
    CHECK(api.status == 200);
    CHECK(api.header("content-type").find("application/json") == 0);
  }
}

TEST_CASE("console protocol: log in and out through forms", "[console][protocol]") {
  fixture f{"console_protocol_login"};
  browser b{f.port};

  SECTION("wrong credentials: 303 back with errors.email") {
    auto res = b.log_in("admin@example.com", "wrong password");
    REQUIRE(res.status == 303);
    CHECK(location_path(res.header("location")) == "/login");
    CHECK_FALSE(b.cookie("fp_session"));
    auto page = b.inertia("/login").json();
    CHECK(page.at("component").as_string() == "Auth/Login");
    CHECK_FALSE(page.at("props").at("errors").at("email").as_string().empty());
    // One-shot: the next visit has no errors any more.
    auto again = b.inertia("/login").json();
    CHECK(member(again.at("props").at("errors"), "email").is_null());
  }

  SECTION("a user of one organization lands on / with it selected") {
    auto res = b.log_in("admin@example.com");
    REQUIRE(res.status == 303);
    CHECK(location_path(res.header("location")) == "/");
    // Both cookies: the HttpOnly session and the script-readable XSRF token.
    auto cookies = res.all("set-cookie");
    REQUIRE(cookies.size() >= 2);
    bool session = false, xsrf = false;
    for (const auto& c : cookies) {
      if (c.rfind("fp_session=", 0) == 0) {
        session = true;
        CHECK(c.find("HttpOnly") != std::string::npos);
      }
      if (c.rfind("XSRF-TOKEN=", 0) == 0) {
        xsrf = true;
        CHECK(c.find("HttpOnly") == std::string::npos);
        CHECK(c.find("Path=/") != std::string::npos);
      }
    }
    CHECK(session);
    CHECK(xsrf);
    auto who = b.api("GET", "/api/v1/session").json();
    CHECK(who.at("selected_org").at("slug").as_string() == "acme");
    // The XSRF token is the session's CSRF token: a write goes through.
    auto write = b.api("POST", "/api/v1/session/org", R"({"org":"acme"})");
    CHECK(write.status == 200);
  }

  SECTION("a user without organization lands on /orgs") {
    auto res = b.log_in("newbie@example.com");
    REQUIRE(res.status == 303);
    CHECK(location_path(res.header("location")) == "/orgs");
    auto page = b.inertia("/orgs").json();
    CHECK(page.at("component").as_string() == "Orgs/Index");
    CHECK(page.at("props").at("auth").at("selected_org").is_null());
    // Member pages send them to the organization picker.
    auto members = b.inertia("/members");
    CHECK((members.status == 303 || members.status == 302 || members.status == 409));
  }

  SECTION("writes without the XSRF header are refused") {
    REQUIRE(b.log_in("admin@example.com").status == 303);
    auto token = b.cookie("XSRF-TOKEN");
    REQUIRE(token);
    // Drop the cookie so no X-XSRF-TOKEN goes along.
    browser bare{f.port};
    bare.set_cookie("fp_session", *b.cookie("fp_session"));
    auto res = bare.submit("POST", "/orgs", R"({"slug":"sneaky","name":"Sneaky"})", "/orgs");
    CHECK(res.status != 200);
    auto listed = b.api("GET", "/api/v1/orgs").json();
    for (const auto& o : listed.at("orgs").as_array())
      CHECK(o.at("slug").as_string() != "sneaky");
  }

  SECTION("log out revokes the session and clears both cookies") {
    REQUIRE(b.log_in("admin@example.com").status == 303);
    auto old = *b.cookie("fp_session");
    auto res = b.submit("POST", "/logout", "{}", "/");
    REQUIRE(res.status == 303);
    CHECK(location_path(res.header("location")) == "/login");
    CHECK_FALSE(b.cookie("fp_session"));
    CHECK_FALSE(b.cookie("XSRF-TOKEN"));
    // The old cookie no longer works.
    browser replay{f.port};
    replay.set_cookie("fp_session", old);
    CHECK(replay.api("GET", "/api/v1/session").status == 401);
    auto page = replay.visit("/members");
    CHECK((page.status == 302 || page.status == 303));
    CHECK(location_path(page.header("location")).rfind("/login", 0) == 0);
  }
}

TEST_CASE("console protocol: form posts answer 303 with validation errors",
          "[console][protocol]") {
  fixture f{"console_protocol_forms"};
  browser b{f.port};
  REQUIRE(b.log_in("newbie@example.com").status == 303);

  SECTION("an invalid field goes back with errors.<field>") {
    auto res = b.submit("POST", "/orgs", R"({"slug":"9bad","name":"Bad"})", "/orgs");
    REQUIRE(res.status == 303);
    CHECK(location_path(res.header("location")) == "/orgs");
    auto page = b.inertia("/orgs").json();
    auto errors = page.at("props").at("errors");
    INFO(json::serialize(errors));
    CHECK_FALSE(errors.at("slug").as_string().empty());
  }

  SECTION("success redirects with a flash message, once") {
    auto res = b.submit("POST", "/orgs", R"({"slug":"newco","name":"New Co"})", "/orgs");
    REQUIRE(res.status == 303);
    CHECK(location_path(res.header("location")) == "/");
    auto page = b.inertia("/orgs").json();
    auto props = page.at("props");
    INFO(json::serialize(props));
    CHECK(props.at("flash").at("success").as_string().find("New Co") != std::string::npos);
    CHECK(props.at("auth").at("selected_org").at("slug").as_string() == "newco");
    CHECK(props.at("auth").at("selected_org").at("role").as_string() == "owner");
    auto again = b.inertia("/orgs").json();
    CHECK(member(again.at("props").at("flash"), "success").is_null());
  }

  SECTION("an API key's secret is passed on once as flash.result") {
    REQUIRE(b.submit("POST", "/orgs", R"({"slug":"keyco","name":"Key Co"})", "/orgs").status == 303);
    auto res = b.submit("POST", "/api-keys", R"({"name":"ci","scopes":["read"]})", "/api-keys");
    REQUIRE(res.status == 303);
    CHECK(location_path(res.header("location")) == "/api-keys");
    auto page = b.inertia("/api-keys").json();
    auto props = page.at("props");
    auto secret = props.at("flash").at("result").at("key").as_string();
    CHECK(secret.size() > 16);
    // The list never holds the secret.
    auto list = json::serialize(props.at("keys"));
    CHECK(list.find(std::string{secret}) == std::string::npos);
    CHECK(props.at("keys").at("api_keys").as_array().size() == 1);
    auto again = b.inertia("/api-keys").json();
    CHECK(member(again.at("props").at("flash"), "result").is_null());
    // A missing name is a validation error with a readable form message.
    auto bad = b.submit("POST", "/api-keys", R"({"name":"","scopes":["read"]})", "/api-keys");
    REQUIRE(bad.status == 303);
    auto errs = b.inertia("/api-keys").json().at("props").at("errors");
    INFO(json::serialize(errs));
    CHECK_FALSE(errs.at("form").as_string().empty());
  }
}
