// Subscriptions: which signals start which directives. Reading needs
// tenant_read; creating, changing and deleting need tenant_admin.

#include "fp/actors/signal_rules.hpp"
#include "fp/net/auth.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/json.hpp"
#include "fp/net/signal_routes.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/subscriptions.hpp"
#include "json_body.hpp"
#include "route_support.hpp"

namespace fp::net {

namespace {

namespace od = simdjson::ondemand;
using runtime::errc;
using runtime::make_error;

caf::expected<storage::new_subscription> parse_create(const http_request& req) {
  json_body body;
  od::object obj;
  if (auto err = body.parse_object(
        req, obj,
        "expected {\"pattern\":...,\"directive_type\":...,\"params\":{...}}"))
    return err;
  storage::new_subscription sub;
  bool has_pattern = false, has_type = false;
  for (auto field : obj) {
    std::string_view key;
    od::value val;
    if (field.unescaped_key().get(key) || field.value().get(val))
      return make_error(errc::bad_request, "unreadable member");
    std::string_view text;
    if (key == "pattern") {
      if (val.get_string().get(text))
        return make_error(errc::invalid_argument, "pattern must be a string");
      sub.pattern = std::string{text}, has_pattern = true;
    } else if (key == "directive_type") {
      if (val.get_string().get(text))
        return make_error(errc::invalid_argument,
                          "directive_type must be a string");
      sub.directive_type = std::string{text}, has_type = true;
    } else if (key == "params") {
      od::object p;
      if (val.get_object().get(p) || p.raw_json().get(text))
        return make_error(errc::invalid_argument,
                          "params must be a JSON object");
      sub.params = std::string{text};
    } else if (key == "handler_kind") {
      if (val.get_string().get(text) || text != "directive")
        return make_error(errc::invalid_argument,
                          "handler_kind must be \"directive\"");
    }
  }
  if (!has_pattern)
    return make_error(errc::invalid_argument, "missing member \"pattern\"");
  if (!has_type)
    return make_error(errc::invalid_argument,
                      "missing member \"directive_type\"");
  if (auto e = actors::subscription_pattern_error(sub.pattern); !e.empty())
    return make_error(errc::invalid_argument, e);
  if (auto e = actors::directive_type_error(sub.directive_type); !e.empty())
    return make_error(errc::invalid_argument, e);
  // The same object rule as signal payloads (64 KiB is plenty for params).
  if (auto e = actors::signal_payload_error(sub.params, 64 * 1024); !e.empty())
    return make_error(errc::invalid_argument, "params: " + e);
  return sub;
}

caf::expected<bool> parse_enabled(const http_request& req) {
  json_body body;
  od::object obj;
  if (auto err = body.parse_object(req, obj, "expected {\"enabled\":true|false}"))
    return err;
  bool enabled = false;
  auto f = obj.find_field_unordered("enabled");
  if (f.error() == simdjson::NO_SUCH_FIELD)
    return make_error(errc::invalid_argument, "missing member \"enabled\"");
  if (f.get_bool().get(enabled))
    return make_error(errc::invalid_argument, "enabled must be a boolean");
  return enabled;
}

void write_subscription(json_writer& w, const storage::subscription_record& s) {
  w.begin_object()
    .member("id", s.id)
    .member("pattern", s.pattern)
    .member("handler_kind", s.handler_kind)
    .member("directive_type", s.directive_type);
  w.key("params").raw(s.params.empty() ? std::string_view{"{}"}
                                       : std::string_view{s.params});
  w.member("enabled", s.enabled).member("created_at", s.created_at);
  detail::write_nullable(w, "created_by", s.created_by);
  w.end_object();
}

http_response one(int status, const storage::subscription_record& s) {
  std::string body;
  json_writer w{body};
  write_subscription(w, s);
  return http_response::json(status, std::move(body));
}

void send_one(const responder_ptr& res, const storage::subscription_record& s) {
  res->send(one(200, s));
}

route_doc doc(std::string summary, int status = 200, bool json_body = false) {
  return detail::auth_doc(std::move(summary), "subscriptions", status,
                          json_body);
}

} // namespace

void add_subscription_routes(router& r, const spine_services& spine) {
  using actors::action;
  using namespace detail;
  auto create_doc = doc("Creates a subscription: matching signals propose a "
                        "directive.",
                        201, true);
  create_doc.description
    = "Body {pattern, directive_type, params}: pattern is a signal type, "
      "\"<prefix>.*\" or \"*\"; every new matching signal enqueues a "
      "signal.handle job that proposes a directive of directive_type with "
      "params.";
  r.add("POST", "/api/v1/subscriptions",
        tenant_route(spine.auth, action::tenant_admin,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       auto in = parse_create(ctx.request);
                       if (!in) {
                         res->fail(in.error());
                         return;
                       }
                       in->created_by = who.user_id;
                       run_db<storage::subscription_record>(
                         *spine.sys, spine.storage_pool, spine.timeout,
                         "subscriptions.create",
                         [slug = who.org_slug,
                          sub = std::move(*in)](storage::pg_session& db) {
                           return storage::create_subscription(db, slug, sub);
                         },
                         [res](storage::subscription_record&& s) {
                           auto resp = one(201, s);
                           resp.set_header("Location",
                                           "/api/v1/subscriptions/" + s.id);
                           res->send(std::move(resp));
                         },
                         fail_to(res));
                     }),
        std::move(create_doc));
  r.add("GET", "/api/v1/subscriptions",
        tenant_route(spine.auth, action::tenant_read,
                     [spine](const request_context&,
                             const responder_ptr& res, principal who) {
                       using list_t = std::vector<storage::subscription_record>;
                       run_db<list_t>(
                         *spine.sys, spine.storage_pool, spine.timeout,
                         "subscriptions.list",
                         [slug = who.org_slug](storage::pg_session& db) {
                           return storage::list_subscriptions(db, slug);
                         },
                         [res](list_t&& subs) {
                           std::string body;
                           json_writer w{body};
                           w.begin_object().key("subscriptions").begin_array();
                           for (auto& s : subs)
                             write_subscription(w, s);
                           w.end_array().end_object();
                           res->send(http_response::json(200, std::move(body)));
                         },
                         fail_to(res));
                     }),
        doc("Lists the organization's subscriptions."));
  r.add("GET", "/api/v1/subscriptions/{id}",
        tenant_route(spine.auth, action::tenant_read,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       detail::get_one(
                         spine, ctx, res, who, "subscriptions.get",
                         "subscription",
                         [](storage::pg_session& db, const std::string& slug,
                            const std::string& id) {
                           return storage::get_subscription(db, slug, id);
                         },
                         send_one);
                     }),
        doc("One subscription."));
  r.add("PATCH", "/api/v1/subscriptions/{id}",
        tenant_route(spine.auth, action::tenant_admin,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       auto enabled = parse_enabled(ctx.request);
                       if (!enabled) {
                         res->fail(enabled.error());
                         return;
                       }
                       using found_t
                         = std::optional<storage::subscription_record>;
                       run_db<found_t>(
                         *spine.sys, spine.storage_pool, spine.timeout,
                         "subscriptions.enable",
                         [slug = who.org_slug, id = std::string{ctx.param("id")},
                          on = *enabled](storage::pg_session& db)
                           -> caf::expected<found_t> {
                           auto ok = storage::set_subscription_enabled(db, slug,
                                                                       id, on);
                           if (!ok)
                             return std::move(ok.error());
                           if (!*ok)
                             return found_t{};
                           return storage::get_subscription(db, slug, id);
                         },
                         found_or_404(res, "subscription", send_one),
                         fail_to(res));
                     }),
        doc("Enables or disables a subscription: {\"enabled\": bool}.", 200,
            true));
  r.add("DELETE", "/api/v1/subscriptions/{id}",
        tenant_route(spine.auth, action::tenant_admin,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       run_db<bool>(
                         *spine.sys, spine.storage_pool, spine.timeout,
                         "subscriptions.delete",
                         [slug = who.org_slug, id = std::string{ctx.param("id")}](
                           storage::pg_session& db) {
                           return storage::delete_subscription(db, slug, id);
                         },
                         deleted_or_404(res, "subscription"),
                         fail_to(res));
                     }),
        doc("Deletes a subscription.", 204));
}

} // namespace fp::net
