#include "fp/storage/executions.hpp"

#include <algorithm>
#include <cstdio>

#include "agent_sql.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/conversations.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"
#include "pg_array.hpp"
#include "signals_sql.hpp"
#include "sql_text.hpp"

namespace fp::storage {

namespace {

using detail::opt_text;

/// SQL matching the final statuses (for `status NOT IN ...`).
constexpr const char* finished_list
  = "('succeeded', 'failed', 'cancelled', 'timed_out')";

// -- executions ---------------------------------------------------------------------

std::string execution_columns() {
  // Microseconds: latency figures (benchmarks, tests) come from these.
  return "id::text, coalesce(agent_id::text, ''), coalesce(skill_name, ''), "
         "coalesce(conversation_id::text, ''), status, input::text, "
         "coalesce(output::text, ''), coalesce(error, ''), "
         "coalesce(error_code, ''), provider, model, tokens_in, tokens_out, "
         "cost_micros, tool_call_count, trace_id, "
         "coalesce(trigger_signal_id::text, ''), coalesce(trigger_key, ''), "
         "coalesce(replay_of::text, ''), correlation_id, "
         "coalesce(causation_id, ''), initiator_kind, initiator_id, "
         "initiator_display, coalesce(initiator_role, ''), "
         "coalesce(job_id, 0), attempt, cancel_requested, "
         + detail::rfc3339_us("queued_at") + ", "
         + detail::rfc3339_us("started_at") + ", "
         + detail::rfc3339_us("finished_at") + ", "
         + detail::rfc3339_us("updated_at");
}

execution_record read_execution(const result& r, int row) {
  execution_record e;
  int c = 0;
  e.id = r.text(row, c++);
  e.agent_id = r.text(row, c++);
  e.skill_name = r.text(row, c++);
  e.conversation_id = r.text(row, c++);
  e.status = r.text(row, c++);
  e.input = r.text(row, c++);
  e.output = r.text(row, c++);
  e.error = r.text(row, c++);
  e.error_code = r.text(row, c++);
  e.provider = r.text(row, c++);
  e.model = r.text(row, c++);
  e.tokens_in = r.int64(row, c++);
  e.tokens_out = r.int64(row, c++);
  e.cost_micros = r.int64(row, c++);
  e.tool_call_count = static_cast<int>(r.int64(row, c++));
  e.trace_id = r.text(row, c++);
  e.trigger_signal_id = r.text(row, c++);
  e.trigger_key = r.text(row, c++);
  e.replay_of = r.text(row, c++);
  e.correlation_id = r.text(row, c++);
  e.causation_id = r.text(row, c++);
  e.initiator.kind = r.text(row, c++);
  e.initiator.id = r.text(row, c++);
  e.initiator.display = r.text(row, c++);
  e.initiator_role = r.text(row, c++);
  e.job_id = r.int64(row, c++);
  e.attempt = static_cast<int>(r.int64(row, c++));
  e.cancel_requested = r.boolean(row, c++);
  e.queued_at = r.text(row, c++);
  e.started_at = r.text(row, c++);
  e.finished_at = r.text(row, c++);
  e.updated_at = r.text(row, c++);
  return e;
}

caf::error check_execution_ids(const execution_record& e) {
  if (!is_uuid(e.id))
    return detail::not_a_uuid("execution id");
  if (!detail::empty_or_uuid(e.agent_id))
    return detail::not_a_uuid("agent_id");
  if (!detail::empty_or_uuid(e.conversation_id))
    return detail::not_a_uuid("conversation_id");
  if (!detail::empty_or_uuid(e.trigger_signal_id))
    return detail::not_a_uuid("trigger_signal_id");
  if (!detail::empty_or_uuid(e.replay_of))
    return detail::not_a_uuid("replay_of");
  return caf::none;
}

std::string json_or_empty_object(const std::string& text) {
  return text.empty() ? std::string{"{}"} : text;
}

// -- events and tool calls ----------------------------------------------------------

execution_event read_event(const result& r, int row) {
  execution_event ev;
  ev.seq = static_cast<int>(r.int64(row, 0));
  ev.kind = r.text(row, 1);
  ev.data = r.text(row, 2);
  ev.at = r.text(row, 3);
  return ev;
}

std::string tool_call_columns() {
  return "seq, call_id, name, arguments::text, coalesce(result::text, ''), "
         "coalesce(error, ''), decision, reason, latency_ms, "
         "coalesce(directive_id::text, ''), "
         + detail::rfc3339_us("at");
}

tool_call_record read_tool_call(const result& r, int row) {
  tool_call_record t;
  int c = 0;
  t.seq = static_cast<int>(r.int64(row, c++));
  t.call_id = r.text(row, c++);
  t.name = r.text(row, c++);
  t.arguments = r.text(row, c++);
  t.result = r.text(row, c++);
  t.error = r.text(row, c++);
  t.decision = r.text(row, c++);
  t.reason = r.text(row, c++);
  t.latency_ms = std::strtod(std::string{r.text(row, c++)}.c_str(), nullptr);
  t.directive_id = r.text(row, c++);
  t.at = r.text(row, c++);
  return t;
}

} // namespace

bool execution_finished(std::string_view status) noexcept {
  return status == "succeeded" || status == "failed" || status == "cancelled"
         || status == "timed_out";
}

// -- executions ---------------------------------------------------------------------

caf::expected<inserted_execution>
insert_execution(pg_session& db, std::string_view slug,
                 const execution_record& e) {
  if (auto err = check_execution_ids(e))
    return err;
  auto schema = quoted_tenant_schema(slug);
  // ON CONFLICT on trigger_key: a rescued or repeated trigger finds the one
  // execution of its (agent, signal) instead of making a second. A
  // concurrent inserter of the same key is waited for, so the lookup below
  // sees its row once it committed.
  auto r = db.exec_prepared(
    detail::statement_name("executions.insert", slug),
    "INSERT INTO " + schema
      + ".executions (id, agent_id, skill_name, conversation_id, input, "
        "provider, model, trace_id, trigger_signal_id, trigger_key, "
        "replay_of, correlation_id, causation_id, initiator_kind, "
        "initiator_id, initiator_display, initiator_role, job_id) VALUES "
        "($1::uuid, $2::uuid, $3, $4::uuid, $5::jsonb, $6, $7, $8, $9::uuid, "
        "$10, $11::uuid, $12, $13, $14, $15, $16, $17, $18::bigint) ON "
        "CONFLICT (trigger_key) DO NOTHING RETURNING "
      + execution_columns(),
    {e.id, opt_text(e.agent_id), opt_text(e.skill_name),
     opt_text(e.conversation_id), json_or_empty_object(e.input), e.provider,
     e.model, e.trace_id.empty() ? e.id : e.trace_id,
     opt_text(e.trigger_signal_id), opt_text(e.trigger_key),
     opt_text(e.replay_of), e.correlation_id.empty() ? e.id : e.correlation_id,
     opt_text(e.causation_id),
     e.initiator.kind.empty() ? std::string{"system"} : e.initiator.kind,
     e.initiator.id, e.initiator.display, opt_text(e.initiator_role),
     e.job_id > 0 ? std::optional<std::string>{std::to_string(e.job_id)}
                  : std::nullopt});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 1)
    return inserted_execution{read_execution(*r, 0), true};
  auto existing = db.exec_prepared(
    detail::statement_name("executions.by_trigger_key", slug),
    "SELECT " + execution_columns() + " FROM " + schema
      + ".executions WHERE trigger_key = $1",
    {e.trigger_key});
  if (!existing)
    return std::move(existing.error());
  if (existing->rows() == 0)
    return runtime::make_error(runtime::errc::conflict,
                               "the execution of this trigger changed "
                               "concurrently; try again");
  return inserted_execution{read_execution(*existing, 0), false};
}

