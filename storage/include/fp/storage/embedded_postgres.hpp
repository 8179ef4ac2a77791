#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "fp/config/settings.hpp"

namespace fp::storage {

/// The private PostgreSQL cluster in `<data_dir>/postgres`: initialised on
/// first use, started on loopback only, reused on later runs. When the
/// cluster already runs (the server holds it and an admin command starts),
/// it is attached to instead and not owned.
class embedded_postgres {
public:
  /// Initialises (first run) and starts the cluster, or attaches to it.
  /// Errors are errc::unavailable with a one-line reason (initdb/pg_ctl
  /// output included).
  static caf::expected<embedded_postgres> start(const config::settings& s);

  embedded_postgres(embedded_postgres&&) noexcept;
  embedded_postgres& operator=(embedded_postgres&&) noexcept;
  embedded_postgres(const embedded_postgres&) = delete;
  embedded_postgres& operator=(const embedded_postgres&) = delete;
  /// Stops the cluster if owned and still running.
  ~embedded_postgres();

  /// `postgresql://fleetprompt:<password>@127.0.0.1:<port>/fleetprompt`
  const std::string& url() const;
  /// True when this process started the cluster (and stops it).
  bool owned() const;
  /// Loopback port of the cluster.
  uint16_t port() const;
  /// Fast shutdown when owned; no-op otherwise. Idempotent.
  caf::error stop();
  /// Runs `pg_ctl start` (waits until ready) or `pg_ctl stop` (fast) on the
  /// cluster, whether owned or not; tests use it to take the database away.
  caf::error pg_ctl(std::string_view action);

  struct impl;

private:
  explicit embedded_postgres(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace fp::storage
