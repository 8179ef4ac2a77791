// The execution/chat stream hub: a map from feed key to watchers, fed by a
// detached LISTEN actor (execution_stream_listener.cpp). It never touches
// the database itself.

#include "fp/net/execution_stream.hpp"

#include <unordered_map>

#include <caf/all.hpp>

#include "fp/actors/notify_listener.hpp"
#include "fp/storage/executions.hpp"

namespace fp::net {

stream_watcher::~stream_watcher() = default;

namespace {

using namespace std::chrono_literals;

constexpr auto tick_interval = 1s;

struct watch_entry {
  std::string key;
  std::shared_ptr<stream_watcher> watcher;
};

struct hub_state {
  std::unordered_map<uint64_t, watch_entry> watches;
  std::unordered_multimap<std::string, uint64_t> by_key;
  uint64_t next_id = 1;
  caf::actor listener;
  static inline const char* name = "fp.execution_streams";
};

void drop(hub_state& st, uint64_t id) {
  auto i = st.watches.find(id);
  if (i == st.watches.end())
    return;
  auto range = st.by_key.equal_range(i->second.key);
  for (auto k = range.first; k != range.second; ++k) {
    if (k->second == id) {
      st.by_key.erase(k);
      break;
    }
  }
  st.watches.erase(i);
}

execution_stream_actor::behavior_type
hub_impl(execution_stream_actor::stateful_pointer<hub_state> self,
         execution_stream_options opts) {
  actors::notify_listener_options listen;
  listen.conninfo = opts.conninfo;
  listen.channel = std::string{storage::executions_channel};
  listen.connect_timeout = opts.connect_timeout;
  listen.kind = "execution_stream_listener";
  listen.directory = opts.directory;
  self->state.listener = actors::spawn_notify_listener(
    self, caf::actor_cast<caf::actor>(self), std::move(listen));
  self->delayed_send(self, tick_interval, tick_atom_v);
  return {
    [self](describe_atom) -> runtime::actor_status {
      return {std::to_string(self->state.watches.size()) + " streams",
              self->mailbox().size()};
    },
    [self](subscribe_atom, stream_watch_request& req) -> uint64_t {
      auto& st = self->state;
      if (!req.watcher || req.key.empty())
        return 0;
      auto id = st.next_id++;
      st.by_key.emplace(req.key, id);
      st.watches.emplace(id, watch_entry{std::move(req.key),
                                         std::move(req.watcher)});
      return id;
    },
    [self](unsub_atom, uint64_t id) { drop(self->state, id); },
    [self](notify_atom, const std::string& key) {
      auto& st = self->state;
      auto range = st.by_key.equal_range(key);
      for (auto k = range.first; k != range.second; ++k)
        if (auto i = st.watches.find(k->second); i != st.watches.end())
          i->second.watcher->wake();
    },
    [self](wake_atom) {
      for (auto& [id, w] : self->state.watches)
        w.watcher->wake();
    },
    [self](tick_atom) {
      auto now = std::chrono::steady_clock::now();
      for (auto& [id, w] : self->state.watches)
        w.watcher->tick(now);
      self->delayed_send(self, tick_interval, tick_atom_v);
    },
  };
}

} // namespace

execution_stream_actor spawn_execution_stream_hub(caf::local_actor* parent,
                                                  execution_stream_options opts) {
  return parent->spawn(hub_impl, std::move(opts));
}

std::string execution_stream_key(std::string_view slug, std::string_view id) {
  std::string key;
  key.reserve(slug.size() + id.size() + 1);
  key.append(slug).append(":").append(id);
  return key;
}

std::string conversation_stream_key(std::string_view slug,
                                    std::string_view id) {
  std::string key;
  key.reserve(slug.size() + id.size() + 14);
  key.append(slug).append(":conversation:").append(id);
  return key;
}

} // namespace fp::net
