// Conversations and messages against the test PostgreSQL
// (storage/conversations.hpp): ordered message seqs (also under concurrent
// appenders), a streaming reply growing and finishing, listing, NOTIFY.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fp/runtime/errc.hpp"
#include "fp/storage/conversations.hpp"
#include "fp/storage/pg_listener.hpp"
#include "agents/store_support.hpp"

using namespace std::chrono_literals;
using namespace fp;
using fp::test::must;
using fp::test::must_ok;

namespace {

storage::conversation_record make_conversation(const std::string& agent_id,
                                               const std::string& title) {
  storage::conversation_record c;
  c.id = runtime::new_uuid_v7();
  c.agent_id = agent_id;
  c.title = title;
  return c;
}

storage::message_record make_message(const std::string& conversation_id,
                                     const std::string& role,
                                     const std::string& content) {
  storage::message_record m;
  m.id = runtime::new_uuid_v7();
  m.conversation_id = conversation_id;
  m.role = role;
  m.content = content;
  return m;
}

} // namespace

TEST_CASE("conversations: insert, find, list", "[store][conversations]") {
  test::store_fixture f;
  auto& db = *f.db;
  auto a = must(storage::insert_agent(db, f.slug, test::make_agent("Chatty")));
  auto b = must(storage::insert_agent(db, f.slug, test::make_agent("Quiet")));
  auto c1 = make_conversation(a.id, "First");
  c1.created_by = f.user_id;
  auto in = must(storage::insert_conversation(db, f.slug, c1));
  CHECK(in.id == c1.id);
  CHECK(in.agent_id == a.id);
  CHECK(in.title == "First");
  CHECK(in.created_by == f.user_id);
  CHECK_FALSE(in.created_at.empty());
  auto c2 = must(storage::insert_conversation(db, f.slug, make_conversation(a.id, "Second")));
  auto c3 = must(storage::insert_conversation(db, f.slug, make_conversation(b.id, "Third")));

  // An unknown agent: not_found, and the transaction stays usable.
  f.exec("BEGIN");
  auto refused = storage::insert_conversation(
    db, f.slug, make_conversation(runtime::new_uuid_v7(), "x"));
  REQUIRE_FALSE(refused);
  CHECK(runtime::code_of(refused.error()) == runtime::errc::not_found);
  CHECK(test::scalar(db, "SELECT 1") == 1);
  f.exec("COMMIT");
  CHECK(runtime::code_of(storage::insert_conversation(
                           db, f.other, make_conversation(a.id, "x"))
                           .error())
        == runtime::errc::not_found);

  auto found = must(storage::find_conversation(db, f.slug, c1.id));
  REQUIRE(found);
  CHECK(found->title == "First");
  CHECK_FALSE(must(storage::find_conversation(db, f.slug, "bad")));
  CHECK_FALSE(must(storage::find_conversation(db, f.other, c1.id)));

  auto ids = [](const std::vector<storage::conversation_record>& v) {
    std::vector<std::string> out;
    for (auto& c : v)
      out.push_back(c.id);
    return out;
  };
  using ids_t = std::vector<std::string>;
  CHECK(ids(must(storage::list_conversations(db, f.slug, "", "", 50)))
        == ids_t{c3.id, c2.id, c1.id});
  CHECK(ids(must(storage::list_conversations(db, f.slug, a.id, "", 50)))
        == ids_t{c2.id, c1.id});
  CHECK(ids(must(storage::list_conversations(db, f.slug, "", "", 2)))
        == ids_t{c3.id, c2.id});
  CHECK(ids(must(storage::list_conversations(db, f.slug, "", c2.id, 2)))
        == ids_t{c1.id});
  CHECK(must(storage::list_conversations(db, f.other, "", "", 50)).empty());
  CHECK_FALSE(storage::list_conversations(db, f.slug, "bad", "", 50));

  // Deleting the agent deletes its conversations.
  CHECK(must(storage::delete_agent(db, f.slug, b.id)));
  CHECK_FALSE(must(storage::find_conversation(db, f.slug, c3.id)));
}

