// The tool calls of an execution: each is decided by the permission model,
// run (a prompt skill as a nested structured model call, a directive skill
// as a proposed directive) or denied, recorded, and returned to the model;
// and skill test runs, which run one skill alone.

#include <chrono>

#include <caf/all.hpp>

#include "directives_json.hpp"
#include "execution_actor_internal.hpp"
#include "fp/actors/agent_rules.hpp"
#include "fp/actors/directives.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/log.hpp"

namespace fp::actors::detail {

namespace {

namespace log = runtime::log;

void tool_done(exec_ptr self, storage::tool_call_record rec);

} // namespace

void run_skill_test(exec_ptr self) {
  auto& st = self->state;
  const auto& skill = *st.plan->test_skill;
  const auto& e = st.plan->exec;
  if (skill.kind == "directive") {
    auto tenant = st.tenant;
    auto exec = e;
    auto out = std::make_shared<std::string>();
    write(
      self,
      [tenant, exec, skill, out](storage::pg_session& db) -> caf::error {
        directive_proposal p;
        p.type = json_string_at(skill.config, "directive_type");
        p.params = json_merge(json_raw_at(skill.config, "params"), exec.input);
        p.idempotency_key = "exec:" + exec.id + ":1";
        p.correlation_id = exec.correlation_id;
        p.actor = exec.initiator;
        auto r = propose_directive(db, tenant, p);
        if (!r) {
          *out = "!" + error_text(r.error());
          return caf::none;
        }
        *out = "{\"directive_id\":" + json_quote(r->record.id)
               + json_member("state", json_quote(r->record.state)) + "}";
        return caf::none;
      },
      [self, out] {
        if (!out->empty() && (*out)[0] == '!')
          finish(self, "failed", {}, out->substr(1), "directive_error");
        else
          finish(self, "succeeded", *out, {}, {});
      });
    return;
  }
  llm::request req;
  req.provider = e.provider;
  req.model = e.model;
  llm::message sys;
  sys.role = "system";
  sys.content = json_string_at(skill.config, "system");
  if (!sys.content.empty())
    req.messages.push_back(std::move(sys));
  llm::message user;
  user.role = "user";
  auto tmpl = json_string_at(skill.config, "template");
  user.content = tmpl.empty() ? render_input_text(e.input) : render_template(tmpl, e.input);
  req.messages.push_back(std::move(user));
  req.response_schema = skill.output_schema;
  call_model(self, std::move(req), true, [self](llm_result res) {
    if (!res)
      return on_model_error(self, res.error());
    add_usage(self, *res);
    if (!self->state.stop_status.empty())
      return stop_now(self);
    auto out = is_json(res->text) ? res->text : json_quote(res->text);
    finish(self, "succeeded", out, {}, {});
  });
}


namespace {

void tool_done(exec_ptr self, storage::tool_call_record rec) {
  auto& st = self->state;
  llm::message answer;
  answer.role = "tool";
  answer.tool_call_id = rec.call_id;
  answer.is_error = !rec.error.empty();
  answer.content = rec.error.empty() ? (rec.result.empty() ? "{}" : rec.result)
                                     : "error: " + rec.error;
  st.messages.push_back(std::move(answer));
  ++st.totals.tool_call_count;
  auto slug = st.args.slug;
  auto id = st.plan->exec.id;
  auto totals = st.totals;
  write(self, [slug, id, rec, totals](storage::pg_session& db) -> caf::error {
    if (auto err = storage::record_tool_call(db, slug, id, rec))
      return err;
    storage::execution_event ev;
    ev.kind = "tool_call";
    ev.data = "{\"seq\":" + std::to_string(rec.seq) + json_member("name", json_quote(rec.name))
              + json_member("decision", json_quote(rec.decision))
              + json_member("reason", json_quote(rec.reason))
              + json_member("arguments", is_json(rec.arguments) ? rec.arguments
                                                                : json_quote(rec.arguments))
              + json_member("result", rec.result.empty() ? "null" : rec.result)
              + json_member("error", rec.error.empty() ? "null" : json_quote(rec.error))
              + "}";
    if (auto n = storage::append_execution_events(db, slug, id, {ev}); !n)
      return std::move(n.error());
    if (auto err = storage::update_execution_progress(db, slug, id, totals))
      return err;
    return storage::notify_execution(db, slug, id);
  });
  ++st.next_call;
  run_next_tool(self);
}

} // namespace

void run_next_tool(exec_ptr self) {
  auto& st = self->state;
  if (!st.stop_status.empty())
    return stop_now(self);
  if (st.next_call >= st.calls.size())
    return begin_round(self);
  const auto& call = st.calls[st.next_call];
  storage::tool_call_record rec;
  rec.seq = st.totals.tool_call_count + 1;
  rec.call_id = call.id;
  rec.name = skill_name_of(call.name);
  rec.arguments = is_json(call.arguments) ? call.arguments : "{}";
  const storage::skill_record* skill = nullptr;
  for (const auto& s : st.plan->skills)
    if (s.name == rec.name)
      skill = &s;
  tool_request tr;
  tr.skill = skill;
  tr.skill_name = rec.name;
  if (skill && skill->kind == "directive")
    tr.directive_type = json_string_at(skill->config, "directive_type");
  tr.calls_so_far = st.totals.tool_call_count;
  tr.budget_exhausted = budget_exhausted(self);
  tr.initiator_role = st.plan->exec.initiator_role;
  auto decision = decide_tool_call(*st.plan->agent, tr);
  if (!decision.allowed) {
    rec.decision = "denied";
    rec.reason = decision.reason;
    rec.error = "denied: " + decision.reason;
    return tool_done(self, std::move(rec));
  }
  auto started = std::chrono::steady_clock::now();
  auto latency = [started] {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now()
                                                     - started)
      .count();
  };
  if (skill->kind == "directive") {
    auto tenant = st.tenant;
    auto exec = st.plan->exec;
    auto agent_name = st.plan->agent->name;
    auto type = tr.directive_type;
    auto cfg = skill->config;
    auto shared = std::make_shared<storage::tool_call_record>(std::move(rec));
    write(
      self,
      [tenant, exec, agent_name, type, cfg, shared](storage::pg_session& db) -> caf::error {
        directive_proposal p;
        p.type = type;
        p.params = json_merge(json_raw_at(cfg, "params"), shared->arguments);
        // One side effect per tool call, whatever the number of re-runs.
        p.idempotency_key = "exec:" + exec.id + ":" + std::to_string(shared->seq);
        p.correlation_id = exec.correlation_id;
        p.causation_id = exec.trigger_signal_id;
        p.actor.kind = "agent";
        p.actor.id = exec.agent_id;
        p.actor.display = agent_name;
        auto r = propose_directive(db, tenant, p);
        if (!r) {
          shared->error = error_text(r.error());
          return caf::none;
        }
        shared->directive_id = r->record.id;
        shared->result = "{\"directive_id\":" + json_quote(r->record.id)
                         + json_member("state", json_quote(r->record.state)) + "}";
        return caf::none;
      },
      [self, shared, latency] {
        shared->latency_ms = latency();
        tool_done(self, std::move(*shared));
      });
    return;
  }
  // A prompt skill: a nested structured call.
  llm::request req;
  req.provider = st.plan->agent->provider;
  req.model = st.plan->agent->model;
  llm::message sys;
  sys.role = "system";
  sys.content = json_string_at(skill->config, "system");
  if (!sys.content.empty())
    req.messages.push_back(std::move(sys));
  llm::message user;
  user.role = "user";
  auto tmpl = json_string_at(skill->config, "template");
  user.content = tmpl.empty() ? render_input_text(rec.arguments)
                              : render_template(tmpl, rec.arguments);
  req.messages.push_back(std::move(user));
  req.response_schema = skill->output_schema;
  req.stream = false;
  auto shared = std::make_shared<storage::tool_call_record>(std::move(rec));
  call_model(self, std::move(req), false, [self, shared, latency](llm_result res) {
    shared->latency_ms = latency();
    if (!res) {
      if (!self->state.stop_status.empty()
          || llm::code_of(res.error()) == llm::errc::cancelled)
        return on_model_error(self, res.error());
      shared->error = error_text(res.error());
    } else {
      add_usage(self, *res);
      shared->result = is_json(res->text) ? res->text : json_quote(res->text);
    }
    tool_done(self, std::move(*shared));
  });
}

/// Counts a finished run in /metrics: by status and provider, its
/// duration, tokens and cost (what the operator console charts).

} // namespace fp::actors::detail
