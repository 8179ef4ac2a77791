// One execution's actor: loads the run, calls the model (inline for the
// local provider, on the LLM gateway threads otherwise), decides and runs
// tool calls, streams text into execution_events (and the chat reply),
// and finishes the run — cancelled, timed out, failed or succeeded.
// Database writes go to the storage pool one at a time, in order.

#include <chrono>
#include <deque>

#include <caf/all.hpp>

#include "agent_engine_internal.hpp"
#include "directives_json.hpp"
#include "fp/actors/agent_rules.hpp"
#include "fp/actors/directives.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/log.hpp"
#include "fp/runtime/messages.hpp"
#include "fp/runtime/type_ids.hpp"
#include "fp/storage/storage_pool.hpp"

namespace fp::actors::detail {

namespace {

namespace log = runtime::log;
using detail::json_member;
using detail::json_quote;
using db_fn = std::function<caf::error(storage::pg_session&)>;
using llm_result = caf::expected<llm::response>;

struct exec_state {
  std::shared_ptr<const engine_env> env;
  caf::actor engine;
  run_args args;
  tenant_ref tenant;
  std::shared_ptr<run_plan> plan = std::make_shared<run_plan>();
  std::shared_ptr<llm::cancel_token> cancel = std::make_shared<llm::cancel_token>();
  std::vector<llm::message> messages;
  std::vector<llm::tool_spec> tools;
  storage::execution_progress totals;
  int rounds = 0;
  /// Text of the current answer, and streamed text not written yet.
  std::string text;
  std::string pending;
  bool flush_scheduled = false;
  /// Writes wait here; one is in flight at a time.
  std::deque<std::pair<db_fn, std::function<void()>>> writes;
  bool writing = false;
  /// "cancelled" or "timed_out" once asked to stop.
  std::string stop_status;
  bool finished = false;
  /// The model call in flight (network providers).
  uint64_t call_no = 0;
  std::shared_ptr<llm_result> call_result;
  std::function<void(llm_result)> on_answer;
  /// Tool calls of the current answer.
  std::vector<llm::tool_call> calls;
  std::size_t next_call = 0;
  /// When the actor started the run (for the duration metric).
  std::chrono::steady_clock::time_point began = std::chrono::steady_clock::now();
  static inline const char* name = "fp.execution";
};

using exec_ptr = caf::stateful_actor<exec_state>*;

void begin_round(exec_ptr self);
void run_next_tool(exec_ptr self);
void finish(exec_ptr self, std::string status, std::string output,
            std::string error, std::string code);

storage::storage_pool_actor pool_of(exec_ptr self) {
  auto& slot = self->state.env->opts.storage_pool;
  return slot ? slot->get_as<storage::storage_pool_actor>()
              : storage::storage_pool_actor{};
}

/// The job ends with `err` (no error: completed) and the actor stops.
void end_job(exec_ptr self, caf::error err) {
  if (self->state.args.completion != 0) {
    finish_parked_job(self->state.args.completion, std::move(err));
    self->state.args.completion = 0;
  }
  self->quit();
}

// -- serial writes -------------------------------------------------------------------------

void pump(exec_ptr self) {
  auto& st = self->state;
  if (st.writing || st.writes.empty())
    return;
  auto pool = pool_of(self);
  if (!pool) {
    end_job(self, runtime::make_error(runtime::errc::unavailable,
                                      "storage pool is not running"));
    return;
  }
  auto [fn, then] = std::move(st.writes.front());
  st.writes.pop_front();
  st.writing = true;
  storage::db_task task;
  task.label = "executions.write";
  task.run = std::move(fn);
  storage::run(
    self, pool, std::move(task),
    [self, then = std::move(then)](uint32_t) {
      self->state.writing = false;
      if (then)
        then();
      pump(self);
    },
    [self](caf::error& err) {
      // The database failed under the run: the job is retried, and the
      // next attempt runs the execution again from the start.
      log::warn("execution write failed",
                {{"execution", self->state.plan->exec.id},
                 {"error", caf::to_string(err)}});
      end_job(self, std::move(err));
    });
}

void write(exec_ptr self, db_fn fn, std::function<void()> then = {}) {
  self->state.writes.emplace_back(std::move(fn), std::move(then));
  pump(self);
}

// -- streaming -----------------------------------------------------------------------------

void flush(exec_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.pending.empty())
    return;
  auto text = std::move(st.pending);
  st.pending.clear();
  auto slug = st.args.slug;
  auto id = st.plan->exec.id;
  auto reply = st.args.reply_message_id;
  auto conv = st.plan->exec.conversation_id;
  auto flagged = std::make_shared<bool>(false);
  write(
    self,
    [slug, id, reply, conv, text, flagged](storage::pg_session& db) -> caf::error {
      storage::execution_event ev;
      ev.kind = "delta";
      ev.data = "{\"text\":" + json_quote(text) + "}";
      if (auto n = storage::append_execution_events(db, slug, id, {ev}); !n)
        return std::move(n.error());
      if (!reply.empty()) {
        if (auto err = storage::append_message_text(db, slug, reply, text))
          return err;
        if (auto err = storage::notify_conversation(db, slug, conv))
          return err;
      }
      // A cancel asked through another node shows up here.
      auto e = storage::find_execution(db, slug, id);
      if (e && *e)
        *flagged = (*e)->cancel_requested;
      return storage::notify_execution(db, slug, id);
    },
    [self, flagged] {
      if (*flagged && self->state.stop_status.empty()) {
        self->state.stop_status = "cancelled";
        self->state.cancel->cancel();
      }
    });
}

void on_text(exec_ptr self, std::string_view piece) {
  auto& st = self->state;
  st.text.append(piece);
  st.pending.append(piece);
  if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->delayed_send(self, st.env->opts.stream_flush, stream_atom_v);
  }
}

