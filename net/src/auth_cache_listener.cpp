// Clears the API key cache on every change announced on NOTIFY fp_auth.

#include <caf/all.hpp>

#include "fp/actors/notify_listener.hpp"
#include "fp/net/api_key_cache.hpp"
#include "fp/runtime/messages.hpp"
#include "fp/runtime/type_ids.hpp"

namespace fp::net {

namespace {

struct cache_listener_state {
  caf::actor listener;
  uint64_t clears = 0;
  static inline const char* name = "fp.auth_cache";
};

caf::behavior cache_listener_impl(
  caf::stateful_actor<cache_listener_state>* self,
  std::shared_ptr<api_key_cache> cache, std::string conninfo,
  std::chrono::milliseconds connect_timeout) {
  actors::notify_listener_options listen;
  listen.conninfo = std::move(conninfo);
  listen.channel = std::string{storage::auth_channel};
  listen.connect_timeout = connect_timeout;
  listen.kind = "auth_cache_listener";
  self->state.listener = actors::spawn_notify_listener(
    self, caf::actor_cast<caf::actor>(self), std::move(listen));
  auto forget = [self, cache] {
    cache->clear();
    ++self->state.clears;
  };
  return {
    [self, cache](describe_atom) -> runtime::actor_status {
      return {std::to_string(cache->size()) + " API keys remembered, cleared "
                + std::to_string(self->state.clears) + " times",
              self->mailbox().size()};
    },
    [forget](notify_atom, const std::string&) { forget(); },
    // (Re)connected: changes made while nobody listened were missed.
    [forget](wake_atom) { forget(); },
  };
}

} // namespace

caf::actor spawn_auth_cache_listener(caf::local_actor* parent,
                                     std::shared_ptr<api_key_cache> cache,
                                     std::string conninfo,
                                     std::chrono::milliseconds connect_timeout) {
  return parent->spawn(cache_listener_impl, std::move(cache),
                                    std::move(conninfo), connect_timeout);
}

} // namespace fp::net
