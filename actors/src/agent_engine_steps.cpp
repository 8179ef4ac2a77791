// The database steps of a run: loading (find or create the execution,
// budget check, start) and finishing (outcome, events, signal, chat reply).
// Each runs inside one storage transaction.

#include "agent_engine_internal.hpp"
#include "directives_json.hpp"
#include "fp/actors/agent_rules.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/installations.hpp"
#include "fp/storage/signals.hpp"

namespace fp::actors::detail {

namespace {

using detail::json_member;
using detail::json_quote;

storage::execution_event event(std::string kind, std::string data) {
  storage::execution_event e;
  e.kind = std::move(kind);
  e.data = std::move(data);
  return e;
}

/// The signal actor of an execution's own signals.
storage::signal_actor execution_actor_of(const storage::execution_record& e) {
  storage::signal_actor a;
  a.kind = "agent";
  a.id = e.agent_id.empty() ? "skill:" + e.skill_name : e.agent_id;
  return a;
}

caf::error emit_execution_signal(storage::pg_session& db, const tenant_ref& tenant,
                                 const storage::execution_record& e,
                                 const char* type, std::string payload) {
  signal_input in;
  in.type = type;
  in.payload = std::move(payload);
  in.correlation_id = e.correlation_id;
  in.causation_id = e.trigger_signal_id;
  if (auto* deferred = current_deferred_emits()) {
    // Checked now, so a refused signal still fails its own run.
    if (auto why = signal_input_error(in, emit_limits{}); !why.empty())
      return runtime::make_error(runtime::errc::internal,
                                 "execution signal refused: " + why);
    deferred->items.push_back({tenant, execution_actor_of(e), {std::move(in)}});
    return caf::none;
  }
  auto res = emit_in_transaction(db, tenant, execution_actor_of(e), {in});
  if (!res)
    return std::move(res.error());
  if (!res->empty() && !res->front().error.empty())
    return runtime::make_error(runtime::errc::internal,
                               "execution signal refused: " + res->front().error);
  return caf::none;
}

std::string execution_payload(const storage::execution_record& e,
                              std::string_view status) {
  std::string p = "{\"execution_id\":" + json_quote(e.id);
  p += json_member("agent_id", e.agent_id.empty() ? "null" : json_quote(e.agent_id));
  if (!e.skill_name.empty())
    p += json_member("skill_name", json_quote(e.skill_name));
  p += json_member("status", json_quote(status));
  if (!e.trigger_signal_id.empty())
    p += json_member("trigger_signal_id", json_quote(e.trigger_signal_id));
  return p;
}

/// Builds the execution of a triggered run (inserted unless its trigger
/// key exists already).
caf::expected<storage::inserted_execution>
triggered_execution(storage::pg_session& db, const run_args& args,
                    const storage::agent_record& agent,
                    const storage::signal_record& sig) {
  storage::execution_record e;
  e.id = runtime::new_uuid_v7();
  e.agent_id = agent.id;
  e.provider = agent.provider;
  e.model = agent.model;
  std::string input = "{\"signal\":{\"id\":" + json_quote(sig.id);
  input += json_member("type", json_quote(sig.type));
  input += json_member("payload", sig.payload.empty() ? "{}" : sig.payload);
  input += json_member("actor", "{\"kind\":" + json_quote(sig.actor.kind)
                                  + json_member("id", json_quote(sig.actor.id))
                                  + "}");
  input += "}}";
  e.input = std::move(input);
  e.trace_id = runtime::continue_trace("").trace_id;
  e.trigger_signal_id = sig.id;
  e.trigger_key = args.trigger_key.empty() ? agent.id + ":" + sig.id : args.trigger_key;
  e.replay_of = args.replay_of;
  if (e.replay_of.empty() && !args.replay_of_key.empty()) {
    // The original run of this agent and signal.
    storage::execution_filter filter;
    filter.agent_id = agent.id;
    filter.trigger_signal_id = sig.id;
    filter.limit = 100;
    auto runs = storage::list_executions(db, args.slug, filter);
    if (!runs)
      return std::move(runs.error());
    for (const auto& r : *runs)
      if (r.trigger_key == args.replay_of_key)
        e.replay_of = r.id;
  }
  e.correlation_id = !args.correlation_id.empty() ? args.correlation_id
                     : !sig.correlation_id.empty() ? sig.correlation_id
                                                   : e.id;
  e.causation_id = sig.id;
  e.initiator.kind = "system";
  e.initiator.id = "trigger";
  e.job_id = args.job_id;
  return storage::insert_execution(db, args.slug, e);
}

/// The chat history of `conversation` up to (not including) the reply.
caf::error load_history(storage::pg_session& db, const run_args& args,
                        run_plan& plan) {
  auto msgs = storage::messages_from(db, args.slug, plan.exec.conversation_id, 1, 200);
  if (!msgs)
    return std::move(msgs.error());
  for (auto& m : *msgs) {
    if (m.id == args.reply_message_id || m.status == "streaming")
      continue;
    if (m.content.empty())
      continue;
    llm::message lm;
    lm.role = m.role == "assistant" ? "assistant" : "user";
    lm.content = std::move(m.content);
    plan.history.push_back(std::move(lm));
  }
  return caf::none;
}

} // namespace

caf::error load_run(storage::pg_session& db, const run_args& args, run_plan& plan) {
  tenant_ref tenant{args.org_id, args.slug};
  // The agent of a triggered run, read once.
  std::optional<storage::agent_record> trigger_agent;
  // -- the execution ---------------------------------------------------------------------
  if (args.execution_id.empty()) {
    auto agent = storage::find_agent(db, args.slug, args.agent_id);
    if (!agent)
      return std::move(agent.error());
    auto sig = storage::get_signal(db, args.slug, args.signal_id);
    if (!sig)
      return std::move(sig.error());
    if (!*agent || !*sig) {
      plan.done = true; // deleted meanwhile: nothing to run
      return caf::none;
    }
    auto ins = triggered_execution(db, args, **agent, **sig);
    if (!ins)
      return std::move(ins.error());
    if (ins->created) {
      // Inserted by this transaction, hence locked by it: a second job for
      // the same key waits on the unique key until this one commits.
      plan.exec = std::move(ins->record);
    } else {
      // Someone's run of the same key: lock it and read it afresh.
      auto locked = storage::find_execution(db, args.slug, ins->record.id, true);
      if (!locked)
        return std::move(locked.error());
      plan.exec = locked->value_or(std::move(ins->record));
    }
    trigger_agent = std::move(*agent);
  } else {
    auto found = storage::find_execution(db, args.slug, args.execution_id, true);
    if (!found)
      return std::move(found.error());
    if (!*found) {
      plan.done = true;
      return caf::none;
    }
    plan.exec = std::move(**found);
  }
  auto& e = plan.exec;
  if (storage::execution_finished(e.status)) {
    plan.done = true;
    return caf::none;
  }
  run_end end;
  end.reply_message_id = args.reply_message_id;
  auto finish_now = [&](std::string status, std::string error, std::string code) {
    end.outcome.status = std::move(status);
    end.outcome.error = std::move(error);
    end.outcome.error_code = std::move(code);
    plan.done = true;
    return finish_run(db, tenant, e, end);
  };
  if (e.cancel_requested)
    return finish_now("cancelled", "cancelled before it started", "cancelled");
  // -- what it runs ------------------------------------------------------------------------
  if (!e.agent_id.empty()) {
    if (trigger_agent && trigger_agent->id == e.agent_id) {
      plan.agent = std::move(*trigger_agent);
    } else {
      auto agent = storage::find_agent(db, args.slug, e.agent_id);
      if (!agent)
        return std::move(agent.error());
      if (!*agent)
        return finish_now("failed", "the agent was deleted", "agent_missing");
      plan.agent = std::move(**agent);
    }
  } else if (!e.skill_name.empty()) {
    auto skill = storage::resolve_skill(db, args.slug, e.skill_name);
    if (!skill)
      return std::move(skill.error());
    if (!*skill)
      return finish_now("failed", "no skill named '" + e.skill_name + "'",
                        "skill_missing");
    plan.test_skill = std::move(**skill);
  } else {
    return finish_now("failed", "the agent was deleted", "agent_missing");
  }
  plan.attempt = e.attempt + 1;
  bool rerun = e.status == "running";
  auto started = storage::start_execution(db, args.slug, e.id, plan.attempt,
                                          e.provider, e.model);
  if (!started)
    return std::move(started.error());
  if (!*started) {
    plan.done = true;
    return caf::none;
  }
  std::vector<storage::execution_event> events;
  if (rerun)
    events.push_back(event("log", "{\"level\":\"warn\",\"message\":"
                                    + json_quote("interrupted: attempt "
                                                 + std::to_string(e.attempt)
                                                 + " did not finish; running "
                                                   "again")
                                    + ",\"code\":\"interrupted\"}"));
  events.push_back(event("status", "{\"status\":\"running\",\"attempt\":"
                                     + std::to_string(plan.attempt) + "}"));
  // -- budget ---------------------------------------------------------------------------------
  if (plan.agent) {
    // Spending is summed only under a limit: the sum grows with the day's
    // executions, and most agents have no budget of their own.
    caf::expected<int64_t> agent_spent{int64_t{0}};
    if (plan.agent->daily_budget_micros)
      agent_spent = storage::spent_today(db, args.slug, e.agent_id);
    if (!agent_spent)
      return std::move(agent_spent.error());
    auto tenant_limit = storage::tenant_daily_budget(db, args.slug);
    if (!tenant_limit)
      return std::move(tenant_limit.error());
    int64_t tenant_spent = 0;
    if (*tenant_limit) {
      auto s = storage::spent_today(db, args.slug);
      if (!s)
        return std::move(s.error());
      tenant_spent = *s;
    }
    auto verdict = check_budget(plan.agent->name, plan.agent->daily_budget_micros,
                                *agent_spent, *tenant_limit, tenant_spent);
    // The limits of the package that created the agent; its runs are
    // counted and summed only under a limit.
    std::optional<storage::installation_limits> package_limits;
    int64_t package_spent = 0;
    if (verdict.allowed && !plan.agent->installation_id.empty()) {
      auto lim = storage::installation_limits_of(db, args.slug,
                                                 plan.agent->installation_id);
      if (!lim)
        return std::move(lim.error());
      if (*lim && (*lim)->any()) {
        package_limits = std::move(**lim);
        int64_t last_hour = 0;
        if (package_limits->executions_per_hour) {
          auto n = storage::installation_executions_last_hour(
            db, args.slug, plan.agent->installation_id, e.id);
          if (!n)
            return std::move(n.error());
          last_hour = *n;
        }
        if (package_limits->daily_budget_micros) {
          auto s = storage::installation_spent_today(db, args.slug,
                                                     plan.agent->installation_id);
          if (!s)
            return std::move(s.error());
          package_spent = *s;
        }
        verdict = check_installation_limits(package_limits->package,
                                            package_limits->executions_per_hour,
                                            last_hour,
                                            package_limits->daily_budget_micros,
                                            package_spent);
      }
    }
    if (auto n = storage::append_execution_events(db, args.slug, e.id, events); !n)
      return std::move(n.error());
    events.clear();
    if (!verdict.allowed) {
      e.status = "running";
      return finish_now("failed", verdict.error, verdict.code);
    }
    auto fold = [&plan](int64_t left) {
      plan.budget_left = plan.budget_left ? std::min(*plan.budget_left, left) : left;
    };
    if (plan.agent->daily_budget_micros)
      fold(*plan.agent->daily_budget_micros - *agent_spent);
    if (*tenant_limit)
      fold(**tenant_limit - tenant_spent);
    if (package_limits && package_limits->daily_budget_micros)
      fold(*package_limits->daily_budget_micros - package_spent);
    for (const auto& name : plan.agent->skills) {
      auto s = storage::resolve_skill(db, args.slug, name);
      if (!s)
        return std::move(s.error());
      if (*s)
        plan.skills.push_back(std::move(**s));
    }
  }
  if (!events.empty())
    if (auto n = storage::append_execution_events(db, args.slug, e.id, events); !n)
      return std::move(n.error());
  if (plan.attempt == 1)
    if (auto err = emit_execution_signal(db, tenant, e, execution_started_type,
                                         execution_payload(e, "running") + "}"))
      return err;
  // -- the model's input ------------------------------------------------------------------------
  if (!e.conversation_id.empty()) {
    if (auto err = load_history(db, args, plan))
      return err;
  }
  if (plan.history.empty()) {
    llm::message m;
    m.role = "user";
    auto sig = json_raw_at(e.input, "signal");
    if (!sig.empty() && !e.trigger_signal_id.empty()) {
      auto actor = json_raw_at(sig, "actor");
      m.content = render_signal_input(json_string_at(sig, "type"),
                                      json_string_at(actor, "kind"),
                                      json_string_at(actor, "id"),
                                      json_raw_at(sig, "payload"));
    } else {
      m.content = render_input_text(e.input);
    }
    plan.history.push_back(std::move(m));
  }
  e.status = "running";
  e.attempt = plan.attempt;
  return storage::notify_execution(db, args.slug, e.id);
}

caf::error finish_run(storage::pg_session& db, const tenant_ref& tenant,
                      const storage::execution_record& e, const run_end& end) {
  const auto& o = end.outcome;
  auto changed = storage::finish_execution(db, tenant.slug, e.id, o);
  if (!changed)
    return std::move(changed.error());
  if (!*changed)
    return caf::none;
  std::vector<storage::execution_event> events;
  if (!end.pending_text.empty())
    events.push_back(event("delta", "{\"text\":" + json_quote(end.pending_text) + "}"));
  events.push_back(event("usage", "{\"tokens_in\":" + std::to_string(o.totals.tokens_in)
                                    + ",\"tokens_out\":"
                                    + std::to_string(o.totals.tokens_out)
                                    + ",\"cost_micros\":"
                                    + std::to_string(o.totals.cost_micros) + "}"));
  if (!o.output.empty())
    events.push_back(event("output", "{\"output\":" + o.output + "}"));
  if (!o.error.empty())
    events.push_back(event("error", "{\"code\":" + json_quote(o.error_code)
                                      + ",\"message\":" + json_quote(o.error) + "}"));
  events.push_back(event("status", "{\"status\":" + json_quote(o.status) + "}"));
  if (auto n = storage::append_execution_events(db, tenant.slug, e.id, events); !n)
    return std::move(n.error());
  auto payload = execution_payload(e, o.status);
  payload += json_member("tokens_in", std::to_string(o.totals.tokens_in));
  payload += json_member("tokens_out", std::to_string(o.totals.tokens_out));
  payload += json_member("cost_micros", std::to_string(o.totals.cost_micros));
  if (!o.error_code.empty())
    payload += json_member("error_code", json_quote(o.error_code));
  payload += '}';
  if (auto err = emit_execution_signal(db, tenant, e,
                                       o.status == "succeeded"
                                         ? execution_completed_type
                                         : execution_failed_type,
                                       std::move(payload)))
    return err;
  if (!end.reply_message_id.empty()) {
    auto status = o.status == "succeeded"   ? "complete"
                  : o.status == "cancelled" ? "cancelled"
                                            : "failed";
    if (auto err = storage::finish_message(db, tenant.slug, end.reply_message_id,
                                           status))
      return err;
    if (!e.conversation_id.empty())
      if (auto err = storage::notify_conversation(db, tenant.slug, e.conversation_id))
        return err;
  }
  return storage::notify_execution(db, tenant.slug, e.id);
}

} // namespace fp::actors::detail
