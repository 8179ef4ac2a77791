#pragma once

// The package manifest, `fleetprompt.package.json` (documented in
// examples/packages/README.md): parsing, validation with the path of every bad field,
// its canonical text (what the registry hashes), and the templating that
// puts an installation's configuration into what a package creates. Pure:
// no actors, no I/O.
//
// {
//   "name": "publisher/name",            ^[a-z0-9][a-z0-9-]{0,38}/[a-z0-9][a-z0-9._-]{0,63}$
//   "version": "1.2.0",                  SemVer 2.0
//   "description": "...",
//   "capabilities": {
//     "skills":        [{name, description?, kind: prompt|directive,
//                        input_schema?, output_schema?, config?, min_role?,
//                        required_scopes?}],
//     "agents":        [{name, purpose?, provider?, model?, system_prompt?,
//                        skills?, directive_types?, triggers?, max_tokens?,
//                        max_tool_calls?, daily_budget_micros?,
//                        state?: draft|active}],
//     "subscriptions": [{name, pattern, directive_type, params?}],
//     "directive_types": ["webhook.post", ...],
//     "tools":         [{name, skill, description?}],
//     "schedules":     [{name, cron, agent, window_hours?, signal_types?}],
//     "webhook_destinations": [{name, url, secret?, description?}]
//   },
//   "config_schema": { JSON Schema subset; "secret": true marks credentials },
//   "dependencies": { "publisher/name": "<range>" },
//   "permissions":  ["signals:emit:forum.*", "directive:webhook.post", ...],
//   "install":   [step...], "uninstall": [step...], "upgrade": [step...],
//   "limits": { "executions_per_hour"?, "daily_budget_micros"?,
//               "max_agents"? }
// }
//
// Strings inside capabilities may hold `{{config.<path>}}` placeholders,
// filled from the installation's (non-secret) config when it is created.
// `{{secrets.<field>}}` is allowed only as a webhook destination's `secret`:
// the installer copies the decrypted credential into the destination's
// encrypted secret and nowhere else.
//
// Steps are platform-owned actions only (no shipped code):
//   {"action": "signal.emit", "type": "...", "payload": {...}}   any list
//   {"action": "agent.activate", "agent": "<name>"}              install, upgrade
//   {"action": "agent.pause", "agent": "<name>"}                 any list
//   {"action": "config.rename", "from": "<path>", "to": "<path>"} upgrade
//   {"action": "config.set", "path": "<path>", "value": <json>}  upgrade
//   {"action": "config.remove", "path": "<path>"}                upgrade
// Upgrade steps run against the old config before the new schema checks it.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fp/actors/json_schema.hpp"
#include "fp/actors/semver.hpp"

