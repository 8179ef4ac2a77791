#include "pg_cluster.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <vector>

#include <caf/all.hpp>

#include "fp/config/settings.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/embedded_postgres.hpp"

namespace fp::test {

namespace {

std::string& url_storage() {
  static std::string url;
  return url;
}

std::unique_ptr<storage::embedded_postgres>& cluster_storage() {
  static std::unique_ptr<storage::embedded_postgres> pg;
  return pg;
}

/// Scratch databases are named fpt_<prefix>_<random>, so leftovers of a
/// crashed run can be found and dropped (the cluster is reused across runs).
constexpr std::string_view scratch_prefix = "fpt_";

std::vector<std::string>& scratch_databases() {
  static std::vector<std::string> names;
  return names;
}

void drop_databases(const std::vector<std::string>& names) {
  if (names.empty())
    return;
  auto session = storage::connect(database_url(), std::chrono::seconds{10});
  if (!session)
    return;
  for (const auto& name : names)
    (void) (*session)->exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
}

void drop_leftover_scratch_databases() {
  auto session = storage::connect(database_url(), std::chrono::seconds{10});
  if (!session)
    return;
  auto rows = (*session)->exec("SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
                               {std::string{scratch_prefix}});
  if (!rows)
    return;
  std::vector<std::string> names;
  for (int r = 0; r < rows->rows(); ++r)
    names.emplace_back(rows->text(r, 0));
  session->reset();
  drop_databases(names);
}

// <build>/tests/pgdata/<executable>: under the build tree, and reused by
// later runs of the same executable so initdb runs only once.
std::filesystem::path cluster_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec)
    return std::filesystem::temp_directory_path() / "fleetprompt-pgtest";
  return exe.parent_path() / "pgdata" / exe.filename();
}

} // namespace

const std::string& database_url() {
  return url_storage();
}

storage::embedded_postgres* cluster() {
  return cluster_storage().get();
}

std::string start_cluster() {
  if (auto external = std::getenv("FLEETPROMPT_TEST_DATABASE_URL");
      external && *external) {
    url_storage() = external;
    auto session = storage::connect(url_storage(), std::chrono::seconds{10});
    if (!session)
      return "cannot connect to FLEETPROMPT_TEST_DATABASE_URL: "
             + caf::to_string(session.error());
    return {};
  }
  config::settings s;
  s.data_dir = cluster_dir().string();
  auto pg = storage::embedded_postgres::start(s);
  if (!pg)
    return "cannot start the embedded PostgreSQL cluster in " + s.data_dir
           + ": " + caf::to_string(pg.error());
  cluster_storage() = std::make_unique<storage::embedded_postgres>(std::move(*pg));
  url_storage() = cluster_storage()->url();
  // Our own cluster: whatever scratch databases it holds are leftovers.
  drop_leftover_scratch_databases();
  return {};
}

void stop_cluster() {
  drop_databases(scratch_databases());
  scratch_databases().clear();
  if (auto& pg = cluster_storage()) {
    pg->stop();
    pg.reset();
  }
}

std::string with_database(const std::string& url, const std::string& dbname) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos)
    return url + " dbname=" + dbname; // key=value form: the last one wins
  auto slash = url.find('/', scheme + 3);
  auto query = url.find('?', scheme + 3);
  if (slash == std::string::npos || (query != std::string::npos && query < slash)) {
    auto at = query == std::string::npos ? url.size() : query;
    return url.substr(0, at) + "/" + dbname + url.substr(at);
  }
  auto end = query == std::string::npos ? url.size() : query;
  return url.substr(0, slash + 1) + dbname + url.substr(end);
}

std::string create_scratch_database(std::string_view prefix) {
  auto session = storage::connect(database_url(), std::chrono::seconds{10});
  if (!session)
    throw std::runtime_error("create_scratch_database: "
                             + caf::to_string(session.error()));
  auto name = std::string{scratch_prefix} + std::string{prefix} + "_"
              + runtime::new_request_id().substr(0, 12);
  for (auto& c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      c = '_';
  auto res = (*session)->exec("CREATE DATABASE " + name);
  if (!res)
    throw std::runtime_error("CREATE DATABASE " + name + ": "
                             + caf::to_string(res.error()));
  scratch_databases().push_back(name);
  return with_database(database_url(), name);
}

} // namespace fp::test
