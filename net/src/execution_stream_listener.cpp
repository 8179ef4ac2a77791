// The stream hub's listener: a detached actor owning the LISTEN connection
// on `fp_executions`. It blocks in short waits, so exit messages (its link
// to the hub) are seen between two waits.

#include <caf/all.hpp>

#include "execution_stream_impl.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/executions.hpp"
#include "fp/storage/pg_listener.hpp"

namespace fp::net::detail {

namespace {

namespace log = runtime::log;
using namespace std::chrono_literals;

/// How long one wait blocks: bounds how late the listener sees its exit.
constexpr auto wait_slice = 100ms;
/// Between two failed attempts to open the connection.
constexpr auto reopen_delay = 1s;

struct listener_state {
  std::unique_ptr<storage::pg_listener> conn;
  /// The connection was lost (or never opened) since the hub last woke
  /// every stream.
  bool missed = true;
  bool warned = false;
  static inline const char* name = "fp.execution_stream_listener";
};

caf::behavior listener_impl(caf::stateful_actor<listener_state>* self,
                            execution_stream_actor hub, std::string conninfo,
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
          conninfo, {std::string{storage::executions_channel}},
          connect_timeout);
        if (!opened) {
          if (!st.warned)
            log::warn("execution stream listener cannot connect",
                      {{"error", self->system().render(opened.error())}});
          st.warned = true;
          self->delayed_send(self, reopen_delay, wake_atom_v);
          return;
        }
        st.conn = std::move(*opened);
        st.warned = false;
      }
      auto err = st.conn->wait(
        wait_slice, [self, &hub](std::string_view, std::string_view payload) {
          self->send(hub, notify_atom_v, std::string{payload});
        });
      if (err) {
        st.missed = true;
      } else if (st.missed && st.conn->listening()) {
        // Notifications sent while nobody listened are lost: every stream
        // re-reads once; later commits are announced.
        st.missed = false;
        self->send(hub, wake_atom_v);
      }
      self->send(self, wake_atom_v);
    },
  };
}

} // namespace

caf::actor spawn_stream_listener(execution_stream_actor::pointer hub,
                                 const execution_stream_options& opts) {
  auto handle = caf::actor_cast<execution_stream_actor>(hub);
  auto listener = hub->spawn<caf::detached + caf::linked>(
    listener_impl, handle, opts.conninfo, opts.connect_timeout);
  if (opts.directory)
    opts.directory->enroll(listener, "execution_stream_listener",
                           std::string{storage::executions_channel}, hub->id());
  return listener;
}

} // namespace fp::net::detail
