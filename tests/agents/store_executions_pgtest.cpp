// Executions, their event log and tool calls against the test PostgreSQL
// (storage/executions.hpp): one execution per trigger key (also under
// concurrency), the status life cycle, cancel, filters, event seqs under
// concurrent appenders, and NOTIFY.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fp/runtime/errc.hpp"
#include "fp/storage/pg_listener.hpp"
#include "agents/store_support.hpp"

using namespace std::chrono_literals;
using namespace fp;
using fp::test::must;
using fp::test::must_ok;

TEST_CASE("executions: insert and find; one execution per trigger key",
          "[store][executions]") {
  test::store_fixture f;
  auto& db = *f.db;
  auto agent = must(storage::insert_agent(db, f.slug, test::make_agent("Runner")));
  auto e = test::make_execution(agent.id);
  e.provider = "local";
  e.model = "local-extractive";
  e.causation_id = "cause-1";
  e.job_id = 42;
  auto in = must(storage::insert_execution(db, f.slug, e));
  CHECK(in.created);
  CHECK(in.record.id == e.id);
  CHECK(in.record.status == "queued");
  CHECK(in.record.agent_id == agent.id);
  CHECK(in.record.input == R"({"message": "hello"})");
  CHECK(in.record.output.empty());
  CHECK(in.record.initiator.kind == "human");
  CHECK(in.record.initiator.display == "Ann");
  CHECK(in.record.initiator_role == "admin");
  CHECK(in.record.job_id == 42);
  CHECK(in.record.attempt == 0);
  CHECK(in.record.trace_id == e.trace_id);
  CHECK(in.record.causation_id == "cause-1");
  CHECK_FALSE(in.record.queued_at.empty());
  CHECK(in.record.started_at.empty());
  CHECK(in.record.finished_at.empty());

  auto found = must(storage::find_execution(db, f.slug, e.id));
  REQUIRE(found);
  CHECK(found->model == "local-extractive");
  CHECK(must(storage::find_execution(db, f.slug, e.id, true)));
  CHECK_FALSE(must(storage::find_execution(db, f.slug, "nope")));
  CHECK_FALSE(must(storage::find_execution(db, f.other, e.id)));

  // Defaults: a system-triggered run without correlation or trace.
  auto sys = test::make_execution(agent.id);
  sys.initiator = {};
  sys.initiator_role.clear();
  sys.correlation_id.clear();
  sys.trace_id.clear();
  sys.input.clear();
  auto sys_in = must(storage::insert_execution(db, f.slug, sys));
  CHECK(sys_in.record.initiator.kind == "system");
  CHECK(sys_in.record.correlation_id == sys.id);
  CHECK(sys_in.record.input == "{}");
  CHECK(sys_in.record.initiator_role.empty());

  auto bad = test::make_execution("not-a-uuid");
  CHECK(runtime::code_of(storage::insert_execution(db, f.slug, bad).error())
        == runtime::errc::invalid_argument);

  // Trigger keys: the second insert finds the first.
  auto signal_id = runtime::new_uuid_v7();
  auto t1 = test::make_execution(agent.id);
  t1.trigger_signal_id = signal_id;
  t1.trigger_key = agent.id + ":" + signal_id;
  auto first = must(storage::insert_execution(db, f.slug, t1));
  CHECK(first.created);
  CHECK(first.record.trigger_key == t1.trigger_key);
  CHECK(first.record.trigger_signal_id == signal_id);
  auto t2 = test::make_execution(agent.id);
  t2.trigger_key = t1.trigger_key;
  f.exec("BEGIN");
  auto second = must(storage::insert_execution(db, f.slug, t2));
  CHECK_FALSE(second.created);
  CHECK(second.record.id == t1.id);
  f.exec("COMMIT");
  CHECK_FALSE(must(storage::find_execution(db, f.slug, t2.id)));
  // A replay's key and link make a second execution of the same pair.
  auto t3 = test::make_execution(agent.id);
  t3.trigger_key = t1.trigger_key + ":replay-corr";
  t3.replay_of = t1.id;
  auto third = must(storage::insert_execution(db, f.slug, t3));
  CHECK(third.created);
  CHECK(third.record.replay_of == t1.id);

  SECTION("concurrent inserts of one trigger key make one execution") {
    auto key = agent.id + ":" + runtime::new_uuid_v7();
    constexpr int n = 8;
    std::vector<std::string> seen(n);
    std::atomic<int> created{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i)
      threads.emplace_back([&, i] {
        auto s = test::open_session(f.url);
        auto e = test::make_execution(agent.id);
        e.trigger_key = key;
        s->exec("BEGIN");
        auto r = storage::insert_execution(*s, f.slug, e);
        std::this_thread::sleep_for(20ms); // hold the row: others must wait
        s->exec("COMMIT");
        if (r) {
          seen[i] = r->record.id;
          if (r->created)
            ++created;
        }
      });
    for (auto& t : threads)
      t.join();
    CHECK(created == 1);
    for (auto& id : seen)
      CHECK(id == seen[0]);
    CHECK(test::scalar(db, "SELECT count(*) FROM \"org_sta\".executions "
                           "WHERE trigger_key = $1",
                       {key})
          == 1);
  }
}