caf::expected<std::optional<execution_record>>
find_execution(pg_session& db, std::string_view slug, std::string_view id,
               bool lock) {
  if (!is_uuid(id))
    return std::optional<execution_record>{};
  auto name = detail::statement_name(lock ? "executions.find_locked"
                                          : "executions.find",
                                     slug);
  return detail::first_row(
    db.exec_prepared(name,
                     "SELECT " + execution_columns() + " FROM "
                       + quoted_tenant_schema(slug)
                       + ".executions WHERE id = $1::uuid"
                       + (lock ? " FOR UPDATE" : ""),
                     {std::string{id}}),
    read_execution);
}

caf::expected<std::vector<execution_record>>
list_executions(pg_session& db, std::string_view slug,
                const execution_filter& f) {
  struct uuid_filter {
    const std::string& value;
    const char* column;
    const char* what;
  };
  // Only the filters in use become SQL, so every plan fits its query.
  std::string sql = "SELECT " + execution_columns() + " FROM "
                    + quoted_tenant_schema(slug) + ".executions WHERE true";
  sql_params params;
  auto add = [&](const std::string& value, const std::string& condition) {
    params.emplace_back(value);
    auto n = "$" + std::to_string(params.size());
    std::string c = condition;
    for (auto pos = c.find('?'); pos != std::string::npos; pos = c.find('?'))
      c.replace(pos, 1, n);
    sql += " AND " + c;
  };
  for (auto u : {uuid_filter{f.agent_id, "agent_id", "agent_id"},
                 uuid_filter{f.conversation_id, "conversation_id",
                             "conversation_id"},
                 uuid_filter{f.trigger_signal_id, "trigger_signal_id",
                             "trigger_signal_id"},
                 uuid_filter{f.before_id, "", "cursor"}}) {
    if (u.value.empty())
      continue;
    if (!is_uuid(u.value))
      return detail::not_a_uuid(u.what);
    if (*u.column)
      add(u.value, std::string{u.column} + " = ?::uuid");
    else
      add(u.value, "id < ?::uuid");
  }
  if (!f.status.empty())
    add(f.status, "status = ?");
  if (!f.correlation_id.empty())
    add(f.correlation_id, "correlation_id = ?");
  if (!f.skill_name.empty())
    add(f.skill_name, "skill_name = ?");
  if (!f.since.empty())
    add(f.since, "queued_at >= ?::timestamptz");
  if (!f.until.empty())
    add(f.until, "queued_at < ?::timestamptz");
  params.emplace_back(std::to_string(std::max(f.limit, 0)));
  sql += " ORDER BY id DESC LIMIT $" + std::to_string(params.size());
  auto r = db.exec(sql, std::move(params));
  if (!r)
    return std::move(r.error());
  std::vector<execution_record> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(read_execution(*r, i));
  return out;
}

