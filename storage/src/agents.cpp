#include "fp/storage/agents.hpp"

#include <algorithm>

#include "agent_sql.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"
#include "pg_array.hpp"
#include "signals_sql.hpp"
#include "sql_text.hpp"

namespace fp::storage {

namespace {

using detail::opt_text;

// -- skills ---------------------------------------------------------------------------

/// Columns of a tenant skill (alias t); `overrides` asks public.skills.
std::string tenant_skill_columns(std::string_view t) {
  std::string a{t};
  return a + ".id::text, " + a + ".name, " + a + ".description, " + a
         + ".kind, " + a + ".input_schema::text, " + a
         + ".output_schema::text, " + a + ".config::text, " + a
         + ".min_role, 'tenant', EXISTS (SELECT 1 FROM public.skills g WHERE "
           "g.name = "
         + a + ".name), coalesce(" + a + ".installation_id::text, ''), " + a
         + ".required_scopes::text, coalesce(" + a + ".created_by, ''), "
         + detail::rfc3339(a + ".created_at") + ", "
         + detail::rfc3339(a + ".updated_at");
}

/// The same columns for a global skill (alias g).
std::string global_skill_columns() {
  return "g.id::text, g.name, g.description, g.kind, g.input_schema::text, "
         "g.output_schema::text, g.config::text, g.min_role, 'global', false, "
         "'', '{}', '', "
         + detail::rfc3339("g.created_at") + ", "
         + detail::rfc3339("g.updated_at");
}

/// The skill in `row`, its columns starting at `first`.
skill_record read_skill(const result& r, int row, int first = 0) {
  skill_record s;
  int c = first;
  s.id = r.text(row, c++);
  s.name = r.text(row, c++);
  s.description = r.text(row, c++);
  s.kind = r.text(row, c++);
  s.input_schema = r.text(row, c++);
  s.output_schema = r.text(row, c++);
  s.config = r.text(row, c++);
  s.min_role = r.text(row, c++);
  s.scope = r.text(row, c++);
  s.overrides = r.boolean(row, c++);
  s.installation_id = r.text(row, c++);
  s.required_scopes = detail::parse_text_array(r.text(row, c++));
  s.created_by = r.text(row, c++);
  s.created_at = r.text(row, c++);
  s.updated_at = r.text(row, c++);
  return s;
}

template <class Record, class Read>
caf::expected<std::vector<Record>> read_rows(caf::expected<result> r,
                                             Read read) {
  if (!r)
    return std::move(r.error());
  std::vector<Record> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(read(*r, i));
  return out;
}

std::string json_or(const std::string& text, const char* fallback) {
  return text.empty() ? std::string{fallback} : text;
}

// -- agents ---------------------------------------------------------------------------

std::string agent_columns() {
  return "id::text, name, purpose, provider, model, system_prompt, "
         "skills::text, directive_types::text, triggers::text, max_tokens, "
         "max_tool_calls, daily_budget_micros, state, "
         "coalesce(installation_id::text, ''), granted_scopes::text, version, "
         "coalesce(created_by, ''), "
         + detail::rfc3339("created_at") + ", " + detail::rfc3339("updated_at");
}

agent_record read_agent(const result& r, int row) {
  agent_record a;
  int c = 0;
  a.id = r.text(row, c++);
  a.name = r.text(row, c++);
  a.purpose = r.text(row, c++);
  a.provider = r.text(row, c++);
  a.model = r.text(row, c++);
  a.system_prompt = r.text(row, c++);
  a.skills = detail::parse_text_array(r.text(row, c++));
  a.directive_types = detail::parse_text_array(r.text(row, c++));
  a.triggers = detail::parse_text_array(r.text(row, c++));
  a.max_tokens = static_cast<int>(r.int64(row, c++));
  a.max_tool_calls = static_cast<int>(r.int64(row, c++));
  if (!r.is_null(row, c))
    a.daily_budget_micros = r.int64(row, c);
  ++c;
  a.state = r.text(row, c++);
  a.installation_id = r.text(row, c++);
  a.granted_scopes = detail::parse_text_array(r.text(row, c++));
  a.version = static_cast<int>(r.int64(row, c++));
  a.created_by = r.text(row, c++);
  a.created_at = r.text(row, c++);
  a.updated_at = r.text(row, c++);
  return a;
}

std::optional<std::string> opt_int(const std::optional<int64_t>& v) {
  if (!v)
    return std::nullopt;
  return std::to_string(*v);
}

caf::error check_agent_ids(const agent_record& a) {
  if (!is_uuid(a.id))
    return detail::not_a_uuid("agent id");
  if (!detail::empty_or_uuid(a.installation_id))
    return detail::not_a_uuid("installation_id");
  return caf::none;
}

/// Brings the agent's trigger subscriptions in step with `a`: one
/// subscription (handler_kind 'agent') per distinct trigger pattern,
/// enabled only while the agent is active. Unchanged patterns keep their
/// subscription (and id). One statement: the three parts touch disjoint
/// rows, so sharing one snapshot is harmless.
caf::error sync_agent_subscriptions(pg_session& db, const std::string& schema,
                                    const agent_record& a) {
  std::vector<std::string> patterns;
  for (auto& t : a.triggers)
    if (!t.empty() && std::find(patterns.begin(), patterns.end(), t)
                        == patterns.end())
      patterns.push_back(t);
  std::vector<std::string> ids;
  ids.reserve(patterns.size());
  for (std::size_t i = 0; i < patterns.size(); ++i)
    ids.push_back(runtime::new_uuid_v7());
  const bool enabled = a.state == "active";
  auto r = db.exec(
    "WITH del AS (DELETE FROM " + schema
      + ".subscriptions WHERE agent_id = $1::uuid AND NOT (pattern = ANY "
        "($2::text[]))), upd AS (UPDATE "
      + schema
      + ".subscriptions SET enabled = $3::boolean WHERE agent_id = $1::uuid "
        "AND pattern = ANY ($2::text[]) AND enabled <> $3::boolean) "
        "INSERT INTO "
      + schema
      + ".subscriptions (id, pattern, handler_kind, directive_type, params, "
        "enabled, created_by, agent_id) SELECT u.id, u.pattern, 'agent', '', "
        "'{}', $3::boolean, $5, $1::uuid FROM unnest($4::uuid[], $2::text[]) "
        "AS u(id, pattern) WHERE NOT EXISTS (SELECT 1 FROM "
      + schema
      + ".subscriptions x WHERE x.agent_id = $1::uuid AND x.pattern = "
        "u.pattern)",
    {a.id, detail::text_array(patterns), std::string{enabled ? "true" : "false"},
     detail::text_array(ids), opt_text(a.created_by)});
  if (!r)
    return std::move(r.error());
  return caf::none;
}

} // namespace

// -- skills ---------------------------------------------------------------------------

caf::expected<std::vector<skill_record>>
list_skills(pg_session& db, std::string_view slug) {
  auto schema = quoted_tenant_schema(slug);
  return read_rows<skill_record>(
    db.exec("SELECT * FROM (SELECT " + tenant_skill_columns("t") + " FROM "
            + schema + ".skills t UNION ALL SELECT " + global_skill_columns()
            + " FROM public.skills g WHERE NOT EXISTS (SELECT 1 FROM " + schema
            + ".skills o WHERE o.name = g.name)) s ORDER BY 2"),
    [](const result& r, int row) { return read_skill(r, row); });
}

caf::expected<std::optional<skill_record>>
find_skill(pg_session& db, std::string_view slug, std::string_view id) {
  if (!is_uuid(id))
    return std::optional<skill_record>{};
  auto schema = quoted_tenant_schema(slug);
  // A global skill the tenant overrides is not what the tenant sees.
  return detail::first_row(
    db.exec("SELECT " + tenant_skill_columns("t") + " FROM " + schema
              + ".skills t WHERE t.id = $1::uuid UNION ALL SELECT "
              + global_skill_columns()
              + " FROM public.skills g WHERE g.id = $1::uuid AND NOT EXISTS "
                "(SELECT 1 FROM "
              + schema + ".skills o WHERE o.name = g.name) LIMIT 1",
            {std::string{id}}),
    [](const result& r, int row) { return read_skill(r, row); });
}

caf::expected<std::optional<skill_record>>
resolve_skill(pg_session& db, std::string_view slug, std::string_view name) {
  auto schema = quoted_tenant_schema(slug);
  // The tenant's own first: the first branch's row comes first.
  return detail::first_row(
    db.exec_prepared(detail::statement_name("skills.resolve", slug),
                     "SELECT * FROM (SELECT 0 AS rank, "
                       + tenant_skill_columns("t") + " FROM " + schema
                       + ".skills t WHERE t.name = $1 UNION ALL SELECT 1, "
                       + global_skill_columns()
                       + " FROM public.skills g WHERE g.name = $1) s ORDER "
                         "BY rank LIMIT 1",
                     {std::string{name}}),
    [](const result& r, int row) { return read_skill(r, row, 1); });
}

caf::expected<skill_record> insert_skill(pg_session& db, std::string_view slug,
                                         const skill_record& s) {
  if (!is_uuid(s.id))
    return detail::not_a_uuid("skill id");
  if (!detail::empty_or_uuid(s.installation_id))
    return detail::not_a_uuid("installation_id");
  auto schema = quoted_tenant_schema(slug);
  // ON CONFLICT DO NOTHING keeps the caller's transaction usable when the
  // name is taken (a unique violation would abort it).
  auto r = db.exec(
    "INSERT INTO " + schema
      + ".skills AS t (id, name, description, kind, input_schema, "
        "output_schema, config, min_role, installation_id, required_scopes, "
        "created_by) VALUES ($1::uuid, $2, $3, $4, $5::jsonb, $6::jsonb, "
        "$7::jsonb, $8, $9::uuid, $10::text[], $11) ON CONFLICT DO NOTHING "
        "RETURNING "
      + tenant_skill_columns("t"),
    {s.id, s.name, s.description, s.kind,
     json_or(s.input_schema, R"({"type":"object"})"),
     json_or(s.output_schema, R"({"type":"object"})"), json_or(s.config, "{}"),
     s.min_role.empty() ? std::string{"member"} : s.min_role,
     opt_text(s.installation_id), detail::text_array(s.required_scopes),
     opt_text(s.created_by)});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return runtime::make_error(runtime::errc::conflict,
                               "a skill named '" + s.name + "' exists already");
  return read_skill(*r, 0);
}

caf::expected<std::optional<skill_record>>
update_skill(pg_session& db, std::string_view slug, const skill_record& s) {
  if (!is_uuid(s.id))
    return std::optional<skill_record>{};
  auto schema = quoted_tenant_schema(slug);
  return detail::first_row(
    db.exec("UPDATE " + schema
              + ".skills AS t SET description = $2, input_schema = $3::jsonb, "
                "output_schema = $4::jsonb, config = $5::jsonb, min_role = $6, "
                "updated_at = now() WHERE t.id = $1::uuid RETURNING "
              + tenant_skill_columns("t"),
            {s.id, s.description, json_or(s.input_schema, R"({"type":"object"})"),
             json_or(s.output_schema, R"({"type":"object"})"),
             json_or(s.config, "{}"),
             s.min_role.empty() ? std::string{"member"} : s.min_role}),
    [](const result& r, int row) { return read_skill(r, row); });
}

caf::expected<bool> delete_skill(pg_session& db, std::string_view slug,
                                 std::string_view id) {
  if (!is_uuid(id))
    return false;
  auto r = db.exec("DELETE FROM " + quoted_tenant_schema(slug)
                     + ".skills WHERE id = $1::uuid",
                   {std::string{id}});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() > 0;
}

// -- agents ---------------------------------------------------------------------------

caf::expected<agent_record> insert_agent(pg_session& db, std::string_view slug,
                                         const agent_record& a) {
  if (auto err = check_agent_ids(a))
    return err;
  auto schema = quoted_tenant_schema(slug);
  auto r = db.exec(
    "INSERT INTO " + schema
      + ".agents (id, name, purpose, provider, model, system_prompt, skills, "
        "directive_types, triggers, max_tokens, max_tool_calls, "
        "daily_budget_micros, state, installation_id, granted_scopes, "
        "created_by) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7::text[], "
        "$8::text[], $9::text[], $10::int, $11::int, $12::bigint, $13, "
        "$14::uuid, $15::text[], $16) ON CONFLICT DO NOTHING RETURNING "
      + agent_columns(),
    {a.id, a.name, a.purpose, a.provider, a.model, a.system_prompt,
     detail::text_array(a.skills), detail::text_array(a.directive_types),
     detail::text_array(a.triggers), std::to_string(a.max_tokens),
     std::to_string(a.max_tool_calls), opt_int(a.daily_budget_micros), a.state,
     opt_text(a.installation_id), detail::text_array(a.granted_scopes),
     opt_text(a.created_by)});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return runtime::make_error(runtime::errc::conflict,
                               "an agent named '" + a.name + "' exists already");
  auto out = read_agent(*r, 0);
  if (auto err = sync_agent_subscriptions(db, schema, out))
    return err;
  return out;
}

caf::expected<std::optional<agent_record>>
find_agent(pg_session& db, std::string_view slug, std::string_view id,
           bool lock) {
  if (!is_uuid(id))
    return std::optional<agent_record>{};
  auto schema = quoted_tenant_schema(slug);
  // Prepared: agent actors load their config through this on every reload.
  auto name = detail::statement_name(lock ? "agents.find_locked" : "agents.find",
                                     slug);
  return detail::first_row(
    db.exec_prepared(name,
                     "SELECT " + agent_columns() + " FROM " + schema
                       + ".agents WHERE id = $1::uuid"
                       + (lock ? " FOR UPDATE" : ""),
                     {std::string{id}}),
    read_agent);
}

caf::expected<std::vector<agent_record>>
list_agents(pg_session& db, std::string_view slug, const agent_filter& f) {
  if (!f.before_id.empty() && !is_uuid(f.before_id))
    return runtime::make_error(runtime::errc::invalid_argument,
                               "invalid cursor");
  // Only the filters in use become SQL, so every plan fits its query.
  std::string sql = "SELECT " + agent_columns() + " FROM "
                    + quoted_tenant_schema(slug) + ".agents WHERE true";
  sql_params params;
  if (f.state.empty()) {
    sql += " AND state <> 'archived'";
  } else if (f.state != "all") {
    params.emplace_back(f.state);
    sql += " AND state = $" + std::to_string(params.size());
  }
  if (!f.before_id.empty()) {
    params.emplace_back(f.before_id);
    sql += " AND id < $" + std::to_string(params.size()) + "::uuid";
  }
  params.emplace_back(std::to_string(std::max(f.limit, 0)));
  sql += " ORDER BY id DESC LIMIT $" + std::to_string(params.size());
  return read_rows<agent_record>(db.exec(sql, std::move(params)), read_agent);
}

caf::expected<std::optional<agent_record>>
update_agent(pg_session& db, std::string_view slug, const agent_record& a) {
  if (!is_uuid(a.id))
    return std::optional<agent_record>{};
  if (!detail::empty_or_uuid(a.installation_id))
    return detail::not_a_uuid("installation_id");
  auto schema = quoted_tenant_schema(slug);
  // Checked first: a unique violation would abort the caller's transaction.
  auto taken = db.exec("SELECT 1 FROM " + schema
                         + ".agents WHERE name = $1 AND id <> $2::uuid",
                       {a.name, a.id});
  if (!taken)
    return std::move(taken.error());
  if (taken->rows() > 0)
    return runtime::make_error(runtime::errc::conflict,
                               "an agent named '" + a.name + "' exists already");
  auto r = db.exec(
    "UPDATE " + schema
      + ".agents SET name = $2, purpose = $3, provider = $4, model = $5, "
        "system_prompt = $6, skills = $7::text[], directive_types = "
        "$8::text[], triggers = $9::text[], max_tokens = $10::int, "
        "max_tool_calls = $11::int, daily_budget_micros = $12::bigint, state = "
        "$13, installation_id = $14::uuid, granted_scopes = $15::text[], "
        "version = version + 1, updated_at = now() WHERE id = $1::uuid "
        "RETURNING "
      + agent_columns(),
    {a.id, a.name, a.purpose, a.provider, a.model, a.system_prompt,
     detail::text_array(a.skills), detail::text_array(a.directive_types),
     detail::text_array(a.triggers), std::to_string(a.max_tokens),
     std::to_string(a.max_tool_calls), opt_int(a.daily_budget_micros), a.state,
     opt_text(a.installation_id), detail::text_array(a.granted_scopes)});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return std::optional<agent_record>{};
  auto out = read_agent(*r, 0);
  if (auto err = sync_agent_subscriptions(db, schema, out))
    return err;
  return std::optional<agent_record>{std::move(out)};
}

caf::expected<bool> delete_agent(pg_session& db, std::string_view slug,
                                 std::string_view id) {
  if (!is_uuid(id))
    return false;
  // Subscriptions and conversations cascade; executions keep their record
  // (agent_id SET NULL), see the migration.
  auto r = db.exec("DELETE FROM " + quoted_tenant_schema(slug)
                     + ".agents WHERE id = $1::uuid",
                   {std::string{id}});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() > 0;
}

caf::expected<std::vector<std::string>>
active_agent_ids(pg_session& db, std::string_view slug) {
  return read_rows<std::string>(
    db.exec("SELECT id::text FROM " + quoted_tenant_schema(slug)
            + ".agents WHERE state = 'active' ORDER BY id"),
    [](const result& r, int row) { return std::string{r.text(row, 0)}; });
}

// -- spending ---------------------------------------------------------------------------

caf::expected<std::optional<int64_t>> tenant_daily_budget(pg_session& db,
                                                          std::string_view slug) {
  auto r = db.exec("SELECT daily_budget_micros FROM "
                   + quoted_tenant_schema(slug) + ".budget WHERE id");
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0 || r->is_null(0, 0))
    return std::optional<int64_t>{};
  return std::optional<int64_t>{r->int64(0, 0)};
}

