// The console's request flow: pages (session -> access -> props -> page
// object) and actions (session -> access -> API call -> 303).

#include "console.hpp"

#include <atomic>
#include <mutex>

#include <simdjson.h>

#include "assets.hpp"
#include "flash.hpp"
#include "inertia.hpp"
#include "fp/net/json.hpp"
#include "fp/net/problem.hpp"
#include "fp/runtime/crypto.hpp"

namespace fp::net::console {

namespace {

// -- reading API answers ------------------------------------------------------------

/// What a page needs to know about the caller, from GET /api/v1/session.
struct session_view {
  bool logged_in = false;
  bool platform_admin = false;
  /// The role in, and slug of, the selected organization; empty when none
  /// is selected.
  std::string role;
  std::string org;
  /// The answer's JSON, passed to the page as `auth`.
  std::string json;
};

session_view read_session(const api_answer& answer) {
  session_view out;
  if (!answer.ok())
    return out;
  simdjson::ondemand::parser parser;
  simdjson::padded_string text{answer.body};
  simdjson::ondemand::document doc;
  if (parser.iterate(text).get(doc))
    return out;
  out.logged_in = true;
  out.json = answer.body;
  bool admin = false;
  if (!doc["user"]["platform_admin"].get_bool().get(admin))
    out.platform_admin = admin;
  // Members in document order: "user" precedes "selected_org".
  simdjson::ondemand::object org;
  if (!doc["selected_org"].get_object().get(org)) {
    for (auto member : org) {
      std::string_view key, value;
      if (member.unescaped_key().get(key) || member.value().get_string().get(value))
        continue;
      if (key == "role")
        out.role = std::string{value};
      else if (key == "slug")
        out.org = std::string{value};
    }
  }
  return out;
}

/// The problem members of a failed API answer.
struct problem_view {
  std::string title;
  std::string detail;
  /// JSON object text: path -> message (plus "form").
  std::string errors;
};

problem_view read_problem(const api_answer& answer) {
  problem_view out;
  std::vector<std::pair<std::string, std::string>> fields;
  // A problem naming one `field` (e.g. {"field":"slug","detail":...}).
  std::string field;
  simdjson::ondemand::parser parser;
  simdjson::padded_string text{answer.body};
  simdjson::ondemand::document doc;
  if (!parser.iterate(text).get(doc)) {
    simdjson::ondemand::object obj;
    if (!doc.get_object().get(obj)) {
      for (auto member : obj) {
        std::string_view key;
        if (member.unescaped_key().get(key))
          break;
        std::string_view str;
        if (key == "title" && !member.value().get_string().get(str))
          out.title = std::string{str};
        else if (key == "detail" && !member.value().get_string().get(str))
          out.detail = std::string{str};
        else if (key == "field" && !member.value().get_string().get(str))
          field = std::string{str};
        else if (key == "errors") {
          simdjson::ondemand::array items;
          if (member.value().get_array().get(items))
            continue;
          for (auto item : items) {
            simdjson::ondemand::object e;
            if (item.get_object().get(e))
              continue;
            std::string path, message;
            for (auto m : e) {
              std::string_view k, v;
              if (m.unescaped_key().get(k) || m.value().get_string().get(v))
                continue;
              if (k == "path" || k == "pointer" || k == "field")
                path = std::string{v};
              else if (k == "message" || k == "detail")
                message = std::string{v};
            }
            // "/config/api_url" (JSON pointer) and "config.api_url" both
            // become the dotted key the form fields use.
            if (!path.empty() && path.front() == '/')
              path.erase(0, 1);
            for (auto& c : path)
              if (c == '/')
                c = '.';
            if (!message.empty())
              fields.emplace_back(path.empty() ? "form" : path, message);
          }
        }
      }
    }
  }
  if (out.title.empty())
    out.title = reason_phrase(answer.status);
  if (!field.empty()) {
    // "slug: must be ..." reads as "must be ..." next to the slug field.
    std::string_view message = out.detail.empty() ? out.title : out.detail;
    if (message.starts_with(field + ": "))
      message.remove_prefix(field.size() + 2);
    fields.emplace_back(field, std::string{message});
  }
  json_writer w{out.errors};
  w.begin_object();
  std::set<std::string> seen;
  for (auto& [path, message] : fields)
    if (seen.insert(path).second)
      w.member(path, message);
  if (!seen.count("form"))
    w.member("form", out.detail.empty() ? out.title : out.detail);
  w.end_object();
  return out;
}

/// Member `name` of the JSON object `json` as text (strings unquoted,
/// numbers as written); empty when absent.
std::string member_text(std::string_view json, std::string_view name) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string text{json};
  simdjson::ondemand::document doc;
  if (parser.iterate(text).get(doc))
    return {};
  simdjson::ondemand::value v;
  if (doc[name].get(v))
    return {};
  std::string_view str;
  if (!v.get_string().get(str))
    return std::string{str};
  std::string_view raw = v.raw_json_token();
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n'))
    raw.remove_suffix(1);
  return std::string{raw};
}

// -- templates, locations, cookies ---------------------------------------------------

/// Replaces `{x}` by path parameter x and `{result.m}` by member m of
/// `result_json`, each percent-encoded.
std::string substitute(std::string_view tmpl, const path_params& params,
                       std::string_view result_json = {}) {
  std::string out;
  while (!tmpl.empty()) {
    auto open = tmpl.find('{');
    if (open == std::string_view::npos) {
      out += tmpl;
      break;
    }
    auto close = tmpl.find('}', open);
    if (close == std::string_view::npos) {
      out += tmpl;
      break;
    }
    out += tmpl.substr(0, open);
    auto name = tmpl.substr(open + 1, close - open - 1);
    if (name.substr(0, 7) == "result.")
      out += url_encode(member_text(result_json, name.substr(7)));
    else if (auto i = params.find(name); i != params.end())
      out += url_encode(i->second);
    tmpl.remove_prefix(close + 1);
  }
  return out;
}

/// The path and query of the Referer when it names this server, else
/// `fallback`: where a failed form goes back to.
std::string back_location(const http_request& req, std::string_view fallback) {
  auto referer = req.header("referer");
  auto host = req.header("host");
  auto scheme = referer.find("://");
  if (referer.empty() || host.empty() || scheme == std::string_view::npos)
    return std::string{fallback};
  auto rest = referer.substr(scheme + 3);
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  if (authority != host)
    return std::string{fallback};
  if (slash == std::string_view::npos)
    return "/";
  return std::string{rest.substr(slash)};
}

bool allowed(access level, const session_view& s) {
  switch (level) {
    case access::anyone:
      return true;
    case access::user:
      return s.logged_in;
    case access::member:
      return s.logged_in && !s.role.empty();
    case access::admin:
      return s.role == "admin" || s.role == "owner";
    case access::platform_admin:
      return s.platform_admin;
  }
  return false;
}

std::string flash_cookie(std::string_view key) {
  return std::string{flash_cookie_name} + "=" + std::string{key}
         + "; Path=/; HttpOnly; SameSite=Lax; Max-Age=300";
}

/// Joins the props of one page as they arrive (from any thread).
struct prop_batch {
  std::mutex mtx;
  std::vector<std::pair<std::string, std::string>> values;
  std::atomic<size_t> pending{0};
  /// The first failure of a non-optional prop.
  std::optional<api_answer> failure;
};

} // namespace

