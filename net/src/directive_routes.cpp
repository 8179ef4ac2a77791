// Directives, their policies and the webhook destination allowlist. Reading
// directives needs tenant_read, proposing tenant_write; approve, reject and
// cancel need the directive's approver role (from its type's policy);
// policies and webhook destinations need tenant_admin.

#include "fp/net/directive_routes.hpp"

#include "fp/actors/directives.hpp"
#include "fp/net/auth.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/json.hpp"
#include "fp/net/outbound_http.hpp"
#include "fp/net/signal_routes.hpp"
#include "fp/runtime/crypto.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/users.hpp"
#include "json_body.hpp"
#include "route_support.hpp"

namespace fp::net {

namespace {

namespace od = simdjson::ondemand;
using namespace detail;
using runtime::errc;
using runtime::make_error;

constexpr int max_text = 200;

// -- parsing ------------------------------------------------------------------------

/// An optional string member; "" when absent or null.
caf::error optional_string(od::value& val, std::string_view key,
                           std::string& out, std::size_t max = max_text) {
  bool is_null = false;
  if (val.is_null().get(is_null))
    return make_error(errc::invalid_argument,
                      std::string{key} + " must be a string");
  if (is_null)
    return caf::none;
  std::string_view text;
  if (val.get_string().get(text))
    return make_error(errc::invalid_argument,
                      std::string{key} + " must be a string");
  if (text.size() > max)
    return make_error(errc::invalid_argument,
                      std::string{key} + " is too long");
  out = std::string{text};
  return caf::none;
}

/// The params rules each executor needs, checked at proposal so a bad
/// directive is refused with 422 rather than failing later.
caf::error check_params(const std::string& type, const std::string& params) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string text{params};
  od::document doc;
  od::object obj;
  if (parser.iterate(text).get(doc) || doc.get_object().get(obj))
    return make_error(errc::invalid_argument, "params must be a JSON object");
  std::string_view s;
  if (type == "signal.emit") {
    auto t = obj.find_field_unordered("type");
    if (t.error() == simdjson::NO_SUCH_FIELD || t.get_string().get(s)
        || s.empty())
      return make_error(errc::invalid_argument,
                        "signal.emit needs params.type (a signal type)");
    auto p = obj.find_field_unordered("payload");
    od::object pobj;
    if (p.error() != simdjson::NO_SUCH_FIELD && p.get_object().get(pobj))
      return make_error(errc::invalid_argument,
                        "params.payload must be a JSON object");
  } else if (type == "webhook.post") {
    bool any = false;
    for (auto key : {"destination_id", "url"}) {
      auto f = obj.find_field_unordered(key);
      if (f.error() == simdjson::NO_SUCH_FIELD)
        continue;
      if (f.get_string().get(s))
        return make_error(errc::invalid_argument,
                          std::string{"params."} + key + " must be a string");
      if (std::string_view{key} == "url") {
        if (auto u = parse_http_url(s); !u)
          return make_error(errc::invalid_argument,
                            "params.url: " + runtime::context_of(u.error()));
      }
      any = true;
    }
    if (!any)
      return make_error(errc::invalid_argument,
                        "webhook.post needs params.destination_id or "
                        "params.url");
  }
  return caf::none;
}

caf::expected<actors::directive_proposal>
parse_proposal(const http_request& req) {
  json_body body;
  od::object obj;
  if (auto err = body.parse_object(req, obj,
                                   "expected {\"type\":...,\"params\":{...}}"))
    return err;
  actors::directive_proposal p;
  bool has_type = false;
  for (auto field : obj) {
    std::string_view key;
    od::value val;
    if (field.unescaped_key().get(key) || field.value().get(val))
      return make_error(errc::bad_request, "unreadable member");
    if (key == "type") {
      std::string_view text;
      if (val.get_string().get(text))
        return make_error(errc::invalid_argument, "type must be a string");
      p.type = std::string{text};
      has_type = true;
    } else if (key == "params") {
      od::object o;
      std::string_view text;
      if (val.get_object().get(o) || o.raw_json().get(text))
        return make_error(errc::invalid_argument,
                          "params must be a JSON object");
      if (text.size() > 64 * 1024)
        return make_error(errc::invalid_argument, "params is too large");
      p.params = std::string{text};
    } else if (key == "idempotency_key") {
      if (auto err = optional_string(val, key, p.idempotency_key))
        return err;
    } else if (key == "correlation_id") {
      if (auto err = optional_string(val, key, p.correlation_id))
        return err;
    } else if (key == "causation_id") {
      if (auto err = optional_string(val, key, p.causation_id))
        return err;
    }
  }
  if (!has_type)
    return make_error(errc::invalid_argument, "missing member \"type\"");
  if (!actors::known_directive_type(p.type))
    return make_error(errc::invalid_argument,
                      "unknown directive type \"" + p.type
                        + "\" (no executor)");
  if (auto err = check_params(p.type, p.params))
    return err;
  return p;
}

/// `{reason?}`; an empty body is fine.
caf::expected<std::string> parse_reason(const http_request& req) {
  if (req.body.empty())
    return std::string{};
  json_body body;
  od::object obj;
  if (auto err = body.parse_object(req, obj, "expected {\"reason\":\"...\"}"))
    return err;
  std::string reason;
  auto f = obj.find_field_unordered("reason");
  if (f.error() == simdjson::NO_SUCH_FIELD)
    return reason;
  od::value val;
  if (f.get(val))
    return make_error(errc::bad_request, "unreadable member");
  if (auto err = optional_string(val, "reason", reason, 2000))
    return err;
  return reason;
}

caf::expected<storage::directive_policy_row>
parse_policy(const http_request& req, std::string type) {
  json_body body;
  od::object obj;
  if (auto err = body.parse_object(
        req, obj, "expected {\"mode\":\"auto|approval\",\"approver_role\":...}"))
    return err;
  storage::directive_policy_row row;
  row.type = std::move(type);
  std::string_view text;
  auto mode = obj.find_field_unordered("mode");
  if (mode.error() == simdjson::NO_SUCH_FIELD || mode.get_string().get(text)
      || !actors::parse_approval_mode(text))
    return make_error(errc::invalid_argument,
                      "mode must be \"auto\" or \"approval\"");
  row.mode = std::string{text};
  row.approver_role = "admin";
  auto role = obj.find_field_unordered("approver_role");
  if (role.error() != simdjson::NO_SUCH_FIELD) {
    if (role.get_string().get(text) || !actors::parse_role(text))
      return make_error(errc::invalid_argument,
                        "approver_role must be member, admin or owner");
    row.approver_role = std::string{text};
  }
  return row;
}

struct destination_input {
  std::string url;
  std::string description;
};

caf::expected<destination_input> parse_destination(const http_request& req) {
  json_body body;
  od::object obj;
  if (auto err = body.parse_object(req, obj, "expected {\"url\":\"https://...\"}"))
    return err;
  destination_input in;
  std::string_view text;
  auto url = obj.find_field_unordered("url");
  if (url.error() == simdjson::NO_SUCH_FIELD || url.get_string().get(text))
    return make_error(errc::invalid_argument, "url must be a string");
  if (text.size() > 2000)
    return make_error(errc::invalid_argument, "url is too long");
  if (auto u = parse_http_url(text); !u)
    return make_error(errc::invalid_argument, runtime::context_of(u.error()));
  in.url = std::string{text};
  auto desc = obj.find_field_unordered("description");
  if (desc.error() != simdjson::NO_SUCH_FIELD) {
    od::value val;
    if (desc.get(val))
      return make_error(errc::bad_request, "unreadable member");
    if (auto err = optional_string(val, "description", in.description, 500))
      return err;
  }
  return in;
}

// -- rendering ----------------------------------------------------------------------

void write_directive(json_writer& w, const storage::directive_record& d) {
  w.begin_object()
    .member("id", d.id)
    .member("type", d.type)
    .member("state", d.state);
  w.key("params").raw(d.params.empty() ? std::string_view{"{}"}
                                       : std::string_view{d.params});
  write_nullable(w, "idempotency_key", d.idempotency_key);
  w.member("correlation_id", d.correlation_id);
  write_nullable(w, "causation_id", d.causation_id);
  write_nullable(w, "last_signal_id", d.last_signal_id);
  w.key("actor")
    .begin_object()
    .member("kind", d.actor.kind)
    .member("id", d.actor.id)
    .member("display", d.actor.display)
    .end_object();
  w.member("approver_role", d.approver_role);
  write_nullable(w, "decided_by", d.decided_by);
  write_nullable(w, "reason", d.reason);
  w.key("result");
  if (d.result.empty())
    w.null();
  else
    w.raw(d.result);
  write_nullable(w, "error", d.error);
  w.key("attempt_errors").raw(d.attempt_errors.empty()
                                ? std::string_view{"[]"}
                                : std::string_view{d.attempt_errors});
  w.member("created_at", d.created_at).member("updated_at", d.updated_at);
  w.end_object();
}

http_response one(int status, const storage::directive_record& d) {
  std::string body;
  json_writer w{body};
  write_directive(w, d);
  return http_response::json(status, std::move(body));
}

void write_policy(json_writer& w, const actors::directive_policy& p) {
  w.begin_object()
    .member("type", p.type)
    .member("mode", actors::to_string(p.mode))
    .member("approver_role", actors::to_string(p.approver))
    .member("default", p.is_default)
    .end_object();
}

void write_destination(json_writer& w, const storage::webhook_destination& d,
                       bool with_secret) {
  w.begin_object()
    .member("id", d.id)
    .member("url", d.url)
    .member("description", d.description);
  w.key("installation_id");
  if (d.installation_id.empty())
    w.null();
  else
    w.value(d.installation_id);
  w.member("created_at", d.created_at);
  if (with_secret)
    w.member("secret", d.secret);
  w.end_object();
}

// -- wiring -------------------------------------------------------------------------

/// Cursors are the last listed id, base64url-encoded (opaque to clients).
std::optional<std::string> decode_cursor(std::string_view cursor) {
  auto raw = runtime::base64url_decode(cursor);
  if (!raw || !storage::is_uuid(*raw))
    return std::nullopt;
  return raw;
}

enum class decision_kind { approve, reject, cancel };

void add_decision_route(router& r, const spine_services& spine,
                        decision_kind kind) {
  const char* verb = kind == decision_kind::approve  ? "approve"
                     : kind == decision_kind::reject ? "reject"
                                                     : "cancel";
  auto summary = kind == decision_kind::approve
                   ? "Approves a directive awaiting approval; it runs next."
                 : kind == decision_kind::reject
                   ? "Rejects a directive awaiting approval."
                   : "Cancels a directive that has not started running.";
  r.add("POST", std::string{"/api/v1/directives/{id}/"} + verb,
        tenant_route(
          spine.auth, actors::action::tenant_write,
          [spine, kind, verb](const request_context& ctx,
                              const responder_ptr& res, principal who) {
            auto reason = parse_reason(ctx.request);
            if (!reason) {
              res->fail(reason.error());
              return;
            }
            actors::directive_decision dec;
            dec.directive_id = std::string{ctx.param("id")};
            dec.actor = signal_actor_of(who);
            dec.decider_role = who.org_role.value_or(actors::role::member);
            dec.reason = std::move(*reason);
            run_db<storage::directive_record>(
              *spine.sys, spine.storage_pool, spine.timeout,
              std::string{"directives."} + verb,
              [kind, tenant = tenant_of(who),
               dec = std::move(dec)](storage::pg_session& db)
                -> caf::expected<storage::directive_record> {
                switch (kind) {
                  case decision_kind::approve:
                    return actors::approve_directive(db, tenant, dec);
                  case decision_kind::reject:
                    return actors::reject_directive(db, tenant, dec);
                  default:
                    return actors::cancel_directive(db, tenant, dec);
                }
              },
              [res](storage::directive_record&& d) { res->send(one(200, d)); },
              fail_to(res));
          }),
        auth_doc(summary, "directives"));
}

void add_directive_item_routes(router& r, const spine_services& spine) {
  using actors::action;
  r.add("POST", "/api/v1/directives",
        tenant_route(spine.auth, action::tenant_write,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       auto p = parse_proposal(ctx.request);
                       if (!p) {
                         res->fail(p.error());
                         return;
                       }
                       p->actor = signal_actor_of(who);
                       run_db<actors::proposed_directive>(
                         *spine.sys, spine.storage_pool, spine.timeout,
                         "directives.propose",
                         [tenant = tenant_of(who),
                          p = std::move(*p)](storage::pg_session& db) {
                           return actors::propose_directive(db, tenant, p);
                         },
                         [res](actors::proposed_directive&& d) {
                           auto resp = one(d.created ? 201 : 200, d.record);
                           resp.set_header("Location", "/api/v1/directives/"
                                                         + d.record.id);
                           res->send(std::move(resp));
                         },
                         fail_to(res));
                     }),
        auth_doc("Proposes a directive; its type's policy runs it at once or "
                 "holds it for approval. A repeated idempotency_key returns the "
                 "existing directive (200).",
                 "directives", 201, true));
  r.add("GET", "/api/v1/directives",
        tenant_route(
          spine.auth, action::tenant_read,
          [spine](const request_context& ctx, const responder_ptr& res,
                  principal who) {
            storage::directive_filter f;
            f.state = ctx.request.query_param("state");
            f.type = ctx.request.query_param("type");
            f.correlation_id = ctx.request.query_param("correlation_id");
            if (f.correlation_id.size() > max_text) {
              res->fail(make_error(errc::invalid_argument,
                                   "correlation_id is too long"));
              return;
            }
            if (!f.state.empty() && !actors::parse_directive_state(f.state)) {
              res->fail(make_error(errc::invalid_argument, "unknown state"));
              return;
            }
            if (auto c = ctx.request.query_param("cursor"); !c.empty()) {
              auto id = decode_cursor(c);
              if (!id) {
                res->fail(make_error(errc::invalid_argument, "invalid cursor"));
                return;
              }
              f.before_id = *id;
            }
            if (auto l = ctx.request.query_param("limit"); !l.empty()) {
              auto n = parse_limit(l, 200);
              if (!n) {
                res->fail(make_error(errc::invalid_argument,
                                     "limit must be 1 to 200"));
                return;
              }
              f.limit = *n;
            }
            using list_t = std::vector<storage::directive_record>;
            auto limit = f.limit;
            // One extra row tells whether there is a next page.
            f.limit += 1;
            run_db<list_t>(
              *spine.sys, spine.storage_pool, spine.timeout, "directives.list",
              [slug = who.org_slug, f](storage::pg_session& db) {
                return storage::list_directives(db, slug, f);
              },
              [res, limit](list_t&& list) {
                bool more = list.size() > static_cast<std::size_t>(limit);
                if (more)
                  list.resize(static_cast<std::size_t>(limit));
                std::string body;
                json_writer w{body};
                w.begin_object().key("directives").begin_array();
                for (auto& d : list)
                  write_directive(w, d);
                w.end_array();
                write_nullable(w, "next_cursor",
                               more ? runtime::base64url_encode(list.back().id)
                                    : std::string{});
                w.end_object();
                res->send(http_response::json(200, std::move(body)));
              },
              fail_to(res));
          }),
        auth_doc("Lists directives newest first (filters: state, type, "
                 "correlation_id; cursor, limit).",
                 "directives"));
  r.add("GET", "/api/v1/directives/{id}",
        tenant_route(spine.auth, action::tenant_read,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       detail::get_one(
                         spine, ctx, res, who, "directives.get", "directive",
                         [](storage::pg_session& db, const std::string& slug,
                            const std::string& id) {
                           return storage::find_directive(db, slug, id);
                         },
                         [](const responder_ptr& out,
                            const storage::directive_record& d) {
                           out->send(one(200, d));
                         });
                     }),
        auth_doc("One directive.", "directives"));
  add_decision_route(r, spine, decision_kind::approve);
  add_decision_route(r, spine, decision_kind::reject);
  add_decision_route(r, spine, decision_kind::cancel);
}

