#pragma once

// The package registry over HTTP (global, not tenant-scoped): publishing
// manifests, listing and searching packages, their versions by SemVer
// precedence, yanking, and resolving a range with its dependencies.
// Reads: any authenticated caller except a publish-only API key.
// Publishing: a platform admin's session, or an API key with scope
// `publish` (its organization claims an unclaimed publisher). Yanking: a
// platform admin, or a `publish` key of the publisher's organization.

#include "fp/net/router.hpp"
#include "fp/net/spine_services.hpp"

namespace fp::net {

/// `POST|GET /api/v1/packages`, `GET /api/v1/packages/{publisher}/{name}`,
/// `GET .../resolve`, `GET .../versions/{version}`,
/// `POST .../versions/{version}/yank|unyank`.
void add_package_routes(router& r, const spine_services& spine);

} // namespace fp::net
