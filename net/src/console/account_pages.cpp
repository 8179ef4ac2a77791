// Console pages of the account group: log in and out, organizations (pick,
// create), members and roles, API keys. Every step is a call of the JSON
// API as the caller; the only thing done here besides routing is carrying
// the session cookie of a log-in onto the browser (with the XSRF-TOKEN
// cookie the Inertia client echoes as X-XSRF-TOKEN).

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <simdjson.h>

#include "console.hpp"
#include "fp/net/auth.hpp"
#include "fp/net/json.hpp"

namespace fp::net::console {

namespace {

// -- reading API answers ------------------------------------------------------

/// The string at `path` (JSON pointer, e.g. "/selected_org/slug") of the
/// JSON text `json`; nullopt when absent, null or not a string.
std::optional<std::string> string_at(std::string_view json,
                                     std::string_view path) {
  simdjson::padded_string text{json};
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(text).get(doc))
    return std::nullopt;
  std::string_view out;
  if (doc.at_pointer(path).get_string().get(out))
    return std::nullopt;
  return std::string{out};
}

/// The number of elements of the array at `path`, and the string member
/// `member` of its first element (when there is one).
std::pair<size_t, std::string> first_of(std::string_view json,
                                        std::string_view path,
                                        std::string_view member) {
  simdjson::padded_string text{json};
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(text).get(doc))
    return {0, {}};
  simdjson::ondemand::array arr;
  if (doc.at_pointer(path).get_array().get(arr))
    return {0, {}};
  size_t n = 0;
  std::string first;
  for (auto item : arr) {
    if (n++ == 0) {
      std::string_view s;
      simdjson::ondemand::object obj;
      if (!item.get_object().get(obj)
          && !obj.find_field_unordered(member).get_string().get(s))
        first = std::string{s};
    }
  }
  return {n, first};
}

std::string json_object(std::string_view name, std::string_view value) {
  std::string out;
  json_writer w{out};
  w.begin_object().member(name, value).end_object();
  return out;
}

/// The value of cookie `name` in a Set-Cookie header of `answer`.
std::optional<std::string> set_cookie_value(const api_answer& answer,
                                            std::string_view name) {
  for (const auto& h : answer.headers) {
    if (!iequals(h.name, "set-cookie"))
      continue;
    std::string_view v = h.value;
    if (v.size() > name.size() && v.substr(0, name.size()) == name
        && v[name.size()] == '=') {
      v.remove_prefix(name.size() + 1);
      return std::string{v.substr(0, v.find(';'))};
    }
  }
  return std::nullopt;
}

// -- answers --------------------------------------------------------------------

/// The XSRF-TOKEN cookie: readable by the page script (not HttpOnly), which
/// sends it back as X-XSRF-TOKEN; Secure when the session cookie is.
std::string xsrf_cookie(std::string_view token, bool secure, bool clear) {
  std::string out = "XSRF-TOKEN=";
  out += token;
  out += "; Path=/; SameSite=Strict";
  if (clear)
    out += "; Max-Age=0";
  if (secure)
    out += "; Secure";
  return out;
}

bool is_secure(const api_answer& answer) {
  for (const auto& h : answer.headers)
    if (iequals(h.name, "set-cookie")
        && h.value.find("; Secure") != std::string::npos)
      return true;
  return false;
}

/// 303 to `location` carrying the cookies `set_cookies` (log in/out).
void redirect_with_cookies(const action_call& call, std::string location,
                           std::vector<std::string> set_cookies) {
  header_list headers;
  headers.push_back({"Cache-Control", "no-store"});
  for (auto& c : set_cookies)
    headers.push_back({"Set-Cookie", std::move(c)});
  call.redirect_with_headers(location, std::move(headers));
}

/// `fail_back`, except that a conflict, which names its field only in its
/// detail ("slug: ... exists"), also goes under that field.
void fail_to_field(const action_call& call, const api_answer& failed,
                   std::string_view fallback) {
  if (failed.status == 409 && !string_at(failed.body, "/field")) {
    auto detail = string_at(failed.body, "/detail");
    for (std::string_view name : {"slug", "name", "email", "role"}) {
      auto prefix = std::string{name} + ": ";
      if (detail && detail->starts_with(prefix)) {
        call.error_back(name, detail->substr(prefix.size()), fallback);
        return;
      }
    }
  }
  call.fail_back(failed, fallback);
}