// -- model calls ---------------------------------------------------------------------------

void add_usage(exec_ptr self, const llm::response& r) {
  auto& st = self->state;
  st.totals.tokens_in += r.tokens.input_tokens;
  st.totals.tokens_out += r.tokens.output_tokens;
  auto price = st.env->opts.llm->prices().price_of(r.provider.empty() ? st.plan->exec.provider
                                                                      : r.provider,
                                                   r.model.empty() ? st.plan->exec.model
                                                                   : r.model);
  st.totals.cost_micros += llm::price_table::cost_micros(price, r.tokens);
}

bool budget_exhausted(exec_ptr self) {
  auto& st = self->state;
  return st.plan->budget_left && st.totals.cost_micros >= *st.plan->budget_left;
}

/// Calls the model; `k` gets the answer on this actor. `stream_text`:
/// deltas go to the execution's stream (not for nested skill calls).
void call_model(exec_ptr self, llm::request req, bool stream_text,
                std::function<void(llm_result)> k) {
  auto& st = self->state;
  auto client = st.env->opts.llm;
  if (req.provider == "local" || !st.env->gateway) {
    // The local provider is fast and deterministic: inline is cheaper than
    // a thread hop.
    llm::stream_sink sink;
    if (stream_text)
      sink.on_text = [self](std::string_view piece) { on_text(self, piece); };
    auto res = client->complete(req, sink, *st.cancel);
    k(std::move(res));
    return;
  }
  auto no = ++st.call_no;
  auto slot = std::make_shared<llm_result>(caf::error{});
  st.call_result = slot;
  st.on_answer = std::move(k);
  auto me = caf::actor_cast<caf::actor>(self);
  auto token = st.cancel;
  st.env->gateway->submit([client, req = std::move(req), stream_text, me, token,
                           slot, no] {
    llm::stream_sink sink;
    if (stream_text)
      sink.on_text = [me, no](std::string_view piece) {
        caf::anon_send(me, delta_atom_v, no, std::string{piece});
      };
    *slot = client->complete(req, sink, *token);
    caf::anon_send(me, llm_atom_v, no);
  });
}

