// Plain functions behind the probe, metrics and version endpoints.

#include "fp/net/json.hpp"
#include "fp/net/problem.hpp"
#include "fp/net/system_routes.hpp"

namespace fp::net {

http_response livez_response() {
  return http_response::json(200, R"({"status":"ok"})");
}

http_response readiness_response(const runtime::readiness& r,
                                 const request_context& ctx) {
  if (r.ready) {
    std::string body;
    json_writer w{body};
    w.begin_object()
      .member("status", "ready")
      .member("database_reachable", r.database_reachable)
      .member("pending_migrations", r.pending_migrations)
      .end_object();
    return http_response::json(200, std::move(body));
  }
  auto detail = r.detail;
  if (detail.empty())
    detail = !r.database_reachable ? "database unreachable"
                                   : std::to_string(r.pending_migrations)
                                       + " pending migrations";
  auto res = problem(ctx, 503, "Not Ready", std::move(detail),
                     [r](json_writer& w) {
                       w.member("ready", false)
                         .member("database_reachable", r.database_reachable)
                         .member("pending_migrations", r.pending_migrations);
                     });
  res.set_header("Retry-After", "5");
  return res;
}

http_response version_response(const runtime::version_info& v) {
  std::string body;
  body.reserve(64 + v.name.size() + v.version.size() + v.commit.size()
               + v.build_type.size());
  json_writer w{body};
  w.begin_object()
    .member("name", v.name)
    .member("version", v.version)
    .member("commit", v.commit)
    .member("build_type", v.build_type)
    .end_object();
  return http_response::json(200, std::move(body));
}

http_response metrics_response(const runtime::metrics_registry& metrics) {
  return http_response::text(200, metrics.render(),
                             "text/plain; version=0.0.4; charset=utf-8");
}

} // namespace fp::net