caf::expected<bool> start_execution(pg_session& db, std::string_view slug,
                                    std::string_view id, int attempt,
                                    std::string_view provider,
                                    std::string_view model) {
  if (!is_uuid(id))
    return false;
  auto r = db.exec_prepared(
    detail::statement_name("executions.start", slug),
    "UPDATE " + quoted_tenant_schema(slug)
      + ".executions SET status = 'running', attempt = $2::int, provider = "
        "$3, model = $4, started_at = coalesce(started_at, "
        "clock_timestamp()), updated_at = clock_timestamp() WHERE id = "
        "$1::uuid AND status NOT IN "
      + finished_list,
    {std::string{id}, std::to_string(attempt), std::string{provider},
     std::string{model}});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() > 0;
}

caf::error update_execution_progress(pg_session& db, std::string_view slug,
                                     std::string_view id,
                                     const execution_progress& p) {
  if (!is_uuid(id))
    return detail::not_a_uuid("execution id");
  auto r = db.exec_prepared(
    detail::statement_name("executions.progress", slug),
    "UPDATE " + quoted_tenant_schema(slug)
      + ".executions SET tokens_in = $2::bigint, tokens_out = $3::bigint, "
        "cost_micros = $4::bigint, tool_call_count = $5::int, updated_at = "
        "clock_timestamp() WHERE id = $1::uuid",
    {std::string{id}, std::to_string(p.tokens_in), std::to_string(p.tokens_out),
     std::to_string(p.cost_micros), std::to_string(p.tool_call_count)});
  if (!r)
    return std::move(r.error());
  if (r->affected_rows() == 0)
    return runtime::make_error(runtime::errc::not_found, "execution not found");
  return caf::none;
}

