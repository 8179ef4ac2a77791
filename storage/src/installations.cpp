#include "fp/storage/installations.hpp"

#include <algorithm>

#include <openssl/crypto.h>

#include "agent_sql.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/webhook_signature.hpp"
#include "fp/storage/credentials.hpp"
#include "fp/storage/directives.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/subscriptions.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"
#include "pg_array.hpp"
#include "sql_text.hpp"

namespace fp::storage {

namespace {

using detail::opt_text;

std::string installation_columns() {
  return "id::text, package, version, state, config::text, "
         "granted_scopes::text, coalesce(target_version, ''), "
         "coalesce(target_config::text, ''), coalesce(required_by::text, ''), "
         "dependencies::text, limits::text, coalesce(error::text, ''), "
         "coalesce(requested_by, ''), coalesce(correlation_id::text, ''), "
         + detail::rfc3339("created_at") + ", " + detail::rfc3339("updated_at");
}

installation_record read_installation(const result& r, int row) {
  installation_record x;
  int c = 0;
  x.id = r.text(row, c++);
  x.package = r.text(row, c++);
  x.version = r.text(row, c++);
  x.state = r.text(row, c++);
  x.config = r.text(row, c++);
  x.granted_scopes = detail::parse_text_array(r.text(row, c++));
  x.target_version = r.text(row, c++);
  x.target_config = r.text(row, c++);
  x.required_by = r.text(row, c++);
  x.dependencies = r.text(row, c++);
  x.limits = r.text(row, c++);
  x.error = r.text(row, c++);
  x.requested_by = r.text(row, c++);
  x.correlation_id = r.text(row, c++);
  x.created_at = r.text(row, c++);
  x.updated_at = r.text(row, c++);
  return x;
}

caf::expected<std::vector<installation_record>> read_all(caf::expected<result> r) {
  if (!r)
    return std::move(r.error());
  std::vector<installation_record> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(read_installation(*r, i));
  return out;
}

std::string json_or(const std::string& text, const char* fallback) {
  return text.empty() ? std::string{fallback} : text;
}

} // namespace

caf::expected<installation_record>
insert_installation(pg_session& db, std::string_view slug,
                    const installation_record& x) {
  if (!is_uuid(x.id))
    return detail::not_a_uuid("installation id");
  if (!detail::empty_or_uuid(x.required_by))
    return detail::not_a_uuid("required_by");
  if (!detail::empty_or_uuid(x.correlation_id))
    return detail::not_a_uuid("correlation_id");
  // ON CONFLICT on the live-package index keeps the caller's transaction
  // usable when another live installation exists.
  auto r = db.exec(
    "INSERT INTO " + quoted_tenant_schema(slug)
      + ".installations (id, package, version, state, config, "
        "granted_scopes, required_by, dependencies, requested_by, "
        "correlation_id, limits) VALUES ($1::uuid, $2, $3, $4, $5::jsonb, "
        "$6::text[], $7::uuid, $8::jsonb, $9, $10::uuid, $11::jsonb) ON "
        "CONFLICT (package) WHERE state <> 'uninstalled' DO NOTHING RETURNING "
      + installation_columns(),
    {x.id, x.package, x.version, x.state, json_or(x.config, "{}"),
     detail::text_array(x.granted_scopes), opt_text(x.required_by),
     json_or(x.dependencies, "{}"), opt_text(x.requested_by),
     opt_text(x.correlation_id), json_or(x.limits, "{}")});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return runtime::make_error(runtime::errc::conflict,
                               "package " + x.package
                                 + " is already installed");
  return read_installation(*r, 0);
}

caf::expected<std::optional<installation_record>>
find_installation(pg_session& db, std::string_view slug, std::string_view id,
                  bool lock) {
  if (!is_uuid(id))
    return std::optional<installation_record>{};
  return detail::first_row(db.exec("SELECT " + installation_columns() + " FROM "
                                     + quoted_tenant_schema(slug)
                                     + ".installations WHERE id = $1::uuid"
                                     + (lock ? " FOR UPDATE" : ""),
                                   {std::string{id}}),
                           read_installation);
}

caf::expected<std::optional<installation_record>>
find_live_installation(pg_session& db, std::string_view slug,
                       std::string_view package) {
  return detail::first_row(db.exec("SELECT " + installation_columns() + " FROM "
                                     + quoted_tenant_schema(slug)
                                     + ".installations WHERE package = $1 AND "
                                       "state <> 'uninstalled'",
                                   {std::string{package}}),
                           read_installation);
}

caf::expected<std::vector<installation_record>>
list_installations(pg_session& db, std::string_view slug,
                   const installation_filter& f) {
  if (!f.before_id.empty() && !is_uuid(f.before_id))
    return runtime::make_error(runtime::errc::invalid_argument, "invalid cursor");
  std::string sql = "SELECT " + installation_columns() + " FROM "
                    + quoted_tenant_schema(slug) + ".installations WHERE true";
  sql_params params;
  if (!f.state.empty()) {
    params.emplace_back(f.state);
    sql += " AND state = $" + std::to_string(params.size());
  }
  if (!f.package.empty()) {
    params.emplace_back(f.package);
    sql += " AND package = $" + std::to_string(params.size());
  }
  if (!f.before_id.empty()) {
    params.emplace_back(f.before_id);
    sql += " AND id < $" + std::to_string(params.size()) + "::uuid";
  }
  params.emplace_back(std::to_string(std::max(f.limit, 0)));
  sql += " ORDER BY id DESC LIMIT $" + std::to_string(params.size());
  return read_all(db.exec(sql, std::move(params)));
}

caf::expected<std::vector<installation_record>>
installation_dependents(pg_session& db, std::string_view slug,
                        std::string_view package) {
  return read_all(db.exec("SELECT " + installation_columns() + " FROM "
                            + quoted_tenant_schema(slug)
                            + ".installations WHERE state NOT IN ('uninstalled', "
                              "'failed') AND dependencies ? $1 ORDER BY id",
                          {std::string{package}}));
}

caf::expected<std::vector<installation_record>>
installations_required_by(pg_session& db, std::string_view slug,
                          std::string_view id) {
  if (!is_uuid(id))
    return std::vector<installation_record>{};
  return read_all(db.exec("SELECT " + installation_columns() + " FROM "
                            + quoted_tenant_schema(slug)
                            + ".installations WHERE state <> 'uninstalled' AND "
                              "required_by = $1::uuid ORDER BY id",
                          {std::string{id}}));
}

caf::expected<bool> update_installation(pg_session& db, std::string_view slug,
                                        const installation_record& x) {
  if (!is_uuid(x.id))
    return false;
  if (!detail::empty_or_uuid(x.required_by))
    return detail::not_a_uuid("required_by");
  auto r = db.exec(
    "UPDATE " + quoted_tenant_schema(slug)
      + ".installations SET version = $2, state = $3, config = $4::jsonb, "
        "granted_scopes = $5::text[], target_version = $6, target_config = "
        "$7::jsonb, required_by = $8::uuid, dependencies = $9::jsonb, error = "
        "$10::jsonb, limits = $11::jsonb, updated_at = now() WHERE id = $1::uuid",
    {x.id, x.version, x.state, json_or(x.config, "{}"),
     detail::text_array(x.granted_scopes), opt_text(x.target_version),
     opt_text(x.target_config), opt_text(x.required_by),
     json_or(x.dependencies, "{}"), opt_text(x.error), json_or(x.limits, "{}")});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() > 0;
}

// -- limits -------------------------------------------------------------------------------

namespace {

/// The ids of installation $1's agents, as a subquery of `schema`.
std::string agents_of_installation(const std::string& schema) {
  return "agent_id IN (SELECT id FROM " + schema
         + ".agents WHERE installation_id = $1::uuid)";
}

/// A member of `limits` as bigint, NULL unless it is a number.
std::string limit_member(std::string_view name) {
  std::string n{name};
  return "CASE WHEN jsonb_typeof(limits->'" + n + "') = 'number' THEN (limits->>'"
         + n + "')::numeric::bigint END";
}

} // namespace

caf::expected<std::optional<installation_limits>>
installation_limits_of(pg_session& db, std::string_view slug, std::string_view id) {
  if (!is_uuid(id))
    return std::optional<installation_limits>{};
  auto r = db.exec_prepared(detail::statement_name("installations.limits", slug),
                            "SELECT package, " + limit_member("executions_per_hour")
                              + ", " + limit_member("daily_budget_micros")
                              + " FROM " + quoted_tenant_schema(slug)
                              + ".installations WHERE id = $1::uuid",
                            {std::string{id}});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return std::optional<installation_limits>{};
  installation_limits out;
  out.package = r->text(0, 0);
  if (!r->is_null(0, 1))
    out.executions_per_hour = r->int64(0, 1);
  if (!r->is_null(0, 2))
    out.daily_budget_micros = r->int64(0, 2);
  return std::optional<installation_limits>{std::move(out)};
}

caf::expected<int64_t> installation_spent_today(pg_session& db,
                                                std::string_view slug,
                                                std::string_view id) {
  // The start of the current UTC day, as agents.cpp spent_today.
  static constexpr const char* day_start
    = "(date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')";
  if (!is_uuid(id))
    return int64_t{0};
  auto schema = quoted_tenant_schema(slug);
  auto r = db.exec_prepared(
    detail::statement_name("installations.spent", slug),
    "SELECT coalesce(sum(cost_micros), 0)::bigint FROM " + schema
      + ".executions WHERE " + agents_of_installation(schema)
      + " AND queued_at >= " + day_start,
    {std::string{id}});
  if (!r)
    return std::move(r.error());
  return r->int64(0, 0);
}

caf::expected<int64_t>
installation_executions_last_hour(pg_session& db, std::string_view slug,
                                  std::string_view id, std::string_view except_id) {
  if (!is_uuid(id))
    return int64_t{0};
  if (!detail::empty_or_uuid(except_id))
    return detail::not_a_uuid("execution id");
  auto schema = quoted_tenant_schema(slug);
  auto r = db.exec_prepared(
    detail::statement_name("installations.hourly", slug),
    "SELECT count(*)::bigint FROM " + schema + ".executions WHERE "
      + agents_of_installation(schema)
      + " AND queued_at >= now() - interval '1 hour' AND id IS DISTINCT FROM "
        "$2::uuid",
    {std::string{id}, opt_text(except_id)});
  if (!r)
    return std::move(r.error());
  return r->int64(0, 0);
}

caf::error add_installation_transition(pg_session& db, std::string_view slug,
                                       const std::string& id,
                                       const installation_transition& t) {
  auto r = db.exec("INSERT INTO " + quoted_tenant_schema(slug)
                     + ".installation_transitions (installation_id, "
                       "from_state, to_state, version, detail, actor_id) "
                       "VALUES ($1::uuid, $2, $3, $4, $5, $6)",
                   {id, opt_text(t.from_state), t.to_state, t.version, t.detail,
                    t.actor_id});
  if (!r)
    return std::move(r.error());
  return caf::none;
}

caf::expected<std::vector<installation_transition>>
list_installation_transitions(pg_session& db, std::string_view slug,
                              std::string_view id) {
  if (!is_uuid(id))
    return std::vector<installation_transition>{};
  auto r = db.exec("SELECT id, coalesce(from_state, ''), to_state, version, "
                   "detail, actor_id, "
                     + detail::rfc3339("at") + " FROM "
                     + quoted_tenant_schema(slug)
                     + ".installation_transitions WHERE installation_id = "
                       "$1::uuid ORDER BY id",
                   {std::string{id}});
  if (!r)
    return std::move(r.error());
  std::vector<installation_transition> out;
  for (int i = 0; i < r->rows(); ++i) {
    installation_transition t;
    t.id = r->int64(i, 0);
    t.from_state = r->text(i, 1);
    t.to_state = r->text(i, 2);
    t.version = r->text(i, 3);
    t.detail = r->text(i, 4);
    t.actor_id = r->text(i, 5);
    t.at = r->text(i, 6);
    out.push_back(std::move(t));
  }
  return out;
}

caf::error add_installation_resource(pg_session& db, std::string_view slug,
                                     const std::string& id,
                                     const installation_resource& res) {
  auto r = db.exec("INSERT INTO " + quoted_tenant_schema(slug)
                     + ".installation_resources (installation_id, kind, "
                       "resource_id, name) VALUES ($1::uuid, $2, $3, $4) ON "
                       "CONFLICT DO NOTHING",
                   {id, res.kind, res.resource_id, res.name});
  if (!r)
    return std::move(r.error());
  return caf::none;
}

caf::expected<std::vector<installation_resource>>
list_installation_resources(pg_session& db, std::string_view slug,
                            std::string_view id) {
  if (!is_uuid(id))
    return std::vector<installation_resource>{};
  auto r = db.exec("SELECT kind, resource_id, name, " + detail::rfc3339("created_at")
                     + " FROM " + quoted_tenant_schema(slug)
                     + ".installation_resources WHERE installation_id = "
                       "$1::uuid ORDER BY created_at, kind, name",
                   {std::string{id}});
  if (!r)
    return std::move(r.error());
  std::vector<installation_resource> out;
  for (int i = 0; i < r->rows(); ++i)
    out.push_back({std::string{r->text(i, 0)}, std::string{r->text(i, 1)},
                   std::string{r->text(i, 2)}, std::string{r->text(i, 3)}});
  return out;
}

caf::error remove_installation_resource(pg_session& db, std::string_view slug,
                                        const std::string& id,
                                        std::string_view kind,
                                        std::string_view resource_id) {
  auto r = db.exec("DELETE FROM " + quoted_tenant_schema(slug)
                     + ".installation_resources WHERE installation_id = "
                       "$1::uuid AND kind = $2 AND resource_id = $3",
                   {id, std::string{kind}, std::string{resource_id}});
  if (!r)
    return std::move(r.error());
  return caf::none;
}

caf::expected<int64_t> delete_credential_fields(pg_session& db,
                                                std::string_view slug,
                                                std::string_view id,
                                                std::string_view prefix) {
  if (!is_uuid(id))
    return int64_t{0};
  auto r = db.exec("DELETE FROM " + quoted_tenant_schema(slug)
                     + ".credentials WHERE installation_id = $1::uuid AND "
                       "left(field, length($2)) = $2",
                   {std::string{id}, std::string{prefix}});
  if (!r)
    return std::move(r.error());
  return r->affected_rows();
}

caf::expected<std::optional<std::string>> org_slug_of(pg_session& db,
                                                      std::string_view org_id) {
  if (!is_uuid(org_id))
    return std::optional<std::string>{};
  return detail::first_row(db.exec("SELECT slug FROM public.organizations "
                                   "WHERE id = $1::uuid",
                                   {std::string{org_id}}),
                           [](const result& r, int row) {
                             return std::string{r.text(row, 0)};
                           });
}

caf::expected<std::string>
create_sealed_webhook_destination(pg_session& db, std::string_view slug,
                                  const runtime::key_ring& keys,
                                  std::string_view installation_id,
                                  std::string_view url,
                                  std::string_view description,
                                  std::string_view secret) {
  auto made = create_webhook_destination(db, slug, &keys, url, description, secret,
                                         installation_id);
  if (!made)
    return std::move(made.error());
  return made->id;
}

caf::expected<bool>
update_sealed_webhook_destination(pg_session& db, std::string_view slug,
                                  const runtime::key_ring& keys,
                                  std::string_view id, std::string_view url,
                                  std::string_view description,
                                  std::string_view secret) {
  if (!is_uuid(id))
    return false;
  if (!secret.empty()) {
    auto key = runtime::webhook_secret_key(secret);
    bool well_formed = key && secret.rfind("whsec_", 0) == 0;
    if (key)
      OPENSSL_cleanse(key->data(), key->size());
    if (!well_formed)
      return runtime::make_error(runtime::errc::invalid_argument,
                                 "webhook secret must be whsec_ followed by base64");
  }
  auto schema = quoted_tenant_schema(slug);
  auto taken = db.exec("SELECT 1 FROM " + schema
                         + ".webhook_destinations WHERE url = $1 AND id <> $2",
                       {std::string{url}, std::string{id}});
  if (!taken)
    return std::move(taken.error());
  if (taken->rows() > 0)
    return runtime::make_error(runtime::errc::conflict,
                               "the URL " + std::string{url}
                                 + " is already a webhook destination");
  // An empty secret keeps the one the destination has.
  std::optional<std::string> sealed;
  if (!secret.empty())
    sealed = keys.seal(secret, webhook_secret_aad(slug, id));
  auto r = db.exec("UPDATE " + schema
                     + ".webhook_destinations SET url = $2, description = $3, "
                       "secret = coalesce($4, secret) WHERE id = $1",
                   {std::string{id}, std::string{url}, std::string{description},
                    sealed});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() > 0;
}

caf::expected<bool> set_job_schedule_enabled(pg_session& db,
                                             std::string_view name,
                                             bool enabled) {
  // Re-enabling starts from the next due time after now, not a backlog.
  auto r = db.exec("UPDATE public.job_schedules SET enabled = $2::boolean, "
                   "updated_at = now() WHERE name = $1",
                   {std::string{name}, std::string{enabled ? "true" : "false"}});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() > 0;
}

caf::expected<std::vector<window_signal>>
window_signals(pg_session& db, std::string_view slug,
               const std::vector<std::string>& patterns, int hours, int limit,
               std::string& start, std::string& end) {
  // Patterns become LIKE prefixes ('a.*' -> 'a.%') or exact types; '*' or
  // no pattern at all matches every type.
  bool any = patterns.empty();
  std::vector<std::string> exact, prefixes;
  for (auto& p : patterns) {
    if (p == "*")
      any = true;
    else if (p.size() > 2 && p.compare(p.size() - 2, 2, ".*") == 0)
      prefixes.push_back(p.substr(0, p.size() - 1));
    else
      exact.push_back(p);
  }
  auto r = db.exec(
    "WITH w AS (SELECT now() - make_interval(hours => $1::int) AS s, now() AS "
    "e), picked AS (SELECT x.type, x.payload::text AS payload, x.occurred_at, "
    "x.seq FROM "
      + quoted_tenant_schema(slug)
      + ".signals x, w WHERE x.occurred_at >= w.s AND x.occurred_at <= w.e AND "
        "($2::boolean OR x.type = ANY ($3::text[]) OR EXISTS (SELECT 1 FROM "
        "unnest($4::text[]) p WHERE left(x.type, length(p)) = p)) ORDER BY "
        "x.seq DESC LIMIT $5::int) SELECT p.type, p.payload, "
      + detail::rfc3339("p.occurred_at") + ", " + detail::rfc3339("w.s") + ", "
      + detail::rfc3339("w.e")
      + " FROM w LEFT JOIN picked p ON true ORDER BY p.seq",
    {std::to_string(hours), std::string{any ? "true" : "false"},
     detail::text_array(exact), detail::text_array(prefixes),
     std::to_string(limit)});
  if (!r)
    return std::move(r.error());
  std::vector<window_signal> out;
  for (int i = 0; i < r->rows(); ++i) {
    start = r->text(i, 3);
    end = r->text(i, 4);
    if (r->is_null(i, 0))
      continue;
    out.push_back({std::string{r->text(i, 0)}, std::string{r->text(i, 1)},
                   std::string{r->text(i, 2)}});
  }
  return out;
}

} // namespace fp::storage