TEST_CASE("executions: start, progress, finish and cancel",
          "[store][executions]") {
  test::store_fixture f;
  auto& db = *f.db;
  auto agent = must(storage::insert_agent(db, f.slug, test::make_agent("Runner")));
  auto e = test::make_execution(agent.id);
  must(storage::insert_execution(db, f.slug, e));

  CHECK(must(storage::start_execution(db, f.slug, e.id, 1, "local", "m1")));
  auto r = *must(storage::find_execution(db, f.slug, e.id));
  CHECK(r.status == "running");
  CHECK(r.attempt == 1);
  CHECK(r.provider == "local");
  CHECK(r.model == "m1");
  REQUIRE_FALSE(r.started_at.empty());
  auto started = r.started_at;
  // A rescued run starts again: attempt moves, started_at stays.
  CHECK(must(storage::start_execution(db, f.slug, e.id, 2, "local", "m2")));
  r = *must(storage::find_execution(db, f.slug, e.id));
  CHECK(r.attempt == 2);
  CHECK(r.started_at == started);
  CHECK_FALSE(must(storage::start_execution(db, f.slug, "bad", 1, "", "")));

  storage::execution_progress p{10, 20, 30, 2};
  must_ok(storage::update_execution_progress(db, f.slug, e.id, p));
  r = *must(storage::find_execution(db, f.slug, e.id));
  CHECK(r.tokens_in == 10);
  CHECK(r.tokens_out == 20);
  CHECK(r.cost_micros == 30);
  CHECK(r.tool_call_count == 2);
  CHECK(runtime::code_of(storage::update_execution_progress(
          db, f.slug, runtime::new_uuid_v7(), p))
        == runtime::errc::not_found);

  // Cancel of a running execution: only the flag.
  auto c = must(storage::request_execution_cancel(db, f.slug, e.id));
  REQUIRE(c);
  CHECK(c->cancel_requested);
  CHECK(c->status == "running");

  storage::execution_outcome o;
  o.status = "succeeded";
  o.output = R"({"text":"done"})";
  o.totals = {11, 22, 33, 3};
  CHECK(must(storage::finish_execution(db, f.slug, e.id, o)));
  r = *must(storage::find_execution(db, f.slug, e.id));
  CHECK(r.status == "succeeded");
  CHECK(r.output == R"({"text": "done"})");
  CHECK(r.error.empty());
  CHECK(r.tokens_out == 22);
  CHECK(r.tool_call_count == 3);
  REQUIRE_FALSE(r.finished_at.empty());
  CHECK(r.finished_at >= r.started_at);
  // Finished is final.
  o.status = "failed";
  CHECK_FALSE(must(storage::finish_execution(db, f.slug, e.id, o)));
  CHECK_FALSE(must(storage::start_execution(db, f.slug, e.id, 3, "x", "y")));
  CHECK((*must(storage::find_execution(db, f.slug, e.id))).status
        == "succeeded");
  o.status = "running";
  CHECK(runtime::code_of(storage::finish_execution(db, f.slug, e.id, o).error())
        == runtime::errc::invalid_argument);
  // Cancel of a finished one changes nothing.
  c = must(storage::request_execution_cancel(db, f.slug, e.id));
  REQUIRE(c);
  CHECK(c->status == "succeeded");
  CHECK(c->cancel_requested);
  CHECK_FALSE(must(storage::request_execution_cancel(db, f.slug,
                                                     runtime::new_uuid_v7())));

  // A failure keeps its error and code.
  auto failing = test::make_execution(agent.id);
  must(storage::insert_execution(db, f.slug, failing));
  storage::execution_outcome refused;
  refused.status = "failed";
  refused.error = "daily budget of agent Runner exhausted: spent 5 of 5";
  refused.error_code = "budget_exceeded";
  CHECK(must(storage::finish_execution(db, f.slug, failing.id, refused)));
  r = *must(storage::find_execution(db, f.slug, failing.id));
  CHECK(r.status == "failed");
  CHECK(r.error_code == "budget_exceeded");
  CHECK(r.error == refused.error);
  CHECK(r.output.empty());

  // Cancel of a queued one finishes it at once, with a final status event.
  auto queued = test::make_execution(agent.id);
  must(storage::insert_execution(db, f.slug, queued));
  c = must(storage::request_execution_cancel(db, f.slug, queued.id));
  REQUIRE(c);
  CHECK(c->status == "cancelled");
  CHECK(c->error_code == "cancelled");
  CHECK(c->cancel_requested);
  CHECK_FALSE(c->finished_at.empty());
  auto events = must(storage::execution_events_after(db, f.slug, queued.id, 0));
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == "status");
  CHECK(events[0].data.find("cancelled") != std::string::npos);
  CHECK_FALSE(must(storage::start_execution(db, f.slug, queued.id, 1, "", "")));
}