caf::expected<bool> finish_execution(pg_session& db, std::string_view slug,
                                     std::string_view id,
                                     const execution_outcome& o) {
  if (!is_uuid(id))
    return false;
  if (!execution_finished(o.status))
    return runtime::make_error(runtime::errc::invalid_argument,
                               "not a final execution status: " + o.status);
  // clock_timestamp(): finished_at is the moment of the write, not the
  // start of a (possibly group-committed) transaction.
  auto r = db.exec_prepared(
    detail::statement_name("executions.finish", slug),
    "UPDATE " + quoted_tenant_schema(slug)
      + ".executions SET status = $2, output = $3::jsonb, error = $4, "
        "error_code = $5, tokens_in = $6::bigint, tokens_out = $7::bigint, "
        "cost_micros = $8::bigint, tool_call_count = $9::int, finished_at = "
        "clock_timestamp(), updated_at = clock_timestamp() WHERE id = "
        "$1::uuid AND status NOT IN "
      + finished_list,
    {std::string{id}, o.status, opt_text(o.output), opt_text(o.error),
     opt_text(o.error_code), std::to_string(o.totals.tokens_in),
     std::to_string(o.totals.tokens_out), std::to_string(o.totals.cost_micros),
     std::to_string(o.totals.tool_call_count)});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() > 0;
}

caf::expected<std::optional<execution_record>>
request_execution_cancel(pg_session& db, std::string_view slug,
                         std::string_view id) {
  if (!is_uuid(id))
    return std::optional<execution_record>{};
  auto schema = quoted_tenant_schema(slug);
  // A queued execution never reaches the engine's loop, so it is finished
  // here, with its final status event (an SSE stream then ends) and its
  // chat reply, if any, closed as cancelled.
  auto r = db.exec(
    "UPDATE " + schema
      + ".executions SET cancel_requested = true, status = CASE WHEN status "
        "= 'queued' THEN 'cancelled' ELSE status END, error_code = CASE WHEN "
        "status = 'queued' THEN 'cancelled' ELSE error_code END, error = CASE "
        "WHEN status = 'queued' THEN 'cancelled before it started' ELSE "
        "error END, finished_at = CASE WHEN status = 'queued' THEN "
        "clock_timestamp() ELSE finished_at END, updated_at = "
        "clock_timestamp() WHERE id = $1::uuid AND status NOT IN "
      + finished_list + " RETURNING " + execution_columns(),
    {std::string{id}});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return find_execution(db, slug, id);
  auto e = read_execution(*r, 0);
  if (e.status == "cancelled") {
    execution_event ev;
    ev.kind = "status";
    ev.data = R"({"status":"cancelled","error_code":"cancelled"})";
    if (auto seq = append_execution_events(db, slug, id, {ev}); !seq)
      return std::move(seq.error());
    if (auto err = notify_execution(db, slug, id))
      return err;
    // A chat reply waiting for this run will never stream: close it.
    if (!e.conversation_id.empty()) {
      auto closed = db.exec("UPDATE " + schema
                              + ".messages SET status = 'cancelled', "
                                "updated_at = clock_timestamp() WHERE "
                                "conversation_id = $1::uuid AND execution_id = "
                                "$2::uuid AND status = 'streaming'",
                            {e.conversation_id, e.id});
      if (!closed)
        return std::move(closed.error());
      if (closed->affected_rows() > 0)
        if (auto err = notify_conversation(db, slug, e.conversation_id))
          return err;
    }
  }
  return std::optional<execution_record>{std::move(e)};
}

// -- events ------------------------------------------------------------------------------

caf::expected<int> append_execution_events(pg_session& db, std::string_view slug,
                                           std::string_view id,
                                           const std::vector<execution_event>& events) {
  if (events.empty())
    return 0;
  if (!is_uuid(id))
    return detail::not_a_uuid("execution id");
  auto schema = quoted_tenant_schema(slug);
  detail::array_builder kinds, datas;
  for (auto& ev : events) {
    kinds.add(ev.kind);
    datas.add(ev.data.empty() ? std::string_view{"{}"}
                              : std::string_view{ev.data});
  }
  // The counter row's lock orders concurrent appenders of one execution:
  // each takes a distinct block of seqs, and since the lock is held to
  // commit, a reader continuing "after seq N" never skips a late commit.
  // RETURNING reads the row after any wait (no stale snapshot).
  auto r = db.exec_prepared(
    detail::statement_name("executions.append_events", slug),
    "WITH c AS (UPDATE " + schema
      + ".executions SET next_event_seq = next_event_seq + $2::int WHERE id "
        "= $1::uuid RETURNING next_event_seq - $2::int AS base) INSERT INTO "
      + schema
      + ".execution_events (execution_id, seq, kind, data, at) SELECT "
        "$1::uuid, c.base + u.ord::int - 1, u.kind, u.data, "
        "clock_timestamp() FROM c, unnest($3::text[], $4::jsonb[]) WITH "
        "ORDINALITY AS u(kind, data, ord) RETURNING seq",
    {std::string{id}, std::to_string(events.size()), kinds.finish(),
     datas.finish()});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return runtime::make_error(runtime::errc::not_found, "execution not found");
  int last = 0;
  for (int i = 0; i < r->rows(); ++i)
    last = std::max(last, static_cast<int>(r->int64(i, 0)));
  return last;
}

