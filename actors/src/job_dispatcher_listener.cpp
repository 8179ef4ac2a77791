// The dispatcher's ear: LISTEN on `fp_jobs` on a thread of its own.

#include <set>
#include <thread>

#include <caf/all.hpp>

#include "fp/runtime/log.hpp"
#include "fp/storage/pg_listener.hpp"
#include "job_dispatcher_internal.hpp"

namespace fp::actors::detail {

namespace {

namespace log = runtime::log;
using namespace std::chrono_literals;

/// How long one wait blocks: also how late the listener notices that it
/// should stop, and how stale its answer to `describe` can be.
constexpr auto wait_slice = 200ms;

struct listener_state {
  context_ptr ctx;
  job_dispatcher_actor dispatcher;
  std::unique_ptr<storage::pg_listener> listener;
  /// The last wait failed: whatever was notified meanwhile is lost, so the
  /// dispatcher polls once when the connection is back.
  bool missed = false;
  static inline const char* name = "fp.job_listener";
};

using listener_actor
  = caf::typed_actor<runtime::describe_sig, caf::reacts_to<run_atom>>;
using listener_ptr = listener_actor::stateful_pointer<listener_state>;

void listen_once(listener_ptr self) {
  auto& st = self->state;
  if (!st.listener) {
    auto opened = storage::pg_listener::open(
      st.ctx->opts.conninfo, {std::string{storage::jobs_channel}},
      st.ctx->opts.connect_timeout);
    if (!opened) {
      st.missed = true;
      std::this_thread::sleep_for(wait_slice);
      return;
    }
    st.listener = std::move(*opened);
  }
  std::set<std::string, std::less<>> queues;
  auto err = st.listener->wait(wait_slice,
                               [&](std::string_view, std::string_view payload) {
                                 if (queues.find(payload) == queues.end())
                                   queues.emplace(payload);
                               });
  if (err) {
    st.missed = true;
    return;
  }
  if (st.missed) {
    st.missed = false;
    self->send(st.dispatcher, wake_atom_v, std::string{});
  }
  for (auto& q : queues)
    self->send(st.dispatcher, wake_atom_v, q);
}

listener_actor::behavior_type listener_impl(listener_ptr self, context_ptr ctx,
                                            job_dispatcher_actor dispatcher) {
  self->state.ctx = std::move(ctx);
  self->state.dispatcher = std::move(dispatcher);
  self->send(self, run_atom_v);
  return {
    [self](describe_atom) -> runtime::actor_status {
      return {self->state.listener && !self->state.missed ? "listening"
                                                          : "reconnecting",
              self->mailbox().size()};
    },
    [self](run_atom) {
      listen_once(self);
      // Through the mailbox, so describe requests and exit messages get
      // their turn between waits.
      self->send(self, run_atom_v);
    },
  };
}

} // namespace

caf::actor spawn_job_listener(caf::local_actor* parent, context_ptr ctx,
                              job_dispatcher_actor dispatcher) {
  return caf::actor_cast<caf::actor>(parent->spawn<caf::detached + caf::linked>(
    listener_impl, std::move(ctx), std::move(dispatcher)));
}

} // namespace fp::actors::detail