// -- helpers for page files -------------------------------------------------------------

prop api(std::string name, std::string target,
         std::vector<std::string> forward_query) {
  prop p;
  p.name = std::move(name);
  p.target = std::move(target);
  p.forward_query = std::move(forward_query);
  return p;
}

std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                 || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
                 || c == '~';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// -- action_call --------------------------------------------------------------------------

void action_call::call(std::string method, std::string target, std::string body,
                       api_done done) const {
  console_.call_api(ctx(), std::move(method), std::move(target), std::move(body),
                    std::move(done), session_);
}

namespace {

/// The flash key of this browser: its `fp_flash` cookie, or a new one that
/// `res` sets.
std::string flash_key_for(const http_request& req, http_response& res) {
  auto key = std::string{cookie_value(req.header("cookie"), flash_cookie_name)};
  if (key.size() < 16 || key.size() > 64) {
    key = runtime::new_secret_token(18);
    res.headers.push_back({"Set-Cookie", flash_cookie(key)});
  }
  return key;
}

} // namespace

void action_call::redirect(std::string_view location, std::string_view success,
                           std::string result_json) const {
  auto res = see_other(location);
  if (!success.empty() || !result_json.empty()) {
    flash_entry e;
    e.success = std::string{success};
    e.result = std::move(result_json);
    console_.flash().put(flash_key_for(ctx().request, res), std::move(e));
  }
  res_->send(std::move(res));
}

