// Console pages of the overview group: the usage dashboard at "/" and the
// platform admins' live actor tree at "/system/actors".

#include "console.hpp"

#include <algorithm>
#include <string>

#include "fp/storage/usage.hpp"
#include "fp/storage/users.hpp"

namespace fp::net::console {

namespace {

/// GET /api/v1/usage for the dashboard's window: `days` and `agent_id` of
/// the page request are passed on when they are well-formed, so a stale or
/// hand-edited link falls back to the default window instead of an error.
std::string usage_target(const request_context& ctx) {
  std::string target = "/api/v1/usage";
  char sep = '?';
  auto days = ctx.request.query_param("days");
  if (!days.empty() && days.size() <= 2
      && std::all_of(days.begin(), days.end(),
                     [](char ch) { return ch >= '0' && ch <= '9'; })) {
    auto n = std::stoi(std::string{days});
    if (n >= 1 && n <= storage::max_usage_days) {
      target += sep + std::string{"days="} + std::to_string(n);
      sep = '&';
    }
  }
  auto agent = ctx.request.query_param("agent_id");
  if (!agent.empty() && storage::is_uuid(agent))
    target += sep + std::string{"agent_id="} + url_encode(agent);
  return target;
}

} // namespace

void add_overview_pages(console& c) {
  page_def dashboard{"/", "Dashboard/Index", access::member, {}};
  prop usage;
  usage.name = "usage";
  usage.target_fn = usage_target;
  dashboard.props.push_back(std::move(usage));
  // Short lists under the charts; the dashboard still renders without them.
  auto recent = api("executions", "/api/v1/executions?limit=5");
  recent.optional = true;
  dashboard.props.push_back(std::move(recent));
  auto awaiting
    = api("directives", "/api/v1/directives?state=awaiting_approval&limit=5");
  awaiting.optional = true;
  dashboard.props.push_back(std::move(awaiting));
  c.add(std::move(dashboard));

  // The API answers platform admins only (session cookie); the page level
  // refuses everyone else before asking it.
  c.add(page_def{"/system/actors", "System/Actors", access::platform_admin,
                 {api("tree", "/admin/actors")}});
}

} // namespace fp::net::console
