#pragma once

// The signal bus: group commit for emits that arrive concurrently (the HTTP
// API). Requests queue up for a short linger; a group is committed with ONE
// transaction on the storage pool (one emit-lock, insert, subscription
// lookup and job enqueue per tenant), and every request of the group is
// answered after COMMIT. A database error fails every request of its group
// (each may retry); an invalid item only refuses that item.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "fp/actors/signal_emit.hpp"
#include "fp/runtime/actor_slot.hpp"
#include "fp/runtime/metrics.hpp"
#include "fp/runtime/supervisor.hpp"
#include "fp/runtime/type_ids.hpp"

namespace fp::actors {

/// What one producer emits through the bus.
struct emit_batch {
  tenant_ref tenant;
  storage::signal_actor actor;
  std::vector<signal_input> items;
  /// When the requester stops waiting. A batch still queued then is
  /// dropped (errc::timeout) rather than committed behind the back of a
  /// caller who was told it failed. The default never expires.
  std::chrono::steady_clock::time_point deadline
    = std::chrono::steady_clock::time_point::max();
};

/// The message asking the bus to emit (local only: shares the batch).
struct signal_emit_request {
  std::shared_ptr<const emit_batch> batch;
};

/// The answer: one result per item, in order, after COMMIT.
struct signal_emit_reply {
  std::shared_ptr<const std::vector<emit_result>> results;
};

/// The signal bus:
///   describe                       -> own status
///   (emit, signal_emit_request)    -> signal_emit_reply after COMMIT, or
///                                     the group's database error
///   flush                          -> internal: a linger timer fell due
/// A tenant has at most `tenant_in_flight` groups committing (its groups
/// serialize on the tenant's emit lock anyway); requests arriving meanwhile
/// form its next group, sent as soon as a previous one committed.
using signal_bus_actor = caf::typed_actor<
  runtime::describe_sig,
  caf::replies_to<emit_atom, signal_emit_request>::with<signal_emit_reply>,
  caf::reacts_to<flush_atom>>;

/// How the bus groups emits (see config::settings signal_*).
struct signal_bus_options {
  /// The storage pool (through its slot, so restarts are followed).
  runtime::actor_slot_ptr storage_pool;
  /// How long the first request of a group waits for company; zero
  /// flushes on the bus's next turn (after its queued messages).
  std::chrono::milliseconds linger{2};
  /// A group is flushed early once it holds this many signals.
  unsigned group_max = 2000;
  /// Groups committing at once, in all.
  unsigned max_in_flight = 4;
  /// Groups of one tenant committing at once. They serialize on the
  /// tenant's emit lock, so a second one only overlaps its wait for a pool
  /// worker (and its first statements) with the commit of the first.
  unsigned tenant_in_flight = 2;
  /// A tenant that has a group committing gets another one only when at
  /// least this many of its signals wait: large groups gain from the
  /// overlap, while small ones would only split into more commits and
  /// wait on the emit lock (which costs more than it saves).
  unsigned overlap_min = 500;
  /// Signals allowed to wait for a group; beyond it requests are refused
  /// at once with errc::overloaded (503, retry later).
  std::size_t max_pending = 100000;
  emit_limits limits;
  /// Where the bus counts signals and groups (optional; must outlive the
  /// bus): fp_signals_emitted_total{outcome}, fp_signal_groups_total{outcome}
  /// and fp_signal_group_size.
  runtime::metrics_registry* metrics = nullptr;
};

/// Spawns the bus (kind "signal_bus") as a child of `parent`.
signal_bus_actor spawn_signal_bus(caf::local_actor* parent,
                                  signal_bus_options opts);

} // namespace fp::actors

// Local-only message types: they share memory and never cross a node.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fp::actors::signal_emit_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fp::actors::signal_emit_reply)