TEST_CASE("executions: list filters and cursor", "[store][executions]") {
  test::store_fixture f;
  auto& db = *f.db;
  auto a = must(storage::insert_agent(db, f.slug, test::make_agent("A")));
  auto b = must(storage::insert_agent(db, f.slug, test::make_agent("B")));
  auto conv = runtime::new_uuid_v7();
  auto signal_id = runtime::new_uuid_v7();
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    auto e = test::make_execution(i % 2 == 0 ? a.id : b.id);
    e.correlation_id = i < 3 ? "corr-x" : "corr-y";
    if (i == 1)
      e.conversation_id = conv;
    if (i == 2) {
      e.trigger_signal_id = signal_id;
      e.trigger_key = a.id + ":" + signal_id;
    }
    if (i == 5) {
      e.agent_id.clear();
      e.skill_name = "text.summarize";
    }
    must(storage::insert_execution(db, f.slug, e));
    ids.push_back(e.id);
  }
  storage::execution_outcome o;
  o.status = "failed";
  must(storage::finish_execution(db, f.slug, ids[0], o));

  auto list = [&](storage::execution_filter filter) {
    std::vector<std::string> out;
    for (auto& e : must(storage::list_executions(db, f.slug, filter)))
      out.push_back(e.id);
    return out;
  };
  using ids_t = std::vector<std::string>;
  storage::execution_filter all;
  CHECK(list(all) == ids_t{ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]});
  storage::execution_filter by_agent;
  by_agent.agent_id = a.id;
  CHECK(list(by_agent) == ids_t{ids[4], ids[2], ids[0]});
  storage::execution_filter by_status;
  by_status.status = "failed";
  CHECK(list(by_status) == ids_t{ids[0]});
  storage::execution_filter by_conv;
  by_conv.conversation_id = conv;
  CHECK(list(by_conv) == ids_t{ids[1]});
  storage::execution_filter by_corr;
  by_corr.correlation_id = "corr-y";
  CHECK(list(by_corr) == ids_t{ids[5], ids[4], ids[3]});
  storage::execution_filter by_signal;
  by_signal.trigger_signal_id = signal_id;
  CHECK(list(by_signal) == ids_t{ids[2]});
  storage::execution_filter by_skill;
  by_skill.skill_name = "text.summarize";
  CHECK(list(by_skill) == ids_t{ids[5]});
  storage::execution_filter combined;
  combined.agent_id = b.id;
  combined.correlation_id = "corr-x";
  CHECK(list(combined) == ids_t{ids[1]});
  storage::execution_filter page;
  page.limit = 4;
  CHECK(list(page) == ids_t{ids[5], ids[4], ids[3], ids[2]});
  page.before_id = ids[2];
  CHECK(list(page) == ids_t{ids[1], ids[0]});
  storage::execution_filter window;
  window.since = "2000-01-01T00:00:00Z";
  window.until = "2999-01-01T00:00:00Z";
  CHECK(list(window).size() == 6);
  window.since = "2999-01-01T00:00:00Z";
  CHECK(list(window).empty());
  CHECK(must(storage::list_executions(db, f.other, all)).empty());
  storage::execution_filter bad;
  bad.agent_id = "nope";
  auto refused = storage::list_executions(db, f.slug, bad);
  REQUIRE_FALSE(refused);
  CHECK(runtime::code_of(refused.error()) == runtime::errc::invalid_argument);
}