void add_policy_routes(router& r, const spine_services& spine) {
  using actors::action;
  using list_t = std::vector<actors::directive_policy>;
  auto write_list = [](list_t&& list) {
    std::string body;
    json_writer w{body};
    w.begin_object().key("policies").begin_array();
    for (auto& p : list)
      write_policy(w, p);
    w.end_array().end_object();
    return http_response::json(200, std::move(body));
  };
  r.add("GET", "/api/v1/directive-policies",
        tenant_route(spine.auth, action::tenant_read,
                     [spine, write_list](const request_context&,
                                         const responder_ptr& res,
                                         principal who) {
                       run_db<list_t>(
                         *spine.sys, spine.storage_pool, spine.timeout,
                         "directive_policies.list",
                         [tenant = tenant_of(who)](storage::pg_session& db)
                           -> caf::expected<list_t> {
                           list_t out;
                           for (auto& t : actors::platform_directive_types()) {
                             auto p = actors::find_policy(db, tenant, t);
                             if (!p)
                               return std::move(p.error());
                             out.push_back(std::move(*p));
                           }
                           return out;
                         },
                         [res, write_list](list_t&& list) {
                           res->send(write_list(std::move(list)));
                         },
                         fail_to(res));
                     }),
        auth_doc("The effective policy of every directive type.", "directives"));
  r.add("PUT", "/api/v1/directive-policies/{type}",
        tenant_route(spine.auth, action::tenant_admin,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       std::string type{ctx.param("type")};
                       if (!actors::known_directive_type(type)) {
                         res->fail(make_error(errc::invalid_argument,
                                              "unknown directive type \"" + type
                                                + "\""));
                         return;
                       }
                       auto row = parse_policy(ctx.request, type);
                       if (!row) {
                         res->fail(row.error());
                         return;
                       }
                       run_db<actors::directive_policy>(
                         *spine.sys, spine.storage_pool, spine.timeout,
                         "directive_policies.put",
                         [tenant = tenant_of(who), row = std::move(*row)](
                           storage::pg_session& db)
                           -> caf::expected<actors::directive_policy> {
                           auto saved = storage::upsert_directive_policy(
                             db, tenant.slug, row);
                           if (!saved)
                             return std::move(saved.error());
                           return actors::find_policy(db, tenant, row.type);
                         },
                         [res](actors::directive_policy&& p) {
                           std::string body;
                           json_writer w{body};
                           write_policy(w, p);
                           res->send(http_response::json(200, std::move(body)));
                         },
                         fail_to(res));
                     }),
        auth_doc("Sets a directive type's policy for this organization.",
                 "directives", 200, true));
}

