#pragma once

// The operator console's server side. Every page is an Inertia page object
// whose props are the answers of the JSON API itself, fetched by internal
// requests that carry the caller's own cookie (so the API's authentication,
// roles and tenancy decide what a page may show); every form is an action
// that forwards to the API and answers with a 303 redirect, validation
// errors going back through a one-shot flash. The console therefore holds no
// business rule the API does not already enforce — it only decides routes,
// which props a page shows, and where a form leads.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fp/net/auth.hpp"
#include "fp/net/http_types.hpp"
#include "fp/net/responder.hpp"
#include "fp/net/router.hpp"

namespace fp::net::console {

class assets;
class flash_store;

/// Who may open a page or run an action. Checked on the server from the
/// caller's session before any prop is loaded; the API checks again.
enum class access : uint8_t {
  /// Anyone (the log-in page).
  anyone,
  /// Any logged-in user, organization or not (organization picker).
  user,
  /// A user with a selected organization, any role.
  member,
  /// The organization's admins and owners.
  admin,
  /// Platform administrators (the actor tree).
  platform_admin,
};

/// One answer of the JSON API to an internal request.
struct api_answer {
  int status = 0;
  std::string content_type;
  std::string body;
  header_list headers;

  bool ok() const noexcept {
    return status >= 200 && status < 300;
  }
};

using api_done = std::function<void(api_answer)>;

/// One prop of a page.
struct prop {
  std::string name;
  /// API target fetched with GET, e.g. "/api/v1/installations/{id}". `{x}`
  /// is replaced by the page's path parameter x (percent-encoded), `{org}`
  /// by the selected organization's slug. Empty
  /// when `target_fn` or `value` is used.
  std::string target;
  /// Query parameters of the page request passed on to `target` when
  /// present (filters, cursors): e.g. {"type", "cursor"}.
  std::vector<std::string> forward_query;
  /// Computes the API target from the page request instead of `target`;
  /// returning "" makes the prop null without a request.
  std::function<std::string(const request_context&)> target_fn;
  /// Computes the prop's JSON text without the API (no request).
  std::function<std::string(const request_context&)> value;
  /// Sent only when a partial reload names it (Inertia's lazy props).
  bool lazy = false;
  /// A failed API answer makes the prop null (and adds nothing else)
  /// instead of turning the page into an error page.
  bool optional = false;
};

/// A page: a URL pattern rendered by one Svelte component.
struct page_def {
  /// Router pattern, e.g. "/installations/{id}".
  std::string pattern;
  /// Component name resolved by the client, e.g. "Installations/Show"
  /// (web/src/pages/Installations/Show.svelte).
  std::string component;
  access level = access::member;
  std::vector<prop> props;
};

class console;

/// The state of one action request, for custom actions.
class action_call {
public:
  action_call(const console& c, const responder_ptr& res,
              std::shared_ptr<session_memo> session, std::string org)
    : console_(c), res_(res), session_(std::move(session)), org_(std::move(org)) {
  }

  const request_context& ctx() const noexcept {
    return res_->context();
  }
  const responder_ptr& responder() const noexcept {
    return res_;
  }
  const class console& console() const noexcept {
    return console_;
  }

  /// The caller's selected organization (slug); empty when none.
  const std::string& org() const noexcept {
    return org_;
  }

  /// Calls the API as the caller (cookie and CSRF header passed on).
  void call(std::string method, std::string target, std::string body,
            api_done done) const;

  /// Answers 303 to `location`, with an optional success message and an
  /// optional JSON value the next page receives once as `flash.result`
  /// (e.g. an API key's secret, shown once).
  void redirect(std::string_view location, std::string_view success = {},
                std::string result_json = {}) const;

  /// `redirect` with extra response headers (e.g. the `Set-Cookie` of a
  /// log-in).
  void redirect_with_headers(std::string_view location, header_list headers,
                             std::string_view success = {}) const;

