// One execution's actor: loads the run, calls the model (inline for the
// local provider, on the LLM gateway threads otherwise), decides and runs
// tool calls (execution_tools.cpp), streams text into execution_events
// (and the chat reply), and finishes the run — cancelled, timed out,
// failed or succeeded. Database writes go to the storage pool one at a
// time, in order.

#include <chrono>
#include <deque>

#include <caf/all.hpp>

#include "directives_json.hpp"
#include "execution_actor_internal.hpp"
#include "fp/actors/agent_rules.hpp"
#include "fp/actors/directives.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/log.hpp"
#include "fp/runtime/messages.hpp"
#include "fp/runtime/type_ids.hpp"
#include "fp/storage/storage_pool.hpp"

namespace fp::actors::detail {

namespace log = runtime::log;

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

void write(exec_ptr self, db_fn fn, std::function<void()> then) {
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
                std::function<void(llm_result)> on_answer) {
  auto k = std::move(on_answer);
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

caf::actor spawn_execution_actor(caf::local_actor* parent,
                                 std::shared_ptr<const engine_env> env,
                                 caf::actor engine, run_args args) {
  return parent->spawn(execution_impl, std::move(env), std::move(engine),
                       std::move(args));
}

} // namespace fp::actors::detail
