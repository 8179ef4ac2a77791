#pragma once

// Private to net/: the pieces every tenant route file repeated: the
// authorizing wrapper, the route_doc builder, run_db callbacks for 404 and
// 204 answers, and `limit` parsing.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <caf/error.hpp>

#include "fp/actors/signal_emit.hpp"
#include "fp/actors/tenancy.hpp"
#include "fp/net/auth.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/http_types.hpp"
#include "fp/net/json.hpp"
#include "fp/net/router.hpp"
#include "fp/net/spine_services.hpp"

namespace fp::net::detail {

/// A route_doc with `summary` under tag `tag`; 201 and 204 get their usual
/// descriptions (204 has no body).
route_doc auth_doc(std::string summary, std::string tag, int status = 200,
                   bool json_body = false, bool bearer = true);

/// `authed` plus the policy check for `a`.
handler tenant_route(const auth_services& svc, actors::action a,
                     authed_handler fn);

/// The tenant the principal is bound to.
actors::tenant_ref tenant_of(const principal& who);

/// An empty 204 answer.
http_response no_content();

/// `errc::not_found` with "<what> not found".
caf::error not_found(std::string_view what);

/// Writes member `name` as `v`, or null when `v` is empty.
void write_nullable(json_writer& w, std::string_view name, const std::string& v);

/// A `limit` query value from 1 to `max` (decimal digits only); nullopt
/// otherwise. Callers keep their own error text.
std::optional<int> parse_limit(std::string_view text, int max);

/// A run_db error callback that answers with the error.
inline auto fail_to(responder_ptr res) {
  return [res = std::move(res)](caf::error&& err) { res->fail(err); };
}

/// A run_db callback for an optional result: 404 "<what> not found" when
/// empty, else `send(res, value)`.
template <class Send>
auto found_or_404(responder_ptr res, std::string what, Send send) {
  return [res = std::move(res), what = std::move(what),
          send = std::move(send)](auto&& found) {
    if (!found) {
      res->fail(not_found(what));
      return;
    }
    send(res, *found);
  };
}

/// Answers the GET of one tenant resource: `find(db, slug, id)` (giving
/// `caf::expected<std::optional<R>>`, id from the `{id}` path parameter)
/// runs as db task `label`; then 404 "<what> not found", or `send(res, r)`.
template <class Find, class Send>
void get_one(const spine_services& spine, const request_context& ctx,
             const responder_ptr& res, const principal& who, std::string label,
             std::string what, Find find, Send send) {
  using found_t = typename std::decay_t<decltype(find(
    std::declval<storage::pg_session&>(), std::string{}, std::string{}))>::value_type;
  run_db<found_t>(
    *spine.sys, spine.storage_pool, spine.timeout, std::move(label),
    [find = std::move(find), slug = who.org_slug,
     id = std::string{ctx.param("id")}](storage::pg_session& db) {
      return find(db, slug, id);
    },
    found_or_404(res, std::move(what), std::move(send)), fail_to(res));
}

/// A run_db callback for a delete: 204 when `found`, else 404
/// "<what> not found".
inline auto deleted_or_404(responder_ptr res, std::string what) {
  return [res = std::move(res), what = std::move(what)](bool found) {
    if (!found) {
      res->fail(not_found(what));
      return;
    }
    res->send(no_content());
  };
}

} // namespace fp::net::detail
