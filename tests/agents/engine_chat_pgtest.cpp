// Chat replies stream into the assistant message (which ends complete with
// the whole text), and runs go through agent actors under the tenant actor
// (kind "agent" in /admin/actors).

#include <catch2/catch.hpp>

#include "agents/engine_support.hpp"
#include "fp/storage/conversations.hpp"
#include "support/fake_llm_server.hpp"

using namespace std::chrono_literals;
using namespace fp;

TEST_CASE("engine: a chat reply streams into its message", "[engine]") {
  test::fake_llm_server fake;
  std::vector<std::string> words;
  for (int i = 0; i < 20; ++i)
    words.push_back("w" + std::to_string(i) + " ");
  fake.script_openai(test::fake_llm_server::openai_text(words, true, 30ms));
  test::engine_fixture f;
  f.cfg.openai_base_url = fake.base_url();
  f.cfg.openai_api_key = "sk-test";
  f.cfg.admin_token = "t0ken";
  f.start();
  storage::agent_record a;
  a.name = "chatty";
  a.provider = "openai";
  a.model = "fake-model";
  a.state = "active";
  auto agent = f.add_agent(a);
  storage::conversation_record conv;
  conv.id = runtime::new_uuid_v7();
  conv.agent_id = agent;
  conv.title = "t";
  storage::message_record user;
  user.id = runtime::new_uuid_v7();
  user.conversation_id = conv.id;
  user.role = "user";
  user.content = "Hello there";
  storage::message_record reply;
  reply.id = runtime::new_uuid_v7();
  reply.conversation_id = conv.id;
  reply.role = "assistant";
  reply.status = "streaming";
  std::string id;
  auto err = storage::run_transaction(*f.db, [&](storage::pg_session& s) -> caf::error {
    if (auto c = storage::insert_conversation(s, "eng", conv); !c)
      return std::move(c.error());
    if (auto m = storage::insert_message(s, "eng", user); !m)
      return std::move(m.error());
    if (auto m = storage::insert_message(s, "eng", reply); !m)
      return std::move(m.error());
    actors::execution_request req;
    req.agent_id = agent;
    req.conversation_id = conv.id;
    req.reply_message_id = reply.id;
    req.input = R"({"message":"Hello there"})";
    req.initiator = {"human", f.user_id, "tester"};
    req.initiator_role = "owner";
    auto e = actors::queue_execution(s, f.tenant(), req);
    if (!e)
      return std::move(e.error());
    id = e->id;
    return caf::none;
  });
  REQUIRE_FALSE(err);
  auto content = [&] {
    return f.text_of("SELECT content FROM \"org_eng\".messages WHERE id = $1", {reply.id});
  };
  // Part of the text is visible while it still streams.
  REQUIRE(test::eventually([&] {
    auto c = content();
    return !c.empty() && c.size() < 60;
  }));
  CHECK(f.text_of("SELECT status FROM \"org_eng\".messages WHERE id = $1", {reply.id})
        == "streaming");
  // The run is held by its agent's actor.
  auto tree = test::fetch(f.port, "GET", "/admin/actors", {"Authorization: Bearer t0ken"});
  REQUIRE(tree);
  CHECK(tree->body.find("\"kind\":\"agent\"") != std::string::npos);
  CHECK(tree->body.find("\"kind\":\"execution\"") != std::string::npos);
  REQUIRE(f.await_finished(id) == "succeeded");
  std::string all;
  for (auto& w : words)
    all += w;
  CHECK(content() == all);
  CHECK(f.text_of("SELECT status FROM \"org_eng\".messages WHERE id = $1", {reply.id})
        == "complete");
  // The model saw the conversation (the user's message), not the reply.
  auto reqs = fake.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].body.find("Hello there") != std::string::npos);
}
