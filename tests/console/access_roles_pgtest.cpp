// Server-enforced access: a member without the admin role neither sees nor
// reaches admin-only pages and actions, whatever the client does; logged-out
// callers go to the log-in page, users without an organization to the
// organization picker.

#include <boost/json/src.hpp>

#include "console/account_support.hpp"

namespace {

using namespace fp::console_test;
namespace json = boost::json;

/// The API key ids of `acme`, as the admin sees them.
std::vector<std::string> key_ids(fixture& f) {
  auto res = f.call("GET", "/api/v1/api-keys");
  REQUIRE(res.status == 200);
  std::vector<std::string> out;
  auto doc = json::parse(res.body);
  for (const auto& k : doc.at("api_keys").as_array())
    if (!k.at("revoked").as_bool())
      out.emplace_back(k.at("id").as_string());
  return out;
}

/// email -> role of `acme`'s members, as the admin sees them.
std::map<std::string, std::string> roles(fixture& f) {
  auto res = f.call("GET", "/api/v1/orgs/acme/members");
  REQUIRE(res.status == 200);
  std::map<std::string, std::string> out;
  auto doc = json::parse(res.body);
  for (const auto& m : doc.at("members").as_array())
    out[std::string{m.at("email").as_string()}] = std::string{m.at("role").as_string()};
  return out;
}

std::string user_id_of(fixture& f, const std::string& email) {
  auto res = f.call("GET", "/api/v1/orgs/acme/members");
  auto doc = json::parse(res.body);
  for (const auto& m : doc.at("members").as_array())
    if (m.at("email").as_string() == email)
      return std::string{m.at("user_id").as_string()};
  FAIL("no member " << email);
  return {};
}

/// True when `res` refused an action: no 2xx/3xx success path that ran it.
/// (Refusals are 403; a 303 back is acceptable only together with the
/// state checks the callers make.)
bool refused_or_back(const raw_response& res) {
  return res.status == 403 || res.status == 303 || res.status == 401;
}

} // namespace

TEST_CASE("console access: members do not reach admin-only pages", "[console][access]") {
  fixture f{"console_access_pages"};
  browser member{f.port};
  REQUIRE(member.log_in("member@example.com").status == 303);
  REQUIRE(member.api("GET", "/api/v1/session").json().at("selected_org").at("role").as_string()
          == "member");

  SECTION("the API keys page is forbidden, as JSON and as a first visit") {
    auto res = member.inertia("/api-keys");
    INFO(res.body);
    CHECK(res.status == 403);
    auto page = res.json();
    CHECK(page.at("component").as_string() == "Error");
    CHECK(page.at("props").at("status").as_int64() == 403);
    // No key data leaks into the refusal.
    CHECK_FALSE(page.at("props").as_object().contains("keys"));

    auto shell = member.visit("/api-keys");
    CHECK(shell.status == 403);
    CHECK(page_of_shell(shell.body).at("component").as_string() == "Error");
  }

  SECTION("partial reloads cannot pull admin props either") {
    auto res = member.inertia("/api-keys", {"X-Inertia-Partial-Component: ApiKeys/Index",
                                            "X-Inertia-Partial-Data: keys"});
    CHECK(res.status == 403);
    CHECK(res.body.find("api_keys") == std::string::npos);
  }

  SECTION("the members page is readable, with the member's own role") {
    auto res = member.inertia("/members");
    REQUIRE(res.status == 200);
    auto props = res.json().at("props");
    CHECK(props.at("members").at("members").as_array().size() == 2);
    CHECK(props.at("auth").at("selected_org").at("role").as_string() == "member");
  }

  SECTION("the platform admin's actor tree is not for org members") {
    auto res = member.inertia("/system/actors");
    CHECK(res.status == 403);
  }

  SECTION("the organization owner does reach them") {
    browser admin{f.port};
    REQUIRE(admin.log_in("admin@example.com").status == 303);
    CHECK(admin.inertia("/api-keys").status == 200);
  }
}

