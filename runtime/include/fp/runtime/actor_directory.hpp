#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

namespace fp::runtime {

/// The registry of live, describable actors: what the admin actor tree and
/// the "live actors by kind" metric are built from. Entries hold weak
/// addresses, never strong references, so the directory keeps nothing alive;
/// an entry disappears when its actor terminates.
class actor_directory {
public:
  struct entry {
    caf::actor_addr addr;
    uint64_t actor_id = 0;
    std::string kind;
    std::string id;
    uint64_t parent_id = 0;
    uint32_t restarts = 0;
    int64_t started_at_ms = 0;
  };

  /// Registers `handle` (removed automatically when it terminates).
  /// `parent_id` is the actor id of the supervising actor (0 for the root).
  void enroll(const caf::actor& handle, std::string kind, std::string id,
              uint64_t parent_id, uint32_t restarts = 0);

  /// Removes an entry early (normally termination does it).
  void remove(uint64_t actor_id);

  std::vector<entry> snapshot() const;
  std::map<std::string, std::size_t> count_by_kind() const;
  std::size_t size() const;

private:
  struct table {
    std::mutex mtx;
    std::map<uint64_t, entry> entries;
  };
  // Shared so that termination hooks of actors outliving the directory
  // (weakly holding the table) find it gone instead of touching freed memory.
  std::shared_ptr<table> table_ = std::make_shared<table>();
};

} // namespace fp::runtime
