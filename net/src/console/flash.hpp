#pragma once

// One-shot messages carried across the 303 that ends every console form:
// validation errors, a success or error line, and an API answer shown once
// (an API key's secret). Kept in memory, keyed by a random `fp_flash`
// cookie, bounded in number and lifetime: a flash that is never read (a
// closed tab) expires instead of piling up. A node restart loses only
// flashes in flight between a redirect and the GET that follows it.

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fp::net::console {

/// Name of the cookie keying a browser's flash.
inline constexpr std::string_view flash_cookie_name = "fp_flash";

struct flash_entry {
  std::string success;
  std::string error;
  /// JSON text; empty when none.
  std::string result;
  /// JSON object text of field -> message; empty when none.
  std::string errors;
};

class flash_store {
public:
  explicit flash_store(std::size_t capacity = 10000,
                       std::chrono::seconds ttl = std::chrono::seconds{300})
    : capacity_(capacity), ttl_(ttl) {
  }

  /// Stores `entry` for `key`, replacing an unread one.
  void put(const std::string& key, flash_entry entry);

  /// Removes and returns the entry of `key` (empty when none or expired).
  flash_entry take(const std::string& key);

  std::size_t size() const;

private:
  using clock = std::chrono::steady_clock;
  struct slot {
    flash_entry entry;
    clock::time_point expires;
  };
  void prune(clock::time_point now);

  mutable std::mutex mtx_;
  std::unordered_map<std::string, slot> slots_;
  std::size_t capacity_;
  std::chrono::seconds ttl_;
};

} // namespace fp::net::console
