// GET /api/v1/usage: the tenant's executions aggregated over a window of
// whole UTC days ending today (storage/usage.hpp does the arithmetic).

#include "fp/net/usage_routes.hpp"

#include <cmath>
#include <utility>

#include "agent_route_support.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/json.hpp"
#include "fp/storage/usage.hpp"
#include "fp/storage/users.hpp"
#include "route_support.hpp"

namespace fp::net {

namespace {

using agent_detail::invalid;
using detail::fail_to;
using detail::tenant_route;

caf::expected<storage::usage_query> parse_query(const http_request& req) {
  storage::usage_query q;
  if (auto d = req.query_param("days"); !d.empty()) {
    auto n = detail::parse_limit(d, storage::max_usage_days);
    if (!n)
      return invalid("days must be an integer from 1 to "
                     + std::to_string(storage::max_usage_days));
    q.days = *n;
  }
  q.agent_id = req.query_param("agent_id");
  if (!q.agent_id.empty() && !storage::is_uuid(q.agent_id))
    return invalid("agent_id must be a UUID");
  return q;
}

void write_totals(json_writer& w, const storage::usage_totals& t) {
  w.member("executions", t.executions)
    .member("succeeded", t.succeeded)
    .member("failed", t.failed)
    .member("cancelled", t.cancelled)
    .member("tokens_in", t.tokens_in)
    .member("tokens_out", t.tokens_out)
    .member("cost_micros", t.cost_micros);
  // Microsecond precision is plenty (and hides float noise like
  // 2699.999999999999).
  for (auto [name, v] : {std::pair{"latency_p50_ms", t.latency_p50_ms},
                         std::pair{"latency_p95_ms", t.latency_p95_ms}}) {
    w.key(name);
    if (v)
      w.value(std::round(*v * 1000.0) / 1000.0);
    else
      w.null();
  }
}

http_response render(const storage::usage_report& u,
                     const std::string& agent_id) {
  std::string body;
  json_writer w{body};
  w.begin_object()
    .member("days", u.days)
    .member("from", u.from)
    .member("to", u.to);
  detail::write_nullable(w, "agent_id", agent_id);
  w.key("totals").begin_object();
  write_totals(w, u.totals);
  w.end_object();
  w.key("per_day").begin_array();
  for (auto& d : u.per_day) {
    w.begin_object().member("day", d.day);
    write_totals(w, d.totals);
    w.end_object();
  }
  w.end_array().key("per_agent").begin_array();
  for (auto& a : u.per_agent) {
    w.begin_object();
    // Executions without an agent: skill test runs and deleted agents.
    detail::write_nullable(w, "agent_id", a.agent_id);
    detail::write_nullable(w, "name", a.name);
    write_totals(w, a.totals);
    w.end_object();
  }
  w.end_array().key("per_model").begin_array();
  for (auto& m : u.per_model) {
    w.begin_object().member("provider", m.provider).member("model", m.model);
    write_totals(w, m.totals);
    w.end_object();
  }
  w.end_array().end_object();
  return http_response::json(200, std::move(body));
}

} // namespace

void add_usage_routes(router& r, const spine_services& spine) {
  using actors::action;
  auto doc = detail::auth_doc(
    "Usage of the organization: executions, tokens, cost and run time "
    "per UTC day, per agent and per model.",
    "usage");
  doc.description
    = "Query: `days` (1..90, default 14) whole UTC days ending today, every "
      "one present in `per_day`; `agent_id` limits the report to one agent. "
      "Executions count on the day they were queued; `failed` includes "
      "timed-out ones; latencies (started to finished, milliseconds) are "
      "null when nothing finished. `per_agent` lists executions without an "
      "agent (skill test runs, deleted agents) under agent_id null. Costs "
      "are micro-units of the price table's currency.";
  r.add("GET", "/api/v1/usage",
        tenant_route(spine.auth, action::tenant_read,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       auto q = parse_query(ctx.request);
                       if (!q) {
                         res->fail(q.error());
                         return;
                       }
                       run_db<storage::usage_report>(
                         *spine.sys, spine.storage_pool, spine.timeout,
                         "usage.get",
                         [slug = who.org_slug, q = *q](storage::pg_session& db) {
                           return storage::tenant_usage(db, slug, q);
                         },
                         [res, agent = q->agent_id](storage::usage_report&& u) {
                           res->send(render(u, agent));
                         },
                         fail_to(res));
                     }),
        std::move(doc));
}

} // namespace fp::net