TEST_CASE("execution events: ordered seqs, also under concurrent appenders",
          "[store][events]") {
  test::store_fixture f;
  auto& db = *f.db;
  auto a = must(storage::insert_agent(db, f.slug, test::make_agent("Eventful")));
  auto e = test::make_execution(a.id);
  must(storage::insert_execution(db, f.slug, e));

  CHECK(must(storage::append_execution_events(db, f.slug, e.id, {})) == 0);
  std::vector<storage::execution_event> batch(3);
  batch[0].kind = "status";
  batch[0].data = R"({"status":"running"})";
  batch[1].kind = "delta";
  batch[1].data = R"({"text":"Hel"})";
  batch[2].kind = "delta";
  batch[2].data.clear(); // becomes {}
  CHECK(must(storage::append_execution_events(db, f.slug, e.id, batch)) == 3);
  CHECK(must(storage::append_execution_events(db, f.slug, e.id, {batch[1]})) == 4);
  auto all = must(storage::execution_events_after(db, f.slug, e.id, 0));
  REQUIRE(all.size() == 4);
  for (int i = 0; i < 4; ++i)
    CHECK(all[i].seq == i + 1);
  CHECK(all[0].kind == "status");
  CHECK(all[1].data == R"({"text": "Hel"})");
  CHECK(all[2].data == "{}");
  CHECK_FALSE(all[3].at.empty());
  auto tail = must(storage::execution_events_after(db, f.slug, e.id, 2));
  REQUIRE(tail.size() == 2);
  CHECK(tail[0].seq == 3);
  auto limited = must(storage::execution_events_after(db, f.slug, e.id, 0, 1));
  REQUIRE(limited.size() == 1);
  CHECK(limited[0].seq == 1);
  CHECK(must(storage::execution_events_after(db, f.slug, "bad", 0)).empty());
  auto missing = storage::append_execution_events(db, f.slug,
                                                  runtime::new_uuid_v7(), batch);
  REQUIRE_FALSE(missing);
  CHECK(runtime::code_of(missing.error()) == runtime::errc::not_found);

  // Concurrent appenders in their own transactions: every seq used once,
  // no gaps, each transaction's events contiguous.
  constexpr int writers = 6;
  constexpr int rounds = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&, w] {
      auto s = test::open_session(f.url);
      for (int i = 0; i < rounds; ++i) {
        std::vector<storage::execution_event> evs(2);
        for (int k = 0; k < 2; ++k) {
          evs[k].kind = "log";
          evs[k].data = "{\"w\":" + std::to_string(w) + ",\"i\":"
                        + std::to_string(i) + ",\"k\":" + std::to_string(k)
                        + "}";
        }
        s->exec("BEGIN");
        auto last = storage::append_execution_events(*s, f.slug, e.id, evs);
        if (!last || !s->exec("COMMIT"))
          ++failures;
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(failures == 0);
  auto logged = must(storage::execution_events_after(db, f.slug, e.id, 4, 10000));
  REQUIRE(logged.size() == writers * rounds * 2);
  for (std::size_t i = 0; i < logged.size(); ++i) {
    CHECK(logged[i].seq == static_cast<int>(i) + 5);
    if (i % 2 == 0) {
      // The pair of one transaction sits together: k 0 then k 1.
      auto first = logged[i].data;
      auto second = logged[i + 1].data;
      CHECK(first.find("\"k\": 0") != std::string::npos);
      CHECK(second.find("\"k\": 1") != std::string::npos);
      auto strip = [](std::string d) {
        auto k = d.find("\"k\": ");
        return d.erase(k, 6);
      };
      CHECK(strip(first) == strip(second));
    }
  }
}

TEST_CASE("executions: NOTIFY on fp_executions", "[store][notify]") {
  test::store_fixture f;
  auto& db = *f.db;
  auto listener = must(storage::pg_listener::open(
    f.url, {std::string{storage::executions_channel}}, 5s));
  auto id = runtime::new_uuid_v7();
  f.exec("BEGIN");
  must_ok(storage::notify_execution(db, f.slug, id));
  f.exec("COMMIT");
  std::vector<std::string> got;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (got.empty() && std::chrono::steady_clock::now() < deadline)
    must_ok(listener->wait(200ms, [&](std::string_view, std::string_view p) {
      got.emplace_back(p);
    }));
  REQUIRE(got.size() == 1);
  CHECK(got[0] == "sta:" + id);
}

TEST_CASE("tool calls: recorded, overwritten on re-run, listed in order",
          "[store][tool_calls]") {
  test::store_fixture f;
  auto& db = *f.db;
  auto a = must(storage::insert_agent(db, f.slug, test::make_agent("Tooler")));
  auto e = test::make_execution(a.id);
  must(storage::insert_execution(db, f.slug, e));

  storage::tool_call_record second;
  second.seq = 2;
  second.call_id = "call_2";
  second.name = "webhook.post";
  second.arguments = R"({"url":"https://x"})";
  second.decision = "denied";
  second.reason = "directive type 'webhook.post' not allowed";
  must_ok(storage::record_tool_call(db, f.slug, e.id, second));
  storage::tool_call_record first;
  first.seq = 1;
  first.call_id = "call_1";
  first.name = "text.summarize";
  first.arguments = R"({"text":"a b c"})";
  first.result = R"({"summary":"a"})";
  first.latency_ms = 12.5;
  must_ok(storage::record_tool_call(db, f.slug, e.id, first));

  auto calls = must(storage::tool_calls_of(db, f.slug, e.id));
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].seq == 1);
  CHECK(calls[0].name == "text.summarize");
  CHECK(calls[0].result == R"({"summary": "a"})");
  CHECK(calls[0].latency_ms == Approx(12.5));
  CHECK(calls[0].decision == "allowed");
  CHECK(calls[0].error.empty());
  CHECK(calls[1].decision == "denied");
  CHECK(calls[1].reason == second.reason);
  CHECK(calls[1].result.empty());
  CHECK_FALSE(calls[1].at.empty());

  // A re-run records seq 2 again: allowed this time, with a directive.
  second.decision = "allowed";
  second.reason.clear();
  second.directive_id = runtime::new_uuid_v7();
  second.error = "destination refused";
  must_ok(storage::record_tool_call(db, f.slug, e.id, second));
  calls = must(storage::tool_calls_of(db, f.slug, e.id));
  REQUIRE(calls.size() == 2);
  CHECK(calls[1].decision == "allowed");
  CHECK(calls[1].directive_id == second.directive_id);
  CHECK(calls[1].error == "destination refused");
  CHECK(must(storage::tool_calls_of(db, f.slug, "bad")).empty());
  CHECK(must(storage::tool_calls_of(db, f.other, e.id)).empty());
  second.directive_id = "nope";
  CHECK(storage::record_tool_call(db, f.slug, e.id, second));
}
