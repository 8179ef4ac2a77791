#include <caf/all.hpp>

#include "fp/actors/service_actors.hpp"

namespace fp::actors {

runtime::version_info build_version() {
  return {"fleetprompt", FP_VERSION, FP_GIT_COMMIT, FP_BUILD_TYPE};
}

namespace {

runtime::version_actor::behavior_type
version_impl(runtime::version_actor::pointer self) {
  auto info = build_version();
  return {
    [self](describe_atom) -> runtime::actor_status {
      return {"running", self->mailbox().size()};
    },
    [info](version_atom) { return info; },
  };
}

} // namespace

runtime::version_actor spawn_version_actor(caf::local_actor* parent) {
  return parent->spawn(version_impl);
}

} // namespace fp::actors
