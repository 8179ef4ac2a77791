// Executions and chat over real HTTP with the local provider: manual runs,
// skill tests, listing and events, the execution SSE stream resumed with
// Last-Event-ID (no gap, no duplicate), cancel, and a chat reply streamed,
// dropped mid-reply and resumed without losing or repeating text; tenant
// isolation throughout.

#include "agents/http_support.hpp"

using namespace fp;
using namespace fp::http_test;

namespace {

const char* long_text
  = "Rust and C++ both offer zero-cost abstractions. The borrow checker "
    "prevents data races at compile time. C++ relies on discipline and "
    "tooling for the same guarantees. Both languages compile to native code. "
    "Many teams mix them through a C interface. Build times matter for large "
    "projects. Incremental compilation helps both ecosystems. Package "
    "management differs widely between them.";

/// Reads named events until `end` (or a timeout); the events read.
std::vector<sse_event> read_until_end(sse_client& c, ms limit = 20000ms) {
  std::vector<sse_event> out;
  auto deadline = steady::now() + limit;
  while (steady::now() < deadline) {
    auto ev = c.next_event(std::chrono::duration_cast<ms>(deadline - steady::now()));
    if (!ev)
      break;
    out.push_back(*ev);
    if (ev->event == "end")
      break;
  }
  return out;
}

} // namespace

TEST_CASE("executions: run, list, events, stream resume, isolation",
          "[agents][http]") {
  fixture f{"http_runs"};
  auto& a = f.acme;
  auto agent = f.make_agent(a, R"({"name":"writer","system_prompt":"Summarize in at most 2 sentences.","state":"active"})");

  // A member may run it; a reader may not; body shape is checked.
  CHECK(f.req(a.reader, "POST", "/api/v1/agents/" + agent + "/executions",
              R"({"input":{"message":"hi"}})")
          .status
        == 403);
  auto bad = f.req(a.member, "POST", "/api/v1/agents/" + agent + "/executions",
                   R"({"input":"hi"})");
  CHECK(bad.status == 422);
  CHECK(bad.body.find("input") != std::string::npos);
  CHECK(f.req(a.member, "POST",
              "/api/v1/agents/00000000-0000-0000-0000-000000000000/executions",
              R"({"input":{}})")
          .status
        == 404);
  CHECK(f.req(f.beta.member, "POST", "/api/v1/agents/" + agent + "/executions",
              R"({"input":{}})")
          .status
        == 404);

  auto run = f.req(a.member, "POST", "/api/v1/agents/" + agent + "/executions",
                   std::string{R"({"input":{"message":")"} + long_text + "\"}}");
  INFO(run.body);
  REQUIRE(run.status == 202);
  json_doc rd{run.body};
  auto exec = str(rd.root, "id");
  CHECK(run.header("location") == "/api/v1/executions/" + exec);
  CHECK(str(rd.root, "agent_id") == agent);

  auto final_json = f.await_execution(a, exec);
  json_doc fd{final_json};
  CHECK(str(fd.root, "status") == "succeeded");
  CHECK(count(fd.root, "tool_calls") == 0);

  // Listing with filters and isolation.
  auto listed = f.req(a.reader, "GET", "/api/v1/executions?agent_id=" + agent);
  REQUIRE(listed.status == 200);
  CHECK(listed.body.find(exec) != std::string::npos);
  auto by_status = f.req(a.reader, "GET", "/api/v1/executions?status=failed");
  REQUIRE(by_status.status == 200);
  CHECK(by_status.body.find(exec) == std::string::npos);
  CHECK(f.req(a.reader, "GET", "/api/v1/executions?status=bogus").status == 422);
  CHECK(f.req(a.reader, "GET", "/api/v1/executions?agent_id=nope").status == 422);
  CHECK(f.req(a.reader, "GET", "/api/v1/executions?since=yesterday").status == 422);
  auto beta_list = f.req(f.beta.reader, "GET", "/api/v1/executions");
  REQUIRE(beta_list.status == 200);
  CHECK(beta_list.body.find(exec) == std::string::npos);
  CHECK(f.req(f.beta.reader, "GET", "/api/v1/executions/" + exec).status == 404);
  CHECK(f.req(f.beta.reader, "GET", "/api/v1/executions/" + exec + "/events").status
        == 404);
  CHECK(f.req(f.beta.reader, "GET", "/api/v1/executions/" + exec + "/stream").status
        == 404);

  // The event log.
  auto events = f.req(a.reader, "GET", "/api/v1/executions/" + exec + "/events");
  REQUIRE(events.status == 200);
  json_doc ed{events.body};
  auto n = count(ed.root, "events");
  REQUIRE(n >= 2);
  CHECK(num(ed.root, "last_seq") == static_cast<int64_t>(n));
  auto tail = f.req(a.reader, "GET", "/api/v1/executions/" + exec + "/events?after=1");
  json_doc td{tail.body};
  CHECK(count(td.root, "events") == n - 1);
  CHECK(f.req(a.reader, "GET", "/api/v1/executions/" + exec + "/events?after=x").status
        == 422);

  // The stream of a finished execution: every event, then `end`.
  {
    sse_client c{f.port, "/api/v1/executions/" + exec + "/stream", {a.reader}};
    REQUIRE(c.head() == 200);
    auto got = read_until_end(c);
    REQUIRE(got.size() == n + 1);
    for (std::size_t i = 0; i < n; ++i)
      CHECK(got[i].id == std::to_string(i + 1));
    CHECK(got.back().event == "end");
    CHECK(got.back().data.find("succeeded") != std::string::npos);
  }
  // Resumed mid-way: exactly the rest.
  {
    auto resume_at = n / 2;
    sse_client c{f.port, "/api/v1/executions/" + exec + "/stream",
                 {a.reader, "Last-Event-ID: " + std::to_string(resume_at)}};
    REQUIRE(c.head() == 200);
    auto got = read_until_end(c);
    REQUIRE(got.size() == n - resume_at + 1);
    for (std::size_t i = 0; i + 1 < got.size(); ++i)
      CHECK(got[i].id == std::to_string(resume_at + i + 1));
    CHECK(got.back().event == "end");
  }
  {
    sse_client c{f.port, "/api/v1/executions/" + exec + "/stream",
                 {a.reader, "Last-Event-ID: nonsense"}};
    CHECK(c.head() == 400);
  }

  // A live run followed from the start: the events arrive as they are
  // written, then `end`.
  auto live = f.req(a.member, "POST", "/api/v1/agents/" + agent + "/executions",
                    std::string{R"({"input":{"text":")"} + long_text + "\"}}");
  REQUIRE(live.status == 202);
  auto live_id = str(json_doc{live.body}.root, "id");
  {
    sse_client c{f.port, "/api/v1/executions/" + live_id + "/stream", {a.reader}};
    REQUIRE(c.head() == 200);
    auto got = read_until_end(c);
    REQUIRE(!got.empty());
    CHECK(got.back().event == "end");
    for (std::size_t i = 0; i + 1 < got.size(); ++i)
      CHECK(got[i].id == std::to_string(i + 1));
  }
}

