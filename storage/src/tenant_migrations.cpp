#include "fp/storage/tenant_migrations.hpp"

#include <algorithm>
#include <map>
#include <memory>

#include "embedded_migrations.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/connection.hpp"

namespace fp::storage {

std::string quoted_tenant_schema(std::string_view slug) {
  std::string out = "\"org_";
  for (char c : slug) {
    if (c == '"')
      out += '"';
    out += c;
  }
  out += '"';
  return out;
}

const std::vector<migration>& tenant_migrations() {
  static const std::vector<migration> all = [] {
    std::vector<migration> out;
    for (const auto& file : detail::tenant_migration_files()) {
      std::string sql{reinterpret_cast<const char*>(file.data), file.size};
      // The build already rejected bad names (embed_migrations.cmake).
      if (auto m = make_migration(file.name, std::move(sql)))
        out.push_back(std::move(*m));
    }
    std::sort(out.begin(), out.end(),
              [](const migration& a, const migration& b) {
                return a.version < b.version;
              });
    return out;
  }();
  return all;
}

std::string render_tenant_sql(std::string_view sql,
                              std::string_view quoted_schema) {
  std::string out;
  out.reserve(sql.size() + 4 * quoted_schema.size());
  std::size_t pos = 0;
  while (true) {
    auto hit = sql.find(schema_placeholder, pos);
    if (hit == std::string_view::npos) {
      out.append(sql.substr(pos));
      return out;
    }
    out.append(sql.substr(pos, hit - pos));
    out.append(quoted_schema);
    pos = hit + schema_placeholder.size();
  }
}

int latest_version(const std::vector<migration>& known) noexcept {
  int v = 0;
  for (const auto& m : known)
    v = std::max(v, m.version);
  return v;
}

caf::expected<int> apply_tenant_migrations_in_tx(
  pg_session& session, const std::string& org_id, std::string_view quoted_schema,
  const std::vector<migration>& known) {
  // Transaction-level: released by COMMIT/ROLLBACK, so a killed applier
  // never leaves it behind. The key is derived from the org id; a rare
  // collision only serialises two unrelated tenants.
  auto lock = session.exec_prepared(
    "tenant_migr_lock",
    "SELECT pg_advisory_xact_lock(hashtextextended('fp.tenant_migrations:' || $1, 0))",
    {org_id});
  if (!lock)
    return std::move(lock.error());
  auto rows = session.exec_prepared(
    "tenant_migr_applied",
    "SELECT version, checksum FROM public.tenant_migrations"
    " WHERE org_id = $1::uuid",
    {org_id});
  if (!rows)
    return std::move(rows.error());
  std::map<int, std::string> applied;
  for (int r = 0; r < rows->rows(); ++r)
    applied.emplace(static_cast<int>(rows->int64(r, 0)),
                    std::string{rows->text(r, 1)});
  int count = 0;
  for (const auto& m : known) {
    if (auto i = applied.find(m.version); i != applied.end()) {
      if (i->second != m.checksum)
        return make_error(errc::migration_tampered,
                          "tenant migration " + m.name
                            + " was changed after it was applied");
      continue;
    }
    if (auto err = session.exec_script(render_tenant_sql(m.sql, quoted_schema)))
      return make_error(errc::migration_failed,
                        "tenant migration " + std::to_string(m.version) + "_"
                          + m.name + " failed: " + runtime::context_of(err));
    auto ins = session.exec_prepared(
      "tenant_migr_insert",
      "INSERT INTO public.tenant_migrations (org_id, version, name, checksum)"
      " VALUES ($1::uuid, $2::integer, $3, $4)",
      {org_id, std::to_string(m.version), m.name, m.checksum});
    if (!ins)
      return std::move(ins.error());
    ++count;
  }
  return count;
}

caf::expected<int> apply_tenant_migrations(pg_session& session,
                                           const std::string& org_id,
                                           std::string_view quoted_schema,
                                           const std::vector<migration>& known) {
  int applied = 0;
  auto err = run_transaction(session, [&](pg_session& s) -> caf::error {
    auto n = apply_tenant_migrations_in_tx(s, org_id, quoted_schema, known);
    if (!n)
      return std::move(n.error());
    applied = *n;
    return caf::none;
  });
  if (err)
    return err;
  return applied;
}

} // namespace fp::storage