caf::expected<std::vector<execution_event>>
execution_events_after(pg_session& db, std::string_view slug,
                       std::string_view id, int after_seq, int limit) {
  std::vector<execution_event> out;
  if (!is_uuid(id))
    return out;
  auto r = db.exec_prepared(
    detail::statement_name("executions.events_after", slug),
    "SELECT seq, kind, data::text, " + detail::rfc3339_us("at") + " FROM "
      + quoted_tenant_schema(slug)
      + ".execution_events WHERE execution_id = $1::uuid AND seq > $2::int "
        "ORDER BY seq LIMIT $3::int",
    {std::string{id}, std::to_string(after_seq),
     std::to_string(std::max(limit, 0))});
  if (!r)
    return std::move(r.error());
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(read_event(*r, i));
  return out;
}

caf::error notify_execution(pg_session& db, std::string_view slug,
                            std::string_view id) {
  std::string payload{slug};
  payload += ':';
  payload += id;
  auto r = db.exec_prepared("executions.notify", "SELECT pg_notify($1, $2)",
                            {std::string{executions_channel}, payload});
  if (!r)
    return std::move(r.error());
  return caf::none;
}

// -- tool calls ------------------------------------------------------------------------------

caf::error record_tool_call(pg_session& db, std::string_view slug,
                            std::string_view execution_id,
                            const tool_call_record& call) {
  if (!is_uuid(execution_id))
    return detail::not_a_uuid("execution id");
  if (!detail::empty_or_uuid(call.directive_id))
    return detail::not_a_uuid("directive_id");
  char latency[64];
  std::snprintf(latency, sizeof(latency), "%.17g", call.latency_ms);
  auto r = db.exec_prepared(
    detail::statement_name("executions.tool_call", slug),
    "INSERT INTO " + quoted_tenant_schema(slug)
      + ".execution_tool_calls (execution_id, seq, call_id, name, arguments, "
        "result, error, decision, reason, latency_ms, directive_id, at) "
        "VALUES ($1::uuid, $2::int, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, "
        "$10::float8, $11::uuid, clock_timestamp()) ON CONFLICT "
        "(execution_id, seq) DO UPDATE SET call_id = EXCLUDED.call_id, name = "
        "EXCLUDED.name, arguments = EXCLUDED.arguments, result = "
        "EXCLUDED.result, error = EXCLUDED.error, decision = "
        "EXCLUDED.decision, reason = EXCLUDED.reason, latency_ms = "
        "EXCLUDED.latency_ms, directive_id = EXCLUDED.directive_id, at = "
        "EXCLUDED.at",
    {std::string{execution_id}, std::to_string(call.seq), call.call_id,
     call.name, json_or_empty_object(call.arguments), opt_text(call.result),
     opt_text(call.error),
     call.decision.empty() ? std::string{"allowed"} : call.decision,
     call.reason, std::string{latency}, opt_text(call.directive_id)});
  if (!r)
    return std::move(r.error());
  return caf::none;
}

caf::expected<std::vector<tool_call_record>>
tool_calls_of(pg_session& db, std::string_view slug,
              std::string_view execution_id) {
  std::vector<tool_call_record> out;
  if (!is_uuid(execution_id))
    return out;
  auto r = db.exec_prepared(
    detail::statement_name("executions.tool_calls", slug),
    "SELECT " + tool_call_columns() + " FROM " + quoted_tenant_schema(slug)
      + ".execution_tool_calls WHERE execution_id = $1::uuid ORDER BY seq",
    {std::string{execution_id}});
  if (!r)
    return std::move(r.error());
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(read_tool_call(*r, i));
  return out;
}

} // namespace fp::storage