/// Runs `next(slug)` with the caller's selected organization; without one,
/// to the organization picker.
template <class Next>
void with_org(const action_call& call, Next next) {
  if (call.org().empty()) {
    call.redirect("/orgs", {}, {});
    return;
  }
  next(call.org());
}

// -- log in and out ---------------------------------------------------------------

/// POST /login: the API's log-in, its session cookie passed on with the
/// XSRF-TOKEN cookie; a user of exactly one organization gets it selected.
void log_in(const action_call& call) {
  call.call(
    "POST", "/api/v1/session", call.ctx().request.body,
    [call](api_answer answer) {
      if (!answer.ok()) {
        std::string message = "Wrong email or password.";
        if (answer.status == 429)
          message = "Too many failed log-ins; try again later.";
        else if (answer.status != 401)
          message = string_at(answer.body, "/detail")
                      .value_or("The log-in failed; try again.");
        call.error_back("email", message, "/login");
        return;
      }
      auto token = set_cookie_value(answer, session_cookie_name);
      auto csrf = string_at(answer.body, "/csrf_token");
      if (!token || !csrf) {
        call.error_back("email", "The log-in failed; try again.", "/login");
        return;
      }
      std::vector<std::string> cookies;
      for (const auto& h : answer.headers)
        if (iequals(h.name, "set-cookie"))
          cookies.push_back(h.value);
      cookies.push_back(xsrf_cookie(*csrf, is_secure(answer), false));
      // Further calls act as the new session, not as the anonymous caller.
      auto inner = std::make_shared<request_context>(call.ctx());
      auto& hs = inner->request.headers;
      std::erase_if(hs, [](const header_field& h) {
        return iequals(h.name, "cookie") || iequals(h.name, "x-csrf-token")
               || iequals(h.name, "x-xsrf-token")
               || iequals(h.name, "authorization");
      });
      hs.push_back({"cookie", std::string{session_cookie_name} + "=" + *token});
      hs.push_back({"x-csrf-token", *csrf});
      hs.push_back({"content-type", "application/json"});
      const auto& con = call.console();
      con.call_api(
        *inner, "GET", "/api/v1/orgs", {},
        [call, inner, cookies, &con](api_answer orgs) mutable {
          auto [count, slug] = first_of(orgs.body, "/orgs", "slug");
          if (!orgs.ok() || count != 1 || slug.empty()) {
            redirect_with_cookies(call, "/orgs", std::move(cookies));
            return;
          }
          con.call_api(*inner, "POST", "/api/v1/session/org",
                       json_object("org", slug),
                       [call, inner, cookies](api_answer selected) mutable {
                         redirect_with_cookies(call,
                                               selected.ok() ? "/" : "/orgs",
                                               std::move(cookies));
                       });
        });
    });
}

