// The organization saga, soft deletion, purge and the doctor.

#include "fp/actors/orgs.hpp"

#include <set>

#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/errc.hpp"
#include "fp/storage/tenant_migrations.hpp"

namespace fp::actors {

namespace log = runtime::log;
using runtime::errc;
using runtime::make_error;

namespace {

/// Rolls a half-made organization back: its schema (if any) and its row.
caf::error compensate(storage::pg_session& s, const std::string& org_id,
                      const std::string& slug) {
  return storage::run_transaction(s, [&](storage::pg_session& tx) -> caf::error {
    if (auto err = storage::drop_tenant_schema(tx, quoted_tenant_schema(slug)))
      return err;
    return storage::delete_org_row(tx, org_id);
  });
}

} // namespace

std::string org_name_error(std::string_view name) {
  if (name.empty())
    return "name must not be empty";
  if (name.size() > 200)
    return "name must be at most 200 bytes";
  return {};
}

caf::expected<storage::org_row>
create_org(storage::pg_session& s, const std::string& slug,
           const std::string& name, const std::string& owner_user_id,
           const std::vector<storage::migration>& tenant_migrations) {
  if (auto why = slug_error(slug); !why.empty())
    return make_error(errc::invalid_argument, "slug: " + why);
  if (auto why = org_name_error(name); !why.empty())
    return make_error(errc::invalid_argument, "name: " + why);
  // Step 1, committed on its own: the unique slug is the claim. A concurrent
  // create of the same slug fails here, before any schema exists.
  auto id = runtime::new_uuid_v7();
  auto claimed = storage::run_transaction(s, [&](storage::pg_session& tx) {
    return storage::insert_provisioning_org(tx, id, slug, name, owner_user_id);
  });
  if (claimed) {
    if (storage::code_of(claimed) == storage::errc::unique_violation)
      return make_error(errc::conflict,
                        "slug: an organization named '" + slug + "' exists");
    // The claim may have committed after all: take back our row (by id;
    // the schema is not ours to touch, a concurrent create may own it).
    if (storage::code_of(claimed) == storage::errc::commit_unknown)
      if (auto undo = storage::run_transaction(s, [&](storage::pg_session& tx) {
            return storage::delete_org_row(tx, id);
          }))
        log::error("could not roll back a failed organization; doctor will",
                   {{"slug", slug}, {"error", runtime::context_of(undo)}});
    return claimed;
  }
  // Step 2, one transaction: schema, tables, owner, active. DDL is
  // transactional in PostgreSQL, so a failure here leaves no schema.
  const auto schema = quoted_tenant_schema(slug);
  auto built = storage::run_transaction(s, [&](storage::pg_session& tx) -> caf::error {
    auto exists = storage::schema_exists(tx, tenant_schema(slug));
    if (!exists)
      return std::move(exists.error());
    if (*exists)
      return make_error(errc::conflict,
                        "slug: schema " + tenant_schema(slug)
                          + " exists without an organization (run "
                            "'fleetprompt doctor --fix')");
    if (auto err = storage::create_tenant_schema(tx, schema))
      return err;
    auto applied = storage::apply_tenant_migrations_in_tx(tx, id, schema,
                                                          tenant_migrations);
    if (!applied)
      return std::move(applied.error());
    if (auto err = storage::upsert_member(tx, id, owner_user_id, "owner"))
      return err;
    return storage::set_org_state(tx, id, "active");
  });
  if (built) {
    // The pre-existing schema belongs to someone else's mess: keep it for
    // the doctor; only our row goes.
    bool ours = runtime::code_of(built) != errc::conflict;
    auto undo = ours ? compensate(s, id, slug)
                     : storage::run_transaction(s, [&](storage::pg_session& tx) {
                         return storage::delete_org_row(tx, id);
                       });
    if (undo)
      log::error("could not roll back a failed organization; doctor will",
                 {{"slug", slug}, {"error", runtime::context_of(undo)}});
    return built;
  }
  storage::org_row row;
  row.id = id;
  row.slug = slug;
  row.name = name;
  row.state = "active";
  log::info("organization created", {{"slug", slug}, {"org_id", id}});
  return row;
}

caf::error soft_delete_org(storage::pg_session& s, const std::string& slug,
                           std::chrono::milliseconds grace) {
  const auto missing = make_error(errc::not_found,
                                  "no organization named '" + slug + "'");
  if (!slug_error(slug).empty())
    return missing;
  return storage::run_transaction(s, [&](storage::pg_session& tx) -> caf::error {
    auto org = storage::find_org_by_slug(tx, slug);
    if (!org)
      return std::move(org.error());
    if (!*org || (*org)->state != "active")
      return missing;
    auto marked = storage::mark_org_deleting(tx, (*org)->id, grace);
    if (!marked)
      return std::move(marked.error());
    return *marked ? caf::none : missing;
  });
}

caf::expected<std::vector<std::string>> purge_due_orgs(storage::pg_session& s) {
  auto due = storage::orgs_due_for_purge(s);
  if (!due)
    return std::move(due.error());
  std::vector<std::string> purged;
  for (const auto& org : *due) {
    if (!slug_error(org.slug).empty())
      continue; // the CHECK constraint makes this impossible
    auto err = storage::run_transaction(s, [&](storage::pg_session& tx) {
      if (auto e = storage::drop_tenant_schema(tx, quoted_tenant_schema(org.slug)))
        return e;
      return storage::set_org_state(tx, org.id, "purged");
    });
    if (err) {
      log::warn("could not purge an organization",
                {{"slug", org.slug}, {"error", runtime::context_of(err)}});
      continue;
    }
    log::info("organization purged", {{"slug", org.slug}});
    purged.push_back(org.slug);
  }
  return purged;
}

schema_audit audit_schemas(const std::vector<std::string>& schemas,
                           const std::vector<std::string>& owned_slugs) {
  std::set<std::string> owned(owned_slugs.begin(), owned_slugs.end());
  schema_audit out;
  for (const auto& schema : schemas) {
    auto slug = slug_of_schema(schema);
    if (!slug)
      out.foreign.push_back(schema);
    else if (owned.count(*slug) == 0)
      out.orphans.push_back(*slug);
  }
  return out;
}

caf::expected<doctor_report>
run_doctor(storage::pg_session& s, bool fix,
           std::chrono::milliseconds stuck_after) {
  doctor_report report;
  auto stuck = storage::stuck_provisioning_orgs(s, stuck_after);
  if (!stuck)
    return std::move(stuck.error());
  // Schemas are listed after the owners: a saga inserts its row before it
  // creates its schema, so a schema seen here always has its row already.
  auto owned = storage::org_slugs_in_states(s, {"active", "deleting",
                                                "provisioning"});
  if (!owned)
    return std::move(owned.error());
  auto schemas = storage::tenant_schema_names(s);
  if (!schemas)
    return std::move(schemas.error());
  report.schemas = audit_schemas(*schemas, *owned);
  for (const auto& org : *stuck)
    report.stuck.push_back(org.slug);
  if (!fix)
    return report;
  for (const auto& slug : report.schemas.orphans)
    if (auto err = storage::drop_tenant_schema(s, quoted_tenant_schema(slug)))
      return err;
  for (const auto& org : *stuck) {
    auto err = storage::run_transaction(s, [&](storage::pg_session& tx) -> caf::error {
      // Row first, and only while still provisioning: this waits for a saga
      // that is finishing right now, and leaves its org alone if it did.
      auto gone = storage::delete_org_in_state(tx, org.id, "provisioning");
      if (!gone)
        return std::move(gone.error());
      if (!*gone)
        return caf::none;
      return storage::drop_tenant_schema(tx, quoted_tenant_schema(org.slug));
    });
    if (err)
      return err;
  }
  report.fixed = true;
  return report;
}

} // namespace fp::actors
