#include "fp/net/replay_routes.hpp"

#include "fp/actors/replay.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/idempotency.hpp"
#include "fp/net/json.hpp"
#include "fp/net/problem.hpp"
#include "fp/net/signal_routes.hpp"
#include "fp/runtime/errc.hpp"
#include "route_support.hpp"

namespace fp::net {

namespace {

http_response render(const actors::replay_result& r) {
  std::string body;
  json_writer w{body};
  w.begin_object().member("replay_correlation_id", r.correlation_id);
  w.key("signals").begin_array();
  for (const auto& s : r.signals)
    w.begin_object()
      .member("id", s.signal_id)
      .member("type", s.type)
      .member("jobs_enqueued", s.jobs_enqueued)
      .member("replay_signal_id", s.replay_signal_id)
      .end_object();
  w.end_array().member("jobs_enqueued", r.jobs_enqueued).end_object();
  return http_response::json(202, std::move(body));
}

} // namespace

void add_replay_routes(router& r, const spine_services& svc) {
  auto doc = detail::auth_doc("Re-runs a signal's subscription handlers "
                              "under a new correlation.",
                              "signals", 202);
  doc.description = "Tenant admins. Side effects already done are not "
                    "repeated (directive idempotency). Agents the signal "
                    "triggered run again only with ?agents=true (a new "
                    "execution linked to the original). Emits "
                    "signal.replayed linking the original.";
  doc.success_description = "Accepted";
  r.add(
    "POST", "/api/v1/signals/{id}/replay",
    authed(svc.auth,
           idempotent(svc, [svc](const request_context& ctx,
                                 const responder_ptr& res, principal who) {
             if (auto err = authorize(who, actors::action::tenant_admin)) {
               res->fail(err);
               return;
             }
             actors::replay_selection sel;
             sel.signal_id = std::string{ctx.param("id")};
             auto agents = ctx.request.query_param("agents");
             if (!agents.empty() && agents != "true" && agents != "false") {
               res->fail(runtime::make_error(
                 runtime::errc::invalid_argument, "agents must be true or false"));
               return;
             }
             sel.agents = agents == "true";
             run_db<actors::replay_result>(
               *svc.sys, svc.storage_pool, svc.timeout, "signals.replay",
               [tenant = detail::tenant_of(who), sel,
                actor = signal_actor_of(who)](storage::pg_session& db) {
                 return actors::replay_signals(db, tenant, sel, actor);
               },
               [res](actors::replay_result&& out) { res->send(render(out)); },
               detail::fail_to(res));
           })),
    std::move(doc));
}

} // namespace fp::net