/// POST /logout: revokes the session and clears both cookies, whatever the
/// API says (an expired session is logged out as well).
void log_out(const action_call& call) {
  call.call("DELETE", "/api/v1/session", {}, [call](api_answer answer) {
    std::vector<std::string> cookies;
    for (const auto& h : answer.headers)
      if (iequals(h.name, "set-cookie"))
        cookies.push_back(h.value);
    if (cookies.empty())
      cookies.push_back(std::string{session_cookie_name}
                        + "=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    cookies.push_back(xsrf_cookie("", is_secure(answer), true));
    redirect_with_cookies(call, "/login", std::move(cookies));
  });
}

// -- organizations ----------------------------------------------------------------

void select_org(const action_call& call) {
  call.call("POST", "/api/v1/session/org", call.ctx().request.body,
            [call](api_answer answer) {
              if (!answer.ok()) {
                call.fail_back(answer, "/orgs");
                return;
              }
              auto slug = string_at(answer.body, "/selected_org/slug");
              call.redirect("/", "Now working in " + slug.value_or("the organization") + ".");
            });
}

/// POST /orgs: creates the organization, then works in it.
void create_org(const action_call& call) {
  call.call("POST", "/api/v1/orgs", call.ctx().request.body,
            [call](api_answer created) {
              if (!created.ok()) {
                fail_to_field(call, created, "/orgs");
                return;
              }
              auto slug = string_at(created.body, "/slug").value_or("");
              auto name = string_at(created.body, "/name").value_or(slug);
              call.call("POST", "/api/v1/session/org", json_object("org", slug),
                        [call, name](api_answer selected) {
                          if (!selected.ok()) {
                            call.fail_back(selected, "/orgs");
                            return;
                          }
                          call.redirect("/", "Organization " + name + " created.");
                        });
            });
}

// -- members ----------------------------------------------------------------------

/// POST /members and PATCH /members/{user}: the API's add-or-change-role.
custom_action save_member(std::string success) {
  return [success](const action_call& call) {
    with_org(call, [call, success](const std::string& org) {
      call.call("POST", "/api/v1/orgs/" + url_encode(org) + "/members",
                call.ctx().request.body, [call, success](api_answer answer) {
                  if (!answer.ok()) {
                    fail_to_field(call, answer, "/members");
                    return;
                  }
                  auto email = string_at(answer.body, "/email").value_or("");
                  call.redirect("/members", success + " " + email + ".");
                });
    });
  };
}

void remove_member(const action_call& call) {
  with_org(call, [call](const std::string& org) {
    call.call("DELETE",
              "/api/v1/orgs/" + url_encode(org) + "/members/"
                + url_encode(call.ctx().param("user")),
              {}, [call](api_answer answer) {
                if (!answer.ok()) {
                  call.fail_back(answer, "/members");
                  return;
                }
                call.redirect("/members", "Member removed.");
              });
  });
}

} // namespace

void add_account_pages(console& c) {
  c.add(page_def{"/login", "Auth/Login", access::anyone, {}});
  c.add(action_def{.method = "POST",
                   .pattern = "/login",
                   .level = access::anyone,
                   .custom = log_in});
  c.add(action_def{.method = "POST",
                   .pattern = "/logout",
                   .level = access::anyone,
                   .custom = log_out});

  // The organizations come with every page (the shared `orgs` prop).
  c.add(page_def{"/orgs", "Orgs/Index", access::user, {}});
  c.add(action_def{.method = "POST",
                   .pattern = "/orgs",
                   .level = access::user,
                   .custom = create_org});
  c.add(action_def{.method = "POST",
                   .pattern = "/orgs/select",
                   .level = access::user,
                   .custom = select_org});

  // Every member sees who else is in; changing that is for admins.
  c.add(page_def{"/members",
                 "Members/Index",
                 access::member,
                 {api("members", "/api/v1/orgs/{org}/members")}});
  c.add(action_def{.method = "POST",
                   .pattern = "/members",
                   .level = access::admin,
                   .custom = save_member("Added")});
  c.add(action_def{.method = "PATCH",
                   .pattern = "/members/{user}",
                   .level = access::admin,
                   .custom = save_member("Saved the role of")});
  c.add(action_def{.method = "DELETE",
                   .pattern = "/members/{user}",
                   .level = access::admin,
                   .custom = remove_member});

  // API keys act for the whole organization: admins only.
  c.add(page_def{"/api-keys",
                 "ApiKeys/Index",
                 access::admin,
                 {api("keys", "/api/v1/api-keys")}});
  c.add(action_def{.method = "POST",
                   .pattern = "/api-keys",
                   .level = access::admin,
                   .api_target = "/api/v1/api-keys",
                   .redirect = "/api-keys",
                   .success = "API key created. Copy its secret now: it is "
                              "shown only once.",
                   .flash_result = true});
  c.add(action_def{.method = "POST",
                   .pattern = "/api-keys/{id}/rotate",
                   .level = access::admin,
                   .api_target = "/api/v1/api-keys/{id}/rotate",
                   .redirect = "/api-keys",
                   .success = "API key rotated. Copy the new secret now: it "
                              "is shown only once; the old one keeps working "
                              "for a short grace period.",
                   .flash_result = true});
  c.add(action_def{.method = "DELETE",
                   .pattern = "/api-keys/{id}",
                   .level = access::admin,
                   .api_target = "/api/v1/api-keys/{id}",
                   .redirect = "/api-keys",
                   .success = "API key revoked."});
}

} // namespace fp::net::console
