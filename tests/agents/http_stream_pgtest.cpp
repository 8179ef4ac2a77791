// SSE resume against a slow OpenAI-compatible stream (the fake model
// server), so the connection really drops mid-run / mid-reply: no lost or
// repeated events or text. Also cancel of a slow run over HTTP.

#include "agents/http_support.hpp"
#include "support/fake_llm_server.hpp"

using namespace fp;
using namespace fp::http_test;

namespace {

const std::vector<std::string> words{"Hello ", "there, ", "this ", "reply ",
                                     "streams ", "slowly ", "with ", "unicode ",
                                     "\xC3\xA9 ", "\xE2\x82\xAC ", "done."};

std::string joined() {
  std::string out;
  for (auto& w : words)
    out += w;
  return out;
}

std::function<void(config::settings&)> use_fake(test::fake_llm_server& fake) {
  return [&fake](config::settings& cfg) {
    cfg.openai_base_url = fake.base_url();
    cfg.openai_api_key = "sk-test-secret";
    cfg.llm_max_attempts = 1;
  };
}

constexpr const char* slow_agent
  = R"({"name":"slowpoke","provider":"openai","model":"fake-model","state":"active"})";

} // namespace

TEST_CASE("chat: a reply dropped mid-stream resumes without loss or repeats",
          "[agents][http]") {
  test::fake_llm_server fake;
  fake.script_openai(test::fake_llm_server::openai_text(words, true, 150ms));
  fixture f{"http_chat_slow", use_fake(fake)};
  auto& a = f.acme;
  auto agent = f.make_agent(a, slow_agent);
  auto made = f.req(a.member, "POST", "/api/v1/conversations",
                    R"({"agent_id":")" + agent + R"("})");
  REQUIRE(made.status == 201);
  auto conv = str(json_doc{made.body}.root, "id");

  sse_client first{f.port, "/api/v1/conversations/" + conv + "/stream", {a.reader}};
  REQUIRE(first.head() == 200);
  auto posted = f.req(a.member, "POST", "/api/v1/conversations/" + conv + "/messages",
                      R"({"content":"say something"})");
  REQUIRE(posted.status == 202);
  auto reply_id = str(json_doc{posted.body}.root["assistant_message"], "id");

  // Up to the second piece of reply text, then drop the connection.
  std::string text;
  std::string last_id;
  int pieces = 0;
  while (pieces < 2) {
    auto ev = first.next_event(10000ms);
    REQUIRE(ev);
    json_doc d{ev->data};
    if (ev->event == "message" && str(d.root, "id") == reply_id) {
      REQUIRE(str(d.root, "status") == "streaming");
      text += str(d.root, "content");
      if (!str(d.root, "content").empty())
        ++pieces;
    } else if (ev->event == "delta") {
      REQUIRE(str(d.root, "message_id") == reply_id);
      CHECK(static_cast<std::size_t>(num(d.root, "offset")) == text.size());
      text += str(d.root, "text");
      ++pieces;
    } else if (ev->event == "message.done") {
      FAIL("the reply ended before the connection was dropped");
    }
    last_id = ev->id;
  }
  first.close();
  REQUIRE(text.size() < joined().size());

  sse_client second{f.port, "/api/v1/conversations/" + conv + "/stream",
                    {a.reader, "Last-Event-ID: " + last_id}};
  REQUIRE(second.head() == 200);
  for (;;) {
    auto ev = second.next_event(20000ms);
    REQUIRE(ev);
    json_doc d{ev->data};
    if (ev->event == "delta") {
      REQUIRE(str(d.root, "message_id") == reply_id);
      CHECK(static_cast<std::size_t>(num(d.root, "offset")) == text.size());
      text += str(d.root, "text");
    } else if (ev->event == "message.done") {
      CHECK(str(d.root, "message_id") == reply_id);
      CHECK(str(d.root, "status") == "complete");
      break;
    } else {
      FAIL("unexpected " << ev->event << " " << ev->data);
    }
  }
  CHECK(text == joined());
  json_doc gd{f.req(a.reader, "GET", "/api/v1/conversations/" + conv).body};
  auto reply = gd.root["messages"].get_array().value_unsafe().at(1).value_unsafe();
  CHECK(str(reply, "content") == joined());
}

