#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include <caf/all.hpp>

#include "fp/runtime/actor_directory.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/supervisor.hpp"
#include "fp/runtime/system_config.hpp"

using namespace fp::runtime;
using namespace std::chrono_literals;

namespace {

using worker_actor = caf::typed_actor<describe_sig>;

worker_actor::behavior_type worker_impl(worker_actor::pointer self) {
  return {
    [self](fp::describe_atom) -> actor_status {
      return {"running", self->mailbox().size()};
    },
  };
}

child_spec worker_spec(std::string name, std::atomic<int>* starts) {
  child_spec spec;
  spec.name = std::move(name);
  spec.kind = "worker";
  spec.start = [starts](caf::local_actor* sup) {
    ++*starts;
    return caf::actor_cast<caf::actor>(sup->spawn(worker_impl));
  };
  return spec;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

restart_policy fast_policy(unsigned limit) {
  restart_policy p;
  p.limit = limit;
  p.window = 10s;
  p.backoff_min = 1ms;
  p.backoff_max = 20ms;
  return p;
}

} // namespace

TEST_CASE("a killed child is restarted and its slot follows", "[supervisor]") {
  system_config cfg;
  caf::actor_system sys{cfg};
  actor_directory dir;
  std::atomic<int> starts{0};
  auto spec = worker_spec("w", &starts);
  auto slot = spec.slot;
  std::atomic<bool> gave_up{false};
  auto sup = spawn_supervisor(sys, dir, "root", {spec}, fast_policy(3),
                              [&](const std::string&) { gave_up = true; });
  // After the start-up barrier the slot is filled without polling.
  REQUIRE_FALSE(await_started(sys, sup, 5s));
  CHECK(starts == 1);
  REQUIRE(slot->get());
  auto first = slot->get();
  CHECK(dir.count_by_kind()["worker"] == 1);
  CHECK(dir.count_by_kind()["supervisor"] == 1);

  caf::anon_send_exit(first, caf::exit_reason::kill);
  REQUIRE(eventually([&] { return starts == 2 && slot->get() != first; }));
  auto second = slot->get();
  CHECK(second != first);
  // The directory forgets the dead incarnation and records the restart.
  REQUIRE(eventually([&] { return dir.count_by_kind()["worker"] == 1; }));
  bool found = false;
  for (auto& e : dir.snapshot())
    if (e.kind == "worker") {
      found = true;
      CHECK(e.restarts == 1);
      CHECK(e.actor_id == second.id());
      CHECK(e.parent_id == sup.id());
    }
  CHECK(found);

  // The new incarnation answers.
  caf::scoped_actor self{sys};
  std::string state;
  self->request(second, 1s, fp::describe_atom_v)
    .receive([&](actor_status& s) { state = s.state; },
             [&](caf::error& err) { FAIL(sys.render(err)); });
  CHECK(state == "running");
  // The supervisor hands out the live handle by name.
  caf::actor via_name;
  self->request(sup, 1s, fp::child_atom_v, std::string{"w"})
    .receive([&](caf::actor& h) { via_name = h; },
             [&](caf::error& err) { FAIL(sys.render(err)); });
  CHECK(via_name == second);
  self->request(sup, 1s, fp::child_atom_v, std::string{"nope"})
    .receive([&](caf::actor&) { FAIL("unknown child answered"); },
             [&](caf::error& err) { CHECK(code_of(err) == errc::not_found); });
  CHECK_FALSE(gave_up);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}

TEST_CASE("a crash loop beyond the budget gives up and stops", "[supervisor]") {
  system_config cfg;
  caf::actor_system sys{cfg};
  actor_directory dir;
  std::atomic<int> starts{0};
  std::atomic<int> healthy_starts{0};
  auto crashing = worker_spec("crashy", &starts);
  auto healthy = worker_spec("steady", &healthy_starts);
  auto healthy_slot = healthy.slot;
  std::mutex mtx;
  std::string reason;
  std::atomic<bool> gave_up{false};
  auto sup = spawn_supervisor(sys, dir, "root", {healthy, crashing},
                              fast_policy(2), [&](const std::string& why) {
                                std::lock_guard<std::mutex> guard{mtx};
                                reason = why;
                                gave_up = true;
                              });
  for (int round = 0; round < 3; ++round) {
    REQUIRE(eventually([&] { return starts == round + 1; }));
    std::this_thread::sleep_for(5ms);
    auto victim = crashing.slot->get();
    REQUIRE(victim);
    caf::anon_send_exit(victim, caf::exit_reason::kill);
  }
  REQUIRE(eventually([&] { return gave_up.load(); }));
  {
    std::lock_guard<std::mutex> guard{mtx};
    CHECK(reason.find("crashy") != std::string::npos);
    CHECK(reason.find("restart budget 2") != std::string::npos);
  }
  CHECK(starts == 3);
  // Giving up stops the siblings and the supervisor itself.
  REQUIRE(eventually([&] { return dir.size() == 0; }));
  CHECK(healthy_starts == 1);
}

TEST_CASE("the system config renders fp errors by name", "[errc]") {
  system_config cfg;
  caf::actor_system sys{cfg};
  CHECK(sys.render(make_error(errc::not_found, "no such widget"))
        == "fp: not_found (no such widget)");
  CHECK(sys.render(make_error(errc::conflict)) == "fp: conflict");
}