void action_call::redirect_with_headers(std::string_view location,
                                        header_list headers,
                                        std::string_view success) const {
  auto res = see_other(location);
  for (auto& h : headers)
    res.headers.push_back(std::move(h));
  if (!success.empty()) {
    flash_entry e;
    e.success = std::string{success};
    console_.flash().put(flash_key_for(ctx().request, res), std::move(e));
  }
  res_->send(std::move(res));
}

void action_call::fail_back(const api_answer& failed,
                            std::string_view fallback) const {
  if (failed.status == 401) {
    res_->send(see_other("/login"));
    return;
  }
  auto p = read_problem(failed);
  auto res = see_other(back_location(ctx().request, fallback));
  flash_entry e;
  e.error = p.detail.empty() ? p.title : p.title + ": " + p.detail;
  e.errors = std::move(p.errors);
  console_.flash().put(flash_key_for(ctx().request, res), std::move(e));
  res_->send(std::move(res));
}

void action_call::error_back(std::string_view field, std::string_view message,
                             std::string_view fallback) const {
  auto res = see_other(back_location(ctx().request, fallback));
  flash_entry e;
  json_writer w{e.errors};
  w.begin_object().member(field, message).end_object();
  console_.flash().put(flash_key_for(ctx().request, res), std::move(e));
  res_->send(std::move(res));
}

// -- console ----------------------------------------------------------------------------------

console::console(const router& api, auth_services auth, std::string web_dir)
  : api_(api),
    auth_(std::move(auth)),
    assets_(std::make_shared<assets>(std::filesystem::path{web_dir})),
    flash_(std::make_unique<flash_store>()) {
}

console::~console() = default;

void console::add(page_def page) {
  pages_.push_back(std::make_shared<const page_def>(std::move(page)));
}

void console::add(action_def action) {
  if (action.api_method.empty())
    action.api_method = action.method;
  actions_.push_back(std::make_shared<const action_def>(std::move(action)));
}

void console::call_api(const request_context& parent, std::string method,
                       std::string target, std::string body, api_done done,
                       std::shared_ptr<session_memo> session) const {
  request_context sub;
  sub.session = session ? std::move(session) : parent.session;
  sub.request.method = std::move(method);
  sub.request.target = std::move(target);
  if (!split_target(sub.request.target, sub.request.path, sub.request.query)) {
    done(api_answer{400, problem_media_type, R"({"title":"Bad Request"})", {}});
    return;
  }
  for (std::string_view name :
       {"cookie", "x-csrf-token", "x-xsrf-token", "user-agent", "host"})
    if (parent.request.has_header(name))
      sub.request.headers.push_back(
        {std::string{name}, std::string{parent.request.header(name)}});
  if (!body.empty())
    sub.request.headers.push_back({"content-type", "application/json"});
  sub.request.body = std::move(body);
  sub.request.remote_address = parent.request.remote_address;
  sub.request.version = parent.request.version;
  sub.request_id = parent.request_id;
  sub.trace = parent.trace;
  auto raw_path = std::string_view{sub.request.target};
  raw_path = raw_path.substr(0, raw_path.find('?'));
  auto m = api_.match(sub.request.method, raw_path);
  if (m.kind != router::match_result::found) {
    int status = m.kind == router::match_result::method_not_allowed ? 405 : 404;
    done(api_answer{status, problem_media_type,
                    R"({"title":")" + std::string{reason_phrase(status)} + "\"}",
                    {}});
    return;
  }
  sub.params = std::move(m.params);
  sub.route = m.matched->pattern;
  auto res = make_capturing_responder(std::move(sub), [done](http_response r) {
    done(api_answer{r.status, std::move(r.content_type), std::move(r.body),
                    std::move(r.headers)});
  });
  m.matched->fn(res->context(), res);
}

void console::register_routes(const std::shared_ptr<const console>& self,
                              router& r) {
  route_doc hidden;
  hidden.hidden = true;
  for (const auto& page : self->pages_)
    r.add("GET", page->pattern,
          [self, page](const request_context&, const responder_ptr& res) {
            self->render(page, res);
          },
          hidden);
  for (const auto& action : self->actions_)
    r.add(action->method, action->pattern,
          [self, action](const request_context&, const responder_ptr& res) {
            self->run(action, res);
          },
          hidden);
  auto files = self->assets_;
  r.add("GET", "/assets/{file}",
        [files](const request_context& ctx, const responder_ptr& res) {
          res->send(files->serve(ctx.param("file")));
        },
        hidden);
}

