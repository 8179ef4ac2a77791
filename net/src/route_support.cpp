#include "route_support.hpp"

#include <charconv>

#include "fp/runtime/errc.hpp"

namespace fp::net::detail {

route_doc auth_doc(std::string summary, std::string tag, int status,
                   bool json_body, bool bearer) {
  route_doc d;
  d.summary = std::move(summary);
  d.tags = {std::move(tag)};
  d.success_status = status;
  if (status == 204) {
    d.success_type.clear();
    d.success_description = "No Content";
  } else if (status == 201) {
    d.success_description = "Created";
  }
  if (json_body)
    d.request_type = "application/json";
  d.bearer_auth = bearer;
  return d;
}

handler tenant_route(const auth_services& svc, actors::action a,
                     authed_handler fn) {
  return authed(svc, [a, fn = std::move(fn)](const request_context& ctx,
                                             const responder_ptr& res,
                                             principal who) {
    if (auto err = authorize(who, a)) {
      res->fail(err);
      return;
    }
    fn(ctx, res, std::move(who));
  });
}

actors::tenant_ref tenant_of(const principal& who) {
  return {who.org_id, who.org_slug};
}

http_response no_content() {
  http_response resp;
  resp.status = 204;
  return resp;
}

caf::error not_found(std::string_view what) {
  return runtime::make_error(runtime::errc::not_found,
                             std::string{what} + " not found");
}

void write_nullable(json_writer& w, std::string_view name,
                    const std::string& v) {
  w.key(name);
  if (v.empty())
    w.null();
  else
    w.value(v);
}

std::optional<int> parse_limit(std::string_view text, int max) {
  int64_t n = 0;
  auto last = text.data() + text.size();
  auto [end, ec] = std::from_chars(text.data(), last, n);
  if (ec != std::errc{} || end != last || n < 1 || n > max)
    return std::nullopt;
  return static_cast<int>(n);
}

} // namespace fp::net::detail
