#pragma once

// Installation actors: one per installation with work in flight, under its
// tenant actor (kind "installation" in the actor directory, id
// "<slug>/<installation id>"). It runs the installer's operations on that
// installation one at a time, each as one storage-pool db task, and
// describes itself with the installation's last known state.
//   describe          -> own status (the installation's state)
//   (run, db_task)    -> attempts it took, or the task's error (queued
//                        behind the operation in flight)
//   idle              internal: its idle timer falling due

#include <chrono>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "fp/runtime/actor_directory.hpp"
#include "fp/runtime/actor_slot.hpp"

namespace fp::actors {

/// Spawns the actor of installation `id` of tenant `slug` as a child of
/// `tenant` (linked), enrolled in `directory` (may be null). Its tasks go
/// to the storage pool in `storage_pool`. It stops after `idle_timeout`
/// without work.
caf::actor spawn_installation_actor(caf::local_actor* tenant, std::string slug,
                                    std::string id,
                                    runtime::actor_slot_ptr storage_pool,
                                    std::chrono::milliseconds idle_timeout,
                                    runtime::actor_directory* directory);

} // namespace fp::actors
