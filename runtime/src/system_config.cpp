#include "fp/runtime/system_config.hpp"

#include <thread>

#include <caf/all.hpp>

#include "fp/runtime/type_ids.hpp"

namespace fp::runtime {

system_config::system_config() {
  add_message_types<caf::id_block::fp>();
}

system_config::system_config(const config::settings& s) : system_config() {
  auto threads = s.scheduler_threads;
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  set("scheduler.max-threads", static_cast<size_t>(threads));
}

} // namespace fp::runtime
