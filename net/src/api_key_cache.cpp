#include "fp/net/api_key_cache.hpp"

#include <algorithm>

#include "fp/runtime/ids.hpp"

namespace fp::net {

api_key_cache::api_key_cache(options opts) : opts_(opts) {
}

std::string api_key_cache::digest(std::string_view token) {
  return runtime::sha256_hex(token);
}

std::optional<api_key_cache::hit> api_key_cache::find(std::string_view token) {
  if (!enabled())
    return std::nullopt;
  auto id = digest(token);
  auto now = clock::now();
  std::lock_guard guard{mtx_};
  auto i = entries_.find(id);
  if (i == entries_.end())
    return std::nullopt;
  if (i->second.until <= now) {
    entries_.erase(i);
    return std::nullopt;
  }
  hit h{i->second.key, false};
  if (i->second.touch_at <= now) {
    h.touch_due = true;
    i->second.touch_at = now + opts_.touch_every;
  }
  return h;
}

uint64_t api_key_cache::generation() const {
  std::lock_guard guard{mtx_};
  return generation_;
}

void api_key_cache::remember(std::string_view token,
                             const storage::usable_api_key& key,
                             uint64_t generation) {
  if (!enabled())
    return;
  auto now = clock::now();
  auto life = std::chrono::duration_cast<clock::duration>(opts_.lifetime);
  if (key.usable_for)
    life = std::min(life, std::chrono::duration_cast<clock::duration>(
                            *key.usable_for));
  if (life <= clock::duration::zero())
    return;
  auto id = digest(token);
  // The lookup recorded last_used_at unless it was recent; either way the
  // next record is due a full interval from now at the latest.
  entry e{key, now + life, now + opts_.touch_every};
  std::lock_guard guard{mtx_};
  if (generation != generation_)
    return;
  if (entries_.size() >= opts_.capacity && !entries_.count(id))
    entries_.clear();
  entries_.insert_or_assign(std::move(id), std::move(e));
}

void api_key_cache::clear() {
  std::lock_guard guard{mtx_};
  ++generation_;
  entries_.clear();
}

std::size_t api_key_cache::size() const {
  std::lock_guard guard{mtx_};
  return entries_.size();
}

} // namespace fp::net
