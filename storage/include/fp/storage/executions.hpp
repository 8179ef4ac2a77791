#pragma once

// Executions: durable records of agent work, their ordered event log and
// their tool calls (tenant tables of migrations/tenant/0005_agents.sql).
// Written before work starts and updated as it goes. Every function runs in
// the caller's transaction and takes the tenant's validated slug.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "fp/storage/signals.hpp"

namespace fp::storage {

class pg_session;

/// NOTIFY channel announcing new execution events and chat text;
/// payload "<slug>:<execution id>".
inline constexpr std::string_view executions_channel = "fp_executions";

/// One execution.
struct execution_record {
  std::string id;
  /// Empty for a skill test run.
  std::string agent_id;
  /// The skill of a skill test run; empty otherwise.
  std::string skill_name;
  std::string conversation_id;
  /// queued, running, succeeded, failed, cancelled, timed_out.
  std::string status = "queued";
  /// JSON texts; `output` empty until there is one.
  std::string input = "{}";
  std::string output;
  std::string error;
  /// budget_exceeded, provider_error, schema_mismatch, timeout, cancelled,
  /// interrupted, limit_exceeded, ... (empty on success).
  std::string error_code;
  std::string provider;
  std::string model;
  int64_t tokens_in = 0;
  int64_t tokens_out = 0;
  int64_t cost_micros = 0;
  int tool_call_count = 0;
  std::string trace_id;
  std::string trigger_signal_id;
  std::string trigger_key;
  std::string replay_of;
  std::string correlation_id;
  std::string causation_id;
  /// Who started it (a user, an API key, or "system" for triggers).
  signal_actor initiator;
  /// Organization role of the initiating user; empty for system triggers.
  std::string initiator_role;
  int64_t job_id = 0;
  int attempt = 0;
  bool cancel_requested = false;
  /// RFC 3339 UTC; started_at/finished_at empty until set.
  std::string queued_at;
  std::string started_at;
  std::string finished_at;
  std::string updated_at;
};

/// True for succeeded, failed, cancelled and timed_out.
bool execution_finished(std::string_view status) noexcept;

/// The outcome of `insert_execution`.
struct inserted_execution {
  execution_record record;
  /// False when `trigger_key` named an existing execution (`record` is it).
  bool created = true;
};

/// Inserts `e` (id, trace_id, correlation and everything known before work
/// starts, set by the caller) as queued, unless its non-empty trigger_key
/// already names an execution.
caf::expected<inserted_execution>
insert_execution(pg_session& db, std::string_view slug,
                 const execution_record& e);

/// Execution `id`, locked FOR UPDATE when `lock`; nullopt when absent (also
/// for text that is no UUID).
caf::expected<std::optional<execution_record>>
find_execution(pg_session& db, std::string_view slug, std::string_view id,
               bool lock = false);

/// Filters of `list_executions`; empty fields do not filter.
struct execution_filter {
  std::string agent_id;
  std::string status;
  std::string conversation_id;
  std::string correlation_id;
  std::string trigger_signal_id;
  std::string skill_name;
  /// RFC 3339: queued at or after / before.
  std::string since;
  std::string until;
  /// Only executions with an id below this one (cursor); empty: newest.
  std::string before_id;
  int limit = 50;
};

/// Executions newest first.
caf::expected<std::vector<execution_record>>
list_executions(pg_session& db, std::string_view slug,
                const execution_filter& filter);

/// Marks `id` running for run number `attempt` with its provider and
/// model (started_at is set on the first run only). False when it is
/// already finished (nothing changed).
caf::expected<bool> start_execution(pg_session& db, std::string_view slug,
                                    std::string_view id, int attempt,
                                    std::string_view provider,
                                    std::string_view model);

/// Running totals written as the execution goes.
struct execution_progress {
  int64_t tokens_in = 0;
  int64_t tokens_out = 0;
  int64_t cost_micros = 0;
  int tool_call_count = 0;
};

caf::error update_execution_progress(pg_session& db, std::string_view slug,
                                     std::string_view id,
                                     const execution_progress& p);

/// The final state of an execution.
struct execution_outcome {
  /// succeeded, failed, cancelled or timed_out.
  std::string status;
  /// JSON text; empty: none.
  std::string output;
  std::string error;
  std::string error_code;
  execution_progress totals;
};

/// Finishes `id` unless it is finished already (then false, nothing
/// changed).
caf::expected<bool> finish_execution(pg_session& db, std::string_view slug,
                                     std::string_view id,
                                     const execution_outcome& o);

/// Sets cancel_requested; a queued execution is finished as cancelled at
/// once (error_code "cancelled", a final `status` event appended and
/// announced with `notify_execution`, its streaming chat reply set to
/// "cancelled" and announced with `notify_conversation`). A finished one is
/// returned unchanged. Returns the execution after the change, nullopt when
/// absent.
caf::expected<std::optional<execution_record>>
request_execution_cancel(pg_session& db, std::string_view slug,
                         std::string_view id);

// -- events ------------------------------------------------------------------------------

/// One entry of an execution's progress log.
struct execution_event {
  /// Assigned on append; 1, 2, 3, ... per execution.
  int seq = 0;
  /// status, log, delta, tool_call, usage, output, error.
  std::string kind;
  /// JSON object text.
  std::string data = "{}";
  /// RFC 3339 UTC (set on append).
  std::string at;
};

/// Appends `events` in order (seqs taken from the execution's counter) and
/// returns the last seq used (0 when `events` is empty). Does not NOTIFY;
/// see `notify_execution`.
caf::expected<int> append_execution_events(pg_session& db, std::string_view slug,
                                           std::string_view id,
                                           const std::vector<execution_event>& events);

/// Events of `id` with seq > `after_seq`, oldest first, at most `limit`.
caf::expected<std::vector<execution_event>>
execution_events_after(pg_session& db, std::string_view slug,
                       std::string_view id, int after_seq, int limit = 500);

/// NOTIFY executions_channel "<slug>:<id>" (delivered at commit).
caf::error notify_execution(pg_session& db, std::string_view slug,
                            std::string_view id);

// -- tool calls ------------------------------------------------------------------------------

/// One tool call of an execution, allowed or denied.
struct tool_call_record {
  /// Assigned by the caller: 1, 2, 3, ... per execution.
  int seq = 0;
  std::string call_id;
  std::string name;
  /// JSON texts; result empty when there is none.
  std::string arguments = "{}";
  std::string result;
  std::string error;
  /// "allowed" or "denied".
  std::string decision = "allowed";
  std::string reason;
  double latency_ms = 0;
  std::string directive_id;
  std::string at;
};

/// Writes `call` (an existing seq is overwritten: a re-run records again).
caf::error record_tool_call(pg_session& db, std::string_view slug,
                            std::string_view execution_id,
                            const tool_call_record& call);

/// The tool calls of `execution_id` in seq order.
caf::expected<std::vector<tool_call_record>>
tool_calls_of(pg_session& db, std::string_view slug,
              std::string_view execution_id);

} // namespace fp::storage
