#pragma once

// The wake-up hub of execution and chat SSE streams. A detached listener
// LISTENs on storage::executions_channel; each notification ("<slug>:<id>"
// or "<slug>:conversation:<id>") wakes the streams watching that key. The
// streams then read what is new from PostgreSQL themselves, so the hub
// carries no data and a lost notification costs nothing but latency: after
// the listener reconnects every stream is woken once. The hub also ticks
// the streams once a second (heartbeats, paced reads).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "fp/runtime/actor_directory.hpp"
#include "fp/runtime/supervisor.hpp"
#include "fp/runtime/type_ids.hpp"

namespace fp::net {

/// One stream as the hub sees it. Both calls come from the hub's thread and
/// must not block.
class stream_watcher {
public:
  virtual ~stream_watcher();

  /// The watched feed moved (or may have: after a reconnect).
  virtual void wake() = 0;

  /// Once a second.
  virtual void tick(std::chrono::steady_clock::time_point now) = 0;
};

/// Watch `key` ("<slug>:<execution id>" or "<slug>:conversation:<id>").
struct stream_watch_request {
  std::string key;
  std::shared_ptr<stream_watcher> watcher;
};

/// Messages:
///   describe                              -> status
///   (subscribe, stream_watch_request)     -> watch id (> 0)
///   (unsub, watch id)                     stop watching
///   (notify, payload)                     from the listener
///   wake                                  wake every watcher (reconnect)
///   tick                                  internal timer
using execution_stream_actor = caf::typed_actor<
  runtime::describe_sig,
  caf::replies_to<subscribe_atom, stream_watch_request>::with<uint64_t>,
  caf::reacts_to<unsub_atom, uint64_t>,
  caf::reacts_to<notify_atom, std::string>, caf::reacts_to<wake_atom>,
  caf::reacts_to<tick_atom>>;

/// What the hub needs.
struct execution_stream_options {
  std::string conninfo;
  std::chrono::milliseconds connect_timeout{5000};
  runtime::actor_directory* directory = nullptr;
};

/// Spawns the hub (and its listener, linked) as a child of `parent`.
execution_stream_actor spawn_execution_stream_hub(caf::local_actor* parent,
                                                  execution_stream_options opts);

/// The hub key of execution `id`.
std::string execution_stream_key(std::string_view slug, std::string_view id);

/// The hub key of conversation `id`.
std::string conversation_stream_key(std::string_view slug, std::string_view id);

} // namespace fp::net

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fp::net::stream_watch_request)
