#include "fp/storage/subscriptions.hpp"

#include <algorithm>

#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/users.hpp"
#include "pg_array.hpp"
#include "signals_sql.hpp"
#include "sql_text.hpp"

namespace fp::storage {

namespace {

std::string record_columns() {
  return "id::text, pattern, handler_kind, directive_type, params::text, "
         "enabled, "
         + detail::rfc3339_us("created_at") + ", coalesce(created_by, ''), "
         "coalesce(agent_id::text, '')";
}

subscription_record read_record(const result& r, int row) {
  subscription_record s;
  s.id = r.text(row, 0);
  s.pattern = r.text(row, 1);
  s.handler_kind = r.text(row, 2);
  s.directive_type = r.text(row, 3);
  s.params = r.text(row, 4);
  s.enabled = r.boolean(row, 5);
  s.created_at = r.text(row, 6);
  s.created_by = r.text(row, 7);
  s.agent_id = r.text(row, 8);
  return s;
}

caf::expected<std::vector<subscription_record>>
read_all(caf::expected<result> r) {
  if (!r)
    return std::move(r.error());
  std::vector<subscription_record> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(read_record(*r, i));
  return out;
}

} // namespace

caf::expected<subscription_record>
create_subscription(pg_session& db, std::string_view slug,
                    const new_subscription& sub) {
  auto schema = detail::quoted_schema_of(slug);
  if (schema.empty())
    return detail::not_a_slug();
  std::optional<std::string> creator;
  if (!sub.created_by.empty())
    creator = sub.created_by;
  auto r = db.exec("INSERT INTO " + schema
                     + ".subscriptions (id, pattern, directive_type, params, "
                       "created_by) VALUES ($1::uuid, $2, $3, $4::jsonb, $5) "
                       "RETURNING "
                     + record_columns(),
                   {runtime::new_uuid_v7(), sub.pattern, sub.directive_type,
                    sub.params.empty() ? std::string{"{}"} : sub.params,
                    creator});
  if (!r)
    return std::move(r.error());
  return read_record(*r, 0);
}

caf::expected<std::vector<subscription_record>>
list_subscriptions(pg_session& db, std::string_view slug) {
  auto schema = detail::quoted_schema_of(slug);
  if (schema.empty())
    return detail::not_a_slug();
  return read_all(db.exec("SELECT " + record_columns() + " FROM " + schema
                          + ".subscriptions ORDER BY created_at, id"));
}

caf::expected<std::optional<subscription_record>>
get_subscription(pg_session& db, std::string_view slug, std::string_view id) {
  auto schema = detail::quoted_schema_of(slug);
  if (schema.empty())
    return detail::not_a_slug();
  if (!is_uuid(id))
    return std::optional<subscription_record>{};
  auto r = db.exec("SELECT " + record_columns() + " FROM " + schema
                     + ".subscriptions WHERE id = $1::uuid",
                   {std::string{id}});
  return detail::first_row(std::move(r), read_record);
}

namespace {

/// An agent's trigger belongs to the agent (storage/agents.hpp keeps it in
/// step): editing it here would change the agent behind its back.
caf::error refuse_agent_trigger(pg_session& db, const std::string& schema,
                                std::string_view id) {
  auto r = db.exec("SELECT agent_id::text FROM " + schema
                     + ".subscriptions WHERE id = $1::uuid AND handler_kind "
                       "= 'agent'",
                   {std::string{id}});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return caf::none;
  return runtime::make_error(runtime::errc::conflict,
                             "subscription " + std::string{id}
                               + " is a trigger of agent "
                               + std::string{r->text(0, 0)}
                               + "; change the agent's triggers instead");
}

} // namespace

caf::expected<bool> delete_subscription(pg_session& db, std::string_view slug,
                                        std::string_view id) {
  auto schema = detail::quoted_schema_of(slug);
  if (schema.empty())
    return detail::not_a_slug();
  if (!is_uuid(id))
    return false;
  if (auto err = refuse_agent_trigger(db, schema, id))
    return err;
  auto r = db.exec("DELETE FROM " + schema
                     + ".subscriptions WHERE id = $1::uuid",
                   {std::string{id}});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() > 0;
}

caf::expected<bool> set_subscription_enabled(pg_session& db,
                                             std::string_view slug,
                                             std::string_view id,
                                             bool enabled) {
  auto schema = detail::quoted_schema_of(slug);
  if (schema.empty())
    return detail::not_a_slug();
  if (!is_uuid(id))
    return false;
  if (auto err = refuse_agent_trigger(db, schema, id))
    return err;
  auto r = db.exec("UPDATE " + schema
                     + ".subscriptions SET enabled = $2::boolean WHERE id = "
                       "$1::uuid",
                   {std::string{id}, std::string{enabled ? "true" : "false"}});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() > 0;
}

caf::expected<std::vector<subscription_record>>
matching_subscriptions(pg_session& db, std::string_view slug,
                       std::string_view type) {
  auto schema = detail::quoted_schema_of(slug);
  if (schema.empty())
    return detail::not_a_slug();
  // `p.*` matches types starting with "p.": compare all but the '*'.
  return read_all(db.exec_prepared(
    "subscriptions.matching." + std::string{slug},
    "SELECT " + record_columns() + " FROM " + schema
      + ".subscriptions WHERE enabled AND (pattern = '*' OR pattern = $1 OR "
        "(right(pattern, 2) = '.*' AND left($1, length(pattern) - 1) = "
        "left(pattern, length(pattern) - 1))) ORDER BY created_at, id",
    {std::string{type}}));
}

std::vector<std::string> candidate_patterns(std::string_view type) {
  std::vector<std::string> out{"*", std::string{type}};
  for (std::size_t i = 0; i + 1 < type.size(); ++i)
    if (type[i] == '.')
      out.push_back(std::string{type.substr(0, i + 1)} + "*");
  return out;
}

caf::expected<std::vector<subscription_record>>
subscriptions_matching_any(pg_session& db, std::string_view slug,
                           const std::vector<std::string>& types) {
  auto schema = detail::quoted_schema_of(slug);
  if (schema.empty())
    return detail::not_a_slug();
  std::vector<std::string> candidates;
  for (auto& t : types)
    for (auto& p : candidate_patterns(t))
      if (std::find(candidates.begin(), candidates.end(), p) == candidates.end())
        candidates.push_back(std::move(p));
  if (candidates.empty())
    return std::vector<subscription_record>{};
  // Not prepared: a custom plan per call keeps the index probe whatever
  // the table looked like when a generic plan would have been cached.
  return read_all(db.exec("SELECT " + record_columns() + " FROM " + schema
                            + ".subscriptions WHERE enabled AND pattern = ANY "
                              "($1::text[]) ORDER BY created_at, id",
                          {detail::text_array(candidates)}));
}

caf::expected<std::vector<subscription_record>>
enabled_subscriptions(pg_session& db, std::string_view slug) {
  auto schema = detail::quoted_schema_of(slug);
  if (schema.empty())
    return detail::not_a_slug();
  return read_all(db.exec_prepared(
    "subscriptions.enabled." + std::string{slug},
    "SELECT " + record_columns() + " FROM " + schema
      + ".subscriptions WHERE enabled ORDER BY created_at, id"));
}

bool subscription_matches(std::string_view pattern,
                          std::string_view type) noexcept {
  if (pattern == "*" || pattern == type)
    return true;
  if (pattern.size() >= 2 && pattern.substr(pattern.size() - 2) == ".*") {
    auto stem = pattern.substr(0, pattern.size() - 1); // keeps the dot
    return type.size() > stem.size() && type.substr(0, stem.size()) == stem;
  }
  return false;
}

} // namespace fp::storage
