#include "flash.hpp"

namespace fp::net::console {

void flash_store::prune(clock::time_point now) {
  for (auto i = slots_.begin(); i != slots_.end();)
    i = i->second.expires <= now ? slots_.erase(i) : std::next(i);
  // Still full of live entries: drop the oldest rather than refuse.
  while (slots_.size() >= capacity_) {
    auto oldest = slots_.begin();
    for (auto i = slots_.begin(); i != slots_.end(); ++i)
      if (i->second.expires < oldest->second.expires)
        oldest = i;
    slots_.erase(oldest);
  }
}

void flash_store::put(const std::string& key, flash_entry entry) {
  auto now = clock::now();
  std::lock_guard guard{mtx_};
  if (slots_.size() >= capacity_)
    prune(now);
  slots_[key] = slot{std::move(entry), now + ttl_};
}

flash_entry flash_store::take(const std::string& key) {
  std::lock_guard guard{mtx_};
  auto i = slots_.find(key);
  if (i == slots_.end())
    return {};
  auto out = std::move(i->second);
  slots_.erase(i);
  if (out.expires <= clock::now())
    return {};
  return std::move(out.entry);
}

std::size_t flash_store::size() const {
  std::lock_guard guard{mtx_};
  return slots_.size();
}

} // namespace fp::net::console
