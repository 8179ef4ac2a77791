#include "org_commands.hpp"

#include "admin_db.hpp"

#include <cstdio>
#include <iostream>
#include <memory>

#include "fp/actors/orgs.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/embedded_postgres.hpp"
#include "fp/storage/org_repository.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"

namespace fp::app {

namespace {

int org_create(const config::command_line& cli, storage::pg_session& db) {
  auto flag = [&](const char* name) {
    auto i = cli.flags.find(name);
    return i == cli.flags.end() ? std::string{} : i->second;
  };
  auto slug = flag("slug");
  auto name = flag("name");
  auto owner = flag("owner");
  if (slug.empty() || name.empty() || owner.empty()) {
    std::cerr << "fleetprompt: org create needs --slug, --name and --owner\n";
    return 2;
  }
  auto user = storage::find_user_by_email(db, owner);
  if (!user) {
    std::cerr << "fleetprompt: " << describe(user.error()) << "\n";
    return 1;
  }
  if (!*user) {
    std::cerr << "fleetprompt: no user with e-mail " << owner
              << " (create it with 'fleetprompt user create')\n";
    return 1;
  }
  auto org = actors::create_org(db, slug, name, (*user)->id,
                                storage::tenant_migrations());
  if (!org) {
    std::cerr << "fleetprompt: cannot create the organization: "
              << describe(org.error()) << "\n";
    return 1;
  }
  std::cout << "created organization " << org->slug << " (" << org->id
            << "), schema " << actors::tenant_schema(org->slug) << ", owner "
            << (*user)->email << "\n";
  return 0;
}

int org_list(storage::pg_session& db) {
  auto orgs = storage::list_orgs(db);
  if (!orgs) {
    std::cerr << "fleetprompt: " << describe(orgs.error()) << "\n";
    return 1;
  }
  std::printf("%-48s %-13s %-20s %s\n", "SLUG", "STATE", "CREATED", "NAME");
  for (const auto& o : *orgs)
    std::printf("%-48s %-13s %-20s %s\n", o.slug.c_str(), o.state.c_str(),
                o.created_at.c_str(), o.name.c_str());
  std::printf("%zu organization(s)\n", orgs->size());
  return 0;
}

} // namespace

int run_org(const config::command_line& cli) {
  const auto& pos = cli.positional;
  bool create = pos.size() == 2 && pos[1] == "create";
  bool list = pos.size() == 2 && pos[1] == "list";
  if (!create && !list) {
    std::cerr << "fleetprompt: usage: fleetprompt org create --slug S --name N "
                 "--owner EMAIL | fleetprompt org list\n";
    return 2;
  }
  admin_db db;
  if (!db.open(cli.values))
    return 1;
  return create ? org_create(cli, *db.session) : org_list(*db.session);
}

int run_doctor(const config::command_line& cli) {
  admin_db db;
  if (!db.open(cli.values))
    return 1;
  bool fix = cli.flags.count("fix") > 0;
  auto report = actors::run_doctor(*db.session, fix);
  if (!report) {
    std::cerr << "fleetprompt: doctor failed: " << describe(report.error()) << "\n";
    return 1;
  }
  for (const auto& slug : report->schemas.orphans)
    std::cout << "orphan schema " << actors::tenant_schema(slug)
              << (fix ? ": dropped" : "") << "\n";
  for (const auto& name : report->schemas.foreign)
    std::cout << "foreign schema " << name << ": not an organization's, left alone\n";
  for (const auto& slug : report->stuck)
    std::cout << "organization " << slug << " stuck in provisioning"
              << (fix ? ": rolled back" : "") << "\n";
  auto problems = report->schemas.orphans.size() + report->stuck.size();
  if (problems == 0)
    std::cout << "no problems found\n";
  else if (!fix)
    std::cout << problems << " problem(s); run 'fleetprompt doctor --fix' to repair\n";
  return problems == 0 || fix ? 0 : 1;
}

int migrate_tenants(const config::settings& s, const std::string& url) {
  actors::tenant_migrate_options opts;
  opts.batch = s.tenant_migrate_batch;
  opts.concurrency = s.tenant_migrate_concurrency;
  opts.connect_timeout = s.db_connect_timeout;
  // Per-tenant status for the tenants that changed; failures are listed
  // below.
  opts.on_tenant = [](const std::string& slug, int applied, const caf::error&) {
    if (applied > 0)
      std::printf("tenant %s: applied %d migration(s)\n", slug.c_str(), applied);
  };
  auto report = actors::migrate_all_tenants(url, storage::tenant_migrations(), opts);
  if (!report) {
    std::cerr << "fleetprompt: tenant migration failed: "
              << describe(report.error()) << "\n";
    return 1;
  }
  for (const auto& f : report->failed)
    std::cerr << "fleetprompt: tenant " << f << "\n";
  std::printf("tenants: %u visited, %u migrated, %u migration(s) applied, %zu failed\n",
              report->tenants, report->migrated, report->applied,
              report->failed.size());
  return report->failed.empty() ? 0 : 1;
}

int print_tenant_status(const config::settings& s, const std::string& url) {
  auto session = storage::connect(url, s.db_connect_timeout);
  if (!session) {
    std::cerr << "fleetprompt: cannot connect: " << describe(session.error()) << "\n";
    return 1;
  }
  auto latest = storage::latest_version(storage::tenant_migrations());
  auto behind = storage::tenants_behind(**session, latest);
  if (!behind) {
    // Before the identity migration there are no tenants to be behind.
    std::printf("tenants behind: unknown (%s)\n", describe(behind.error()).c_str());
    return 1;
  }
  std::printf("tenant migrations: latest version %d; %zu tenant(s) behind\n",
              latest, behind->size());
  for (const auto& slug : *behind)
    std::printf("  %s\n", slug.c_str());
  return 0;
}

} // namespace fp::app