std::string error_code_of(const caf::error& err) {
  auto code = llm::code_of(err);
  if (code == llm::errc::none)
    return "provider_error";
  if (code == llm::errc::schema_mismatch)
    return "schema_mismatch";
  if (code == llm::errc::timeout)
    return "provider_timeout";
  return llm::to_string(code) == nullptr ? "provider_error" : llm::to_string(code);
}

std::string error_text(const caf::error& err) {
  auto ctx = runtime::context_of(err);
  return ctx.empty() ? caf::to_string(err) : ctx;
}

// -- the loop ------------------------------------------------------------------------------

void stop_now(exec_ptr self) {
  auto& st = self->state;
  finish(self, st.stop_status,
         {}, st.stop_status == "timed_out" ? "execution timed out" : "cancelled",
         st.stop_status == "timed_out" ? "timeout" : "cancelled");
}

void on_model_error(exec_ptr self, const caf::error& err) {
  auto& st = self->state;
  if (!st.stop_status.empty() || llm::code_of(err) == llm::errc::cancelled) {
    if (st.stop_status.empty())
      st.stop_status = "cancelled";
    stop_now(self);
    return;
  }
  finish(self, "failed", {}, error_text(err), error_code_of(err));
}

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

void begin_round(exec_ptr self) {
  auto& st = self->state;
  if (!st.stop_status.empty())
    return stop_now(self);
  const auto& agent = *st.plan->agent;
  if (++st.rounds > agent.max_tool_calls + 2)
    return finish(self, "failed", {}, "the model kept calling tools", "limit_exceeded");
  llm::request req;
  req.provider = agent.provider;
  req.model = agent.model;
  req.messages = st.messages;
  req.tools = st.tools;
  req.max_tokens = agent.max_tokens;
  st.text.clear();
  call_model(self, std::move(req), true, [self](llm_result res) {
    auto& st = self->state;
    if (!res)
      return on_model_error(self, res.error());
    add_usage(self, *res);
    if (!st.stop_status.empty())
      return stop_now(self);
    if (res->tool_calls.empty()) {
      auto text = res->text.empty() ? st.text : res->text;
      return finish(self, "succeeded", "{\"text\":" + json_quote(text) + "}", {}, {});
    }
    llm::message m;
    m.role = "assistant";
    m.content = res->text;
    m.tool_calls = res->tool_calls;
    st.messages.push_back(std::move(m));
    st.calls = std::move(res->tool_calls);
    st.next_call = 0;
    run_next_tool(self);
  });
}

/// Records tool call `rec` (and its event), answers the model, goes on.
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
void record_metrics(exec_ptr self, const std::string& status) {
  auto& st = self->state;
  auto* m = st.env->opts.metrics;
  if (!m)
    return;
  const auto& provider = st.plan->exec.provider;
  m->get_counter("fp_agent_executions_total",
                 "Executions finished on this node, by status and provider.",
                 {"status", "provider"}, {status, provider})
    .inc();
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - st.began;
  m->get_histogram("fp_agent_execution_seconds",
                   "Time from an execution actor's start to its final write.",
                   runtime::default_latency_buckets(), {"provider"}, {provider})
    .observe(took.count());
  auto tokens = [&](const char* direction, int64_t n) {
    if (n > 0)
      m->get_counter("fp_llm_tokens_total", "Model tokens used by executions.",
                     {"provider", "direction"}, {provider, direction})
        .inc(static_cast<uint64_t>(n));
  };
  tokens("in", st.totals.tokens_in);
  tokens("out", st.totals.tokens_out);
  if (st.totals.cost_micros > 0)
    m->get_counter("fp_llm_cost_micros_total",
                   "Cost of model calls, in micro-units of the price table.",
                   {"provider"}, {provider})
      .inc(static_cast<uint64_t>(st.totals.cost_micros));
}

