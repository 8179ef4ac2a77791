// Installations: requests go through actors/installer.hpp in one
// transaction each (the installer job is enqueued in it); answers show the
// installation with its credentials' fingerprints, never their values.

#include "fp/net/installation_routes.hpp"

#include <memory>

#include "agent_route_support.hpp"
#include "fp/actors/installation_rules.hpp"
#include "fp/actors/installer.hpp"
#include "fp/actors/package_manifest.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/idempotency.hpp"
#include "fp/net/json.hpp"
#include "fp/net/problem.hpp"
#include "fp/net/signal_routes.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/credentials.hpp"
#include "fp/storage/installations.hpp"
#include "fp/storage/packages.hpp"
#include "route_support.hpp"

namespace fp::net {

namespace {

using namespace agent_detail;
using detail::fail_to;
using detail::not_found;
using detail::tenant_route;
using runtime::errc;
using runtime::make_error;

/// Credentials of an upgrade in flight are not shown.
constexpr std::string_view pending_prefix = "@next.";

// -- parsing ------------------------------------------------------------------------

/// What a POST, PATCH or upgrade body holds.
struct body_input {
  actors::installation_request req;
  bool has_version = false;
};

caf::error read_credentials(od::value& v, std::map<std::string, std::string>& out) {
  od::object obj;
  if (v.get_object().get(obj))
    return invalid("credentials must be an object of strings");
  for (auto field : obj) {
    std::string_view key;
    std::string_view text;
    if (field.unescaped_key().get(key) || field.value().get_string().get(text))
      return invalid("credentials must be an object of strings");
    if (text.size() > 64 * 1024)
      return invalid("credentials." + std::string{key} + " is too long");
    out[std::string{key}] = std::string{text};
  }
  return caf::none;
}

/// `allow_package`: POST /installations; `allow_version`: install and
/// upgrade (PATCH takes neither).
caf::expected<body_input> parse_body(const http_request& req, bool allow_package,
                                     bool allow_version) {
  body_input in;
  if (req.body.empty() && !allow_package)
    return in;
  json_body body;
  od::object obj;
  if (auto err = body.parse_object(req, obj, "expected a JSON object"))
    return err;
  for (auto field : obj) {
    std::string_view key;
    od::value val;
    if (field.unescaped_key().get(key) || field.value().get(val))
      return make_error(errc::bad_request, "unreadable member");
    caf::error err;
    if (key == "package" && allow_package) {
      err = read_string(val, key, in.req.package, 200, false);
    } else if ((key == "version" || key == "range") && allow_version) {
      if (in.has_version)
        return invalid("give either version or range");
      in.has_version = true;
      err = read_string(val, key, in.req.range, 200, false);
    } else if (key == "prerelease" && allow_version) {
      bool b = false;
      if (val.get_bool().get(b))
        err = invalid("prerelease must be a boolean");
      in.req.prerelease = b;
    } else if (key == "config") {
      std::string text;
      err = read_object(val, key, text);
      if (!err)
        in.req.config = std::move(text);
    } else if (key == "credentials") {
      err = read_credentials(val, in.req.credentials);
    } else if (key == "permissions") {
      std::vector<std::string> xs;
      err = read_strings(val, key, xs, 100);
      if (!err)
        in.req.permissions = std::move(xs);
    } else {
      err = unknown_member(key);
    }
    if (err)
      return err;
  }
  if (allow_package && in.req.package.empty())
    return invalid("missing member \"package\"");
  return in;
}

// -- rendering ------------------------------------------------------------------------

/// An installation with what the API shows beside it.
struct installation_view {
  storage::installation_record record;
  std::vector<storage::credential_info> credentials;
  std::vector<storage::installation_resource> resources;
  std::vector<std::string> requested_permissions;
};

caf::expected<std::optional<installation_view>>
load_view(storage::pg_session& db, std::string_view slug, std::string_view id) {
  auto found = storage::find_installation(db, slug, id);
  if (!found)
    return std::move(found.error());
  if (!*found)
    return std::optional<installation_view>{};
  installation_view v;
  v.record = std::move(**found);
  auto creds = storage::list_credentials(db, slug, v.record.id);
  if (!creds)
    return std::move(creds.error());
  for (auto& c : *creds)
    if (c.field.rfind(pending_prefix, 0) != 0)
      v.credentials.push_back(std::move(c));
  auto res = storage::list_installation_resources(db, slug, v.record.id);
  if (!res)
    return std::move(res.error());
  v.resources = std::move(*res);
  auto pv = storage::find_package_version(db, v.record.package, v.record.version);
  if (!pv)
    return std::move(pv.error());
  if (*pv) {
    auto m = actors::parse_manifest((*pv)->manifest, actors::platform_catalog());
    if (m.manifest)
      v.requested_permissions = m.manifest->permissions;
  }
  return std::optional<installation_view>{std::move(v)};
}

void write_strings(json_writer& w, std::string_view key,
                   const std::vector<std::string>& xs) {
  w.key(key).begin_array();
  for (auto& x : xs)
    w.value(x);
  w.end_array();
}

void write_raw_or_null(json_writer& w, std::string_view key, const std::string& json) {
  w.key(key);
  if (json.empty())
    w.null();
  else
    w.raw(json);
}

void write_summary(json_writer& w, const storage::installation_record& x) {
  w.member("id", x.id);
  w.member("package", x.package);
  w.member("version", x.version);
  w.member("state", x.state);
  w.key("config").raw(x.config.empty() ? std::string_view{"{}"} : x.config);
  write_strings(w, "granted_scopes", x.granted_scopes);
  detail::write_nullable(w, "required_by", x.required_by);
  w.key("dependencies").raw(x.dependencies.empty() ? std::string_view{"{}"}
                                                   : x.dependencies);
  w.key("limits").raw(x.limits.empty() ? std::string_view{"{}"} : x.limits);
  write_raw_or_null(w, "error", x.error);
  detail::write_nullable(w, "target_version", x.target_version);
  w.member("created_at", x.created_at);
  w.member("updated_at", x.updated_at);
}

void write_view(json_writer& w, const installation_view& v) {
  w.begin_object();
  write_summary(w, v.record);
  w.key("credentials").begin_object();
  for (auto& c : v.credentials) {
    w.key(c.field).begin_object();
    w.member("set", true);
    w.member("fingerprint", c.fingerprint);
    w.member("key_id", c.key_id);
    w.member("updated_at", c.updated_at);
    w.end_object();
  }
  w.end_object();
  write_strings(w, "requested_permissions", v.requested_permissions);
  w.key("resources").begin_array();
  for (auto& r : v.resources) {
    w.begin_object();
    w.member("kind", r.kind);
    w.member("id", r.resource_id);
    w.member("name", r.name);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

http_response view_response(int status, const installation_view& v) {
  std::string body;
  json_writer w{body};
  write_view(w, v);
  auto resp = http_response::json(status, std::move(body));
  resp.set_header("Location", "/api/v1/installations/" + v.record.id);
  return resp;
}

route_doc doc(std::string summary, int status = 200, bool json_body = false) {
  return detail::auth_doc(std::move(summary), "installations", status, json_body);
}

/// Fails with the problem for `err`, with `errors: [{path, message}]` when
/// validation issues came with it.
void fail_with_issues(const responder_ptr& res, const caf::error& err,
                      const std::vector<actors::schema_issue>& issues) {
  if (issues.empty() || status_of(err) != 422) {
    res->fail(err);
    return;
  }
  res->send(problem(res->context(), 422, "Invalid installation request",
                    runtime::context_of(err), [issues](json_writer& w) {
                      w.key("errors").begin_array();
                      for (auto& i : issues) {
                        w.begin_object();
                        w.member("path", i.path);
                        w.member("message", i.message);
                        w.end_object();
                      }
                      w.end_array();
                    }));
}

caf::error no_keys() {
  return make_error(errc::unavailable, "credentials cannot be sealed: no master key");
}

// -- handlers ---------------------------------------------------------------------------

void create_installation(const spine_services& spine, const request_context& ctx,
                         const responder_ptr& res, const principal& who) {
  auto in = parse_body(ctx.request, true, true);
  if (!in) {
    res->fail(in.error());
    return;
  }
  if (!spine.keys) {
    res->fail(no_keys());
    return;
  }
  in->req.actor = signal_actor_of(who);
  auto issues = std::make_shared<std::vector<actors::schema_issue>>();
  using answer_t = std::pair<bool, installation_view>;
  run_db<answer_t>(
    *spine.sys, spine.storage_pool, spine.timeout, "installations.create",
    [tenant = detail::tenant_of(who), keys = spine.keys, req = in->req,
     issues](storage::pg_session& db) -> caf::expected<answer_t> {
      issues->clear();
      auto done = actors::request_install(db, tenant, *keys, req, issues.get());
      if (!done)
        return std::move(done.error());
      auto v = load_view(db, tenant.slug, done->record.id);
      if (!v)
        return std::move(v.error());
      if (!*v)
        return not_found("installation");
      return answer_t{done->created, std::move(**v)};
    },
    [res](answer_t&& a) { res->send(view_response(a.first ? 202 : 200, a.second)); },
    [res, issues](caf::error&& err) { fail_with_issues(res, err, *issues); });
}

/// Runs `op` on installation {id} and answers `status` with its view.
template <class Op>
void change(const spine_services& spine, const request_context& ctx,
            const responder_ptr& res, const principal& who, std::string label,
            int status, Op op,
            std::shared_ptr<std::vector<actors::schema_issue>> issues = nullptr) {
  if (!issues)
    issues = std::make_shared<std::vector<actors::schema_issue>>();
  using found_t = std::optional<installation_view>;
  run_db<found_t>(
    *spine.sys, spine.storage_pool, spine.timeout, std::move(label),
    [tenant = detail::tenant_of(who), id = std::string{ctx.param("id")},
     actor = signal_actor_of(who), op = std::move(op),
     issues](storage::pg_session& db) -> caf::expected<found_t> {
      issues->clear();
      auto done = op(db, tenant, id, actor, issues.get());
      if (!done)
        return std::move(done.error());
      if (!*done)
        return found_t{};
      return load_view(db, tenant.slug, id);
    },
    detail::found_or_404(res, "installation",
                         [status](const responder_ptr& out, const installation_view& v) {
                           out->send(view_response(status, v));
                         }),
    [res, issues](caf::error&& err) { fail_with_issues(res, err, *issues); });
}

void upgrade_installation(const spine_services& spine, const request_context& ctx,
                          const responder_ptr& res, const principal& who,
                          bool reconfigure) {
  auto in = parse_body(ctx.request, false, !reconfigure);
  if (!in) {
    res->fail(in.error());
    return;
  }
  if (!spine.keys) {
    res->fail(no_keys());
    return;
  }
  if (!reconfigure && !in->has_version) {
    res->fail(invalid("missing member \"version\" (or \"range\")"));
    return;
  }
  change(spine, ctx, res, who,
         reconfigure ? "installations.reconfigure" : "installations.upgrade", 202,
         [keys = spine.keys, req = in->req](storage::pg_session& db,
                                            const actors::tenant_ref& tenant,
                                            const std::string& id,
                                            const storage::signal_actor& actor,
                                            std::vector<actors::schema_issue>* issues) {
           auto q = req;
           q.actor = actor;
           return actors::request_upgrade(db, tenant, *keys, id, q, issues);
         });
}

void list_installations(const spine_services& spine, const request_context& ctx,
                        const responder_ptr& res, const principal& who) {
  storage::installation_filter f;
  f.state = ctx.request.query_param("state");
  f.package = ctx.request.query_param("package");
  if (!f.state.empty() && !actors::parse_installation_state(f.state)) {
    res->fail(invalid("state must be requested, installing, installed, failed, "
                      "disabled, upgrading, uninstalling or uninstalled"));
    return;
  }
  if (auto err = read_id_page(ctx.request, f.before_id, f.limit)) {
    res->fail(std::move(err));
    return;
  }
  auto limit = f.limit;
  f.limit += 1;
  using list_t = std::vector<storage::installation_record>;
  run_db<list_t>(
    *spine.sys, spine.storage_pool, spine.timeout, "installations.list",
    [slug = who.org_slug, f](storage::pg_session& db) {
      return storage::list_installations(db, slug, f);
    },
    id_page_to<storage::installation_record>(
      res, limit, "items",
      [](json_writer& w, const storage::installation_record& x) {
        w.begin_object();
        write_summary(w, x);
        w.end_object();
      }),
    fail_to(res));
}

void history(const spine_services& spine, const request_context& ctx,
             const responder_ptr& res, const principal& who) {
  using list_t = std::optional<std::vector<storage::installation_transition>>;
  run_db<list_t>(
    *spine.sys, spine.storage_pool, spine.timeout, "installations.history",
    [slug = who.org_slug, id = std::string{ctx.param("id")}](
      storage::pg_session& db) -> caf::expected<list_t> {
      auto found = storage::find_installation(db, slug, id);
      if (!found)
        return std::move(found.error());
      if (!*found)
        return list_t{};
      auto all = storage::list_installation_transitions(db, slug, id);
      if (!all)
        return std::move(all.error());
      return list_t{std::move(*all)};
    },
    detail::found_or_404(
      res, "installation",
      [](const responder_ptr& out,
         const std::vector<storage::installation_transition>& all) {
        std::string body;
        json_writer w{body};
        w.begin_object().key("items").begin_array();
        for (auto& t : all) {
          w.begin_object();
          w.member("id", t.id);
          detail::write_nullable(w, "from_state", t.from_state);
          w.member("to_state", t.to_state);
          w.member("version", t.version);
          w.member("detail", t.detail);
          w.member("actor_id", t.actor_id);
          w.member("at", t.at);
          w.end_object();
        }
        w.end_array().end_object();
        out->send(http_response::json(200, std::move(body)));
      }),
    fail_to(res));
}

template <class Fn>
handler admin(const spine_services& spine, Fn fn) {
  return tenant_route(spine.auth, actors::action::tenant_admin,
                      [spine, fn](const request_context& ctx, const responder_ptr& res,
                                  principal who) { fn(spine, ctx, res, who); });
}

template <class Fn>
handler reader(const spine_services& spine, Fn fn) {
  return tenant_route(spine.auth, actors::action::tenant_read,
                      [spine, fn](const request_context& ctx, const responder_ptr& res,
                                  principal who) { fn(spine, ctx, res, who); });
}

} // namespace

void add_installation_routes(router& r, const spine_services& spine) {
  using pg = storage::pg_session;
  using tref = actors::tenant_ref;
  using issues_t = std::vector<actors::schema_issue>;
  r.add("GET", "/api/v1/installations", reader(spine, list_installations),
        doc("Lists installations newest first (state, package, cursor, limit "
            "1..200)."));
  r.add("POST", "/api/v1/installations",
        tenant_route(spine.auth, actors::action::tenant_admin,
                     idempotent(spine, [spine](const request_context& ctx,
                                               const responder_ptr& res,
                                               principal who) {
                       create_installation(spine, ctx, res, who);
                     })),
        doc("Installs a package {package, version | range, prerelease?, "
            "config?, credentials?, permissions?}: 202 with the installation "
            "(state requested; the installer job runs it), 200 when the same "
            "version is installed already, 409 for another version.",
            202, true));
  r.add("GET", "/api/v1/installations/{id}",
        reader(spine, [](const spine_services& s, const request_context& ctx,
                         const responder_ptr& res, const principal& who) {
          detail::get_one(s, ctx, res, who, "installations.get", "installation",
                          [](pg& db, const std::string& slug, const std::string& id) {
                            return load_view(db, slug, id);
                          },
                          [](const responder_ptr& out, const installation_view& v) {
                            out->send(view_response(200, v));
                          });
        }),
        doc("One installation: config, credential fingerprints, resources, "
            "the latest error."));
  r.add("GET", "/api/v1/installations/{id}/history", reader(spine, history),
        doc("The installation's state transitions, oldest first."));
  r.add("PATCH", "/api/v1/installations/{id}",
        admin(spine, [](const spine_services& s, const request_context& ctx,
                        const responder_ptr& res, const principal& who) {
          upgrade_installation(s, ctx, res, who, true);
        }),
        doc("Reconfigures {config?, credentials?, permissions?}: an upgrade to "
            "the same version (202).",
            202, true));
  r.add("POST", "/api/v1/installations/{id}/upgrade",
        admin(spine, [](const spine_services& s, const request_context& ctx,
                        const responder_ptr& res, const principal& who) {
          upgrade_installation(s, ctx, res, who, false);
        }),
        doc("Upgrades {version | range, config?, credentials?, permissions?} "
            "(202); a failing upgrade rolls back to the old version.",
            202, true));
  auto simple = [&](const char* path, const char* label, int status, auto op,
                    const char* summary) {
    r.add("POST", path,
          admin(spine, [label, status, op](const spine_services& s,
                                           const request_context& ctx,
                                           const responder_ptr& res,
                                           const principal& who) {
            change(s, ctx, res, who, label, status,
                   [op](pg& db, const tref& tenant, const std::string& id,
                        const storage::signal_actor& actor, issues_t*) {
                     return op(db, tenant, id, actor);
                   });
          }),
          doc(summary, status));
  };
  simple("/api/v1/installations/{id}/disable", "installations.disable", 200,
         [](pg& db, const tref& t, const std::string& id,
            const storage::signal_actor& a) {
           return actors::set_installation_enabled(db, t, id, false, a);
         },
         "Disables an installed package: its agents pause, its subscriptions "
         "and schedules stop.");
  simple("/api/v1/installations/{id}/enable", "installations.enable", 200,
         [](pg& db, const tref& t, const std::string& id,
            const storage::signal_actor& a) {
           return actors::set_installation_enabled(db, t, id, true, a);
         },
         "Enables a disabled installation again.");
  simple("/api/v1/installations/{id}/retry", "installations.retry", 202,
         [](pg& db, const tref& t, const std::string& id,
            const storage::signal_actor& a) {
           return actors::request_retry(db, t, id, a);
         },
         "Installs a failed installation again (202).");
  r.add("DELETE", "/api/v1/installations/{id}",
        admin(spine, [](const spine_services& s, const request_context& ctx,
                        const responder_ptr& res, const principal& who) {
          change(s, ctx, res, who, "installations.uninstall", 202,
                 [](pg& db, const tref& t, const std::string& id,
                    const storage::signal_actor& a, issues_t*) {
                   return actors::request_uninstall(db, t, id, a);
                 });
        }),
        doc("Uninstalls (202): removes exactly what the installation created. "
            "409 while a live installation depends on it.",
            202));
}

} // namespace fp::net
