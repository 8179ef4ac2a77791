#include "fp/actors/notify_listener.hpp"

#include <caf/all.hpp>

#include "fp/runtime/log.hpp"
#include "fp/runtime/messages.hpp"
#include "fp/runtime/type_ids.hpp"
#include "fp/storage/pg_listener.hpp"

namespace fp::actors {

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
  /// The connection was lost (or never opened) since the target last
  /// re-read what it serves.
  bool missed = true;
  bool warned = false;
  static inline const char* name = "fp.notify_listener";
};

caf::behavior listener_impl(caf::stateful_actor<listener_state>* self,
                            caf::actor target, notify_listener_options opts) {
  self->send(self, wake_atom_v);
  return {
    [self](describe_atom) -> runtime::actor_status {
      return {self->state.conn && !self->state.missed ? "listening"
                                                      : "connecting",
              self->mailbox().size()};
    },
    [self, target, opts](wake_atom) {
      auto& st = self->state;
      if (!st.conn) {
        auto opened = storage::pg_listener::open(opts.conninfo, {opts.channel},
                                                 opts.connect_timeout);
        if (!opened) {
          if (!st.warned)
            log::warn("notify listener cannot connect",
                      {{"channel", opts.channel},
                       {"error", self->system().render(opened.error())}});
          st.warned = true;
          self->delayed_send(self, reopen_delay, wake_atom_v);
          return;
        }
        st.conn = std::move(*opened);
        st.warned = false;
      }
      // A wait after a loss reconnects first.
      auto err = st.conn->wait(
        wait_slice, [self, &target](std::string_view, std::string_view payload) {
          self->send(target, notify_atom_v, std::string{payload});
        });
      if (err) {
        st.missed = true;
      } else if (st.missed && st.conn->listening()) {
        st.missed = false;
        self->send(target, wake_atom_v);
      }
      self->send(self, wake_atom_v);
    },
  };
}

} // namespace

caf::actor spawn_notify_listener(caf::local_actor* parent, caf::actor target,
                                 notify_listener_options opts) {
  auto* directory = opts.directory;
  auto kind = opts.kind;
  auto channel = opts.channel;
  auto listener = parent->spawn<caf::detached + caf::linked>(
    listener_impl, std::move(target), std::move(opts));
  if (directory)
    directory->enroll(listener, kind, channel, parent->id());
  return listener;
}

} // namespace fp::actors
