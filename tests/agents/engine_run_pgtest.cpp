// End-to-end runs through a real node with the local provider: a manual
// run queued with queue_execution, triggered runs (exactly one execution
// per agent and signal, also under replay, and a linked new one when the
// replay asks for agents), tool calls and permissions, budgets.

#include <catch2/catch.hpp>

#include "agents/engine_support.hpp"

using namespace std::chrono_literals;
using namespace fp;

namespace {

constexpr const char* story
  = "The river flooded the lower town in March. Volunteers built walls of "
    "sandbags along the river. The walls held and the town stayed dry. "
    "Later the council thanked the volunteers.";

} // namespace

TEST_CASE("engine: a manual run with the local provider succeeds with its "
          "signals, events and totals",
          "[engine]") {
  test::engine_fixture f;
  f.start();
  auto agent = f.add_agent(test::local_agent("summarizer", "Summarize at most 2 sentences."));
  auto id = f.queue(agent, std::string{R"({"message":")"} + story + "\"}");
  REQUIRE(f.await_finished(id) == "succeeded");
  auto output = f.text_of("SELECT output::text FROM \"org_eng\".executions WHERE id = $1", {id});
  CHECK(output.find("[local deterministic model]") != std::string::npos);
  CHECK(f.text_of("SELECT attempt::text FROM \"org_eng\".executions WHERE id = $1", {id}) == "1");
  CHECK(f.count("SELECT tokens_in + tokens_out FROM \"org_eng\".executions WHERE id = $1", {id})
        > 0);
  CHECK(f.text_of("SELECT started_at IS NOT NULL AND finished_at IS NOT NULL FROM "
                  "\"org_eng\".executions WHERE id = $1",
                  {id})
        == "t");
  // Streamed text arrived as delta events; the first event is the running
  // status, the last the final one.
  CHECK(f.count("SELECT count(*) FROM \"org_eng\".execution_events WHERE "
                "execution_id = $1 AND kind = 'delta'",
                {id})
        >= 1);
  CHECK(f.text_of("SELECT string_agg(data->>'text', '' ORDER BY seq) FROM "
                  "\"org_eng\".execution_events WHERE execution_id = $1 AND kind = 'delta'",
                  {id})
        == f.text_of("SELECT output->>'text' FROM \"org_eng\".executions WHERE id = $1", {id}));
  CHECK(f.text_of("SELECT data->>'status' FROM \"org_eng\".execution_events WHERE "
                  "execution_id = $1 ORDER BY seq DESC LIMIT 1",
                  {id})
        == "succeeded");
  // Its signals, under the execution's correlation, by the agent.
  CHECK(f.count("SELECT count(*) FROM \"org_eng\".signals WHERE type = "
                "'agent.execution.started' AND correlation_id = $1 AND actor_kind = 'agent' "
                "AND actor_id = $2",
                {id, agent})
        == 1);
  CHECK(f.count("SELECT count(*) FROM \"org_eng\".signals WHERE type = "
                "'agent.execution.completed' AND correlation_id = $1 AND "
                "payload->>'execution_id' = $1",
                {id})
        == 1);
  // The job completed with the run.
  REQUIRE(test::eventually([&] {
    return f.text_of("SELECT state FROM public.jobs WHERE kind = 'agent.execute'")
           == "completed";
  }));
  // And /metrics counts it, with its tokens.
  auto metrics = test::call(f.port, "GET", "/metrics");
  REQUIRE(metrics.status == 200);
  CHECK(metrics.body.find(
          R"(fp_agent_executions_total{status="succeeded",provider="local"} 1)")
        != std::string::npos);
  CHECK(metrics.body.find(R"(fp_llm_tokens_total{provider="local",direction="out"})")
        != std::string::npos);
  CHECK(metrics.body.find("fp_agent_execution_seconds_count") != std::string::npos);
}

