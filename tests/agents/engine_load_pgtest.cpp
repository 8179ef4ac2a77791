// Many concurrent local runs (group-committed writes): every one finishes
// exactly once with its signals; prints the drain rate for reference.

#include <catch2/catch.hpp>

#include <cstdio>

#include "agents/engine_support.hpp"

using namespace std::chrono_literals;
using namespace fp;

TEST_CASE("engine: 1,000 concurrent local runs all finish once", "[engine][load]") {
  test::engine_fixture f;
  f.start();
  auto agent = f.add_agent(test::local_agent("bulk"));
  constexpr int n = 1000;
  actors::execution_request req;
  req.agent_id = agent;
  req.input = R"({"message":"Many runs share one commit. Each run ends once."})";
  auto t = f.tenant();
  auto began = std::chrono::steady_clock::now();
  auto err = storage::run_transaction(*f.db, [&](storage::pg_session& s) -> caf::error {
    for (int i = 0; i < n; ++i)
      if (auto e = actors::queue_execution(s, t, req); !e)
        return std::move(e.error());
    return caf::none;
  });
  REQUIRE_FALSE(err);
  REQUIRE(test::eventually(
    [&] {
      return f.count("SELECT count(*) FROM \"org_eng\".executions WHERE status = 'succeeded'")
             == n;
    },
    120s, 20ms));
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::printf("engine load: %d runs drained in %.2f s (%.0f executions/s)\n", n, secs,
              n / secs);
  std::printf("engine load: %s\n",
              f.text_of("SELECT 'queue ' || round(extract(epoch FROM max(queued_at) - "
                        "min(queued_at)) * 1000) || ' ms, starts over ' || "
                        "round(extract(epoch FROM max(started_at) - min(started_at)) * 1000) "
                        "|| ' ms, first start after ' || round(extract(epoch FROM "
                        "min(started_at) - max(queued_at)) * 1000) || ' ms, mean run ' || "
                        "round(extract(epoch FROM avg(finished_at - started_at)) * 1000) || "
                        "' ms, finishes over ' || round(extract(epoch FROM max(finished_at) - "
                        "min(finished_at)) * 1000) || ' ms' FROM \"org_eng\".executions")
                .c_str());
  CHECK(f.count("SELECT count(*) FROM \"org_eng\".signals WHERE type = "
                "'agent.execution.completed'")
        == n);
  CHECK(f.count("SELECT count(*) FROM \"org_eng\".signals WHERE type = "
                "'agent.execution.started'")
        == n);
  CHECK(f.count("SELECT count(*) FROM \"org_eng\".executions WHERE attempt <> 1") == 0);
  REQUIRE(test::eventually([&] {
    return f.count("SELECT count(*) FROM public.jobs WHERE kind = 'agent.execute' AND state "
                   "= 'completed'")
           == n;
  }));
}
