#include "fp/runtime/system_config.hpp"

#include <thread>

#include <caf/all.hpp>

#include "fp/runtime/errc.hpp"
#include "fp/runtime/type_ids.hpp"

namespace fp::runtime {

system_config::system_config() {
  add_message_types<caf::id_block::fp>();
  // Lets sys.render(err) print "fp: not_found (context)" instead of codes.
  add_error_renderer<errc>(*this, caf::atom("fp"));
}

system_config::system_config(const config::settings& s) : system_config() {
  auto threads = s.scheduler_threads;
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  set("scheduler.max-threads", static_cast<size_t>(threads));
  // CAF's idle workers first spin, then poll with 50 us sleeps for 500
  // rounds before they wait on a condition variable. Under request/response
  // traffic that polling is mostly wasted wake-ups (clock_nanosleep per
  // message) competing with the io threads for the same cores; a short spin
  // and an early fall-back to the condition variable, which enqueueing
  // signals, serves HTTP-driven load better.
  set("work-stealing.aggressive-poll-attempts", size_t{10});
  set("work-stealing.moderate-poll-attempts", size_t{1});
}

} // namespace fp::runtime