namespace fp::actors {

struct manifest_skill {
  std::string name;
  std::string description;
  std::string kind = "prompt";
  /// JSON texts.
  std::string input_schema = R"({"type":"object"})";
  std::string output_schema = R"({"type":"object"})";
  std::string config = "{}";
  std::string min_role = "member";
  std::vector<std::string> required_scopes;
};

struct manifest_agent {
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
  std::optional<int64_t> daily_budget_micros;
  /// "draft" or "active" (the state it is created in).
  std::string state = "draft";
};

struct manifest_subscription {
  std::string name;
  std::string pattern;
  std::string directive_type;
  /// JSON object text.
  std::string params = "{}";
};

struct manifest_tool {
  std::string name;
  std::string skill;
  std::string description;
};

struct manifest_schedule {
  std::string name;
  /// Five-field cron, UTC.
  std::string cron;
  /// The package agent it runs.
  std::string agent;
  /// The run's input covers the signals of this many hours before it.
  int window_hours = 24;
  /// Signal type patterns of that window; empty: every type.
  std::vector<std::string> signal_types;
};

struct manifest_webhook_destination {
  std::string name;
  std::string url;
  /// Empty: the platform generates one; else a `{{secrets.<field>}}`.
  std::string secret;
  std::string description;
};

/// One install / uninstall / upgrade step.
struct manifest_step {
  std::string action;
  /// The step's other members as a JSON object text.
  std::string args = "{}";
};

/// What an installation's agents may do together: the engine refuses
/// their runs past `executions_per_hour` or `daily_budget_micros`
/// (agent_rules.hpp check_installation_limits); `max_agents` bounds the
/// manifest's agents.
struct manifest_limits {
  std::optional<int64_t> executions_per_hour;
  std::optional<int64_t> daily_budget_micros;
  std::optional<int64_t> max_agents;
};

/// A validated manifest.
struct package_manifest {
  std::string name;
  std::string version_text;
  semver::version version;
  std::string description;
  std::vector<manifest_skill> skills;
  std::vector<manifest_agent> agents;
  std::vector<manifest_subscription> subscriptions;
  std::vector<std::string> directive_types;
  std::vector<manifest_tool> tools;
  std::vector<manifest_schedule> schedules;
  std::vector<manifest_webhook_destination> webhook_destinations;
  /// JSON text; `{"type":"object"}` when absent.
  std::string config_schema = R"({"type":"object"})";
  /// Package name -> range text (validated to parse).
  std::map<std::string, std::string> dependencies;
  std::vector<std::string> permissions;
  std::vector<manifest_step> install_steps;
  std::vector<manifest_step> uninstall_steps;
  std::vector<manifest_step> upgrade_steps;
  manifest_limits limits;
  /// The canonical JSON text of the whole manifest (object keys sorted,
  /// no insignificant whitespace, numbers as written).
  std::string canonical;
};

/// Parses and validates `json`. On failure every problem is returned, each
/// with its path (`$.capabilities.agents[1].skills[0]: unknown skill
/// "x.y" (neither in this package nor a platform skill)`). Checks: required
/// members and types; unknown top-level or capability members; name and
/// version syntax; unique names per capability kind; skills' schemas
/// (check_schema) and kinds; agents' skills refer to the package's skills
/// or to names in `platform_skills` (a package with dependencies may also
/// name its dependencies' skills: the installer checks those resolve); agents' directive_types and
/// subscriptions' directive_type are in `directive_types`, and each of
/// those is in `platform_directive_types` and covered by a permission
/// `directive:<type>`; tools name a skill; schedules name a package agent
/// and a valid cron (runtime/cron.hpp); config_schema passes check_schema
/// and is an object schema; `{{config.x}}` placeholders name properties of
/// config_schema and `{{secrets.x}}` secret ones; dependency names are
/// package names and ranges parse (no self-dependency); permissions are
/// valid scopes (`permission_error`) and cover every skill's
/// required_scopes; steps have known actions for their list with their
/// required members; no more agents than `limits.max_agents`.
struct manifest_catalog {
  std::vector<std::string> platform_skills;
  std::vector<std::string> platform_directive_types;
};
struct manifest_result {
  std::optional<package_manifest> manifest;
  std::vector<schema_issue> issues;
};
manifest_result parse_manifest(std::string_view json,
                               const manifest_catalog& catalog);

/// The platform's catalog as of this build: the global skills seeded by
/// migrations/public/0004_skills.sql and the built-in directive executors.
const manifest_catalog& platform_catalog();

/// Empty when `scope` is a valid permission, else the reason. Scopes:
/// `signals:emit:<pattern>`, `signals:read:<pattern>`,
/// `directive:<type>`, `skills:<name>`, `agents:run`, `webhooks:post`.
/// A pattern is an exact type, `prefix.*` or `*`.
std::string permission_error(std::string_view scope);

/// True when `granted` (a list of scopes, patterns allowed) covers
/// `wanted` (`signals:emit:forum.*` covers `signals:emit:forum.post`;
/// `directive:*` covers `directive:webhook.post`).
bool scope_covered(const std::vector<std::string>& granted,
                   std::string_view wanted);

/// The scopes of `wanted` not covered by `granted`, in order.
std::vector<std::string> uncovered_scopes(const std::vector<std::string>& granted,
                                          const std::vector<std::string>& wanted);

/// Config fields marked `"secret": true` in `config_schema` (top-level
/// properties and nested object properties), as dotted paths ("smtp.password").
std::vector<std::string> secret_fields(std::string_view config_schema);

/// Splits a full config (JSON object text) into its non-secret part and
/// its secret values (path -> JSON text of the value). Secret fields
/// absent from `config` are absent from both.
struct split_config {
  std::string plain = "{}";
  std::map<std::string, std::string> secrets;
};
split_config split_secrets(std::string_view config_schema, std::string_view config);

/// Fills `{{config.<path>}}` placeholders in `text` from `config` (a JSON
/// object text): strings verbatim, other values as JSON. When `json_context`
/// is set, `text` is JSON and a placeholder that is a whole JSON string
/// ("{{config.n}}") is replaced by the value's JSON (so numbers stay
/// numbers); strings embedded in longer strings are escaped. Unknown paths
/// become "" (validation has already rejected them). `{{secrets.*}}` is
/// left as it is.
std::string fill_config(std::string_view text, std::string_view config,
                        bool json_context = false);

} // namespace fp::actors
