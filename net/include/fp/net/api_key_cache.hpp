#pragma once

// Verified API keys, remembered for a few seconds so that a key's requests
// skip the database lookup (an integration streaming signals sends
// thousands a second with one key). Nothing is remembered longer than the
// key stays usable (expiry, end of a rotation grace), and everything is
// forgotten whenever keys, organizations or users change: at once by the
// routes of this node that change them, and within a notification's
// latency for changes made anywhere else (NOTIFY fp_auth, see
// spawn_auth_cache_listener). The lifetime is the bound should a
// notification be lost.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <caf/fwd.hpp>

#include "fp/storage/api_keys.hpp"

namespace fp::net {

class api_key_cache {
public:
  using clock = std::chrono::steady_clock;

  struct options {
    /// Longest time a verified key is remembered; zero disables the cache.
    std::chrono::milliseconds lifetime{10000};
    /// Most keys remembered; beyond it the cache starts over.
    std::size_t capacity = 100000;
    /// How often a remembered key's last_used_at is recorded.
    std::chrono::milliseconds touch_every{60000};
  };

  struct hit {
    storage::usable_api_key key;
    /// Record the key's last use now: it has not been recorded for
    /// touch_every. Reported to one caller only.
    bool touch_due = false;
  };

  explicit api_key_cache(options opts);

  bool enabled() const noexcept { return opts_.lifetime.count() > 0; }

  /// The key presented as `token` when it is remembered and still valid.
  std::optional<hit> find(std::string_view token);

  /// Read before looking a key up; `remember` drops the answer when the
  /// cache was cleared meanwhile (it may predate the change that did it).
  uint64_t generation() const;

  /// Remembers `key`, verified for `token` by a lookup that started at
  /// `generation`.
  void remember(std::string_view token, const storage::usable_api_key& key,
                uint64_t generation);

  /// Forgets every key.
  void clear();

  std::size_t size() const;

private:
  struct entry {
    storage::usable_api_key key;
    clock::time_point until;
    clock::time_point touch_at;
  };

  /// Tokens are never kept: entries are found by the token's SHA-256.
  static std::string digest(std::string_view token);

  options opts_;
  mutable std::mutex mtx_;
  uint64_t generation_ = 0;
  std::unordered_map<std::string, entry> entries_;
};

/// Wraps the success callback of a route that changed keys, organizations
/// or users: `cache` (when any) is cleared before `next` answers, so the
/// caller's next request already sees the change.
template <class Next>
auto clearing_first(std::shared_ptr<api_key_cache> cache, Next next) {
  return [cache = std::move(cache), next = std::move(next)](auto&& value) {
    if (cache)
      cache->clear();
    return next(std::forward<decltype(value)>(value));
  };
}

/// Spawns an actor (a supervised child of `parent`) that clears `cache` on every
/// NOTIFY fp_auth and whenever its LISTEN connection is (re)established
/// (changes made while nobody listened were missed).
caf::actor spawn_auth_cache_listener(caf::local_actor* parent,
                                     std::shared_ptr<api_key_cache> cache,
                                     std::string conninfo,
                                     std::chrono::milliseconds connect_timeout);

} // namespace fp::net
