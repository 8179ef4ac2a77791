// Jobs of the caller's organization. Listing shows each attempt's error
// (the dead letter), so it is for admins like retry and cancel. The tenant
// is the caller's bound organization, never a parameter.

#include "fp/net/job_routes.hpp"

#include <charconv>

#include "auth_routes.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/json.hpp"
#include "fp/runtime/crypto.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/jobs.hpp"

namespace fp::net {

namespace {

using runtime::errc;
using runtime::make_error;

std::optional<int64_t> parse_positive(std::string_view text) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size() || v <= 0)
    return std::nullopt;
  return v;
}

/// Cursors are the last listed id, base64url-encoded (opaque to clients).
std::string encode_cursor(int64_t id) {
  return runtime::base64url_encode(std::to_string(id));
}

std::optional<int64_t> decode_cursor(std::string_view cursor) {
  auto raw = runtime::base64url_decode(cursor);
  if (!raw)
    return std::nullopt;
  return parse_positive(*raw);
}

caf::expected<storage::job_filter> parse_filter(const http_request& req,
                                                const principal& who) {
  storage::job_filter f;
  f.tenant = who.org_id;
  f.state = req.query_param("state");
  if (!f.state.empty() && !storage::valid_job_state(f.state))
    return make_error(errc::invalid_argument,
                      "state must be one of available, scheduled, running, "
                      "completed, discarded, cancelled");
  f.queue = req.query_param("queue");
  f.kind = req.query_param("kind");
  if (auto c = req.query_param("cursor"); !c.empty()) {
    auto id = decode_cursor(c);
    if (!id)
      return make_error(errc::invalid_argument, "invalid cursor");
    f.before_id = *id;
  }
  if (auto l = req.query_param("limit"); !l.empty()) {
    auto n = detail::parse_limit(l, 500);
    if (!n)
      return make_error(errc::invalid_argument,
                        "limit must be a number from 1 to 500");
    f.limit = *n;
  }
  return f;
}

void write_job(json_writer& w, const storage::job_record& j) {
  w.begin_object()
    .member("id", j.id)
    .member("queue", j.queue)
    .member("kind", j.kind)
    .member("state", j.state)
    .member("attempt", j.attempt)
    .member("max_attempts", j.max_attempts)
    .member("priority", j.priority);
  detail::write_nullable(w, "run_at", j.run_at);
  detail::write_nullable(w, "created_at", j.created_at);
  detail::write_nullable(w, "attempted_at", j.attempted_at);
  detail::write_nullable(w, "finished_at", j.finished_at);
  w.key("errors").raw(j.errors.empty() ? std::string_view{"[]"} : j.errors);
  w.key("args").raw(j.args.empty() ? std::string_view{"{}"} : j.args);
  w.end_object();
}

http_response job_response(const storage::job_record& j) {
  std::string body;
  json_writer w{body};
  write_job(w, j);
  return http_response::json(200, std::move(body));
}

/// Admins of the bound organization; a platform admin's session bound to
/// an organization as well.
handler admin_route(const auth_services& svc, authed_handler fn) {
  return authed(svc, [fn = std::move(fn)](const request_context& ctx,
                                          const responder_ptr& res,
                                          principal who) {
    bool platform = who.how == principal::via::session && who.platform_admin
                    && who.has_tenant();
    if (!platform) {
      if (auto err = authorize(who, actors::action::tenant_admin)) {
        res->fail(err);
        return;
      }
    }
    fn(ctx, res, std::move(who));
  });
}

caf::error job_not_found() {
  return detail::not_found("job");
}

enum class job_action { retry, cancel };

void add_action_route(router& r, const spine_services& spine,
                      const auth_services& auth, job_action what) {
  const char* verb = what == job_action::retry ? "retry" : "cancel";
  auto doc = detail::auth_doc(what == job_action::retry
                                ? "Makes a discarded or cancelled job "
                                  "available again."
                                : "Cancels a job that has not finished.",
                              "jobs");
  doc.description = what == job_action::retry
                      ? "The job keeps its error history and gets at least "
                        "one more attempt. 409 when the job is in another "
                        "state."
                      : "An available, scheduled, running or discarded job "
                        "becomes cancelled; a running job's completion is "
                        "then rejected. 409 when it already finished.";
  r.add(
    "POST", std::string{"/api/v1/jobs/{id}/"} + verb,
    admin_route(auth, [spine, what](const request_context& ctx,
                                    const responder_ptr& res, principal who) {
      auto id = parse_positive(ctx.param("id"));
      if (!id) {
        res->fail(job_not_found());
        return;
      }
      using found_t = std::optional<storage::job_record>;
      run_db<found_t>(
        *spine.sys, spine.storage_pool, spine.timeout,
        what == job_action::retry ? "jobs.retry" : "jobs.cancel",
        [org = who.org_id, id = *id, what](storage::pg_session& db) {
          std::optional<std::string> tenant{org};
          return what == job_action::retry ? storage::retry_job(db, tenant, id)
                                           : storage::cancel_job(db, tenant, id);
        },
        detail::found_or_404(res, "job",
                             [](const responder_ptr& out,
                                const storage::job_record& j) {
                               out->send(job_response(j));
                             }),
        detail::fail_to(res));
    }),
    std::move(doc));
}

} // namespace

void add_job_routes(router& r, const spine_services& spine) {
  auto auth = spine.auth;
  auth.db_timeout = spine.timeout;
  auto list_doc = detail::auth_doc("Lists the organization's jobs, newest "
                                   "first.",
                                   "jobs");
  list_doc.description
    = "Filters: state (available, scheduled, running, completed, discarded "
      "- the dead letter -, cancelled), queue, kind; cursor pagination "
      "(next_cursor) and limit (1..500, default 50). Each job shows every "
      "attempt's error.";
  r.add("GET", "/api/v1/jobs",
        admin_route(auth, [spine](const request_context& ctx,
                                  const responder_ptr& res, principal who) {
          auto filter = parse_filter(ctx.request, who);
          if (!filter) {
            res->fail(filter.error());
            return;
          }
          run_db<storage::job_page>(
            *spine.sys, spine.storage_pool, spine.timeout, "jobs.list",
            [f = std::move(*filter)](storage::pg_session& db) {
              return storage::list_jobs(db, f);
            },
            [res](storage::job_page&& page) {
              std::string body;
              json_writer w{body};
              w.begin_object().key("jobs").begin_array();
              for (auto& j : page.jobs)
                write_job(w, j);
              w.end_array();
              detail::write_nullable(w, "next_cursor",
                                     page.next_cursor > 0
                                       ? encode_cursor(page.next_cursor)
                                       : std::string{});
              w.end_object();
              res->send(http_response::json(200, std::move(body)));
            },
            detail::fail_to(res));
        }),
        std::move(list_doc));
  add_action_route(r, spine, auth, job_action::retry);
  add_action_route(r, spine, auth, job_action::cancel);
}

} // namespace fp::net
