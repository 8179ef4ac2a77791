#pragma once

#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/message.hpp>

#include "fp/config/settings.hpp"

namespace fp::runtime {

/// Registers error category `category` of enum `E` (which has a
/// `to_string(E)`) so that `sys.render(err)` prints "fp_store:
/// unique_violation (orgs_slug_key)" rather than numbers. (CAF 0.17.6's own
/// add_error_category<T> does not compile.)
template <class E>
void add_error_renderer(caf::actor_system_config& cfg, caf::atom_value category) {
  cfg.add_error_category(
    category, [](uint8_t code, caf::atom_value cat, const caf::message& ctx) {
      std::string out = caf::to_string(cat);
      out += ": ";
      out += to_string(static_cast<E>(code));
      if (ctx.size() == 1 && ctx.match_element<std::string>(0)) {
        out += " (";
        out += ctx.get_as<std::string>(0);
        out += ')';
      }
      return out;
    });
}

/// The actor system configuration of every FleetPrompt process and test:
/// registers the project's type-ID block and applies the scheduler settings.
class system_config : public caf::actor_system_config {
public:
  system_config();
  explicit system_config(const config::settings& s);
};

} // namespace fp::runtime
