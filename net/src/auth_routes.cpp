#include "auth_routes.hpp"

#include <stdexcept>

namespace fp::net {

void add_auth_routes(router& r, auth_services svc) {
  if (!svc.sys || !svc.settings)
    throw std::invalid_argument("add_auth_routes: missing services");
  detail::add_session_routes(r, svc);
  detail::add_api_key_routes(r, svc);
}

} // namespace fp::net
