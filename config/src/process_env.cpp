#include <cstdlib>

#include "fp/config/cli.hpp"

namespace fp::config {

env_lookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    // getenv needs a terminated string; string_view promises none.
    std::string terminated{name};
    if (const char* value = std::getenv(terminated.c_str()))
      return std::string{value};
    return std::nullopt;
  };
}

} // namespace fp::config
