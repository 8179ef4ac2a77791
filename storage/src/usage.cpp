#include "fp/storage/usage.hpp"

#include <charconv>

#include "fp/runtime/errc.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"

namespace fp::storage {

namespace {

// The window as SQL over $1 (its length in days): today's UTC date, its
// first day, and the timestamptz where it starts.
constexpr std::string_view today_sql = "(now() AT TIME ZONE 'UTC')::date";
constexpr std::string_view first_day_sql
  = "((now() AT TIME ZONE 'UTC')::date - ($1::int - 1))";
constexpr std::string_view window_start_sql
  = "(((now() AT TIME ZONE 'UTC')::date - ($1::int - 1))::timestamp "
    "AT TIME ZONE 'UTC')";

/// Executions of the window (alias e), of agent $2 unless it is NULL.
std::string in_window() {
  return "e.queued_at >= " + std::string{window_start_sql}
         + " AND ($2::uuid IS NULL OR e.agent_id = $2::uuid)";
}

/// The aggregate columns read by `read_totals` (nine, over alias e; a LEFT
/// JOIN's missing row counts as nothing).
constexpr std::string_view totals_sql
  = "count(e.id), "
    "count(*) FILTER (WHERE e.status = 'succeeded'), "
    "count(*) FILTER (WHERE e.status IN ('failed', 'timed_out')), "
    "count(*) FILTER (WHERE e.status = 'cancelled'), "
    "coalesce(sum(e.tokens_in), 0)::bigint, "
    "coalesce(sum(e.tokens_out), 0)::bigint, "
    "coalesce(sum(e.cost_micros), 0)::bigint, "
    "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM "
    "e.finished_at - e.started_at) * 1000) FILTER (WHERE e.finished_at IS "
    "NOT NULL AND e.started_at IS NOT NULL), "
    "percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM "
    "e.finished_at - e.started_at) * 1000) FILTER (WHERE e.finished_at IS "
    "NOT NULL AND e.started_at IS NOT NULL)";

std::optional<double> read_double(const result& r, int row, int col) {
  if (r.is_null(row, col))
    return std::nullopt;
  auto text = r.text(row, col);
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{})
    return std::nullopt;
  return v;
}

usage_totals read_totals(const result& r, int row, int first) {
  usage_totals t;
  t.executions = r.int64(row, first);
  t.succeeded = r.int64(row, first + 1);
  t.failed = r.int64(row, first + 2);
  t.cancelled = r.int64(row, first + 3);
  t.tokens_in = r.int64(row, first + 4);
  t.tokens_out = r.int64(row, first + 5);
  t.cost_micros = r.int64(row, first + 6);
  t.latency_p50_ms = read_double(r, row, first + 7);
  t.latency_p95_ms = read_double(r, row, first + 8);
  return t;
}

} // namespace

caf::expected<usage_report> tenant_usage(pg_session& db, std::string_view slug,
                                         const usage_query& q) {
  using runtime::errc;
  if (q.days < 1 || q.days > max_usage_days)
    return runtime::make_error(errc::invalid_argument,
                               "days must be from 1 to "
                                 + std::to_string(max_usage_days));
  if (!q.agent_id.empty() && !is_uuid(q.agent_id))
    return runtime::make_error(errc::invalid_argument,
                               "agent_id must be a UUID");
  auto executions = quoted_tenant_schema(slug) + ".executions";
  sql_params params{std::to_string(q.days),
                    q.agent_id.empty() ? std::nullopt
                                       : std::optional<std::string>{q.agent_id}};
  usage_report out;
  out.days = q.days;

  // Totals and the window's bounds.
  auto totals = db.exec("SELECT to_char(" + std::string{first_day_sql}
                          + ", 'YYYY-MM-DD'), to_char(" + std::string{today_sql}
                          + ", 'YYYY-MM-DD'), " + std::string{totals_sql}
                          + " FROM " + executions + " e WHERE " + in_window(),
                        params);
  if (!totals)
    return std::move(totals.error());
  out.from = std::string{totals->text(0, 0)};
  out.to = std::string{totals->text(0, 1)};
  out.totals = read_totals(*totals, 0, 2);

  // Every day of the window; the join keeps days without executions.
  auto days = db.exec(
    "SELECT to_char(d.day, 'YYYY-MM-DD'), " + std::string{totals_sql}
      + " FROM generate_series(" + std::string{first_day_sql}
      + "::timestamp, " + std::string{today_sql}
      + "::timestamp, interval '1 day') AS d(day) LEFT JOIN " + executions
      + " e ON (e.queued_at AT TIME ZONE 'UTC')::date = d.day::date AND "
      + in_window() + " GROUP BY d.day ORDER BY d.day",
    params);
  if (!days)
    return std::move(days.error());
  for (int i = 0; i < days->rows(); ++i)
    out.per_day.push_back({std::string{days->text(i, 0)},
                           read_totals(*days, i, 1)});

  auto agents = db.exec(
    "SELECT coalesce(e.agent_id::text, ''), coalesce(min(a.name), ''), "
      + std::string{totals_sql} + " FROM " + executions + " e LEFT JOIN "
      + quoted_tenant_schema(slug) + ".agents a ON a.id = e.agent_id WHERE "
      + in_window()
      + " GROUP BY e.agent_id ORDER BY sum(e.cost_micros) DESC, count(*) "
        "DESC, min(a.name) NULLS LAST, e.agent_id NULLS LAST",
    params);
  if (!agents)
    return std::move(agents.error());
  for (int i = 0; i < agents->rows(); ++i)
    out.per_agent.push_back({std::string{agents->text(i, 0)},
                             std::string{agents->text(i, 1)},
                             read_totals(*agents, i, 2)});

  auto models = db.exec("SELECT e.provider, e.model, " + std::string{totals_sql}
                          + " FROM " + executions + " e WHERE " + in_window()
                          + " GROUP BY e.provider, e.model ORDER BY "
                            "sum(e.cost_micros) DESC, count(*) DESC, "
                            "e.provider, e.model",
                        params);
  if (!models)
    return std::move(models.error());
  for (int i = 0; i < models->rows(); ++i)
    out.per_model.push_back({std::string{models->text(i, 0)},
                             std::string{models->text(i, 1)},
                             read_totals(*models, i, 2)});
  return out;
}

} // namespace fp::storage
