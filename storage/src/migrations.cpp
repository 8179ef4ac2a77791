#include "fp/storage/migrations.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

#include "embedded_migrations.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/log.hpp"

namespace fp::storage {

namespace log = runtime::log;

namespace {

/// Key of the session-level advisory lock that serialises migrators of all
/// processes ("FP_MIGR1"; any fixed value works as long as nobody else uses it).
constexpr int64_t migration_lock_key = 0x46505F4D49475231;

constexpr std::string_view create_table_sql =
  "CREATE TABLE IF NOT EXISTS public.schema_migrations ("
  " version integer PRIMARY KEY,"
  " name text NOT NULL,"
  " checksum text NOT NULL,"
  " applied_at timestamptz NOT NULL DEFAULT now())";

constexpr std::string_view select_applied_sql =
  "SELECT version, name, checksum,"
  " to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
  " FROM public.schema_migrations ORDER BY version";

struct applied_row {
  std::string name;
  std::string checksum;
  std::string applied_at;
};

std::string label(int version, std::string_view name) {
  char num[16];
  std::snprintf(num, sizeof(num), "%04d", version);
  return std::string{num} + "_" + std::string{name};
}

/// Applied migrations by version; an empty map when the bookkeeping table
/// does not exist (nothing applied yet).
caf::expected<std::map<int, applied_row>> read_applied(pg_session& session) {
  auto exists = session.exec(
    "SELECT to_regclass('public.schema_migrations') IS NOT NULL");
  if (!exists)
    return std::move(exists.error());
  std::map<int, applied_row> out;
  if (!exists->boolean(0, 0))
    return out;
  auto rows = session.exec(select_applied_sql);
  if (!rows)
    return std::move(rows.error());
  for (int r = 0; r < rows->rows(); ++r)
    out.emplace(static_cast<int>(rows->int64(r, 0)),
                applied_row{std::string{rows->text(r, 1)},
                            std::string{rows->text(r, 2)},
                            std::string{rows->text(r, 3)}});
  return out;
}

/// errc::migration_tampered when the database does not match `known`.
caf::error check_applied(const std::map<int, applied_row>& applied,
                         const std::vector<migration>& known) {
  for (const auto& [version, row] : applied) {
    auto i = std::find_if(known.begin(), known.end(),
                          [v = version](const migration& m) { return m.version == v; });
    if (i == known.end())
      return make_error(errc::migration_tampered,
                        "the database has migration " + label(version, row.name)
                          + " that this binary does not know (is a newer "
                            "version running?)");
    if (i->checksum != row.checksum)
      return make_error(errc::migration_tampered,
                        "migration " + label(version, i->name)
                          + " was changed after it was applied (checksum "
                            "mismatch)");
  }
  return caf::none;
}

std::vector<migration> by_version(const std::vector<migration>& known) {
  auto sorted = known;
  std::sort(sorted.begin(), sorted.end(),
            [](const migration& a, const migration& b) { return a.version < b.version; });
  return sorted;
}

/// Releases the advisory lock however apply_migrations ends.
class advisory_lock_guard {
public:
  explicit advisory_lock_guard(pg_session& session) : session_(session) {}
  advisory_lock_guard(const advisory_lock_guard&) = delete;
  advisory_lock_guard& operator=(const advisory_lock_guard&) = delete;
  ~advisory_lock_guard() {
    // On a lost connection the server has released it already.
    if (!session_.connected())
      return;
    auto res = session_.exec("SELECT pg_advisory_unlock($1::bigint)",
                             {std::to_string(migration_lock_key)});
    if (!res)
      log::warn("could not release the migration lock",
                {{"error", runtime::context_of(res.error())}});
  }

private:
  pg_session& session_;
};

caf::error apply_one(pg_session& session, const migration& m) {
  if (auto begin = session.exec("BEGIN"); !begin)
    return std::move(begin.error());
  auto fail = [&](caf::error err) {
    if (session.connected()) {
      auto rb = session.exec("ROLLBACK");
      (void) rb;
    }
    return err;
  };
  if (auto err = session.exec_script(m.sql))
    return fail(std::move(err));
  auto row = session.exec(
    "INSERT INTO public.schema_migrations (version, name, checksum)"
    " VALUES ($1::integer, $2, $3)",
    {std::to_string(m.version), m.name, m.checksum});
  if (!row)
    return fail(std::move(row.error()));
  if (auto commit = session.exec("COMMIT"); !commit)
    return fail(std::move(commit.error()));
  return caf::none;
}

} // namespace

std::optional<migration_file_name>
parse_migration_file_name(std::string_view file_name) {
  constexpr std::string_view suffix = ".sql";
  if (file_name.size() <= suffix.size()
      || file_name.substr(file_name.size() - suffix.size()) != suffix)
    return std::nullopt;
  auto stem = file_name.substr(0, file_name.size() - suffix.size());
  auto sep = stem.find('_');
  if (sep == std::string_view::npos)
    return std::nullopt;
  auto digits = stem.substr(0, sep);
  auto name = stem.substr(sep + 1);
  // 4..9 digits: a zero-padded, sortable prefix that fits an int.
  if (digits.size() < 4 || digits.size() > 9 || name.empty())
    return std::nullopt;
  int version = 0;
  for (char c : digits) {
    if (c < '0' || c > '9')
      return std::nullopt;
    version = version * 10 + (c - '0');
  }
  if (version <= 0)
    return std::nullopt;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return std::nullopt;
  return migration_file_name{version, std::string{name}};
}

std::optional<migration> make_migration(std::string_view file_name,
                                        std::string sql) {
  auto parsed = parse_migration_file_name(file_name);
  if (!parsed)
    return std::nullopt;
  migration m;
  m.version = parsed->version;
  m.name = std::move(parsed->name);
  m.checksum = runtime::sha256_hex(sql);
  m.sql = std::move(sql);
  return m;
}

const std::vector<migration>& public_migrations() {
  static const std::vector<migration> all = [] {
    std::vector<migration> out;
    for (const auto& file : detail::public_migration_files()) {
      std::string sql{reinterpret_cast<const char*>(file.data), file.size};
      // The build already rejected bad names (embed_migrations.cmake).
      if (auto m = make_migration(file.name, std::move(sql)))
        out.push_back(std::move(*m));
    }
    return by_version(out);
  }();
  return all;
}

caf::expected<std::vector<migration_state>>
migration_status(pg_session& session, const std::vector<migration>& known) {
  auto applied = read_applied(session);
  if (!applied)
    return std::move(applied.error());
  std::map<int, migration_state> out;
  for (const auto& m : known) {
    migration_state st;
    st.version = m.version;
    st.name = m.name;
    if (auto i = applied->find(m.version); i != applied->end()) {
      st.applied = true;
      st.applied_at = i->second.applied_at;
      st.checksum_ok = i->second.checksum == m.checksum;
    }
    out[m.version] = std::move(st);
  }
  for (const auto& [version, row] : *applied) {
    if (out.count(version) == 0)
      out[version] = migration_state{version, row.name, true, row.applied_at, false};
  }
  std::vector<migration_state> list;
  list.reserve(out.size());
  for (auto& [_, st] : out)
    list.push_back(std::move(st));
  return list;
}

caf::expected<int> apply_migrations(pg_session& session,
                                    const std::vector<migration>& known) {
  auto sorted = by_version(known);
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i].version == sorted[i - 1].version)
      return make_error(errc::migration_failed,
                        "migration version " + std::to_string(sorted[i].version)
                          + " is defined twice");
  // Session-level, not transaction-level: it must span the per-migration
  // transactions. Concurrent migrators (other nodes, a CLI) wait here.
  auto lock = session.exec("SELECT pg_advisory_lock($1::bigint)",
                           {std::to_string(migration_lock_key)});
  if (!lock)
    return std::move(lock.error());
  advisory_lock_guard guard{session};
  if (auto res = session.exec(create_table_sql); !res)
    return std::move(res.error());
  auto applied = read_applied(session);
  if (!applied)
    return std::move(applied.error());
  if (auto err = check_applied(*applied, sorted))
    return err;
  int count = 0;
  for (const auto& m : sorted) {
    if (applied->count(m.version) > 0)
      continue;
    if (auto err = apply_one(session, m)) {
      auto name = label(m.version, m.name);
      log::error("migration failed", {{"migration", name},
                                      {"error", runtime::context_of(err)}});
      if (code_of(err) == errc::unavailable)
        return err;
      return make_error(errc::migration_failed,
                        "migration " + name + " failed: " + runtime::context_of(err));
    }
    log::info("applied migration", {{"migration", label(m.version, m.name)}});
    ++count;
  }
  return count;
}

caf::expected<int> pending_migration_count(pg_session& session) {
  const auto& known = public_migrations();
  auto applied = read_applied(session);
  if (!applied)
    return std::move(applied.error());
  if (auto err = check_applied(*applied, known))
    return err;
  int pending = 0;
  for (const auto& m : known)
    pending += applied->count(m.version) == 0 ? 1 : 0;
  return pending;
}

} // namespace fp::storage