void console::render(std::shared_ptr<const page_def> page,
                     const responder_ptr& res) const {
  const auto& ctx = res->context();
  auto built = assets_->current();
  if (!built.built) {
    res->send(problem(ctx, 503, "Console not built",
                      "the console's assets are missing: run `npm ci && npm "
                      "run build` in web/ (the README's run command does)"));
    return;
  }
  if (stale_version(ctx.request, built.version)) {
    res->send(location_response(ctx.request.target));
    return;
  }
  auto self = shared_from_this();
  // One session lookup serves the access check and every prop.
  auto session = make_session_memo();
  call_api(ctx, "GET", "/api/v1/session", {},
           [self, page, res, built, session](api_answer answer) {
    const auto& ctx = res->context();
    auto who = read_session(answer);
    if (page->level != access::anyone && !who.logged_in) {
      res->send(see_other("/login"));
      return;
    }
    if ((page->level == access::member || page->level == access::admin)
        && who.logged_in && who.role.empty()) {
      res->send(see_other("/orgs"));
      return;
    }
    auto partial = partial_props(ctx.request, page->component);
    auto wants = [&](std::string_view name, bool lazy) {
      return partial ? partial->wants(name, lazy) : !lazy;
    };
    auto finish = [res, built](std::string props_json, int status,
                            std::string_view component) {
      const auto& ctx = res->context();
      auto page_json = page_object(component, props_json, ctx.request.target,
                                   built.version);
      res->send(page_response(ctx.request, status, std::move(page_json),
                              built.script, built.styles));
    };
    // Shared props known now: auth, errors and flash (taken once, and only
    // by a full visit, so a partial reload never swallows a message).
    auto batch = std::make_shared<prop_batch>();
    if (wants("auth", false))
      batch->values.emplace_back("auth", who.logged_in ? who.json : "null");
    flash_entry flash;
    if (!partial) {
      auto key = cookie_value(ctx.request.header("cookie"), flash_cookie_name);
      if (!key.empty())
        flash = self->flash().take(std::string{key});
    }
    // Inertia expects `errors` on every answer, partial or not.
    batch->values.emplace_back("errors",
                               flash.errors.empty() ? "{}" : flash.errors);
    if (wants("flash", false)) {
      std::string f;
      json_writer w{f};
      w.begin_object();
      if (!flash.success.empty())
        w.member("success", flash.success);
      if (!flash.error.empty())
        w.member("error", flash.error);
      if (!flash.result.empty())
        w.key("result").raw(flash.result);
      w.end_object();
      batch->values.emplace_back("flash", std::move(f));
    }
    if (!allowed(page->level, who)) {
      // The Error page keeps the layout's organization switcher.
      self->call_api(ctx, "GET", "/api/v1/orgs", {},
                     [batch, finish, page](api_answer orgs) {
        std::string props;
        json_writer w{props};
        w.begin_object();
        for (auto& [name, value] : batch->values)
          w.key(name).raw(value);
        w.key("orgs").raw(orgs.ok() && !orgs.body.empty() ? orgs.body : "null");
        w.member("status", 403)
          .member("title", "Forbidden")
          .member("detail", page->level == access::platform_admin
                              ? "this page is for platform administrators"
                              : "this page needs the admin or owner role in "
                                "the organization")
          .end_object();
        finish(std::move(props), 403, "Error");
      }, session);
      return;
    }
    // Props fetched from the API (and `orgs`, shared by every signed-in
    // page).
    struct fetch {
      std::string name;
      std::string target;
      bool optional = false;
    };
    std::vector<fetch> fetches;
    // `{org}` in a target is the selected organization's slug.
    auto params = ctx.params;
    if (!who.org.empty())
      params.emplace("org", who.org);
    if (who.logged_in && wants("orgs", false))
      fetches.push_back({"orgs", "/api/v1/orgs", true});
    for (const auto& p : page->props) {
      if (!wants(p.name, p.lazy))
        continue;
      if (p.value) {
        batch->values.emplace_back(p.name, p.value(ctx));
        continue;
      }
      std::string target = p.target_fn ? p.target_fn(ctx)
                                       : substitute(p.target, params);
      if (target.empty()) {
        batch->values.emplace_back(p.name, "null");
        continue;
      }
      char sep = target.find('?') == std::string::npos ? '?' : '&';
      for (const auto& q : p.forward_query) {
        auto v = ctx.request.query_param(q);
        if (v.empty())
          continue;
        target += sep + url_encode(q) + "=" + url_encode(v);
        sep = '&';
      }
      fetches.push_back({p.name, std::move(target), p.optional});
    }
    auto assemble = [batch, finish, res, page]() {
      if (batch->failure) {
        auto& failed = *batch->failure;
        if (failed.status == 401) {
          res->send(see_other("/login"));
          return;
        }
        auto p = read_problem(failed);
        std::string props;
        json_writer w{props};
        w.begin_object();
        for (auto& [name, value] : batch->values)
          if (name == "auth" || name == "orgs" || name == "flash"
              || name == "errors")
            w.key(name).raw(value);
        w.member("status", failed.status)
          .member("title", p.title)
          .member("detail", p.detail)
          .end_object();
        finish(std::move(props), failed.status, "Error");
        return;
      }
      std::string props;
      json_writer w{props};
      w.begin_object();
      for (auto& [name, value] : batch->values)
        w.key(name).raw(value.empty() ? std::string_view{"null"} : value);
      w.end_object();
      finish(std::move(props), 200, page->component);
    };
    if (fetches.empty()) {
      assemble();
      return;
    }
    batch->pending = fetches.size();
    for (auto& f : fetches) {
      self->call_api(ctx, "GET", f.target, {},
                     [batch, assemble, name = f.name,
                      optional = f.optional](api_answer a) {
        {
          std::lock_guard guard{batch->mtx};
          if (a.ok() && !a.body.empty())
            batch->values.emplace_back(name, std::move(a.body));
          else if (optional || a.ok())
            batch->values.emplace_back(name, "null");
          else if (!batch->failure)
            batch->failure = std::move(a);
        }
        if (--batch->pending == 0)
          assemble();
      }, session);
    }
  }, session);
}

