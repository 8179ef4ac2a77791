#pragma once

// Usage of a tenant: its executions (migrations/tenant/0005_agents.sql)
// aggregated per UTC day, per agent and per model over a window of whole
// UTC days ending today. Runs in the caller's transaction and takes the
// tenant's validated slug.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace fp::storage {

class pg_session;

/// Longest window `tenant_usage` accepts, in days.
inline constexpr int max_usage_days = 90;

/// What `tenant_usage` reports on.
struct usage_query {
  /// Whole UTC days ending with today (1 .. max_usage_days).
  int days = 14;
  /// Only this agent's executions when not empty (a UUID).
  std::string agent_id;
};

/// Sums over a set of executions (bucketed by queued_at).
struct usage_totals {
  int64_t executions = 0;
  int64_t succeeded = 0;
  /// failed and timed_out.
  int64_t failed = 0;
  int64_t cancelled = 0;
  int64_t tokens_in = 0;
  int64_t tokens_out = 0;
  int64_t cost_micros = 0;
  /// Run time (started_at to finished_at) percentiles of the finished
  /// executions in milliseconds; nullopt when there are none.
  std::optional<double> latency_p50_ms;
  std::optional<double> latency_p95_ms;
};

/// One UTC day of the window.
struct usage_day {
  /// YYYY-MM-DD.
  std::string day;
  usage_totals totals;
};

/// One agent's share; `agent_id` empty for executions without an agent
/// (skill test runs, deleted agents).
struct usage_agent {
  std::string agent_id;
  std::string name;
  usage_totals totals;
};

/// One provider and model's share (model empty for executions that never
/// started).
struct usage_model {
  std::string provider;
  std::string model;
  usage_totals totals;
};

/// The whole report.
struct usage_report {
  int days = 0;
  /// First and last day of the window (YYYY-MM-DD, UTC).
  std::string from;
  std::string to;
  usage_totals totals;
  /// Every day of the window, oldest first, days without usage included.
  std::vector<usage_day> per_day;
  /// Costliest first.
  std::vector<usage_agent> per_agent;
  std::vector<usage_model> per_model;
};

/// The usage of tenant `slug` over `q`. `q.days` outside 1 ..
/// max_usage_days or an `agent_id` that is no UUID give
/// `errc::invalid_argument`.
caf::expected<usage_report> tenant_usage(pg_session& db, std::string_view slug,
                                         const usage_query& q);

} // namespace fp::storage
