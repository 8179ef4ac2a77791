#pragma once

// What the admin commands of the `fleetprompt` binary share: a one-line
// description of an error for the terminal, and the database a command
// works on.

#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "fp/config/settings.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/embedded_postgres.hpp"

namespace fp::app {

/// The context message of `err` when it has one, else CAF's rendering.
std::string describe(const caf::error& err);

/// The database of an admin command: the configured URL, or the embedded
/// cluster (attached to when a server holds it, else started for the
/// duration of the command). Problems are printed as one line on stderr.
struct admin_db {
  std::unique_ptr<storage::embedded_postgres> embedded;
  std::string url;
  std::unique_ptr<storage::pg_session> session;

  admin_db() = default;
  admin_db(const admin_db&) = delete;
  admin_db& operator=(const admin_db&) = delete;
  ~admin_db();

  /// Connects and, when `migrate_public`, applies the public migrations
  /// (the commands need the identity and registry tables). False (with
  /// the reason printed) on failure.
  bool open(const config::settings& s, bool migrate_public = true);
};

} // namespace fp::app
