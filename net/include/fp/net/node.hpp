#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "fp/config/settings.hpp"
#include "fp/runtime/actor_directory.hpp"
#include "fp/runtime/metrics.hpp"
#include "fp/runtime/supervisor.hpp"

namespace fp::storage {
class embedded_postgres;
} // namespace fp::storage

namespace fp::net {

/// One running FleetPrompt server: the composition of every part, started
/// in dependency order and stopped in reverse (Seastar-style explicit
/// wiring; no service locator). `fleetprompt serve` is a thin wrapper, and
/// the HTTP tests start the very same node in-process.
class node {
public:
  /// Starts the embedded database (when no URL is set), applies public
  /// migrations (when `migrate_on_start`), the actor tree and the HTTP
  /// server. On failure everything already started is stopped again.
  static caf::expected<std::unique_ptr<node>> start(const config::settings& s);

  node(const node&) = delete;
  node& operator=(const node&) = delete;
  ~node();

  /// The bound HTTP port (the real one when the configured port was 0).
  uint16_t port() const;
  /// "http://HOST:PORT"
  std::string url() const;
  /// URL of the database in use (embedded or configured).
  const std::string& database_url() const;
  /// The embedded cluster, or nullptr when an external database is used.
  storage::embedded_postgres* embedded() const;

  caf::actor_system& system();
  runtime::actor_directory& directory();
  runtime::metrics_registry& metrics();
  runtime::supervisor_actor root() const;

  /// Blocks until `request_stop` is called (by a signal handler thread, a
  /// supervisor that gave up, or a test); returns the requested exit code.
  int wait_for_stop();
  /// Asks `wait_for_stop` to return. Thread-safe; the first call wins.
  void request_stop(int exit_code = 0, std::string reason = {});

  /// Orderly shutdown: stop accepting, drain in-flight requests up to the
  /// grace period, stop the actors, then the embedded database. Idempotent.
  void stop();

  struct impl;

private:
  explicit node(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace fp::net
