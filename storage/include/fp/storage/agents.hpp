#pragma once

// Skills (the global catalog in public.skills and each tenant's own in
// {{schema}}.skills), agents and the tenant's budget (see
// migrations/public/0004_skills.sql and migrations/tenant/0005_agents.sql).
// Every function runs in the caller's transaction; tenant functions take
// the tenant's validated slug.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace fp::storage {

class pg_session;

// -- skills ---------------------------------------------------------------------------

/// One skill, global or tenant-owned.
struct skill_record {
  std::string id;
  std::string name;
  std::string description;
  /// "prompt" or "directive".
  std::string kind;
  /// JSON texts.
  std::string input_schema = R"({"type":"object"})";
  std::string output_schema = R"({"type":"object"})";
  std::string config = "{}";
  /// "member", "admin" or "owner".
  std::string min_role = "member";
  /// "global" or "tenant".
  std::string scope = "tenant";
  /// For a tenant skill: true when a global skill of the same name exists
  /// (this one overrides it).
  bool overrides = false;
  /// Empty unless a package installation brought it.
  std::string installation_id;
  std::vector<std::string> required_scopes;
  std::string created_by;
  /// RFC 3339 UTC.
  std::string created_at;
  std::string updated_at;
};

/// The skills tenant `slug` sees: its own, plus every global skill it does
/// not override, by name.
caf::expected<std::vector<skill_record>>
list_skills(pg_session& db, std::string_view slug);

/// Skill `id` (tenant or global, as tenant `slug` sees it), or nullopt.
caf::expected<std::optional<skill_record>>
find_skill(pg_session& db, std::string_view slug, std::string_view id);

/// The skill named `name` as tenant `slug` resolves it (its own first, then
/// the global one), or nullopt.
caf::expected<std::optional<skill_record>>
resolve_skill(pg_session& db, std::string_view slug, std::string_view name);

/// Creates a tenant skill (`s.id` assigned by the caller). A name the
/// tenant already uses gives runtime::errc::conflict.
caf::expected<skill_record> insert_skill(pg_session& db, std::string_view slug,
                                         const skill_record& s);

/// Replaces the mutable fields (description, schemas, config, min_role) of
/// tenant skill `id`; nullopt when the tenant has no such skill.
caf::expected<std::optional<skill_record>>
update_skill(pg_session& db, std::string_view slug, const skill_record& s);

/// Deletes tenant skill `id`; false when absent (global skills cannot be
/// deleted through a tenant).
caf::expected<bool> delete_skill(pg_session& db, std::string_view slug,
                                 std::string_view id);

// -- agents ---------------------------------------------------------------------------

/// One agent.
struct agent_record {
  std::string id;
  std::string name;
  std::string purpose;
  std::string provider = "local";
  std::string model = "local-extractive";
  std::string system_prompt;
  std::vector<std::string> skills;
  std::vector<std::string> directive_types;
  std::vector<std::string> triggers;
  int max_tokens = 4096;
  int max_tool_calls = 8;
  /// Per UTC day, micro-units; nullopt: none of its own.
  std::optional<int64_t> daily_budget_micros;
  /// "draft", "active", "paused" or "archived".
  std::string state = "draft";
  std::string installation_id;
  std::vector<std::string> granted_scopes;
  int version = 1;
  std::string created_by;
  std::string created_at;
  std::string updated_at;
};

/// Creates `a` (id assigned by the caller) and its trigger subscriptions
/// (enabled only when `a.state` is "active"). A name in use gives
/// runtime::errc::conflict.
caf::expected<agent_record> insert_agent(pg_session& db, std::string_view slug,
                                         const agent_record& a);

/// Agent `id`, or nullopt (also for text that is no UUID).
caf::expected<std::optional<agent_record>>
find_agent(pg_session& db, std::string_view slug, std::string_view id,
           bool lock = false);

/// Filters of `list_agents`.
struct agent_filter {
  /// Empty: any state but "archived"; "all": every state.
  std::string state;
  /// Only agents with an id below this one (cursor); empty: from the newest.
  std::string before_id;
  int limit = 50;
};

/// Agents newest first.
caf::expected<std::vector<agent_record>>
list_agents(pg_session& db, std::string_view slug, const agent_filter& filter);

/// Writes every mutable field of `a` (matched by id), bumps `version` and
/// replaces the trigger subscriptions so they match `a.triggers`, enabled
/// only while `a.state` is "active". nullopt when absent; a name in use
/// gives runtime::errc::conflict.
caf::expected<std::optional<agent_record>>
update_agent(pg_session& db, std::string_view slug, const agent_record& a);

/// Deletes agent `id` (its subscriptions and conversations go with it;
/// executions keep their record with agent_id NULL); false when absent.
caf::expected<bool> delete_agent(pg_session& db, std::string_view slug,
                                 std::string_view id);

/// Ids of the active agents of tenant `slug`.
caf::expected<std::vector<std::string>>
active_agent_ids(pg_session& db, std::string_view slug);

// -- spending ---------------------------------------------------------------------------

/// The tenant's own daily limit (micro-units), or nullopt for none.
caf::expected<std::optional<int64_t>> tenant_daily_budget(pg_session& db,
                                                          std::string_view slug);

/// Sets (or with nullopt removes) the tenant's daily limit.
caf::error set_tenant_daily_budget(pg_session& db, std::string_view slug,
                                   std::optional<int64_t> micros);

/// Cost (micro-units) of the executions queued since the start of the
/// current UTC day: of agent `agent_id`, or of the whole tenant when
/// `agent_id` is empty.
caf::expected<int64_t> spent_today(pg_session& db, std::string_view slug,
                                   std::string_view agent_id = {});

} // namespace fp::storage