caf::error set_tenant_daily_budget(pg_session& db, std::string_view slug,
                                   std::optional<int64_t> micros) {
  auto r = db.exec("INSERT INTO " + quoted_tenant_schema(slug)
                     + ".budget (id, daily_budget_micros) VALUES (true, "
                       "$1::bigint) ON CONFLICT (id) DO UPDATE SET "
                       "daily_budget_micros = EXCLUDED.daily_budget_micros, "
                       "updated_at = now()",
                   {opt_int(micros)});
  if (!r)
    return std::move(r.error());
  return caf::none;
}

caf::expected<int64_t> spent_today(pg_session& db, std::string_view slug,
                                   std::string_view agent_id) {
  // The start of the current UTC day as a timestamptz; two statements so
  // each uses its own index (executions_agent_queued, executions_queued_at).
  static constexpr const char* day_start
    = "(date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')";
  auto schema = quoted_tenant_schema(slug);
  caf::expected<result> r{result{}};
  if (agent_id.empty()) {
    r = db.exec_prepared(detail::statement_name("agents.spent_tenant", slug),
                         "SELECT coalesce(sum(cost_micros), 0)::bigint FROM "
                           + schema + ".executions WHERE queued_at >= "
                           + day_start);
  } else {
    if (!is_uuid(agent_id))
      return int64_t{0};
    r = db.exec_prepared(detail::statement_name("agents.spent_agent", slug),
                         "SELECT coalesce(sum(cost_micros), 0)::bigint FROM "
                           + schema
                           + ".executions WHERE agent_id = $1::uuid AND "
                             "queued_at >= "
                           + day_start,
                         {std::string{agent_id}});
  }
  if (!r)
    return std::move(r.error());
  return r->int64(0, 0);
}

} // namespace fp::storage