void console::run(std::shared_ptr<const action_def> action,
                  const responder_ptr& res) const {
  auto self = shared_from_this();
  const auto& ctx = res->context();
  auto session = make_session_memo();
  call_api(ctx, "GET", "/api/v1/session", {},
           [self, action, res, session](api_answer answer) {
    auto who = read_session(answer);
    action_call call{*self, res, session, who.org};
    if (action->level != access::anyone && !who.logged_in) {
      res->send(see_other("/login"));
      return;
    }
    if (!allowed(action->level, who)) {
      call.fail_back(api_answer{403, problem_media_type,
                                R"({"title":"Forbidden","detail":"this action needs )"
                                  + std::string{action->level
                                                    == access::platform_admin
                                                  ? "a platform administrator"
                                                  : action->level == access::admin
                                                    ? "the admin or owner role"
                                                    : "an organization"}
                                  + "\"}",
                                {}});
      return;
    }
    if (action->custom) {
      action->custom(call);
      return;
    }
    const auto& ctx = res->context();
    auto params = ctx.params;
    if (!who.org.empty())
      params.emplace("org", who.org);
    auto target = substitute(action->api_target, params);
    auto body = action->api_body ? action->api_body(ctx) : ctx.request.body;
    self->call_api(ctx, action->api_method, std::move(target), std::move(body),
                   [self, action, res, params, session,
                    org = who.org](api_answer a) {
      action_call call{*self, res, session, org};
      if (!a.ok()) {
        call.fail_back(a);
        return;
      }
      const auto& ctx = res->context();
      auto location = action->redirect.empty()
                        ? back_location(ctx.request, "/")
                        : substitute(action->redirect, params, a.body);
      call.redirect(location, action->success,
                    action->flash_result && !a.body.empty() ? a.body : "");
    }, session);
  }, session);
}

void add_console(router& r, auth_services auth, std::string web_dir) {
  auto c = std::make_shared<console>(r, std::move(auth), std::move(web_dir));
  add_account_pages(*c);
  add_package_pages(*c);
  add_agent_pages(*c);
  add_spine_pages(*c);
  add_overview_pages(*c);
  console::register_routes(c, r);
}

} // namespace fp::net::console