TEST_CASE("executions: cancel", "[agents][http]") {
  fixture f{"http_cancel"};
  auto& a = f.acme;
  auto agent = f.make_agent(a, R"({"name":"c","state":"active"})");
  auto run = f.req(a.member, "POST", "/api/v1/agents/" + agent + "/executions",
                   R"({"input":{"message":"cancel me"}})");
  REQUIRE(run.status == 202);
  auto id = str(json_doc{run.body}.root, "id");
  CHECK(f.req(a.reader, "POST", "/api/v1/executions/" + id + "/cancel").status == 403);
  CHECK(f.req(f.beta.member, "POST", "/api/v1/executions/" + id + "/cancel").status
        == 404);
  auto cancel = f.req(a.member, "POST", "/api/v1/executions/" + id + "/cancel");
  INFO(cancel.body);
  REQUIRE(cancel.status == 202);
  json_doc cd{cancel.body};
  // A run that already finished (the local provider is fast) keeps its
  // final state; otherwise the request is recorded.
  auto at_cancel = str(cd.root, "status");
  CHECK((cd.root["cancel_requested"].get_bool().value_unsafe()
         || at_cancel == "succeeded" || at_cancel == "cancelled"));
  auto final_json = f.await_execution(a, id);
  json_doc fd{final_json};
  // The local provider may have finished before the cancel arrived.
  auto status = str(fd.root, "status");
  CHECK((status == "cancelled" || status == "succeeded"));
  CHECK(f.req(a.member, "POST",
              "/api/v1/executions/00000000-0000-0000-0000-000000000000/cancel")
          .status
        == 404);
}

TEST_CASE("skills: test runs wait for the result", "[agents][http]") {
  fixture f{"http_skill_test"};
  auto& a = f.acme;
  auto list = f.req(a.reader, "GET", "/api/v1/skills");
  REQUIRE(list.status == 200);
  json_doc ld{list.body};
  std::string summarize;
  for (auto s : ld.root["skills"].get_array())
    if (str(s, "name") == "text.summarize")
      summarize = str(s, "id");
  REQUIRE(!summarize.empty());
  auto res = f.req(a.member, "POST", "/api/v1/skills/" + summarize + "/test?wait=20",
                   std::string{R"({"input":{"text":")"} + long_text + "\"}}");
  INFO(res.body);
  REQUIRE(res.status == 200);
  json_doc d{res.body};
  CHECK(str(d.root, "status") == "succeeded");
  CHECK(str(d.root, "skill_name") == "text.summarize");
  CHECK(!is_null(d.root, "output"));
  CHECK(f.req(a.member, "POST", "/api/v1/skills/" + summarize + "/test?wait=500",
              R"({"input":{"text":"x"}})")
          .status
        == 422);
  CHECK(f.req(a.member, "POST",
              "/api/v1/skills/00000000-0000-0000-0000-000000000000/test",
              R"({"input":{}})")
          .status
        == 404);
}

