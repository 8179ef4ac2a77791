#include "fp/net/idempotency.hpp"

#include <algorithm>
#include <memory>

#include "fp/net/db_bridge.hpp"
#include "fp/net/problem.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/idempotency.hpp"

namespace fp::net {

namespace {

using runtime::errc;
using runtime::make_error;
using storage::idempotency_claim;

/// The stored answer as a replay.
http_response replayed(const idempotency_claim& c) {
  http_response res;
  // The original created the resource; the repeat only reports it.
  res.status = c.status == 201 ? 200 : c.status;
  res.content_type = c.content_type;
  res.body = c.body;
  res.set_header(idempotent_replayed_header, "true");
  return res;
}

struct call_state {
  spine_services svc;
  storage::idempotency_ref ref;
  std::string token;
  responder_ptr res;
};

/// Stores (2xx) or releases (anything else) the claim, then answers.
void finish(const std::shared_ptr<call_state>& st, http_response out) {
  auto answer = std::make_shared<http_response>(std::move(out));
  bool success = answer->status >= 200 && answer->status < 300;
  auto send = [st, answer](auto&&...) { st->res->send(std::move(*answer)); };
  auto on_err = [st, answer](caf::error&& err) {
    // The request's own outcome stands (a 2xx is committed); the key stays
    // claimed until its lease ends.
    namespace log = runtime::log;
    if (log::enabled(log::level::warn))
      log::write(log::level::warn, "idempotency key not recorded",
                 {{"request_id", st->res->context().request_id},
                  {"error", caf::to_string(err)}});
    st->res->send(std::move(*answer));
  };
  if (success)
    run_db<bool>(
      *st->svc.sys, st->svc.storage_pool, st->svc.timeout, "idempotency.complete",
      [ref = st->ref, token = st->token, status = answer->status,
       type = answer->content_type,
       body = answer->body](storage::pg_session& db) {
        return storage::complete_idempotency_key(db, ref, token, status, type,
                                                 body);
      },
      send, on_err);
  else
    run_db<bool>(
      *st->svc.sys, st->svc.storage_pool, st->svc.timeout, "idempotency.release",
      [ref = st->ref, token = st->token](storage::pg_session& db) {
        return storage::release_idempotency_key(db, ref, token);
      },
      send, on_err);
}

} // namespace

bool valid_idempotency_key(std::string_view key) noexcept {
  return !key.empty() && key.size() <= 255
         && std::all_of(key.begin(), key.end(),
                        [](char c) { return c >= 0x20 && c <= 0x7e; });
}

std::string idempotency_scope(const principal& who) {
  if (who.how == principal::via::api_key)
    return "key:" + who.api_key_id;
  return "user:" + who.user_id;
}

authed_handler idempotent(const spine_services& svc, authed_handler fn) {
  return [svc, fn = std::move(fn)](const request_context& ctx,
                                   const responder_ptr& res, principal who) {
    const auto& req = ctx.request;
    // Without a tenant the handler refuses the request itself; there is no
    // table to keep the key in.
    if (!req.has_header(idempotency_key_header) || !who.has_tenant()) {
      fn(ctx, res, std::move(who));
      return;
    }
    auto key = req.header(idempotency_key_header);
    if (!valid_idempotency_key(key)) {
      res->fail(make_error(errc::bad_request,
                           "Idempotency-Key must have 1 to 255 printable "
                           "ASCII characters"));
      return;
    }
    auto st = std::make_shared<call_state>();
    st->svc = svc;
    st->ref = storage::idempotency_ref{who.org_slug, idempotency_scope(who),
                                       std::string{key}};
    st->res = res;
    auto lease = std::chrono::duration_cast<std::chrono::milliseconds>(
      idempotency_lease);
    if (svc.settings)
      lease = std::max(lease, svc.settings->request_timeout);
    auto on_claim = [st, fn, who, ctx](idempotency_claim&& claim) mutable {
      using outcome = idempotency_claim::outcome;
      switch (claim.what) {
        case outcome::completed:
          st->res->send(replayed(claim));
          return;
        case outcome::mismatch:
          st->res->fail(make_error(errc::invalid_argument,
                                   "Idempotency-Key reused with a different "
                                   "request"));
          return;
        case outcome::in_flight:
          st->res->fail(make_error(errc::conflict,
                                   "a request with this Idempotency-Key is "
                                   "still in flight; retry later"));
          return;
        case outcome::claimed:
          break;
      }
      st->token = std::move(claim.token);
      auto capture = make_capturing_responder(
        ctx, [st](http_response out) { finish(st, std::move(out)); });
      fn(capture->context(), capture, std::move(who));
    };
    // The claim commits on its own, before the request runs, so that
    // concurrent repeats see it.
    run_db<idempotency_claim>(
      *svc.sys, svc.storage_pool, svc.timeout, "idempotency.claim",
      [ref = st->ref, route = req.method + " " + ctx.route,
       hash = storage::idempotency_request_hash(req.method, req.path, req.body),
       lease](storage::pg_session& db) {
        return storage::claim_idempotency_key(db, ref, route, hash, lease);
      },
      std::move(on_claim), [res](caf::error&& err) { res->fail(err); });
  };
}

} // namespace fp::net
