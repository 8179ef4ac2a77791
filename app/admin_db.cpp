// The database and error rendering shared by the admin commands.

#include "admin_db.hpp"

#include <iostream>

#include <caf/error.hpp>

#include "fp/runtime/errc.hpp"
#include "fp/storage/migrations.hpp"

namespace fp::app {

std::string describe(const caf::error& err) {
  auto ctx = runtime::context_of(err);
  return ctx.empty() ? caf::to_string(err) : ctx;
}

admin_db::~admin_db() {
  session.reset();
  if (embedded)
    embedded->stop();
}

bool admin_db::open(const config::settings& s, bool migrate_public) {
  url = s.database_url;
  if (s.embedded_database()) {
    auto pg = storage::embedded_postgres::start(s);
    if (!pg) {
      std::cerr << "fleetprompt: cannot start the embedded database: "
                << describe(pg.error()) << "\n";
      return false;
    }
    embedded = std::make_unique<storage::embedded_postgres>(std::move(*pg));
    url = embedded->url();
  }
  auto conn = storage::connect(url, s.db_connect_timeout);
  if (!conn) {
    std::cerr << "fleetprompt: cannot connect: " << describe(conn.error()) << "\n";
    return false;
  }
  session = std::move(*conn);
  if (!migrate_public)
    return true;
  auto applied = storage::apply_migrations(*session, storage::public_migrations());
  if (!applied) {
    std::cerr << "fleetprompt: migration failed: " << describe(applied.error())
              << "\n";
    return false;
  }
  return true;
}

} // namespace fp::app
