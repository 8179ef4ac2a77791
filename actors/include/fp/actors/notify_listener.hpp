#pragma once

// The LISTEN side of a NOTIFY channel as an actor: the pubsub hub (signals)
// and the execution stream hub (execution events, chat) each own one.

#include <chrono>
#include <string>

#include <caf/fwd.hpp>

#include "fp/runtime/actor_directory.hpp"

namespace fp::actors {

/// What a notify listener needs.
struct notify_listener_options {
  /// libpq connection string or URL.
  std::string conninfo;
  /// The channel to LISTEN on.
  std::string channel;
  std::chrono::milliseconds connect_timeout{5000};
  /// Kind in the actor directory (id: the channel); the directory is
  /// optional and must outlive the listener.
  std::string kind = "notify_listener";
  runtime::actor_directory* directory = nullptr;
};

/// Spawns a detached actor, linked to `parent`, owning a LISTEN connection
/// on `opts.channel`. It sends `(notify, payload)` to `target` for every
/// notification, and `(wake)` whenever LISTEN is (re)established:
/// notifications sent while nobody listened are lost, so the target then
/// re-reads what it serves. It blocks in waits of 100 ms, so it sees its
/// exit (and answers `describe`) promptly; a lost connection is reopened
/// every second, with one warning.
caf::actor spawn_notify_listener(caf::local_actor* parent, caf::actor target,
                                 notify_listener_options opts);

} // namespace fp::actors