void finish(exec_ptr self, std::string status, std::string output,
            std::string error, std::string code) {
  auto& st = self->state;
  if (st.finished)
    return;
  st.finished = true;
  record_metrics(self, status);
  // Text still pending rides along with the final write (one transaction
  // fewer for fast runs).
  auto text = std::move(st.pending);
  st.pending.clear();
  run_end end;
  end.reply_message_id = st.args.reply_message_id;
  end.outcome.status = std::move(status);
  end.outcome.output = std::move(output);
  end.outcome.error = std::move(error);
  end.outcome.error_code = std::move(code);
  end.outcome.totals = st.totals;
  end.pending_text = std::move(text);
  auto tenant = st.tenant;
  auto exec = st.plan->exec;
  write(
    self,
    [tenant, exec, end](storage::pg_session& db) -> caf::error {
      if (!end.pending_text.empty() && !end.reply_message_id.empty())
        if (auto err = storage::append_message_text(db, tenant.slug, end.reply_message_id,
                                                    end.pending_text))
          return err;
      return finish_run(db, tenant, exec, end);
    },
    [self] { end_job(self, caf::none); });
}

void start(exec_ptr self) {
  auto& st = self->state;
  auto args = st.args;
  auto plan = st.plan;
  write(
    self,
    [args, plan](storage::pg_session& db) {
      *plan = run_plan{};
      return load_run(db, args, *plan);
    },
    [self] {
      auto& st = self->state;
      if (st.plan->done)
        return end_job(self, caf::none);
      caf::anon_send(st.engine, spawn_atom_v, st.args.slug + ":" + st.plan->exec.id,
                     caf::actor_cast<caf::actor>(self));
      self->delayed_send(self, st.env->opts.execution_timeout, timeout_atom_v);
      if (st.plan->test_skill)
        return run_skill_test(self);
      const auto& agent = *st.plan->agent;
      if (!agent.system_prompt.empty()) {
        llm::message sys;
        sys.role = "system";
        sys.content = agent.system_prompt;
        st.messages.push_back(std::move(sys));
      }
      for (auto& m : st.plan->history)
        st.messages.push_back(std::move(m));
      st.plan->history.clear();
      for (const auto& s : st.plan->skills) {
        llm::tool_spec t;
        t.name = tool_name_of(s.name);
        t.description = s.description;
        t.parameters = s.input_schema;
        st.tools.push_back(std::move(t));
      }
      begin_round(self);
    });
}

caf::behavior execution_impl(exec_ptr self, std::shared_ptr<const engine_env> env,
                             caf::actor engine, run_args args) {
  auto& st = self->state;
  st.env = std::move(env);
  st.engine = std::move(engine);
  st.tenant = tenant_ref{args.org_id, args.slug};
  st.args = std::move(args);
  start(self);
  return {
    [self](describe_atom) -> runtime::actor_status {
      return {self->state.plan->exec.status, self->mailbox().size()};
    },
    [self](delta_atom, uint64_t no, const std::string& piece) {
      if (no == self->state.call_no && !self->state.finished)
        on_text(self, piece);
    },
    [self](llm_atom, uint64_t no) {
      auto& st = self->state;
      if (no != st.call_no || !st.on_answer || st.finished)
        return;
      auto k = std::move(st.on_answer);
      st.on_answer = nullptr;
      k(std::move(*st.call_result));
    },
    [self](stream_atom) {
      if (!self->state.finished)
        flush(self);
    },
    [self](cancel_atom) {
      auto& st = self->state;
      if (st.stop_status.empty())
        st.stop_status = "cancelled";
      st.cancel->cancel();
    },
    [self](timeout_atom) {
      auto& st = self->state;
      if (st.finished)
        return;
      if (st.stop_status.empty())
        st.stop_status = "timed_out";
      st.cancel->cancel();
      // A model call in flight returns promptly once cancelled; without one
      // (a write in flight) the run stops at its next step.
      if (!st.on_answer && !st.writing && st.writes.empty())
        stop_now(self);
    },
  };
}

} // namespace

caf::actor spawn_execution_actor(caf::local_actor* parent,
                                 std::shared_ptr<const engine_env> env,
                                 caf::actor engine, run_args args) {
  return parent->spawn(execution_impl, std::move(env), std::move(engine),
                       std::move(args));
}

} // namespace fp::actors::detail
