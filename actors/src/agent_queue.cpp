// Queueing and cancelling executions inside the caller's transaction (see
// agent_engine.hpp): the executions row and its `agent.execute` job commit
// together, so a 2xx means the run is durable.

#include <simdjson.h>

#include "fp/actors/agent_engine.hpp"
#include "fp/actors/agent_rules.hpp"
#include "fp/actors/json_schema.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/agents.hpp"
#include "fp/storage/jobs.hpp"

#include "directives_json.hpp"

namespace fp::actors {

namespace {

using detail::json_member;
using detail::json_quote;

/// Runs of one execution: a crash-interrupted run is started again by the
/// rescued job, a failing attempt (database down) retried a few times.
constexpr int execute_job_attempts = 10;

bool is_json_object(std::string_view text) {
  simdjson::dom::parser parser;
  auto doc = parser.parse(text.data(), text.size());
  return !doc.error() && doc.value().is_object();
}

} // namespace

caf::expected<storage::execution_record>
queue_execution(storage::pg_session& db, const tenant_ref& tenant,
                const execution_request& req) {
  using runtime::errc;
  if (req.agent_id.empty() == req.skill_name.empty())
    return runtime::make_error(errc::invalid_argument,
                               "give exactly one of agent_id and skill_name");
  if (!is_json_object(req.input))
    return runtime::make_error(errc::invalid_argument,
                               "input: must be a JSON object");
  storage::execution_record e;
  e.id = runtime::new_uuid_v7();
  e.input = req.input;
  if (!req.agent_id.empty()) {
    auto agent = storage::find_agent(db, tenant.slug, req.agent_id);
    if (!agent)
      return std::move(agent.error());
    if (!*agent)
      return runtime::make_error(errc::not_found,
                                 "no agent with id '" + req.agent_id + "'");
    if (!agent_runnable((*agent)->state))
      return runtime::make_error(errc::conflict, "agent '" + (*agent)->name
                                                   + "' is "
                                                   + (*agent)->state);
    e.agent_id = (*agent)->id;
    e.provider = (*agent)->provider;
    e.model = (*agent)->model;
  } else {
    auto skill = storage::resolve_skill(db, tenant.slug, req.skill_name);
    if (!skill)
      return std::move(skill.error());
    if (!*skill)
      return runtime::make_error(errc::not_found,
                                 "no skill named '" + req.skill_name + "'");
    if (auto issues = validate_json((*skill)->input_schema, req.input);
        !issues.empty())
      return runtime::make_error(errc::invalid_argument,
                                 "input: " + describe_issues(issues));
    auto filled = apply_defaults((*skill)->input_schema, req.input);
    if (!filled)
      return std::move(filled.error());
    e.input = std::move(*filled);
    e.skill_name = (*skill)->name;
    e.provider = req.provider.empty() ? "local" : req.provider;
    e.model = req.model.empty() ? (e.provider == "local" ? "local-extractive" : "")
                                : req.model;
  }
  e.conversation_id = req.conversation_id;
  e.initiator = req.initiator;
  if (e.initiator.kind.empty())
    e.initiator.kind = "system";
  e.initiator_role = req.initiator_role;
  e.correlation_id = req.correlation_id.empty() ? e.id : req.correlation_id;
  e.causation_id = req.causation_id;
  e.trace_id = req.trace_id.size() == 32 ? req.trace_id
                                         : runtime::continue_trace("").trace_id;
  std::string args = "{\"org_id\":" + json_quote(tenant.org_id);
  args += json_member("org_slug", json_quote(tenant.slug));
  args += json_member("execution_id", json_quote(e.id));
  if (!e.agent_id.empty())
    args += json_member("agent_id", json_quote(e.agent_id));
  if (!req.reply_message_id.empty())
    args += json_member("reply_message_id", json_quote(req.reply_message_id));
  args += '}';
  storage::job_spec job;
  job.queue = execute_job_queue;
  job.kind = execute_job_kind;
  job.tenant = tenant.org_id;
  job.args = std::move(args);
  job.max_attempts = execute_job_attempts;
  auto queued = storage::enqueue_job(db, job);
  if (!queued)
    return std::move(queued.error());
  e.job_id = queued->id;
  auto inserted = storage::insert_execution(db, tenant.slug, e);
  if (!inserted)
    return std::move(inserted.error());
  return std::move(inserted->record);
}

caf::expected<std::optional<storage::execution_record>>
cancel_execution(storage::pg_session& db, const tenant_ref& tenant,
                 std::string_view id) {
  return storage::request_execution_cancel(db, tenant.slug, id);
}

} // namespace fp::actors
