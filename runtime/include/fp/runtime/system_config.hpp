#pragma once

#include <caf/actor_system_config.hpp>

#include "fp/config/settings.hpp"

namespace fp::runtime {

/// The actor system configuration of every FleetPrompt process and test:
/// registers the project's type-ID block and applies the scheduler settings.
class system_config : public caf::actor_system_config {
public:
  system_config();
  explicit system_config(const config::settings& s);
};

} // namespace fp::runtime