TEST_CASE("engine: a triggered signal gives exactly one execution, also when "
          "replayed; a replay asking for agents adds a linked one",
          "[engine]") {
  test::engine_fixture f;
  f.start();
  auto a = test::local_agent("watcher");
  a.triggers = {"eng.post"};
  auto agent = f.add_agent(a);
  auto emitted = test::call_with_key(f.port, f.admin_key, "POST", "/api/v1/signals",
                                     std::string{R"({"type":"eng.post","payload":{"text":")"}
                                       + story + "\"}}");
  REQUIRE(emitted.status == 201);
  auto sig = test::json_string(emitted.body, "id");
  auto of_signal = [&] {
    return f.count("SELECT count(*) FROM \"org_eng\".executions WHERE trigger_signal_id = $1",
                   {sig});
  };
  REQUIRE(test::eventually([&] {
    return f.count("SELECT count(*) FROM \"org_eng\".executions WHERE trigger_signal_id = "
                   "$1 AND status = 'succeeded'",
                   {sig})
           == 1;
  }));
  auto first = f.text_of("SELECT id FROM \"org_eng\".executions WHERE trigger_signal_id = $1",
                         {sig});
  CHECK(f.text_of("SELECT trigger_key FROM \"org_eng\".executions WHERE id = $1", {first})
        == agent + ":" + sig);
  CHECK(f.text_of("SELECT input->'signal'->>'type' FROM \"org_eng\".executions WHERE id = $1",
                  {first})
        == "eng.post");
  // The agent's own execution signals do not trigger it (nor anything).
  std::this_thread::sleep_for(300ms);
  CHECK(of_signal() == 1);
  CHECK(f.count("SELECT count(*) FROM \"org_eng\".executions") == 1);

  auto replayed = test::call_with_key(f.port, f.admin_key, "POST",
                                      "/api/v1/signals/" + sig + "/replay", "{}");
  REQUIRE(replayed.status == 202);
  std::this_thread::sleep_for(500ms);
  CHECK(f.count("SELECT count(*) FROM \"org_eng\".executions") == 1);

  auto again = test::call_with_key(f.port, f.admin_key, "POST",
                                   "/api/v1/signals/" + sig + "/replay?agents=true", "{}");
  REQUIRE(again.status == 202);
  REQUIRE(test::eventually([&] {
    return f.count("SELECT count(*) FROM \"org_eng\".executions WHERE replay_of = $1 AND "
                   "status = 'succeeded'",
                   {first})
           == 1;
  }));
  CHECK(f.count("SELECT count(*) FROM \"org_eng\".executions") == 2);
}

TEST_CASE("engine: tool calls are decided by the permission model; denials "
          "are recorded and returned to the model",
          "[engine]") {
  test::engine_fixture f;
  f.start();
  auto a = test::local_agent("caller", "always call signal.emit\n"
                                       "when flood call text.summarize\n"
                                       "when river call webhook.post");
  // webhook.post is among its skills, but not its directive type.
  a.skills = {"signal.emit", "text.summarize", "webhook.post"};
  a.directive_types = {"signal.emit"};
  auto agent = f.add_agent(a);
  auto id = f.queue(agent, std::string{R"({"message":")"} + story + "\"}");
  REQUIRE(f.await_finished(id) == "succeeded");
  auto decisions = f.text_of("SELECT string_agg(name || '=' || decision, ',' ORDER BY seq) "
                             "FROM \"org_eng\".execution_tool_calls WHERE execution_id = $1",
                             {id});
  INFO(decisions);
  CHECK(decisions.find("signal.emit=allowed") != std::string::npos);
  CHECK(decisions.find("text.summarize=allowed") != std::string::npos);
  CHECK(decisions.find("webhook.post=denied") != std::string::npos);
  CHECK(f.text_of("SELECT reason FROM \"org_eng\".execution_tool_calls WHERE execution_id = "
                  "$1 AND name = 'webhook.post'",
                  {id})
        != "");
  // The directive was proposed with the execution's idempotency key (or
  // refused, and the refusal returned to the model).
  CHECK(f.count("SELECT count(*) FROM \"org_eng\".execution_tool_calls t WHERE "
                "execution_id = $1 AND name = 'signal.emit' AND (error IS NOT NULL OR "
                "EXISTS (SELECT 1 FROM \"org_eng\".directives d WHERE d.id = t.directive_id "
                "AND d.idempotency_key = 'exec:' || $1 || ':' || t.seq))",
                {id})
        == 1);
  CHECK(f.text_of("SELECT result->>'summary' FROM \"org_eng\".execution_tool_calls WHERE "
                  "execution_id = $1 AND name = 'text.summarize'",
                  {id})
        != "");
  // The denial went back to the model: its final text lists the results.
  auto output = f.text_of("SELECT output->>'text' FROM \"org_eng\".executions WHERE id = $1",
                          {id});
  INFO(output);
  CHECK(output.find("denied") != std::string::npos);
  CHECK(f.text_of("SELECT tool_call_count::text FROM \"org_eng\".executions WHERE id = $1",
                  {id})
        == "3");
}

TEST_CASE("engine: an exhausted daily budget refuses the next execution",
          "[engine]") {
  test::engine_fixture f;
  // 1000 micro-units per token in and out.
  f.cfg.llm_prices = "local/*=1000:1000";
  f.start();
  auto a = test::local_agent("spender");
  a.daily_budget_micros = 1000;
  auto agent = f.add_agent(a);
  auto first = f.queue(agent, std::string{R"({"message":")"} + story + "\"}");
  REQUIRE(f.await_finished(first) == "succeeded");
  CHECK(f.count("SELECT cost_micros FROM \"org_eng\".executions WHERE id = $1", {first})
        >= 1000);
  auto second = f.queue(agent, R"({"message":"again"})");
  REQUIRE(f.await_finished(second) == "failed");
  CHECK(f.text_of("SELECT error_code FROM \"org_eng\".executions WHERE id = $1", {second})
        == "budget_exceeded");
  auto error = f.text_of("SELECT error FROM \"org_eng\".executions WHERE id = $1", {second});
  CHECK(error.find("daily budget of agent spender exhausted: spent") != std::string::npos);
  CHECK(f.count("SELECT count(*) FROM \"org_eng\".signals WHERE type = "
                "'agent.execution.failed' AND payload->>'execution_id' = $1",
                {second})
        == 1);
}
