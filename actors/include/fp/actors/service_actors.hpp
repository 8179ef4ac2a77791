#pragma once

#include <chrono>
#include <memory>

#include <caf/fwd.hpp>

#include "fp/runtime/actor_directory.hpp"
#include "fp/runtime/actor_slot.hpp"
#include "fp/runtime/interfaces.hpp"
#include "fp/runtime/metrics.hpp"

namespace fp::actors {

/// The build's identity, as `GET /api/v1/version` reports it.
runtime::version_info build_version();

/// Spawns the actor answering `version` requests.
runtime::version_actor spawn_version_actor(caf::local_actor* parent);

/// How the health actor judges readiness.
struct health_options {
  /// The storage pool (through its slot, so restarts are followed).
  runtime::actor_slot_ptr storage_pool;
  /// Answers younger than this are served from the last check.
  std::chrono::milliseconds cache_for{500};
  /// A check that takes longer counts as "database unreachable".
  std::chrono::milliseconds check_timeout{2000};
};

/// Spawns the actor answering `ready` requests: the database answers a query
/// and no public migration is pending. Concurrent asks share one check.
runtime::health_actor spawn_health_actor(caf::local_actor* parent,
                                         health_options opts);

/// Per-kind mailbox depths sampled by the tree actor, read by `/metrics`.
class mailbox_sample;
using mailbox_sample_ptr = std::shared_ptr<mailbox_sample>;
mailbox_sample_ptr make_mailbox_sample();

/// Spawns the actor that assembles the live actor tree from `directory`,
/// asking each actor to describe itself within `describe_timeout`. Every
/// `sample_every` it refreshes `sample` for the mailbox-depth metric.
runtime::tree_actor spawn_tree_actor(caf::local_actor* parent,
                                     runtime::actor_directory* directory,
                                     mailbox_sample_ptr sample,
                                     std::chrono::milliseconds describe_timeout,
                                     std::chrono::milliseconds sample_every);

/// Adds the actor families to `/metrics`: live actors by kind, mailbox depth
/// by kind (from the latest sample), and restarts by supervised slot.
void register_actor_metrics(runtime::metrics_registry& metrics,
                            runtime::actor_directory& directory,
                            mailbox_sample_ptr sample);

} // namespace fp::actors
