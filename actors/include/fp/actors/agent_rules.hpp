#pragma once

// The pure rules of agents and executions: agent validation and lifecycle,
// execution status transitions, the tool permission model, budget checks,
// tool-name mapping, input rendering and prompt templates. No actors, no
// I/O: unit-tested directly (tests/agents/engine_rules_test.cpp).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fp/storage/agents.hpp"

namespace fp::actors {

// -- agents --------------------------------------------------------------------------------

/// One problem of an agent definition, naming its field.
struct agent_issue {
  std::string field;
  std::string message;
};

/// Problems of `a` (name, provider/model non-empty, state, trigger
/// patterns, limits, skill names, directive types); empty when valid.
std::vector<agent_issue> validate_agent(const storage::agent_record& a);

/// True for "draft", "active", "paused" and "archived".
bool is_agent_state(std::string_view state) noexcept;

/// Lifecycle: draft→active, active→paused, paused→active, and
/// draft|active|paused→archived (archived is final). Staying in the same
/// state is allowed.
bool agent_transition_allowed(std::string_view from, std::string_view to) noexcept;

/// Whether a run of an agent in `state` may be queued (draft or active).
bool agent_runnable(std::string_view state) noexcept;

// -- executions ----------------------------------------------------------------------------

/// queued→running|cancelled|failed, running→running (a re-run after a
/// crash) |succeeded|failed|cancelled|timed_out; finished states are final.
bool execution_transition_allowed(std::string_view from, std::string_view to) noexcept;

// -- permissions ---------------------------------------------------------------------------

/// "member" < "admin" < "owner"; an empty role (system-triggered runs)
/// counts as admin. Unknown roles rank lowest (-1).
int role_rank(std::string_view role) noexcept;

/// True when one of `granted` covers `required`: equal, `*`, or a
/// `prefix*` / `prefix.*` pattern (`signals:emit:forum.*` covers
/// `signals:emit:forum.post`).
bool scope_covers(const std::vector<std::string>& granted,
                  std::string_view required);

/// What the permission decision looks at.
struct tool_request {
  /// The skill the model called (nullptr: no such skill).
  const storage::skill_record* skill = nullptr;
  /// The skill name the call mapped to (for the reason text).
  std::string skill_name;
  /// For directive skills: the directive type it proposes.
  std::string directive_type;
  /// Tool calls already made in this execution (allowed or denied).
  int calls_so_far = 0;
  /// The run already spent its budget.
  bool budget_exhausted = false;
  /// Organization role of the initiator ("" for system).
  std::string initiator_role;
};

/// A decision with its reason (empty when allowed).
struct tool_decision {
  bool allowed = false;
  std::string reason;
};

/// Runs only if ALL hold: the skill exists and is in the agent's skills;
/// a directive skill's type is in the agent's directive_types; an
/// installation skill's required scopes are covered by the agent's granted
/// scopes; calls so far < max_tool_calls; the budget is not exhausted; the
/// initiator's role ≥ the skill's min_role.
tool_decision decide_tool_call(const storage::agent_record& agent,
                               const tool_request& req);

// -- budgets -------------------------------------------------------------------------------

/// The outcome of a budget check before a run.
struct budget_verdict {
  bool allowed = true;
  /// e.g. "daily budget of agent X exhausted: spent N of M".
  std::string error;
  /// The execution's error code when refused: "budget_exceeded" or
  /// "rate_limited".
  std::string code;
};

/// Refuses when the agent's own limit or the tenant's limit is reached
/// (spent ≥ limit).
budget_verdict check_budget(std::string_view agent_name,
                            std::optional<int64_t> agent_limit,
                            int64_t agent_spent,
                            std::optional<int64_t> tenant_limit,
                            int64_t tenant_spent);

/// Refuses a run of an agent that package installation `package` created
/// when its limits are reached: `executions_last_hour` (the other runs of
/// its agents queued in the last hour) ≥ `executions_per_hour` gives
/// "rate_limited", `spent_today` ≥ `daily_budget` "budget_exceeded".
budget_verdict check_installation_limits(std::string_view package,
                                         std::optional<int64_t> executions_per_hour,
                                         int64_t executions_last_hour,
                                         std::optional<int64_t> daily_budget,
                                         int64_t spent_today);

// -- tool names ----------------------------------------------------------------------------

/// Skill `text.summarize` is the model's tool `text__summarize`.
std::string tool_name_of(std::string_view skill_name);

/// The inverse of `tool_name_of` (also accepts a skill name as is).
std::string skill_name_of(std::string_view tool_name);

// -- inputs and templates ------------------------------------------------------------------

/// The text a run gives the model for `input` (a JSON object):
/// `input.message`, else `input.text`, else the JSON itself.
std::string render_input_text(std::string_view input_json);

/// The user text of a triggered run: the signal's type, actor and payload.
std::string render_signal_input(std::string_view type,
                                std::string_view actor_kind,
                                std::string_view actor_id,
                                std::string_view payload_json);

/// Replaces `{{input.x}}`, `{{input.a.b}}` (whitespace inside the braces
/// allowed) with values of `input_json`: strings as they are, numbers and
/// booleans as JSON, arrays as comma lists, objects as JSON, missing as "".
std::string render_template(std::string_view tmpl, std::string_view input_json);

} // namespace fp::actors
