#include "fp/runtime/actor_directory.hpp"

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>

#include "fp/runtime/ids.hpp"

namespace fp::runtime {

void actor_directory::enroll(const caf::actor& handle, std::string kind,
                             std::string id, uint64_t parent_id,
                             uint32_t restarts) {
  if (!handle)
    return;
  auto actor_id = handle.id();
  {
    std::lock_guard<std::mutex> guard{table_->mtx};
    table_->entries[actor_id] = entry{handle.address(), actor_id,      std::move(kind),
                               std::move(id),    parent_id,     restarts,
                               unix_ms()};
  }
  // Attached after inserting: if the actor is already gone, CAF runs the
  // functor at once and the entry goes away again.
  auto ptr = caf::actor_cast<caf::abstract_actor*>(handle);
  ptr->attach_functor([weak = std::weak_ptr<table>{table_}, actor_id] {
    if (auto t = weak.lock()) {
      std::lock_guard<std::mutex> guard{t->mtx};
      t->entries.erase(actor_id);
    }
  });
}

void actor_directory::remove(uint64_t actor_id) {
  std::lock_guard<std::mutex> guard{table_->mtx};
  table_->entries.erase(actor_id);
}

std::vector<actor_directory::entry> actor_directory::snapshot() const {
  std::lock_guard<std::mutex> guard{table_->mtx};
  std::vector<entry> out;
  out.reserve(table_->entries.size());
  for (const auto& [_, e] : table_->entries)
    out.push_back(e);
  return out;
}

std::map<std::string, std::size_t> actor_directory::count_by_kind() const {
  std::lock_guard<std::mutex> guard{table_->mtx};
  std::map<std::string, std::size_t> out;
  for (const auto& [_, e] : table_->entries)
    ++out[e.kind];
  return out;
}

std::size_t actor_directory::size() const {
  std::lock_guard<std::mutex> guard{table_->mtx};
  return table_->entries.size();
}

} // namespace fp::runtime
