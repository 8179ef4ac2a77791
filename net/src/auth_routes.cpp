#include "auth_routes.hpp"

#include <stdexcept>

namespace fp::net {

namespace detail {

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

} // namespace detail

void add_auth_routes(router& r, auth_services svc) {
  if (!svc.sys || !svc.settings)
    throw std::invalid_argument("add_auth_routes: missing services");
  detail::add_session_routes(r, svc);
  detail::add_api_key_routes(r, svc);
}

} // namespace fp::net