TEST_CASE("console access: members cannot run admin-only actions", "[console][access]") {
  fixture f{"console_access_actions"};
  // The admin makes a key the member will try to rotate and revoke.
  auto made = f.call("POST", "/api/v1/api-keys", R"({"name":"ops","scopes":["read"]})");
  REQUIRE(made.status == 201);
  auto key_id = std::string{json::parse(made.body).at("id").as_string()};
  auto admin_id = user_id_of(f, "admin@example.com");
  auto member_id = user_id_of(f, "member@example.com");
  auto before_roles = roles(f);

  browser member{f.port};
  REQUIRE(member.log_in("member@example.com").status == 303);

  SECTION("creating, rotating and revoking API keys") {
    auto create = member.submit("POST", "/api-keys", R"({"name":"mine","scopes":["admin"]})",
                                "/members");
    CHECK(refused_or_back(create));
    auto rotate = member.submit("POST", "/api-keys/" + key_id + "/rotate", "{}", "/members");
    CHECK(refused_or_back(rotate));
    auto revoke = member.submit("DELETE", "/api-keys/" + key_id, "{}", "/members");
    CHECK(refused_or_back(revoke));
    // Nothing changed, and no secret reached the member.
    CHECK(key_ids(f) == std::vector<std::string>{key_id});
    auto after = member.inertia("/members");
    REQUIRE(after.status == 200);
    CHECK(after.body.find("\"key\"") == std::string::npos);
    // The refusal is explained to the member.
    CHECK_FALSE(after.json().at("props").at("flash").as_object().empty());
  }

  SECTION("adding, promoting and removing members") {
    auto add = member.submit("POST", "/members",
                             R"({"email":"newbie@example.com","role":"admin"})", "/members");
    CHECK(refused_or_back(add));
    // Promoting oneself is the classic one.
    auto promote = member.submit("PATCH", "/members/" + member_id,
                                 R"({"email":"member@example.com","role":"owner"})", "/members");
    CHECK(refused_or_back(promote));
    auto remove = member.submit("DELETE", "/members/" + admin_id, "{}", "/members");
    CHECK(refused_or_back(remove));
    CHECK(roles(f) == before_roles);
  }

  SECTION("the admin can do the same") {
    browser admin{f.port};
    REQUIRE(admin.log_in("admin@example.com").status == 303);
    auto add = admin.submit("POST", "/members",
                            R"({"email":"newbie@example.com","role":"member"})", "/members");
    CHECK(add.status == 303);
    CHECK(roles(f)["newbie@example.com"] == "member");
    auto promote = admin.submit("PATCH", "/members/" + member_id,
                                R"({"email":"member@example.com","role":"admin"})", "/members");
    CHECK(promote.status == 303);
    CHECK(roles(f)["member@example.com"] == "admin");
    auto remove = admin.submit("DELETE", "/members/" + user_id_of(f, "newbie@example.com"),
                               "{}", "/members");
    CHECK(remove.status == 303);
    CHECK(roles(f).count("newbie@example.com") == 0);
    auto revoke = admin.submit("DELETE", "/api-keys/" + key_id, "{}", "/api-keys");
    CHECK(revoke.status == 303);
    CHECK(key_ids(f).empty());
  }
}

TEST_CASE("console access: no session, no organization", "[console][access]") {
  fixture f{"console_access_anon"};

  SECTION("logged-out callers are sent to the log-in page") {
    browser anon{f.port};
    for (std::string path : {"/members", "/api-keys", "/orgs"}) {
      INFO(path);
      auto res = anon.visit(path);
      CHECK((res.status == 302 || res.status == 303));
      CHECK(location_path(res.header("location")).rfind("/login", 0) == 0);
    }
    auto action = anon.submit("POST", "/api-keys", R"({"name":"x","scopes":["read"]})", "/api-keys");
    CHECK(action.status != 200);
    CHECK(action.status != 201);
    CHECK(key_ids(f).empty());
  }

  SECTION("users without an organization are sent to the picker") {
    browser newbie{f.port};
    REQUIRE(newbie.log_in("newbie@example.com").status == 303);
    auto res = newbie.visit("/members");
    CHECK((res.status == 302 || res.status == 303));
    CHECK(location_path(res.header("location")).rfind("/orgs", 0) == 0);
    // Admin pages: the picker too, or a refusal; never the page.
    auto keys = newbie.visit("/api-keys");
    if (keys.status == 403)
      CHECK(page_of_shell(keys.body).at("component").as_string() == "Error");
    else
      CHECK(location_path(keys.header("location")).rfind("/orgs", 0) == 0);
    CHECK(newbie.visit("/orgs").status == 200);
  }
}
