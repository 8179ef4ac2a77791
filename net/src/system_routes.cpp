// Registration of the system endpoints: each handler parses, authorizes,
// asks an actor through the bridge and renders with a plain function.

#include <memory>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "fp/net/bridge.hpp"
#include "fp/net/problem.hpp"
#include "fp/net/system_routes.hpp"

#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/interfaces.hpp"
#include "fp/runtime/type_ids.hpp"

#ifndef FP_NET_VERSION
#  define FP_NET_VERSION "0.0.0"
#endif

namespace fp::net {

namespace {

namespace log = runtime::log;

route_doc doc(std::string summary, std::vector<std::string> tags,
              std::string success_type = "application/json") {
  route_doc d;
  d.summary = std::move(summary);
  d.tags = std::move(tags);
  d.success_type = std::move(success_type);
  return d;
}

/// The current handle in `slot`, or a null handle (answered 503 by `ask`)
/// when the slot is missing.
template <class Handle>
Handle handle_of(const runtime::actor_slot_ptr& slot) {
  return slot ? slot->get_as<Handle>() : Handle{};
}

/// Generated on first request: routes are fixed once the server runs.
struct openapi_cache {
  std::once_flag once;
  std::string text;
};

} // namespace

void add_system_routes(router& r, system_services svc) {
  if (!svc.sys || !svc.settings || !svc.metrics)
    throw std::invalid_argument("add_system_routes: missing services");

  // -- probes ----------------------------------------------------------------
  r.add(
    "GET", "/livez",
    [](const request_context&, const responder_ptr& res) {
      res->send(livez_response());
    },
    doc("Liveness probe: the process serves HTTP.", {"system"}));

  auto readyz = doc("Readiness probe: the database answers and no "
                    "migration is pending.",
                    {"system"});
  readyz.description = "503 with problem details while not ready.";
  r.add(
    "GET", "/readyz",
    [svc](const request_context&, const responder_ptr& res) {
      ask<runtime::readiness>(
        *svc.sys, handle_of<runtime::health_actor>(svc.health),
        svc.ask_timeout,
        [res](runtime::readiness&& ready) {
          res->send(readiness_response(ready, res->context()));
        },
        [res](caf::error&& err) { res->fail(err); }, fp::ready_atom_v);
    },
    std::move(readyz));

  r.add(
    "GET", "/metrics",
    [metrics = svc.metrics](const request_context&, const responder_ptr& res) {
      res->send(metrics_response(*metrics));
    },
    doc("Prometheus metrics.", {"system"},
        "text/plain; version=0.0.4; charset=utf-8"));

  // -- API ---------------------------------------------------------------------
  r.add(
    "GET", "/api/v1/version",
    [svc](const request_context&, const responder_ptr& res) {
      ask_and_respond<runtime::version_info>(
        *svc.sys, handle_of<runtime::version_actor>(svc.version),
        svc.ask_timeout, res, version_response, fp::version_atom_v);
    },
    doc("The server's name, version and build.", {"system"}));

  auto cache = std::make_shared<openapi_cache>();
  const router* routes = &r;
  r.add(
    "GET", "/api/v1/openapi.json",
    [cache, routes](const request_context&, const responder_ptr& res) {
      std::call_once(cache->once, [&] {
        cache->text = openapi_document(*routes, FP_NET_VERSION);
      });
      res->send(http_response::json(200, cache->text));
    },
    doc("This OpenAPI document.", {"system"}));

  // -- admin ---------------------------------------------------------------------
  // Machines present the admin token; people a platform admin's session
  // (cookie, with the CSRF token on writes). API keys never reach /admin.
  auto admin_only = [svc](handler fn) -> handler {
    return [svc, fn](const request_context& ctx, const responder_ptr& res) {
      auto token_error = check_admin(ctx.request, svc.settings->admin_token);
      if (!token_error) {
        fn(ctx, res);
        return;
      }
      auto cookie = cookie_value(ctx.request.header("cookie"),
                                 session_cookie_name);
      if (!svc.auth || bearer_token(ctx.request) || cookie.empty()) {
        res->fail(token_error);
        return;
      }
      authed(*svc.auth, [fn](const request_context& c, const responder_ptr& r,
                             principal who) {
        if (who.how != principal::via::session || !who.platform_admin) {
          r->fail(runtime::make_error(runtime::errc::forbidden,
                                      "platform admins only"));
          return;
        }
        fn(c, r);
      })(ctx, res);
    };
  };
  auto actors_doc = doc("The live actor tree (flat and nested).", {"admin"});
  actors_doc.bearer_auth = true;
  r.add(
    "GET", "/admin/actors",
    admin_only([svc](const request_context&, const responder_ptr& res) {
      ask_and_respond<std::vector<runtime::actor_node>>(
        *svc.sys, handle_of<runtime::tree_actor>(svc.tree), svc.ask_timeout,
        res,
        [](std::vector<runtime::actor_node>&& nodes) {
          return actors_response(nodes, runtime::unix_ms());
        },
        fp::tree_atom_v);
    }),
    std::move(actors_doc));

  auto level_doc = doc("Sets the process log level.", {"admin"});
  level_doc.bearer_auth = true;
  level_doc.request_type = "application/json";
  r.add(
    "POST", "/admin/log-level",
    admin_only([](const request_context& ctx, const responder_ptr& res) {
      auto lvl = parse_log_level_body(ctx.request);
      if (!lvl) {
        res->fail(lvl.error());
        return;
      }
      log::set_level(*lvl);
      log::info("log level changed", {{"level", log::to_string(*lvl)},
                                      {"request_id", ctx.request_id}});
      res->send(log_level_response(*lvl));
    }),
    std::move(level_doc));
}

} // namespace fp::net
