// Console pages of the package catalog and the installations (see
// console.hpp): the catalog and a package's page, the install form built
// from a version's config_schema, and an installation's page with its
// upgrade, reconfiguration and lifecycle actions. Every write is an admin
// action forwarded to /api/v1/installations, which checks it again.

#include "console.hpp"

namespace fp::net::console {

namespace {

/// "/api/v1/packages/<publisher>/<name>" of the page's path parameters.
std::string package_target(const request_context& ctx) {
  return "/api/v1/packages/" + url_encode(ctx.param("publisher")) + "/"
         + url_encode(ctx.param("name"));
}

/// The version the page shows with its manifest: `?version=`, else the
/// latest.
std::string release_target(const request_context& ctx) {
  auto v = ctx.request.query_param("version");
  return package_target(ctx) + "/versions/" + (v.empty() ? "latest" : url_encode(v));
}

/// "publisher/name" of `?package=` split into an API path, or "" when the
/// query does not name a package.
std::string named_package_target(const request_context& ctx) {
  auto name = ctx.request.query_param("package");
  auto slash = name.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == name.size()
      || name.find('/', slash + 1) != std::string::npos)
    return {};
  return "/api/v1/packages/" + url_encode(name.substr(0, slash)) + "/"
         + url_encode(name.substr(slash + 1));
}

prop computed(std::string name, std::function<std::string(const request_context&)> fn,
              bool optional = false) {
  prop p;
  p.name = std::move(name);
  p.target_fn = std::move(fn);
  p.optional = optional;
  return p;
}

/// An admin action on installation {id} forwarded to `method target`.
action_def installation_action(std::string pattern, std::string method,
                               std::string target, std::string success,
                               bool with_body) {
  action_def a;
  a.pattern = std::move(pattern);
  a.level = access::admin;
  a.api_method = std::move(method);
  a.api_target = std::move(target);
  a.redirect = "/installations/{id}";
  a.success = std::move(success);
  if (!with_body)
    a.api_body = [](const request_context&) { return std::string{}; };
  return a;
}

} // namespace

void add_package_pages(console& c) {
  // -- the catalog ------------------------------------------------------------------
  c.add(page_def{"/packages",
                 "Packages/Index",
                 access::member,
                 {api("packages", "/api/v1/packages?limit=24", {"q", "cursor"})}});

  auto installations_of = [](const request_context& ctx) {
    return "/api/v1/installations?limit=20&package="
           + url_encode(std::string{ctx.param("publisher")} + "/"
                        + std::string{ctx.param("name")});
  };
  c.add(page_def{"/packages/{publisher}/{name}",
                 "Packages/Show",
                 access::member,
                 {computed("package", package_target),
                  computed("release", release_target, true),
                  computed("installations", installations_of, true)}});

  // -- installing ----------------------------------------------------------------------
  c.add(page_def{"/packages/{publisher}/{name}/install",
                 "Packages/Install",
                 access::admin,
                 {computed("package", package_target),
                  computed("release", release_target, true)}});
  action_def install;
  install.pattern = "/packages/{publisher}/{name}/install";
  install.level = access::admin;
  install.api_method = "POST";
  install.api_target = "/api/v1/installations";
  install.redirect = "/installations/{result.id}";
  install.success = "Installation requested.";
  c.add(std::move(install));

  // -- installations ---------------------------------------------------------------------
  c.add(page_def{"/installations",
                 "Installations/Index",
                 access::member,
                 {api("installations", "/api/v1/installations?limit=50",
                      {"state", "package", "cursor"})}});
  c.add(page_def{"/installations/{id}",
                 "Installations/Show",
                 access::member,
                 {api("installation", "/api/v1/installations/{id}"),
                  api("history", "/api/v1/installations/{id}/history")}});
  // Upgrade and reconfigure: `?package=` (the installation's, passed by its
  // page) gives the versions, `?version=` the schema the form is built
  // from (default: the latest).
  auto change_release = [](const request_context& ctx) -> std::string {
    auto pkg = named_package_target(ctx);
    if (pkg.empty())
      return {};
    auto v = ctx.request.query_param("version");
    return pkg + "/versions/" + (v.empty() ? "latest" : url_encode(v));
  };
  c.add(page_def{"/installations/{id}/change",
                 "Installations/Change",
                 access::admin,
                 {api("installation", "/api/v1/installations/{id}"),
                  computed("package", named_package_target, true),
                  computed("release", change_release, true)}});

  c.add(installation_action("/installations/{id}/upgrade", "POST",
                            "/api/v1/installations/{id}/upgrade",
                            "Upgrade requested.", true));
  c.add(installation_action("/installations/{id}/reconfigure", "PATCH",
                            "/api/v1/installations/{id}",
                            "Reconfiguration requested.", true));
  c.add(installation_action("/installations/{id}/disable", "POST",
                            "/api/v1/installations/{id}/disable",
                            "Installation disabled.", false));
  c.add(installation_action("/installations/{id}/enable", "POST",
                            "/api/v1/installations/{id}/enable",
                            "Installation enabled.", false));
  c.add(installation_action("/installations/{id}/retry", "POST",
                            "/api/v1/installations/{id}/retry",
                            "Retry requested.", false));
  c.add(installation_action("/installations/{id}/uninstall", "DELETE",
                            "/api/v1/installations/{id}",
                            "Uninstall requested.", false));
}

} // namespace fp::net::console