TEST_CASE("executions: a live stream dropped mid-run resumes exactly",
          "[agents][http]") {
  test::fake_llm_server fake;
  fake.script_openai(test::fake_llm_server::openai_text(words, true, 150ms));
  fixture f{"http_exec_slow", use_fake(fake)};
  auto& a = f.acme;
  auto agent = f.make_agent(a, slow_agent);
  auto run = f.req(a.member, "POST", "/api/v1/agents/" + agent + "/executions",
                   R"({"input":{"message":"talk"}})");
  REQUIRE(run.status == 202);
  auto id = str(json_doc{run.body}.root, "id");

  std::vector<std::string> ids;
  {
    sse_client c{f.port, "/api/v1/executions/" + id + "/stream", {a.reader}};
    REQUIRE(c.head() == 200);
    for (int i = 0; i < 3; ++i) {
      auto ev = c.next_event(10000ms);
      REQUIRE(ev);
      REQUIRE(ev->event != "end");
      ids.push_back(ev->id);
    }
  }
  // Still running: the drop happened mid-run.
  CHECK(str(json_doc{f.req(a.reader, "GET", "/api/v1/executions/" + id).body}.root,
            "status")
        == "running");
  {
    sse_client c{f.port, "/api/v1/executions/" + id + "/stream",
                 {a.reader, "Last-Event-ID: " + ids.back()}};
    REQUIRE(c.head() == 200);
    for (;;) {
      auto ev = c.next_event(20000ms);
      REQUIRE(ev);
      if (ev->event == "end") {
        CHECK(ev->data.find("succeeded") != std::string::npos);
        break;
      }
      ids.push_back(ev->id);
    }
  }
  json_doc ed{f.req(a.reader, "GET", "/api/v1/executions/" + id + "/events").body};
  REQUIRE(count(ed.root, "events") == ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i)
    CHECK(ids[i] == std::to_string(i + 1));
  // The streamed deltas are the reply.
  std::string text;
  for (auto ev : ed.root["events"].get_array())
    if (str(ev, "kind") == "delta") {
      std::string_view t;
      if (!ev["data"]["text"].get_string().get(t))
        text += std::string{t};
    }
  CHECK(text == joined());
}

TEST_CASE("executions: cancel stops a slow run promptly", "[agents][http]") {
  test::fake_llm_server fake;
  std::vector<std::string> many(100, "word ");
  fake.script_openai(test::fake_llm_server::openai_text(many, true, 200ms));
  fixture f{"http_cancel_slow", use_fake(fake)};
  auto& a = f.acme;
  auto agent = f.make_agent(a, slow_agent);
  auto run = f.req(a.member, "POST", "/api/v1/agents/" + agent + "/executions",
                   R"({"input":{"message":"talk"}})");
  REQUIRE(run.status == 202);
  auto id = str(json_doc{run.body}.root, "id");
  REQUIRE(test::eventually([&] {
    return str(json_doc{f.req(a.reader, "GET", "/api/v1/executions/" + id).body}.root,
               "status")
           == "running";
  }));
  sse_client c{f.port, "/api/v1/executions/" + id + "/stream", {a.reader}};
  REQUIRE(c.head() == 200);
  auto asked = steady::now();
  auto cancel = f.req(a.member, "POST", "/api/v1/executions/" + id + "/cancel");
  REQUIRE(cancel.status == 202);
  std::optional<sse_event> end;
  while (auto ev = c.next_event(10000ms)) {
    if (ev->event == "end") {
      end = ev;
      break;
    }
  }
  REQUIRE(end);
  CHECK(end->data.find("cancelled") != std::string::npos);
  CHECK(steady::now() - asked < 5s);
  json_doc d{f.req(a.reader, "GET", "/api/v1/executions/" + id).body};
  CHECK(str(d.root, "status") == "cancelled");
}
