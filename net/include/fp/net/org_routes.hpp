#pragma once

// The organization endpoints: create, list and delete organizations, and
// manage their members. Every handler runs behind `authed` with the
// caller's principal; the database work runs on the storage pool.

#include <chrono>
#include <string>

#include <caf/fwd.hpp>

#include "fp/config/settings.hpp"
#include "fp/net/auth.hpp"
#include "fp/net/principal.hpp"
#include "fp/net/router.hpp"
#include "fp/runtime/actor_slot.hpp"

namespace fp::net {

/// What the organization handlers need; pointers must outlive the server.
struct org_services {
  caf::actor_system* sys = nullptr;
  const config::settings* settings = nullptr;
  /// The storage pool (storage::storage_pool_actor).
  runtime::actor_slot_ptr storage_pool;
  /// How long a handler waits for its database work (the creation saga
  /// included).
  std::chrono::milliseconds db_timeout{30000};
  /// Cleared when an organization is deleted (its keys stop working).
  std::shared_ptr<api_key_cache> key_cache;
};

/// Registers, each wrapped in `authed(auth, ...)`:
///   POST   /api/v1/orgs                         create; the caller is owner
///   GET    /api/v1/orgs                         the caller's orgs and roles
///   DELETE /api/v1/orgs/{slug}                  soft delete (owners)
///   GET    /api/v1/orgs/{slug}/members          list members
///   POST   /api/v1/orgs/{slug}/members          add {email, role}
///   DELETE /api/v1/orgs/{slug}/members/{user}   remove a member
/// A caller who is not a member gets the same 404 as for an unknown slug.
void add_org_routes(router& r, org_services svc, auth_services auth);

// -- the handlers, as plain functions -------------------------------------------------

void create_org_handler(const org_services& svc, const request_context& ctx,
                        const responder_ptr& res, const principal& who);
void list_orgs_handler(const org_services& svc, const request_context& ctx,
                       const responder_ptr& res, const principal& who);
void delete_org_handler(const org_services& svc, const request_context& ctx,
                        const responder_ptr& res, const principal& who);
void list_members_handler(const org_services& svc, const request_context& ctx,
                          const responder_ptr& res, const principal& who);
void add_member_handler(const org_services& svc, const request_context& ctx,
                        const responder_ptr& res, const principal& who);
void remove_member_handler(const org_services& svc, const request_context& ctx,
                           const responder_ptr& res, const principal& who);

} // namespace fp::net