  /// Answers 303 back to the form's page (the Referer, else `fallback`)
  /// with the API failure turned into Inertia validation errors: a problem's
  /// `errors: [{path, message}]` become `{path: message}`, a top-level
  /// `field` becomes `{field: detail}`; every problem
  /// also gives `errors.form` (its detail, else its title) and
  /// `flash.error`. A 401 goes to the log-in page instead.
  void fail_back(const api_answer& failed,
                 std::string_view fallback = "/") const;

  /// Answers 303 back with one error message under `errors[field]`.
  void error_back(std::string_view field, std::string_view message,
                  std::string_view fallback = "/") const;

private:
  const class console& console_;
  responder_ptr res_;
  std::shared_ptr<session_memo> session_;
  std::string org_;
};

using custom_action = std::function<void(const action_call&)>;

/// A form target: forwards the request body to one API call.
struct action_def {
  /// Method and pattern of the console route, e.g. POST
  /// "/installations/{id}/upgrade".
  std::string method = "POST";
  std::string pattern;
  access level = access::member;
  /// The API call; empty method: the same as `method`. `{x}` in the target
  /// is replaced by path parameter x, `{org}` by the selected organization.
  std::string api_method;
  std::string api_target;
  /// Builds the API body from the form body (JSON text); default: the form
  /// body as it is (empty stays empty).
  std::function<std::string(const request_context&)> api_body;
  /// Where to go after success. `{x}` is a path parameter, `{result.m}` the
  /// string or number member m of the API answer; empty: back (Referer).
  std::string redirect;
  /// Flash message after success.
  std::string success;
  /// Passes the API answer to the next page once as `flash.result`.
  bool flash_result = false;
  /// Replaces the forwarding above when set.
  custom_action custom;
};

/// The console: its pages and actions, the assets, and the shell.
class console : public std::enable_shared_from_this<console> {
public:
  /// `api` is the router of the JSON API; it must be complete (no routes
  /// added) before the first request and outlive the console.
  console(const router& api, auth_services auth, std::string web_dir);
  ~console();

  console(const console&) = delete;
  console& operator=(const console&) = delete;

  void add(page_def page);
  void add(action_def action);

  /// Registers the console's routes, the pages, the actions and
  /// /assets/{file}, on `r` (which may be the API's own router); the
  /// handlers keep `self` alive.
  static void register_routes(const std::shared_ptr<const console>& self,
                              router& r);

  /// Calls the API as the caller of `parent` (same cookie, same CSRF
  /// header, same request id) without a network round trip. Calls sharing
  /// `session` (default: the parent's) look the session up once.
  void call_api(const request_context& parent, std::string method,
                std::string target, std::string body, api_done done,
                std::shared_ptr<session_memo> session = nullptr) const;

  /// Internal: used by action_call.
  flash_store& flash() const noexcept {
    return *flash_;
  }
  const auth_services& auth() const noexcept {
    return auth_;
  }

private:
  void render(std::shared_ptr<const page_def> page,
              const responder_ptr& res) const;
  void run(std::shared_ptr<const action_def> action,
           const responder_ptr& res) const;

  const router& api_;
  auth_services auth_;
  std::shared_ptr<assets> assets_;
  std::unique_ptr<flash_store> flash_;
  std::vector<std::shared_ptr<const page_def>> pages_;
  std::vector<std::shared_ptr<const action_def>> actions_;
};

/// Builds the console with every page group below and registers it on `r`,
/// which must already hold the whole JSON API.
void add_console(router& r, auth_services auth, std::string web_dir);

// -- the page groups (console/<area>_pages.cpp) ------------------------------

/// Log in/out, organizations, members, API keys.
void add_account_pages(console& c);
/// Package catalog, install form, installations.
void add_package_pages(console& c);
/// Agents, executions, chat.
void add_agent_pages(console& c);
/// Signals explorer, directives queue, dead-letter jobs.
void add_spine_pages(console& c);
/// Usage dashboard and the live actor tree.
void add_overview_pages(console& c);

// -- small helpers for page files -----------------------------------------------

/// A prop fetched from a fixed or templated API target.
prop api(std::string name, std::string target,
         std::vector<std::string> forward_query = {});

/// Percent-encodes `text` for one path segment or query value.
std::string url_encode(std::string_view text);

} // namespace fp::net::console
