#include "package_command.hpp"

#include "admin_db.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>

#include "fp/actors/package_manifest.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/embedded_postgres.hpp"
#include "fp/storage/migrations.hpp"
#include "fp/storage/packages.hpp"

namespace fp::app {

namespace {

/// The name of the manifest file inside a package directory.
constexpr const char* manifest_file = "fleetprompt.package.json";

/// The manifest text at `target` (a file, or a directory holding
/// `fleetprompt.package.json`); nullopt with a message printed otherwise.
std::optional<std::string> read_manifest(const std::string& target) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path path{target};
  if (fs::is_directory(path, ec))
    path /= manifest_file;
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    std::cerr << "fleetprompt: cannot read " << path.string() << "\n";
    return std::nullopt;
  }
  return std::string{std::istreambuf_iterator<char>{in},
                     std::istreambuf_iterator<char>{}};
}

/// Publishes `m` on the configured database (the embedded cluster when
/// none is configured: attached to when a server holds it, else started
/// for the duration of the command).
int publish(const config::settings& s, const actors::package_manifest& m) {
  admin_db db;
  if (!db.open(s))
    return 1;
  storage::publisher_identity who;
  who.platform_admin = true;
  who.who = "cli";
  auto sha = runtime::sha256_hex(m.canonical);
  auto outcome = storage::publish_outcome::unchanged;
  auto err = storage::run_transaction(
    *db.session, [&](storage::pg_session& tx) -> caf::error {
      auto r = storage::publish_package_version(
        tx, who, m.name, m.version_text, m.version.without_build(),
        m.description, m.canonical, sha);
      if (!r)
        return std::move(r.error());
      outcome = *r;
      return caf::none;
    });
  if (err) {
    std::cerr << "fleetprompt: cannot publish " << m.name << "@" << m.version_text
              << ": " << describe(err) << "\n";
    return 1;
  }
  std::cout << (outcome == storage::publish_outcome::created ? "published "
                                                             : "unchanged ")
            << m.name << "@" << m.version_text << "\n";
  return 0;
}

} // namespace

int run_package(const config::command_line& cli) {
  const auto& pos = cli.positional;
  if (pos.size() != 3 || pos[1] != "publish") {
    std::cerr << "fleetprompt: usage: fleetprompt package publish "
                 "<file-or-dir>\n";
    return 2;
  }
  auto text = read_manifest(pos[2]);
  if (!text)
    return 1;
  auto parsed = actors::parse_manifest(*text, actors::platform_catalog());
  if (!parsed.manifest) {
    std::cerr << "fleetprompt: invalid manifest: "
              << actors::describe_issues(parsed.issues) << "\n";
    return 1;
  }
  return publish(cli.values, *parsed.manifest);
}

} // namespace fp::app