TEST_CASE("messages: seqs, streaming reply, finish", "[store][messages]") {
  test::store_fixture f;
  auto& db = *f.db;
  auto a = must(storage::insert_agent(db, f.slug, test::make_agent("Chatty")));
  auto c = must(storage::insert_conversation(db, f.slug, make_conversation(a.id, "t")));

  auto user = make_message(c.id, "user", "Hello there");
  user.created_by = f.user_id;
  auto u = must(storage::insert_message(db, f.slug, user));
  CHECK(u.seq == 1);
  CHECK(u.status == "complete");
  CHECK(u.content == "Hello there");
  CHECK(u.created_by == f.user_id);
  auto exec_id = runtime::new_uuid_v7();
  auto reply = make_message(c.id, "assistant", "");
  reply.status = "streaming";
  reply.execution_id = exec_id;
  auto r = must(storage::insert_message(db, f.slug, reply));
  CHECK(r.seq == 2);
  CHECK(r.status == "streaming");
  CHECK(r.execution_id == exec_id);

  // The reply grows piece by piece, any text included.
  must_ok(storage::append_message_text(db, f.slug, r.id, "Hi"));
  must_ok(storage::append_message_text(db, f.slug, r.id, ", Zoë — "));
  must_ok(storage::append_message_text(db, f.slug, r.id, "'quoted' \\ text"));
  auto now = must(storage::messages_from(db, f.slug, c.id, 2));
  REQUIRE(now.size() == 1);
  CHECK(now[0].content == "Hi, Zoë — 'quoted' \\ text");
  CHECK(now[0].status == "streaming");
  must_ok(storage::finish_message(db, f.slug, r.id, "complete"));
  now = must(storage::messages_from(db, f.slug, c.id, 2));
  CHECK(now[0].status == "complete");
  CHECK(now[0].content == "Hi, Zoë — 'quoted' \\ text");
  // A replacement text on finish (e.g. the final answer).
  must_ok(storage::finish_message(db, f.slug, r.id, "failed",
                                  std::string{"partial"}));
  now = must(storage::messages_from(db, f.slug, c.id, 2));
  CHECK(now[0].status == "failed");
  CHECK(now[0].content == "partial");
  CHECK(runtime::code_of(storage::append_message_text(
          db, f.slug, runtime::new_uuid_v7(), "x"))
        == runtime::errc::not_found);
  CHECK(runtime::code_of(storage::finish_message(
          db, f.slug, runtime::new_uuid_v7(), "complete"))
        == runtime::errc::not_found);

  auto all = must(storage::messages_from(db, f.slug, c.id, 1));
  REQUIRE(all.size() == 2);
  CHECK(all[0].role == "user");
  CHECK(all[1].role == "assistant");
  CHECK(must(storage::messages_from(db, f.slug, c.id, 1, 1)).size() == 1);
  CHECK(must(storage::messages_from(db, f.slug, c.id, 3)).empty());
  CHECK(must(storage::messages_from(db, f.slug, "bad", 1)).empty());
  // Unknown conversation.
  CHECK(runtime::code_of(storage::insert_message(
                           db, f.slug,
                           make_message(runtime::new_uuid_v7(), "user", "x"))
                           .error())
        == runtime::errc::not_found);

  SECTION("concurrent appenders get distinct consecutive seqs") {
    constexpr int writers = 6;
    constexpr int rounds = 15;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
      threads.emplace_back([&] {
        auto s = test::open_session(f.url);
        for (int i = 0; i < rounds; ++i) {
          s->exec("BEGIN");
          auto m = storage::insert_message(*s, f.slug,
                                           make_message(c.id, "user", "x"));
          if (!m || !s->exec("COMMIT")) {
            s->exec("ROLLBACK");
            ++failures;
          }
        }
      });
    for (auto& t : threads)
      t.join();
    CHECK(failures == 0);
    auto msgs = must(storage::messages_from(db, f.slug, c.id, 1, 1000));
    REQUIRE(msgs.size() == 2 + writers * rounds);
    for (std::size_t i = 0; i < msgs.size(); ++i)
      CHECK(msgs[i].seq == static_cast<int>(i) + 1);
  }
}

TEST_CASE("conversations: NOTIFY on fp_executions", "[store][notify]") {
  test::store_fixture f;
  auto listener = must(storage::pg_listener::open(
    f.url, {std::string{storage::executions_channel}}, 5s));
  auto id = runtime::new_uuid_v7();
  must_ok(storage::notify_conversation(*f.db, f.slug, id));
  std::vector<std::string> got;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (got.empty() && std::chrono::steady_clock::now() < deadline)
    must_ok(listener->wait(200ms, [&](std::string_view, std::string_view p) {
      got.emplace_back(p);
    }));
  REQUIRE(got.size() == 1);
  CHECK(got[0] == "sta:conversation:" + id);
}

TEST_CASE("cancelling a queued chat run closes its reply",
          "[store][messages][executions]") {
  test::store_fixture f;
  auto& db = *f.db;
  auto a = must(storage::insert_agent(db, f.slug, test::make_agent("Chatty")));
  auto c = must(storage::insert_conversation(db, f.slug, make_conversation(a.id, "t")));
  auto e = test::make_execution(a.id);
  e.conversation_id = c.id;
  must(storage::insert_message(db, f.slug, make_message(c.id, "user", "Hi")));
  auto reply = make_message(c.id, "assistant", "");
  reply.status = "streaming";
  reply.execution_id = e.id;
  must(storage::insert_message(db, f.slug, reply));
  must(storage::insert_execution(db, f.slug, e));

  auto listener = must(storage::pg_listener::open(
    f.url, {std::string{storage::executions_channel}}, 5s));
  auto cancelled = must(storage::request_execution_cancel(db, f.slug, e.id));
  REQUIRE(cancelled);
  CHECK(cancelled->status == "cancelled");
  auto msgs = must(storage::messages_from(db, f.slug, c.id, 1));
  REQUIRE(msgs.size() == 2);
  CHECK(msgs[0].status == "complete");
  CHECK(msgs[1].status == "cancelled");
  std::set<std::string> got;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (got.size() < 2 && std::chrono::steady_clock::now() < deadline)
    must_ok(listener->wait(200ms, [&](std::string_view, std::string_view p) {
      got.emplace(p);
    }));
  CHECK(got.count("sta:" + e.id) == 1);
  CHECK(got.count("sta:conversation:" + c.id) == 1);
}
