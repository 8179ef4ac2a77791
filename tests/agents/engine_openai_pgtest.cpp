// Runs against the fake OpenAI-compatible server over real loopback HTTP:
// tool calls (allowed and denied — the denial recorded and returned to the
// model), cancel of a slow stream, and the execution timeout.

#include <catch2/catch.hpp>

#include "agents/engine_support.hpp"
#include "support/fake_llm_server.hpp"

using namespace std::chrono_literals;
using namespace fp;

namespace {

storage::agent_record openai_agent(std::string name) {
  storage::agent_record a;
  a.name = std::move(name);
  a.provider = "openai";
  a.model = "fake-model";
  a.system_prompt = "You help.";
  a.state = "active";
  return a;
}

void use_fake(test::engine_fixture& f, test::fake_llm_server& fake) {
  f.cfg.openai_base_url = fake.base_url();
  f.cfg.openai_api_key = "sk-test-secret";
  f.cfg.llm_max_attempts = 1;
}

} // namespace

TEST_CASE("engine: an OpenAI run with an allowed and a denied tool call",
          "[engine]") {
  test::fake_llm_server fake;
  fake.script_openai(test::fake_llm_server::openai_tool_call(
    "call_1", "signal__emit", R"({"type":"eng.from_agent","payload":{"ok":true}})"));
  fake.script_openai(test::fake_llm_server::openai_tool_call(
    "call_2", "webhook__post", R"({"url":"http://127.0.0.1:9/x"})"));
  fake.script_openai(test::fake_llm_server::openai_text({"All ", "done."}));
  test::engine_fixture f;
  use_fake(f, fake);
  f.start();
  auto a = openai_agent("tooler");
  a.skills = {"signal.emit", "webhook.post"};
  a.directive_types = {"signal.emit"};
  auto agent = f.add_agent(a);
  auto id = f.queue(agent, R"({"message":"emit something"})");
  REQUIRE(f.await_finished(id) == "succeeded");
  CHECK(f.text_of("SELECT output->>'text' FROM \"org_eng\".executions WHERE id = $1", {id})
        == "All done.");
  CHECK(f.text_of("SELECT decision || ':' || coalesce(directive_id::text, '') <> 'allowed:' "
                  "FROM \"org_eng\".execution_tool_calls WHERE execution_id = $1 AND seq = 1",
                  {id})
        == "t");
  CHECK(f.text_of("SELECT decision FROM \"org_eng\".execution_tool_calls WHERE "
                  "execution_id = $1 AND seq = 2",
                  {id})
        == "denied");
  CHECK(f.text_of("SELECT reason FROM \"org_eng\".execution_tool_calls WHERE "
                  "execution_id = $1 AND seq = 2",
                  {id})
            .find("directive type 'webhook.post'")
        != std::string::npos);
  // Tokens of the three calls (20+9, 20+9, 11+7).
  CHECK(f.count("SELECT tokens_in FROM \"org_eng\".executions WHERE id = $1", {id}) == 51);
  CHECK(f.count("SELECT tokens_out FROM \"org_eng\".executions WHERE id = $1", {id}) == 25);
  // The third request carried both tool results, the denial as an error.
  auto reqs = fake.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[2].body.find("call_2") != std::string::npos);
  CHECK(reqs[2].body.find("denied") != std::string::npos);
  CHECK(reqs[2].body.find("call_1") != std::string::npos);
  // The directive ran: its signal exists.
  REQUIRE(test::eventually([&] {
    return f.count("SELECT count(*) FROM \"org_eng\".signals WHERE type = 'eng.from_agent'")
           == 1;
  }));
}

TEST_CASE("engine: cancel stops a slow stream promptly", "[engine]") {
  test::fake_llm_server fake;
  std::vector<std::string> words(200, "word ");
  fake.script_openai(test::fake_llm_server::openai_text(words, true, 100ms));
  test::engine_fixture f;
  use_fake(f, fake);
  f.start();
  auto agent = f.add_agent(openai_agent("slow"));
  auto id = f.queue(agent, R"({"message":"talk"})");
  REQUIRE(test::eventually([&] {
    return f.count("SELECT count(*) FROM \"org_eng\".execution_events WHERE execution_id = $1 "
                   "AND kind = 'delta'",
                   {id})
           > 0;
  }));
  auto asked = std::chrono::steady_clock::now();
  auto res = test::call_with_key(f.port, f.admin_key, "POST",
                                 "/api/v1/executions/" + id + "/cancel", "{}");
  REQUIRE(res.status == 202);
  REQUIRE(f.await_finished(id, 5s) == "cancelled");
  CHECK(std::chrono::steady_clock::now() - asked < 2s);
  CHECK(f.text_of("SELECT error_code FROM \"org_eng\".executions WHERE id = $1", {id})
        == "cancelled");
  // The provider connection was closed.
  CHECK(test::eventually([&] { return fake.open_connections() == 0; }, 3s));
}

TEST_CASE("engine: a run longer than the execution timeout ends timed_out",
          "[engine]") {
  test::fake_llm_server fake;
  test::fake_response hang;
  hang.hang = true;
  fake.script_openai(hang);
  test::engine_fixture f;
  use_fake(f, fake);
  f.cfg.execution_timeout = 1000ms;
  f.start();
  auto agent = f.add_agent(openai_agent("stuck"));
  auto id = f.queue(agent, R"({"message":"wait"})");
  REQUIRE(f.await_finished(id, 10s) == "timed_out");
  CHECK(f.text_of("SELECT error_code FROM \"org_eng\".executions WHERE id = $1", {id})
        == "timeout");
  CHECK(f.count("SELECT count(*) FROM \"org_eng\".signals WHERE type = "
                "'agent.execution.failed' AND payload->>'execution_id' = $1",
                {id})
        == 1);
}
