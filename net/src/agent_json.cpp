#include "agent_json.hpp"

#include "route_support.hpp"

namespace fp::net {

namespace {

using detail::write_nullable;

void write_strings(json_writer& w, std::string_view name,
                   const std::vector<std::string>& xs) {
  w.key(name).begin_array();
  for (auto& x : xs)
    w.value(x);
  w.end_array();
}

/// Stored JSON columns are valid JSON; an empty one is written as `fallback`.
void write_json(json_writer& w, std::string_view name, const std::string& text,
                std::string_view fallback) {
  w.key(name).raw(text.empty() ? fallback : std::string_view{text});
}

} // namespace

void write_raw_or_null(json_writer& w, const std::string& text) {
  if (text.empty())
    w.null();
  else
    w.raw(text);
}

void write_skill(json_writer& w, const storage::skill_record& s) {
  w.begin_object()
    .member("id", s.id)
    .member("name", s.name)
    .member("description", s.description)
    .member("kind", s.kind)
    .member("scope", s.scope)
    .member("overrides", s.overrides);
  write_json(w, "input_schema", s.input_schema, R"({"type":"object"})");
  write_json(w, "output_schema", s.output_schema, R"({"type":"object"})");
  write_json(w, "config", s.config, "{}");
  w.member("min_role", s.min_role);
  write_nullable(w, "installation_id", s.installation_id);
  write_strings(w, "required_scopes", s.required_scopes);
  write_nullable(w, "created_by", s.created_by);
  w.member("created_at", s.created_at).member("updated_at", s.updated_at);
  w.end_object();
}

void write_agent(json_writer& w, const storage::agent_record& a) {
  w.begin_object()
    .member("id", a.id)
    .member("name", a.name)
    .member("purpose", a.purpose)
    .member("provider", a.provider)
    .member("model", a.model)
    .member("system_prompt", a.system_prompt);
  write_strings(w, "skills", a.skills);
  write_strings(w, "directive_types", a.directive_types);
  write_strings(w, "triggers", a.triggers);
  w.member("max_tokens", a.max_tokens).member("max_tool_calls", a.max_tool_calls);
  w.key("daily_budget_micros");
  if (a.daily_budget_micros)
    w.value(*a.daily_budget_micros);
  else
    w.null();
  w.member("state", a.state);
  write_nullable(w, "installation_id", a.installation_id);
  write_strings(w, "granted_scopes", a.granted_scopes);
  w.member("version", a.version);
  write_nullable(w, "created_by", a.created_by);
  w.member("created_at", a.created_at).member("updated_at", a.updated_at);
  w.end_object();
}

void write_tool_call(json_writer& w, const storage::tool_call_record& c) {
  w.begin_object().member("seq", c.seq).member("call_id", c.call_id).member(
    "name", c.name);
  write_json(w, "arguments", c.arguments, "{}");
  w.key("result");
  write_raw_or_null(w, c.result);
  write_nullable(w, "error", c.error);
  w.member("decision", c.decision);
  write_nullable(w, "reason", c.reason);
  w.member("latency_ms", c.latency_ms);
  write_nullable(w, "directive_id", c.directive_id);
  w.member("at", c.at);
  w.end_object();
}

void write_execution(json_writer& w, const storage::execution_record& e,
                     const std::vector<storage::tool_call_record>* calls) {
  w.begin_object().member("id", e.id);
  write_nullable(w, "agent_id", e.agent_id);
  write_nullable(w, "skill_name", e.skill_name);
  write_nullable(w, "conversation_id", e.conversation_id);
  w.member("status", e.status);
  write_json(w, "input", e.input, "{}");
  w.key("output");
  write_raw_or_null(w, e.output);
  write_nullable(w, "error", e.error);
  write_nullable(w, "error_code", e.error_code);
  w.member("provider", e.provider)
    .member("model", e.model)
    .member("tokens_in", e.tokens_in)
    .member("tokens_out", e.tokens_out)
    .member("cost_micros", e.cost_micros)
    .member("tool_call_count", e.tool_call_count);
  write_nullable(w, "trace_id", e.trace_id);
  write_nullable(w, "trigger_signal_id", e.trigger_signal_id);
  write_nullable(w, "trigger_key", e.trigger_key);
  write_nullable(w, "replay_of", e.replay_of);
  write_nullable(w, "correlation_id", e.correlation_id);
  write_nullable(w, "causation_id", e.causation_id);
  w.key("initiator")
    .begin_object()
    .member("kind", e.initiator.kind)
    .member("id", e.initiator.id)
    .member("display", e.initiator.display)
    .end_object();
  write_nullable(w, "initiator_role", e.initiator_role);
  w.key("job_id");
  if (e.job_id > 0)
    w.value(e.job_id);
  else
    w.null();
  w.member("attempt", e.attempt).member("cancel_requested", e.cancel_requested);
  w.member("queued_at", e.queued_at);
  write_nullable(w, "started_at", e.started_at);
  write_nullable(w, "finished_at", e.finished_at);
  w.member("updated_at", e.updated_at);
  if (calls) {
    w.key("tool_calls").begin_array();
    for (auto& c : *calls)
      write_tool_call(w, c);
    w.end_array();
  }
  w.end_object();
}

void write_execution_event(json_writer& w, const storage::execution_event& ev) {
  w.begin_object().member("seq", ev.seq).member("kind", ev.kind);
  write_json(w, "data", ev.data, "{}");
  w.member("at", ev.at).end_object();
}

void write_conversation(json_writer& w, const storage::conversation_record& c) {
  w.begin_object()
    .member("id", c.id)
    .member("agent_id", c.agent_id)
    .member("title", c.title);
  write_nullable(w, "created_by", c.created_by);
  w.member("created_at", c.created_at).member("updated_at", c.updated_at);
  w.end_object();
}

void write_message(json_writer& w, const storage::message_record& m) {
  w.begin_object()
    .member("id", m.id)
    .member("conversation_id", m.conversation_id)
    .member("seq", m.seq)
    .member("role", m.role)
    .member("content", m.content)
    .member("status", m.status);
  write_nullable(w, "execution_id", m.execution_id);
  write_nullable(w, "created_by", m.created_by);
  w.member("created_at", m.created_at).member("updated_at", m.updated_at);
  w.end_object();
}

} // namespace fp::net
