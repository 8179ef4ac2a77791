#pragma once

// The actors of tenancy: one small actor per organization, the registry that
// starts, finds and passivates them, and the reaper of deleted orgs.

#include <chrono>

#include <caf/fwd.hpp>

#include "fp/runtime/actor_directory.hpp"
#include "fp/runtime/actor_slot.hpp"
#include "fp/runtime/interfaces.hpp"

namespace fp::actors {

/// What the tenant registry needs.
struct tenant_registry_options {
  /// The storage pool (through its slot, so restarts are followed).
  runtime::actor_slot_ptr storage_pool;
  /// Where tenant actors are enrolled (kind "tenant", id = slug); must
  /// outlive the registry.
  runtime::actor_directory* directory = nullptr;
  /// A tenant actor unused this long stops; the next request restarts it.
  std::chrono::milliseconds idle_timeout{10 * 60 * 1000};
};

/// Spawns the registry (kind "tenant_registry"). It and its tenant actors
/// monitor each other: tenants stop with the registry, and a crashed tenant
/// is started again with its state reloaded from PostgreSQL, after a backoff
/// that doubles (10 ms .. 5 s) with each crash within a minute.
runtime::tenant_registry_actor
spawn_tenant_registry(caf::local_actor* parent, tenant_registry_options opts);

/// What the reaper needs.
struct org_reaper_options {
  runtime::actor_slot_ptr storage_pool;
  /// Time between purge passes.
  std::chrono::milliseconds interval{60 * 1000};
};

/// Spawns the reaper (kind "org_reaper"): every `interval` it drops the
/// schemas of deleted organizations whose grace has passed.
runtime::org_reaper_actor spawn_org_reaper(caf::local_actor* parent,
                                           org_reaper_options opts);

} // namespace fp::actors