void add_destination_routes(router& r, const spine_services& spine) {
  using actors::action;
  r.add("POST", "/api/v1/webhook-destinations",
        tenant_route(spine.auth, action::tenant_admin,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       auto in = parse_destination(ctx.request);
                       if (!in) {
                         res->fail(in.error());
                         return;
                       }
                       run_db<storage::webhook_destination>(
                         *spine.sys, spine.storage_pool, spine.timeout,
                         "webhook_destinations.create",
                         [slug = who.org_slug, keys = spine.keys,
                          in = std::move(*in)](storage::pg_session& db) {
                           return storage::create_webhook_destination(
                             db, slug, keys.get(), in.url, in.description);
                         },
                         [res](storage::webhook_destination&& d) {
                           std::string body;
                           json_writer w{body};
                           write_destination(w, d, true);
                           auto resp = http_response::json(201, std::move(body));
                           resp.set_header("Cache-Control", "no-store");
                           res->send(std::move(resp));
                         },
                         fail_to(res));
                     }),
        auth_doc("Adds a URL prefix to the webhook allowlist; the signing secret "
                 "is shown once.",
                 "webhooks", 201, true));
  r.add("GET", "/api/v1/webhook-destinations",
        tenant_route(spine.auth, action::tenant_admin,
                     [spine](const request_context&, const responder_ptr& res,
                             principal who) {
                       using list_t = std::vector<storage::webhook_destination>;
                       run_db<list_t>(
                         *spine.sys, spine.storage_pool, spine.timeout,
                         "webhook_destinations.list",
                         [slug = who.org_slug](storage::pg_session& db) {
                           return storage::list_webhook_destinations(db, slug);
                         },
                         [res](list_t&& list) {
                           std::string body;
                           json_writer w{body};
                           w.begin_object().key("webhook_destinations").begin_array();
                           for (auto& d : list)
                             write_destination(w, d, false);
                           w.end_array().end_object();
                           res->send(http_response::json(200, std::move(body)));
                         },
                         fail_to(res));
                     }),
        auth_doc("The webhook allowlist (never the secrets).", "webhooks"));
  r.add("DELETE", "/api/v1/webhook-destinations/{id}",
        tenant_route(spine.auth, action::tenant_admin,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       run_db<bool>(
                         *spine.sys, spine.storage_pool, spine.timeout,
                         "webhook_destinations.delete",
                         [slug = who.org_slug, id = std::string{ctx.param("id")}](
                           storage::pg_session& db) {
                           return storage::delete_webhook_destination(db, slug,
                                                                      id);
                         },
                         deleted_or_404(res, "webhook destination"),
                         fail_to(res));
                     }),
        auth_doc("Removes a webhook destination from the allowlist.", "webhooks",
                 204));
}

} // namespace

void add_directive_routes(router& r, const spine_services& spine) {
  add_directive_item_routes(r, spine);
  add_policy_routes(r, spine);
  add_destination_routes(r, spine);
}

} // namespace fp::net
