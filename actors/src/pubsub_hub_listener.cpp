// The hub's listener: a detached actor owning the LISTEN connection on
// `fp_signals`. It blocks in short waits, so exit messages (its link to the
// hub) are seen between two waits.

#include <caf/all.hpp>

#include "fp/runtime/log.hpp"
#include "fp/storage/pg_listener.hpp"
#include "pubsub_hub_impl.hpp"

namespace fp::actors::detail {

namespace {

namespace log = runtime::log;
using namespace std::chrono_literals;

/// How long one wait blocks: bounds how late the listener sees its exit or
/// answers `describe` (the actor tree waits 500 ms).
constexpr auto wait_slice = 100ms;
/// Between two failed attempts to open the connection.
constexpr auto reopen_delay = 1s;

struct listener_state {
  std::unique_ptr<storage::pg_listener> conn;
  /// The connection was lost (or never opened) since the hub last re-read
  /// its feeds.
  bool missed = true;
  bool warned = false;
  static inline const char* name = "fp.pubsub_listener";
};

caf::behavior listener_impl(caf::stateful_actor<listener_state>* self,
                            pubsub_hub_actor hub, std::string conninfo,
                            std::chrono::milliseconds connect_timeout) {
  self->send(self, wake_atom_v);
  return {
    [self](describe_atom) -> runtime::actor_status {
      return {self->state.conn && !self->state.missed ? "listening"
                                                      : "connecting",
              self->mailbox().size()};
    },
    [self, hub, conninfo, connect_timeout](wake_atom) {
      auto& st = self->state;
      if (!st.conn) {
        auto opened = storage::pg_listener::open(
          conninfo, {std::string{storage::signals_channel}}, connect_timeout);
        if (!opened) {
          if (!st.warned)
            log::warn("pubsub listener cannot connect",
                      {{"error", self->system().render(opened.error())}});
          st.warned = true;
          self->delayed_send(self, reopen_delay, wake_atom_v);
          return;
        }
        st.conn = std::move(*opened);
        st.warned = false;
      }
      // A wait after a loss reconnects first.
      auto err = st.conn->wait(
        wait_slice, [self, &hub](std::string_view, std::string_view payload) {
          self->send(hub, notify_atom_v, std::string{payload});
        });
      if (err) {
        st.missed = true;
      } else if (st.missed && st.conn->listening()) {
        // Notifications sent while nobody listened are lost: now that the
        // LISTEN is back, the hub re-reads every feed it serves from its
        // last position; later commits are announced.
        st.missed = false;
        self->send(hub, wake_atom_v);
      }
      self->send(self, wake_atom_v);
    },
  };
}

} // namespace

caf::actor spawn_listener(pubsub_hub_actor::pointer hub,
                          const pubsub_options& opts) {
  auto handle = caf::actor_cast<pubsub_hub_actor>(hub);
  auto listener = hub->spawn<caf::detached + caf::linked>(
    listener_impl, handle, opts.conninfo, opts.connect_timeout);
  if (opts.directory)
    opts.directory->enroll(listener, "pubsub_listener",
                           std::string{storage::signals_channel}, hub->id());
  return listener;
}

} // namespace fp::actors::detail
