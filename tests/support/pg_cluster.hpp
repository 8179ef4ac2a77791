#pragma once

// The PostgreSQL fixture of the *_pgtest executables: one database server
// per executable, started by pg_main.cpp before the first test case.

#include <string>
#include <string_view>

namespace fp::storage {
class embedded_postgres;
} // namespace fp::storage

namespace fp::test {

/// URL of the test database: FLEETPROMPT_TEST_DATABASE_URL when set, else
/// the embedded cluster's.
const std::string& database_url();

/// The embedded cluster of this executable, or nullptr when an external
/// database is used.
fp::storage::embedded_postgres* cluster();

/// Starts the cluster (or checks the external URL). Returns an empty string
/// on success, else the reason. Called once by pg_main.cpp.
std::string start_cluster();

/// Drops this run's scratch databases and stops the cluster if this
/// executable started it.
void stop_cluster();

/// Creates a new, empty database (named `fpt_<prefix>_<random>`) for tests
/// that need a pristine public schema, e.g. migrations; returns its URL. It
/// is dropped by stop_cluster (leftovers of crashed runs at the next start).
std::string create_scratch_database(std::string_view prefix);

/// `url` with its database name replaced by `dbname`.
std::string with_database(const std::string& url, const std::string& dbname);

} // namespace fp::test
