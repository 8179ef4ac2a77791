#pragma once

#include <memory>
#include <mutex>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>

namespace fp::runtime {

/// The current incarnation of a supervised actor. The supervisor swaps the
/// handle on every restart, so holders of the slot (the HTTP front end, other
/// actors) always reach the live actor without asking the supervisor.
class actor_slot {
public:
  caf::actor get() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return handle_;
  }

  template <class Handle>
  Handle get_as() const {
    return caf::actor_cast<Handle>(get());
  }

  void set(caf::actor handle) {
    std::lock_guard<std::mutex> guard{mtx_};
    handle_ = std::move(handle);
  }

private:
  mutable std::mutex mtx_;
  caf::actor handle_;
};

using actor_slot_ptr = std::shared_ptr<actor_slot>;

} // namespace fp::runtime
