// The tenant's daily budget: its own limit and what executions cost since
// the start of the UTC day (agents have their own limits on top).

#include "fp/net/agent_routes.hpp"

#include "agent_route_support.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/json.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/agents.hpp"
#include "route_support.hpp"

namespace fp::net {

namespace {

using namespace agent_detail;
using detail::fail_to;
using detail::tenant_route;
using runtime::errc;
using runtime::make_error;

struct budget_view {
  std::optional<int64_t> limit;
  int64_t spent = 0;
};

caf::expected<budget_view> load_budget(storage::pg_session& db,
                                       std::string_view slug) {
  budget_view v;
  auto limit = storage::tenant_daily_budget(db, slug);
  if (!limit)
    return std::move(limit.error());
  v.limit = *limit;
  auto spent = storage::spent_today(db, slug);
  if (!spent)
    return std::move(spent.error());
  v.spent = *spent;
  return v;
}

http_response render_budget(const budget_view& v) {
  std::string body;
  json_writer w{body};
  w.begin_object().key("daily_budget_micros");
  if (v.limit)
    w.value(*v.limit);
  else
    w.null();
  w.member("spent_today_micros", v.spent);
  w.key("remaining_micros");
  if (v.limit)
    w.value(std::max<int64_t>(0, *v.limit - v.spent));
  else
    w.null();
  w.end_object();
  return http_response::json(200, std::move(body));
}

caf::expected<std::optional<int64_t>> parse_budget(const http_request& req) {
  json_body body;
  od::object obj;
  if (auto err = body.parse_object(req, obj,
                                   "expected {\"daily_budget_micros\":N|null}"))
    return err;
  bool seen = false;
  std::optional<int64_t> out;
  for (auto field : obj) {
    std::string_view key;
    od::value val;
    if (field.unescaped_key().get(key) || field.value().get(val))
      return make_error(errc::bad_request, "unreadable member");
    if (key != "daily_budget_micros")
      continue; // the rendered form's other members are read-only
    seen = true;
    bool is_null = false;
    if (!val.is_null().get(is_null) && is_null)
      continue;
    int64_t n = 0;
    if (auto err = read_int(val, key, n, 0, max_budget_micros))
      return err;
    out = n;
  }
  if (!seen)
    return invalid("missing member \"daily_budget_micros\" (null: no limit)");
  return out;
}

} // namespace

void add_budget_routes(router& r, const spine_services& spine) {
  using actors::action;
  r.add("GET", "/api/v1/budget",
        tenant_route(spine.auth, action::tenant_read,
                     [spine](const request_context&, const responder_ptr& res,
                             principal who) {
                       run_db<budget_view>(
                         *spine.sys, spine.storage_pool, spine.timeout,
                         "budget.get",
                         [slug = who.org_slug](storage::pg_session& db) {
                           return load_budget(db, slug);
                         },
                         [res](budget_view&& v) { res->send(render_budget(v)); },
                         fail_to(res));
                     }),
        detail::auth_doc("The organization's daily budget (micro-units, null: none) and "
            "what executions cost since the start of the UTC day.",
            "budget"));
  r.add("PUT", "/api/v1/budget",
        tenant_route(spine.auth, action::tenant_admin,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       auto limit = parse_budget(ctx.request);
                       if (!limit) {
                         res->fail(limit.error());
                         return;
                       }
                       run_db<budget_view>(
                         *spine.sys, spine.storage_pool, spine.timeout,
                         "budget.put",
                         [slug = who.org_slug,
                          limit = *limit](storage::pg_session& db)
                           -> caf::expected<budget_view> {
                           if (auto err = storage::set_tenant_daily_budget(
                                 db, slug, limit))
                             return err;
                           return load_budget(db, slug);
                         },
                         [res](budget_view&& v) { res->send(render_budget(v)); },
                         fail_to(res));
                     }),
        detail::auth_doc("Sets {daily_budget_micros: N|null} for the "
                         "organization.",
                         "budget", 200, true));
}

} // namespace fp::net