TEST_CASE("chat: post, stream, drop mid-reply and resume", "[agents][http]") {
  fixture f{"http_chat"};
  auto& a = f.acme;
  auto agent = f.make_agent(a, R"({"name":"chatty","state":"active"})");

  CHECK(f.req(a.member, "POST", "/api/v1/conversations",
              R"({"agent_id":"00000000-0000-0000-0000-000000000000"})")
          .status
        == 422);
  CHECK(f.req(f.beta.member, "POST", "/api/v1/conversations",
              R"({"agent_id":")" + agent + "\"}")
          .status
        == 422);
  auto made = f.req(a.member, "POST", "/api/v1/conversations",
                    R"({"agent_id":")" + agent + R"(","title":"hello"})");
  INFO(made.body);
  REQUIRE(made.status == 201);
  auto conv = str(json_doc{made.body}.root, "id");
  CHECK(f.req(f.beta.reader, "GET", "/api/v1/conversations/" + conv).status == 404);
  CHECK(f.req(f.beta.member, "POST", "/api/v1/conversations/" + conv + "/messages",
              R"({"content":"hi"})")
          .status
        == 404);
  CHECK(f.req(a.member, "POST", "/api/v1/conversations/" + conv + "/messages",
              R"({"content":""})")
          .status
        == 422);

  // Listen first, then post: the stream sees the whole exchange.
  sse_client first{f.port, "/api/v1/conversations/" + conv + "/stream", {a.reader}};
  REQUIRE(first.head() == 200);
  auto posted = f.req(a.member, "POST", "/api/v1/conversations/" + conv + "/messages",
                      std::string{R"({"content":")"} + long_text + "\"}");
  INFO(posted.body);
  REQUIRE(posted.status == 202);
  json_doc pd{posted.body};
  auto reply_id = str(pd.root["assistant_message"], "id");
  CHECK(str(pd.root["assistant_message"], "status") == "streaming");
  CHECK(str(pd.root["user_message"], "content") == long_text);
  CHECK(!str(pd.root["execution"], "id").empty());

  // Read until the first piece of the reply, then drop the connection.
  std::string text;
  std::string last_id;
  bool reply_done = false;
  for (int i = 0; i < 50 && !reply_done; ++i) {
    auto ev = first.next_event(10000ms);
    REQUIRE(ev);
    last_id = ev->id;
    json_doc d{ev->data};
    if (ev->event == "message" && str(d.root, "id") == reply_id) {
      text += str(d.root, "content");
      reply_done = str(d.root, "status") != "streaming";
      break;
    }
    if (ev->event == "delta" && str(d.root, "message_id") == reply_id) {
      text += str(d.root, "text");
      break;
    }
  }
  first.close();

  // Resume: the rest of the reply, nothing twice.
  if (!reply_done) {
    sse_client second{f.port, "/api/v1/conversations/" + conv + "/stream",
                      {a.reader, "Last-Event-ID: " + last_id}};
    REQUIRE(second.head() == 200);
    for (int i = 0; i < 10000; ++i) {
      auto ev = second.next_event(20000ms);
      REQUIRE(ev);
      json_doc d{ev->data};
      if (ev->event == "delta") {
        REQUIRE(str(d.root, "message_id") == reply_id);
        CHECK(static_cast<std::size_t>(num(d.root, "offset")) == text.size());
        text += str(d.root, "text");
      } else if (ev->event == "message") {
        REQUIRE(str(d.root, "id") == reply_id);
        text += str(d.root, "content");
        if (str(d.root, "status") != "streaming")
          break;
      } else if (ev->event == "message.done") {
        CHECK(str(d.root, "message_id") == reply_id);
        CHECK(str(d.root, "status") == "complete");
        break;
      }
    }
  }
  auto got = f.req(a.reader, "GET", "/api/v1/conversations/" + conv);
  REQUIRE(got.status == 200);
  json_doc gd{got.body};
  auto msgs = gd.root["messages"].get_array().value_unsafe();
  REQUIRE(msgs.size() == 2);
  auto reply = msgs.at(1).value_unsafe();
  CHECK(str(reply, "status") == "complete");
  CHECK(str(reply, "content") == text);
  CHECK(text.rfind("[local deterministic model]", 0) == 0);

  // A fresh stream replays the conversation as whole messages.
  sse_client third{f.port, "/api/v1/conversations/" + conv + "/stream", {a.reader}};
  REQUIRE(third.head() == 200);
  auto m1 = third.next_event();
  auto m2 = third.next_event();
  REQUIRE(m1);
  REQUIRE(m2);
  CHECK(m1->event == "message");
  CHECK(m1->id == "2:0");
  CHECK(m2->event == "message");
  CHECK(m2->id == "3:0");
  CHECK(str(json_doc{m2->data}.root, "content") == text);

  auto listed = f.req(a.reader, "GET", "/api/v1/conversations?agent_id=" + agent);
  REQUIRE(listed.status == 200);
  CHECK(listed.body.find(conv) != std::string::npos);
  CHECK(f.req(f.beta.reader, "GET", "/api/v1/conversations").body.find(conv)
        == std::string::npos);
  auto execs = f.req(a.reader, "GET", "/api/v1/executions?conversation_id=" + conv);
  REQUIRE(execs.status == 200);
  CHECK(count(json_doc{execs.body}.root, "executions") == 1);
}
