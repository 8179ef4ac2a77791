#pragma once

// What the signal, SSE, directive, job and replay routes need. The
// composition root (node.cpp) fills it; pointers must outlive the server.

#include <chrono>
#include <string>

#include <caf/fwd.hpp>

#include "fp/config/settings.hpp"
#include "fp/net/auth.hpp"
#include "fp/runtime/actor_slot.hpp"
#include "fp/runtime/metrics.hpp"
#include "fp/runtime/secret_box.hpp"

namespace fp::net {

struct spine_services {
  caf::actor_system* sys = nullptr;
  const config::settings* settings = nullptr;
  runtime::metrics_registry* metrics = nullptr;
  /// storage::storage_pool_actor
  runtime::actor_slot_ptr storage_pool;
  /// actors::signal_bus_actor (group commit of emits)
  runtime::actor_slot_ptr signal_bus;
  /// actors::pubsub_hub_actor (SSE fan-out)
  runtime::actor_slot_ptr pubsub;
  /// actors::job_dispatcher_actor
  runtime::actor_slot_ptr jobs;
  /// The agent engine (actors/agent_engine.hpp): cancel and reload messages.
  runtime::actor_slot_ptr agent_engine;
  /// Wakes execution and chat SSE streams (net/execution_stream.hpp).
  runtime::actor_slot_ptr execution_streams;
  /// The master key ring sealing credentials and webhook secrets.
  runtime::key_ring_ptr keys;
  /// Authentication of callers.
  auth_services auth;
  /// How long a handler waits for one database round trip or actor answer.
  std::chrono::milliseconds timeout{10000};
};

} // namespace fp::net
