// The durable job queue against a real PostgreSQL: transactional enqueue,
// unique keys, priorities, scheduled jobs, fencing of stale leases, rescue,
// the dead letter, fairness across tenants, retry/cancel, pruning, cron,
// and the dispatcher end to end. Each case gets its own scratch database.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <caf/all.hpp>

#include "fp/actors/job_dispatcher.hpp"
#include "fp/actors/job_registry.hpp"
#include "fp/actors/orgs.hpp"
#include "fp/config/settings.hpp"
#include "fp/net/node.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/system_config.hpp"
#include "fp/storage/api_keys.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/jobs.hpp"
#include "fp/storage/migrations.hpp"
#include "fp/storage/pg_listener.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/spine_fixture.hpp"

using namespace std::chrono_literals;
using namespace fp;
using storage::pg_session;

namespace {

using test::open_session;
using test::scalar;
using test::text;

/// Polls every 10 ms: lease and schedule cases wait on short windows.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds limit = 20s) {
  return test::eventually(pred, limit, 10ms);
}

/// A scratch database with the public migrations applied.
std::string fresh_database() { return test::migrated_database("jobs"); }

void exec(pg_session& s, const std::string& sql) {
  if (auto r = s.exec(sql); !r)
    FAIL("statement failed: " << caf::to_string(r.error()) << "\n" << sql);
}

storage::job_spec spec(std::string queue, std::string kind = "test.kind",
                       std::string tenant = "") {
  storage::job_spec j;
  j.queue = std::move(queue);
  j.kind = std::move(kind);
  j.tenant = std::move(tenant);
  return j;
}

int64_t enqueue(pg_session& s, const storage::job_spec& j) {
  auto r = storage::enqueue_job(s, j);
  if (!r)
    FAIL("enqueue: " << caf::to_string(r.error()));
  return r->id;
}

std::vector<storage::claimed_job> claim(pg_session& s, const std::string& queue,
                                        int limit,
                                        std::chrono::milliseconds lease = 30s,
                                        const std::string& owner = "tester") {
  auto r = storage::claim_jobs(s, queue, limit, owner, lease);
  if (!r)
    FAIL("claim: " << caf::to_string(r.error()));
  return std::move(*r);
}

storage::job_record job(pg_session& s, int64_t id) {
  auto r = storage::get_job(s, std::nullopt, id);
  if (!r)
    FAIL("get_job: " << caf::to_string(r.error()));
  REQUIRE(*r);
  return **r;
}

/// Number of entries of a JSON array text.
int64_t array_length(pg_session& s, const std::string& json) {
  return scalar(s, "SELECT jsonb_array_length($1::jsonb)", {json});
}

} // namespace

TEST_CASE("jobs: an enqueue in a rolled-back transaction never exists; a "
          "committed one notifies at COMMIT",
          "[jobs]") {
  auto url = fresh_database();
  auto s = open_session(url);
  auto listener = storage::pg_listener::open(url, {"fp_jobs"}, 10s);
  REQUIRE(listener);
  std::vector<std::string> heard;
  auto listen = [&](std::chrono::milliseconds t) {
    REQUIRE_FALSE((*listener)->wait(t, [&](std::string_view, std::string_view p) {
      heard.emplace_back(p);
    }));
  };

  exec(*s, "BEGIN");
  auto doomed = enqueue(*s, spec("rb"));
  CHECK(doomed > 0);
  exec(*s, "ROLLBACK");
  CHECK(scalar(*s, "SELECT count(*) FROM public.jobs") == 0);
  CHECK(claim(*s, "rb", 10).empty());
  listen(200ms);
  CHECK(heard.empty());

  exec(*s, "BEGIN");
  auto kept = enqueue(*s, spec("rb"));
  // Not visible (nor announced) before COMMIT.
  listen(100ms);
  CHECK(heard.empty());
  exec(*s, "COMMIT");
  listen(2000ms);
  REQUIRE(heard.size() == 1);
  CHECK(heard[0] == "rb");
  auto claimed = claim(*s, "rb", 10);
  REQUIRE(claimed.size() == 1);
  CHECK(claimed[0].id == kept);
  CHECK(claimed[0].attempt == 1);
  CHECK(claimed[0].fence == 1);
}

TEST_CASE("jobs: unique keys return the unfinished holder", "[jobs]") {
  auto url = fresh_database();
  auto s = open_session(url);
  auto a = spec("uq");
  a.unique_key = "k1";
  auto first = storage::enqueue_job(*s, a);
  REQUIRE(first);
  CHECK(first->inserted);
  auto again = storage::enqueue_job(*s, a);
  REQUIRE(again);
  CHECK_FALSE(again->inserted);
  CHECK(again->id == first->id);

  // A batch: an existing key, a new key twice, and no key.
  auto b = spec("uq");
  b.unique_key = "k2";
  auto plain = spec("uq");
  auto batch = storage::enqueue_jobs(*s, {a, b, b, plain});
  REQUIRE(batch);
  REQUIRE(batch->size() == 4);
  CHECK_FALSE((*batch)[0].inserted);
  CHECK((*batch)[0].id == first->id);
  CHECK((*batch)[1].inserted);
  CHECK_FALSE((*batch)[2].inserted);
  CHECK((*batch)[2].id == (*batch)[1].id);
  CHECK((*batch)[3].inserted);
  CHECK(scalar(*s, "SELECT count(*) FROM public.jobs") == 3);

  // A running job still holds its key; a finished one frees it.
  auto claimed = claim(*s, "uq", 10);
  REQUIRE(claimed.size() == 3);
  CHECK_FALSE(storage::enqueue_job(*s, a)->inserted);
  for (auto& c : claimed)
    REQUIRE(*storage::complete_job(*s, c.id, c.fence));
  auto fresh = storage::enqueue_job(*s, a);
  REQUIRE(fresh);
  CHECK(fresh->inserted);
  CHECK(fresh->id != first->id);
}

TEST_CASE("jobs: lower priority values run first; scheduled jobs wait",
          "[jobs]") {
  auto url = fresh_database();
  auto s = open_session(url);
  std::map<int, int64_t> by_priority;
  for (int p : {5, 1, 3, 0, 4}) {
    auto j = spec("prio");
    j.priority = p;
    by_priority[p] = enqueue(*s, j);
  }
  auto later = spec("prio");
  later.delay = 1h;
  auto scheduled = enqueue(*s, later);
  auto soon = spec("prio");
  soon.delay = 400ms;
  auto soon_id = enqueue(*s, soon);

  auto claimed = claim(*s, "prio", 10);
  REQUIRE(claimed.size() == 5);
  std::vector<int> order;
  for (auto& c : claimed)
    order.push_back(c.priority);
  CHECK(order == std::vector<int>{0, 1, 3, 4, 5});
  CHECK(job(*s, scheduled).state == "scheduled");
  storage::job_filter f;
  f.state = "scheduled";
  auto listed = storage::list_jobs(*s, f);
  REQUIRE(listed);
  CHECK(listed->jobs.size() == 2);

  // The soon-due job becomes claimable once due, the later one does not.
  std::vector<storage::claimed_job> next;
  CHECK(eventually([&] {
    next = claim(*s, "prio", 10);
    return !next.empty();
  }, 5s));
  REQUIRE(next.size() == 1);
  CHECK(next[0].id == soon_id);
  CHECK(job(*s, scheduled).state == "scheduled");
}

TEST_CASE("jobs: a stale lease's late completion is rejected", "[jobs]") {
  auto url = fresh_database();
  auto s = open_session(url);
  auto id = enqueue(*s, spec("fence"));
  auto first = claim(*s, "fence", 1, 50ms, "old-owner");
  REQUIRE(first.size() == 1);
  // The old owner stalls; its lease runs out and the job is rescued.
  CHECK(eventually([&] { return *storage::rescue_expired_jobs(*s) == 1; }, 5s));
  auto rescued = job(*s, id);
  CHECK(rescued.state == "available");
  CHECK(rescued.attempt == 1);
  CHECK(text(*s, "SELECT errors->0->>'error' FROM public.jobs WHERE id = $1",
             {std::to_string(id)})
        == "lease expired");
  CHECK(text(*s, "SELECT errors->0->>'owner' FROM public.jobs WHERE id = $1",
             {std::to_string(id)})
        == "old-owner");

  auto second = claim(*s, "fence", 1, 30s, "new-owner");
  REQUIRE(second.size() == 1);
  CHECK(second[0].fence == first[0].fence + 1);
  CHECK(second[0].attempt == 2);

  // The old owner wakes up and tries to finish: refused, in every form.
  CHECK_FALSE(*storage::complete_job(*s, id, first[0].fence));
  auto late_fail = storage::fail_job(*s, id, first[0].fence, "late",
                                     runtime::backoff_policy{});
  REQUIRE(late_fail);
  CHECK(*late_fail == storage::job_fate::stale);
  CHECK(*storage::heartbeat_jobs(*s, {{id, first[0].fence}}, 30s) == 0);
  auto still = job(*s, id);
  CHECK(still.state == "running");
  CHECK(still.fence == second[0].fence);
  CHECK(text(*s, "SELECT lease_owner FROM public.jobs WHERE id = $1",
             {std::to_string(id)})
        == "new-owner");

  // The current owner's heartbeat and completion work.
  CHECK(*storage::heartbeat_jobs(*s, {{id, second[0].fence}}, 30s) == 1);
  CHECK(*storage::complete_job(*s, id, second[0].fence));
  CHECK(job(*s, id).state == "completed");
}

TEST_CASE("jobs: completing with the next claim is fenced and frees the "
          "jobs it finishes",
          "[jobs]") {
  auto url = fresh_database();
  auto s = open_session(url);
  std::vector<storage::job_spec> batch(6, spec("merge"));
  REQUIRE(storage::enqueue_jobs(*s, batch));
  auto first = claim(*s, "merge", 3, 30s, "node-a");
  REQUIRE(first.size() == 3);
  // The same plan is used however often the statement runs (generic plans
  // come after five executions): complete one job per round.
  std::vector<storage::job_lease> done{{first[0].id, first[0].fence},
                                       {first[1].id, first[1].fence + 1}};
  auto out = storage::complete_and_claim_jobs(*s, done, "merge", 2, "node-a",
                                              30s, std::nullopt);
  REQUIRE(out);
  CHECK(out->finished.completed == std::vector<int64_t>{first[0].id});
  // A wrong fence changes nothing.
  CHECK(out->finished.stale == std::vector<int64_t>{first[1].id});
  CHECK(out->claimed.size() == 2);
  CHECK(job(*s, first[0].id).state == "completed");
  CHECK(job(*s, first[1].id).state == "running");
  for (int round = 0; round < 8; ++round) {
    auto again = storage::complete_and_claim_jobs(
      *s, {{first[0].id, first[0].fence}}, "merge", 1, "node-a", 30s,
      std::nullopt);
    REQUIRE(again);
    // Already completed: stale, never completed twice.
    CHECK(again->finished.completed.empty());
    CHECK(again->finished.stale.size() == 1);
  }
  std::vector<storage::job_lease> rest;
  for (auto& j : first)
    if (j.id != first[0].id)
      rest.push_back({j.id, j.fence});
  for (auto& j : out->claimed)
    rest.push_back({j.id, j.fence});
  auto last = storage::complete_and_claim_jobs(*s, rest, "merge", 10, "node-a",
                                               30s, std::nullopt);
  REQUIRE(last);
  CHECK(last->finished.completed.size() == rest.size());
  CHECK(scalar(*s, "SELECT count(*) FROM public.jobs WHERE queue = 'merge' "
                   "AND state = 'completed'")
        == 1 + static_cast<int64_t>(rest.size()));
}

TEST_CASE("jobs: a poison job is discarded after its last attempt with "
          "every error kept; retry and cancel",
          "[jobs]") {
  auto url = fresh_database();
  auto s = open_session(url);
  auto j = spec("poison", "test.poison", "tenant-a");
  j.max_attempts = 3;
  auto id = enqueue(*s, j);
  runtime::backoff_policy quick{1ms, 2ms};
  for (int attempt = 1; attempt <= 3; ++attempt) {
    std::vector<storage::claimed_job> c;
    REQUIRE(eventually([&] {
      c = claim(*s, "poison", 1);
      return !c.empty();
    }, 5s));
    CHECK(c[0].attempt == attempt);
    auto fate = storage::fail_job(*s, id, c[0].fence,
                                  "boom " + std::to_string(attempt), quick);
    REQUIRE(fate);
    CHECK(*fate == (attempt < 3 ? storage::job_fate::retried
                                : storage::job_fate::discarded));
  }
  auto dead = job(*s, id);
  CHECK(dead.state == "discarded");
  CHECK_FALSE(dead.finished_at.empty());
  REQUIRE(array_length(*s, dead.errors) == 3);
  for (int i = 0; i < 3; ++i) {
    auto entry = "SELECT errors->" + std::to_string(i)
                 + "->>'error' || '/' || (errors->" + std::to_string(i)
                 + "->>'attempt') FROM public.jobs WHERE id = $1";
    CHECK(text(*s, entry, {std::to_string(id)})
          == "boom " + std::to_string(i + 1) + "/" + std::to_string(i + 1));
  }
  CHECK(claim(*s, "poison", 1).empty());

  // The dead letter is visible to its tenant only.
  storage::job_filter f;
  f.tenant = "tenant-a";
  f.state = "discarded";
  CHECK(storage::list_jobs(*s, f)->jobs.size() == 1);
  f.tenant = "tenant-b";
  CHECK(storage::list_jobs(*s, f)->jobs.empty());

  // Retry: another tenant sees nothing; the owner gets one more attempt.
  CHECK_FALSE(*storage::retry_job(*s, std::string{"tenant-b"}, id));
  auto retried = storage::retry_job(*s, std::string{"tenant-a"}, id);
  REQUIRE(retried);
  REQUIRE(*retried);
  CHECK((*retried)->state == "available");
  CHECK((*retried)->max_attempts == 4);
  auto again = storage::retry_job(*s, std::string{"tenant-a"}, id);
  REQUIRE_FALSE(again);
  CHECK(runtime::code_of(again.error()) == runtime::errc::conflict);
  auto c = claim(*s, "poison", 1);
  REQUIRE(c.size() == 1);
  CHECK(c[0].attempt == 4);

  // Cancel a running job: its completion is then rejected.
  auto cancelled = storage::cancel_job(*s, std::string{"tenant-a"}, id);
  REQUIRE(cancelled);
  REQUIRE(*cancelled);
  CHECK((*cancelled)->state == "cancelled");
  CHECK_FALSE(*storage::complete_job(*s, id, c[0].fence));
  CHECK(job(*s, id).state == "cancelled");
  CHECK(array_length(*s, job(*s, id).errors) == 3);
  auto twice = storage::cancel_job(*s, std::string{"tenant-a"}, id);
  REQUIRE_FALSE(twice);
  CHECK(runtime::code_of(twice.error()) == runtime::errc::conflict);
  CHECK_FALSE(*storage::cancel_job(*s, std::string{"tenant-b"}, id));

  // A cancelled job can be retried, an available one cancelled.
  REQUIRE(*storage::retry_job(*s, std::string{"tenant-a"}, id));
  auto off = storage::cancel_job(*s, std::string{"tenant-a"}, id);
  REQUIRE(off);
  REQUIRE(*off);
  CHECK(claim(*s, "poison", 1).empty());
}

TEST_CASE("jobs: one tenant's flood does not starve another tenant",
          "[jobs]") {
  auto url = fresh_database();
  auto s = open_session(url);
  std::vector<storage::job_spec> flood(1000, spec("fair", "test.kind", "A"));
  REQUIRE(storage::enqueue_jobs(*s, flood));
  std::vector<storage::job_spec> few(10, spec("fair", "test.kind", "B"));
  REQUIRE(storage::enqueue_jobs(*s, few));
  auto first = claim(*s, "fair", 100);
  REQUIRE_FALSE(first.empty());
  int from_b = 0;
  for (auto& j : first)
    from_b += j.tenant == "B" ? 1 : 0;
  CHECK(from_b == 10);
  // Round-robin order: B's jobs are not at the end of the batch.
  CHECK(first[1].tenant != first[0].tenant);

  // Many tenants: with more waiting tenants than one claim serves, the
  // next claims serve the others.
  std::vector<storage::job_spec> many;
  for (int t = 0; t < 30; ++t)
    many.push_back(spec("many", "test.kind", "t" + std::to_string(100 + t)));
  REQUIRE(storage::enqueue_jobs(*s, many));
  std::set<std::string> served;
  std::optional<std::string> cursor;
  for (int round = 0; round < 3; ++round) {
    auto got = storage::claim_jobs(*s, "many", 10, "tester", 30s, cursor);
    REQUIRE(got);
    REQUIRE(got->size() == 10);
    for (auto& j : *got) {
      CHECK(served.insert(j.tenant).second);
      if (!cursor || j.tenant > *cursor)
        cursor = j.tenant;
    }
  }
  CHECK(served.size() == 30);
}

TEST_CASE("jobs: claimed jobs that never started can be handed back",
          "[jobs]") {
  auto url = fresh_database();
  auto s = open_session(url);
  auto id = enqueue(*s, spec("release"));
  auto c = claim(*s, "release", 1);
  REQUIRE(c.size() == 1);
  CHECK(*storage::release_jobs(*s, {{id, c[0].fence}}) == 1);
  auto back = job(*s, id);
  CHECK(back.state == "available");
  CHECK(back.attempt == 0);
  // The old claim stays refused; the next claim gets a new fence.
  CHECK_FALSE(*storage::complete_job(*s, id, c[0].fence));
  CHECK(*storage::release_jobs(*s, {{id, c[0].fence}}) == 0);
  auto again = claim(*s, "release", 1);
  REQUIRE(again.size() == 1);
  CHECK(again[0].attempt == 1);
  CHECK(again[0].fence == c[0].fence + 1);
}

TEST_CASE("jobs: finished jobs are pruned after the retention", "[jobs]") {
  auto url = fresh_database();
  auto s = open_session(url);
  auto old_id = enqueue(*s, spec("prune"));
  auto new_id = enqueue(*s, spec("prune"));
  auto waiting = enqueue(*s, spec("prune-other"));
  for (auto& c : claim(*s, "prune", 10))
    REQUIRE(*storage::complete_job(*s, c.id, c.fence));
  exec(*s, "UPDATE public.jobs SET finished_at = now() - interval '2 days' "
           "WHERE id = "
             + std::to_string(old_id));
  auto pruned = storage::prune_jobs(*s, 24h, 1);
  REQUIRE(pruned);
  CHECK(*pruned == 1);
  CHECK(scalar(*s, "SELECT count(*) FROM public.jobs WHERE id = "
                     + std::to_string(old_id))
        == 0);
  CHECK(job(*s, new_id).state == "completed");
  CHECK(job(*s, waiting).state == "available");
}

TEST_CASE("jobs: a cron schedule enqueues once per due time", "[jobs]") {
  auto url = fresh_database();
  auto s = open_session(url);
  storage::job_schedule sched;
  sched.name = "nightly";
  sched.cron = "0 3 * * *";
  sched.queue = "cron";
  sched.kind = "test.cron";
  sched.args = R"({"x":1})";
  REQUIRE_FALSE(storage::upsert_job_schedule(*s, sched));
  auto bad = sched;
  bad.cron = "61 * * * *";
  CHECK(runtime::code_of(storage::upsert_job_schedule(*s, bad))
        == runtime::errc::invalid_argument);
  auto now = std::chrono::system_clock::now();
  // Not due yet.
  CHECK(*storage::enqueue_due_schedules(*s, now) == 0);
  // Due now: one job, whoever asks and however often.
  exec(*s, "UPDATE public.job_schedules SET next_run_at = "
           "'2026-01-01T03:00:00Z'");
  CHECK(*storage::enqueue_due_schedules(*s, now) == 1);
  CHECK(*storage::enqueue_due_schedules(*s, now) == 0);
  auto listed = storage::list_job_schedules(*s);
  REQUIRE(listed);
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].next_run_at > "2026-01-01T03:00:00.000Z");
  CHECK((*listed)[0].next_run_at.substr(10) == "T03:00:00.000Z");
  CHECK(text(*s, "SELECT unique_key FROM public.jobs")
        == "cron:nightly:2026-01-01T03:00:00.000Z");
  CHECK(text(*s, "SELECT args->>'x' FROM public.jobs") == "1");
  // A second node that still saw the old due time cannot enqueue it again.
  exec(*s, "UPDATE public.job_schedules SET next_run_at = "
           "'2026-01-01T03:00:00Z'");
  auto other = open_session(url);
  CHECK(*storage::enqueue_due_schedules(*other, now) == 0);
  CHECK(scalar(*s, "SELECT count(*) FROM public.jobs") == 1);
  // Two nodes at once: the schedule row is locked by one, skipped by the
  // other.
  exec(*s, "UPDATE public.jobs SET state = 'completed', finished_at = now()");
  exec(*s, "UPDATE public.job_schedules SET next_run_at = "
           "'2026-01-02T03:00:00Z'");
  exec(*s, "BEGIN");
  CHECK(*storage::enqueue_due_schedules(*s, now) == 1);
  CHECK(*storage::enqueue_due_schedules(*other, now) == 0);
  exec(*s, "COMMIT");
  CHECK(scalar(*s, "SELECT count(*) FROM public.jobs") == 2);
}

namespace {

/// A dispatcher in a test actor system, stopped at the end of the scope.
struct dispatcher_fixture {
  // Declared before the actor system: workers may still be finishing a
  // batch (and counting it) until the system is gone.
  runtime::metrics_registry metrics;
  runtime::actor_directory directory;
  runtime::system_config cfg;
  caf::actor_system sys{cfg};
  actors::job_dispatcher_actor dispatcher;

  dispatcher_fixture(const std::string& url,
                     std::shared_ptr<actors::job_registry> registry,
                     std::vector<std::string> queues) {
    actors::job_dispatcher_options opts;
    opts.conninfo = url;
    opts.registry = std::move(registry);
    opts.workers = 4;
    opts.batch = 50;
    opts.poll_interval = 200ms;
    opts.lease = 5s;
    opts.backoff_min = 1ms;
    opts.backoff_max = 5ms;
    opts.queues = std::move(queues);
    opts.metrics = &metrics;
    opts.directory = &directory;
    dispatcher = actors::spawn_job_dispatcher(sys, std::move(opts));
  }

  ~dispatcher_fixture() {
    caf::anon_send_exit(dispatcher, caf::exit_reason::user_shutdown);
  }

  uint64_t counter(const char* name, const char* queue) {
    return metrics.get_counter(name, "", {"queue"}, {queue}).value();
  }
};

} // namespace

TEST_CASE("jobs: the dispatcher runs 500 jobs, each handler's effect "
          "exactly once",
          "[jobs][dispatcher]") {
  auto url = fresh_database();
  auto s = open_session(url);
  exec(*s, "CREATE TABLE public.job_effects (job_id bigint PRIMARY KEY, "
           "attempt int NOT NULL)");
  auto registry = std::make_shared<actors::job_registry>();
  registry->add("test.effect", [](actors::job_context& ctx) -> caf::error {
    // A duplicate run would violate the primary key.
    auto r = ctx.db->exec("INSERT INTO public.job_effects (job_id, attempt) "
                          "VALUES ($1, $2)",
                          {std::to_string(ctx.id), std::to_string(ctx.attempt)});
    return r ? caf::none : std::move(r.error());
  });
  registry->add("test.flaky", [](actors::job_context& ctx) -> caf::error {
    if (auto r = ctx.db->exec("INSERT INTO public.job_effects (job_id, attempt) "
                              "VALUES ($1, $2)",
                              {std::to_string(ctx.id), std::to_string(ctx.attempt)});
        !r)
      return std::move(r.error());
    // The insert above is rolled back with the failed attempts.
    if (ctx.attempt <= 2)
      return runtime::make_error(runtime::errc::unavailable,
                                 "flaky attempt " + std::to_string(ctx.attempt));
    return caf::none;
  });
  registry->add("test.poison", [](actors::job_context&) -> caf::error {
    return runtime::make_error(runtime::errc::internal, "always fails");
  });
  registry->add("test.permanent", [](actors::job_context&) -> caf::error {
    return actors::permanent_failure("cannot ever work");
  });
  actors::add_platform_job_handlers(*registry);
  dispatcher_fixture fx{url, registry, {"e2e", "other"}};

  // Enqueued in several committed transactions while the dispatcher runs.
  for (int round = 0; round < 5; ++round) {
    exec(*s, "BEGIN");
    std::vector<storage::job_spec> batch(100, spec("e2e", "test.effect"));
    REQUIRE(storage::enqueue_jobs(*s, batch));
    exec(*s, "COMMIT");
  }
  auto flaky = spec("other", "test.flaky");
  auto flaky_id = enqueue(*s, flaky);
  auto poison = spec("other", "test.poison");
  poison.max_attempts = 3;
  auto poison_id = enqueue(*s, poison);
  auto permanent_id = enqueue(*s, spec("other", "test.permanent"));
  auto unknown_id = enqueue(*s, spec("other", "test.unknown"));
  auto noop_id = enqueue(*s, spec("other", std::string{actors::noop_job_kind}));

  REQUIRE(eventually([&] {
    return scalar(*s, "SELECT count(*) FROM public.jobs WHERE queue = 'e2e' "
                      "AND state = 'completed'")
           == 500;
  }, 60s));
  CHECK(scalar(*s, "SELECT count(*) FROM public.job_effects e JOIN "
                   "public.jobs j ON j.id = e.job_id WHERE j.queue = 'e2e'")
        == 500);

  REQUIRE(eventually([&] {
    return job(*s, flaky_id).state == "completed"
           && job(*s, poison_id).state == "discarded"
           && job(*s, permanent_id).state == "discarded"
           && job(*s, unknown_id).state == "discarded"
           && job(*s, noop_id).state == "completed";
  }, 30s));
  auto f = job(*s, flaky_id);
  CHECK(f.attempt == 3);
  CHECK(array_length(*s, f.errors) == 2);
  CHECK(text(*s, "SELECT errors->1->>'error' FROM public.jobs WHERE id = $1",
             {std::to_string(flaky_id)})
        == "unavailable: flaky attempt 2");
  // Only the successful attempt's insert survived.
  CHECK(scalar(*s, "SELECT attempt FROM public.job_effects WHERE job_id = $1",
               {std::to_string(flaky_id)})
        == 3);
  auto p = job(*s, poison_id);
  CHECK(p.attempt == 3);
  CHECK(array_length(*s, p.errors) == 3);
  auto perm = job(*s, permanent_id);
  CHECK(perm.attempt == 1);
  CHECK(text(*s, "SELECT errors->0->>'error' FROM public.jobs WHERE id = $1",
             {std::to_string(permanent_id)})
        == "cannot ever work");
  CHECK(text(*s, "SELECT errors->0->>'error' FROM public.jobs WHERE id = $1",
             {std::to_string(unknown_id)})
        == "no handler for job kind \"test.unknown\"");

  CHECK(fx.counter("fp_jobs_completed_total", "e2e") == 500);
  CHECK(fx.counter("fp_jobs_claimed_total", "e2e") == 500);
  CHECK(fx.counter("fp_jobs_discarded_total", "other") == 3);
  auto kinds = fx.directory.count_by_kind();
  CHECK(kinds["job_dispatcher"] == 1);
  CHECK(kinds["job_worker"] == 4);
  CHECK(kinds["job_listener"] == 1);
  // Nothing is left running or leased.
  CHECK(scalar(*s, "SELECT count(*) FROM public.jobs WHERE state = 'running'")
        == 0);
}

TEST_CASE("jobs: a queue's concurrency limits the jobs a dispatcher runs "
          "at once",
          "[jobs][dispatcher]") {
  auto url = fresh_database();
  auto s = open_session(url);
  auto queues = storage::list_job_queues(*s);
  REQUIRE(queues);
  std::map<std::string, int> limits;
  for (auto& q : *queues)
    limits[q.name] = q.concurrency;
  CHECK(limits.count("default") == 1);
  CHECK(limits.count("signals") == 1);
  CHECK(limits.count("directives") == 1);
  CHECK(runtime::code_of(storage::set_queue_concurrency(*s, "narrow", 0))
        == runtime::errc::invalid_argument);
  REQUIRE_FALSE(storage::set_queue_concurrency(*s, "narrow", 2));
  std::vector<storage::job_spec> batch(12, spec("narrow", "test.slow"));
  REQUIRE(storage::enqueue_jobs(*s, batch));
  // A queue with due jobs but no row is listed with concurrency 0.
  enqueue(*s, spec("unlisted"));
  queues = storage::list_job_queues(*s);
  REQUIRE(queues);
  limits.clear();
  for (auto& q : *queues)
    limits[q.name] = q.concurrency;
  CHECK(limits["narrow"] == 2);
  CHECK(limits.count("unlisted") == 1);
  CHECK(limits["unlisted"] == 0);

  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  auto registry = std::make_shared<actors::job_registry>();
  registry->add_pure("test.slow", [&](actors::job_context&) -> caf::error {
    auto now = ++running;
    auto seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(50ms);
    --running;
    return caf::none;
  });
  dispatcher_fixture fx{url, registry, {"narrow"}};
  REQUIRE(eventually([&] {
    return scalar(*s, "SELECT count(*) FROM public.jobs WHERE queue = "
                      "'narrow' AND state = 'completed'")
           == 12;
  }, 30s));
  CHECK(peak.load() >= 1);
  CHECK(peak.load() <= 2);
  // Not its queue: untouched.
  CHECK(scalar(*s, "SELECT count(*) FROM public.jobs WHERE queue = "
                   "'unlisted' AND state = 'available'")
        == 1);
}

TEST_CASE("jobs: asynchronous jobs hold their lease and slot until they "
          "report, and fail like any other",
          "[jobs][dispatcher]") {
  auto url = fresh_database();
  auto s = open_session(url);
  REQUIRE_FALSE(storage::set_queue_concurrency(*s, "async", 3));
  // Finished later, on other threads, as an execution actor would.
  std::mutex mtx;
  std::vector<std::pair<actors::job_context, actors::job_completion>> started;
  std::atomic<int> peak{0};
  auto registry = std::make_shared<actors::job_registry>();
  registry->add_async("test.later", [&](const actors::job_context& jc,
                                        actors::job_completion done) {
    std::lock_guard<std::mutex> guard{mtx};
    started.emplace_back(jc, std::move(done));
    peak = std::max<int>(peak, static_cast<int>(started.size()));
  });
  std::vector<storage::job_spec> batch(6, spec("async", "test.later"));
  REQUIRE(storage::enqueue_jobs(*s, batch));
  auto failing = spec("async", "test.later");
  failing.max_attempts = 2;
  failing.args = R"({"fail":true})";
  auto failing_id = enqueue(*s, failing);
  dispatcher_fixture fx{url, registry, {"async"}};

  // Finishes whatever has started: "fail" jobs fail, others complete (twice,
  // the second report being ignored).
  auto finish_started = [&] {
    std::vector<std::pair<actors::job_context, actors::job_completion>> now;
    {
      std::lock_guard<std::mutex> guard{mtx};
      now.swap(started);
    }
    for (auto& [jc, done] : now) {
      std::thread{[jc = jc, done = done] {
        if (jc.args.find("fail") != std::string::npos) {
          done(runtime::make_error(runtime::errc::unavailable,
                                   "async attempt " + std::to_string(jc.attempt)));
        } else {
          done(caf::none);
          done(runtime::make_error(runtime::errc::internal, "ignored"));
        }
      }}.detach();
    }
    return now.size();
  };
  // Nothing finishes by itself: the queue's three slots stay taken.
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> guard{mtx};
    return started.size() == 3;
  }, 10s));
  std::this_thread::sleep_for(300ms);
  CHECK(peak.load() == 3);
  CHECK(scalar(*s, "SELECT count(*) FROM public.jobs WHERE state = 'running'")
        == 3);
  REQUIRE(eventually([&] {
    finish_started();
    return scalar(*s, "SELECT count(*) FROM public.jobs WHERE state IN "
                      "('completed', 'discarded')")
           == 7;
  }, 30s));
  CHECK(peak.load() <= 3);
  CHECK(scalar(*s, "SELECT count(*) FROM public.jobs WHERE state = "
                   "'completed'")
        == 6);
  auto f = job(*s, failing_id);
  CHECK(f.state == "discarded");
  CHECK(f.attempt == 2);
  CHECK(text(*s, "SELECT errors->1->>'error' FROM public.jobs WHERE id = $1",
             {std::to_string(failing_id)})
        == "unavailable: async attempt 2");
}

TEST_CASE("jobs: a stopping dispatcher hands back the jobs it claimed but "
          "did not start",
          "[jobs][dispatcher]") {
  auto url = fresh_database();
  auto s = open_session(url);
  std::vector<storage::job_spec> batch(400, spec("stop", "test.slow"));
  REQUIRE(storage::enqueue_jobs(*s, batch));
  std::atomic<int> started{0};
  auto registry = std::make_shared<actors::job_registry>();
  registry->add_pure("test.slow", [&](actors::job_context&) -> caf::error {
    ++started;
    std::this_thread::sleep_for(20ms);
    return caf::none;
  });
  {
    dispatcher_fixture fx{url, registry, {"stop"}};
    // Workers busy, further batches claimed and waiting for them.
    REQUIRE(eventually([&] {
      return started.load() > 0
             && scalar(*s, "SELECT count(*) FROM public.jobs WHERE state = "
                           "'running'")
                  > 100;
    }, 10s));
  }
  // The waiting batches are available again at once, their attempt undone;
  // the batches being run finish.
  REQUIRE(eventually([&] {
    return scalar(*s, "SELECT count(*) FROM public.jobs WHERE state = "
                      "'running'")
           == 0;
  }, 10s));
  CHECK(scalar(*s, "SELECT count(*) FROM public.jobs WHERE state = "
                   "'available' AND attempt = 0")
        > 0);
  CHECK(scalar(*s, "SELECT count(*) FROM public.jobs WHERE state = "
                   "'available' AND attempt > 0")
        == 0);
  CHECK(scalar(*s, "SELECT count(*) FROM public.jobs WHERE state IN "
                   "('available', 'completed')")
        == 400);
}

TEST_CASE("jobs: a crashed owner's jobs are rescued and finished by a "
          "dispatcher",
          "[jobs][dispatcher]") {
  auto url = fresh_database();
  auto s = open_session(url);
  exec(*s, "CREATE TABLE public.job_effects (job_id bigint PRIMARY KEY)");
  std::vector<storage::job_spec> batch(20, spec("crash", "test.effect"));
  REQUIRE(storage::enqueue_jobs(*s, batch));
  // A node claimed them and died: its leases lapse.
  REQUIRE(claim(*s, "crash", 20, 100ms, "dead-node").size() == 20);
  auto registry = std::make_shared<actors::job_registry>();
  registry->add("test.effect", [](actors::job_context& ctx) -> caf::error {
    auto r = ctx.db->exec("INSERT INTO public.job_effects VALUES ($1)",
                          {std::to_string(ctx.id)});
    return r ? caf::none : std::move(r.error());
  });
  dispatcher_fixture fx{url, registry, {"crash"}};
  REQUIRE(eventually([&] {
    return scalar(*s, "SELECT count(*) FROM public.jobs WHERE state = "
                      "'completed'")
           == 20;
  }, 30s));
  CHECK(scalar(*s, "SELECT count(*) FROM public.job_effects") == 20);
  CHECK(scalar(*s, "SELECT min(attempt) FROM public.jobs") == 2);
  CHECK(scalar(*s, "SELECT count(*) FROM public.jobs WHERE errors->0->>'owner' "
                   "= 'dead-node'")
        == 20);
}

namespace {

/// A node with two organizations, each with an admin key and a member key.
struct jobs_http_fixture {
  std::string url;
  std::unique_ptr<pg_session> db;
  struct org_keys {
    std::string id;
    std::string admin;
    std::string member;
  };
  org_keys a;
  org_keys b;
  std::unique_ptr<net::node> node;

  jobs_http_fixture() {
    url = fresh_database();
    db = open_session(url);
    auto user_id = test::create_test_user(*db, "jobs@example.com");
    auto make_org = [&](const char* slug) {
      auto org = test::create_test_org(*db, slug, slug, user_id);
      auto key = [&](std::vector<std::string> scopes) {
        return test::create_test_key(*db, org.id, user_id, "k", scopes).key;
      };
      return org_keys{org.id, key({"admin"}), key({"write"})};
    };
    a = make_org("jobs_a");
    b = make_org("jobs_b");
    auto cfg = test::node_settings(url, "error");
    cfg.job_poll_interval = 200ms;
    node = test::start_node(cfg);
  }

  ~jobs_http_fixture() {
    if (node)
      node->stop();
  }

  test::response call(const std::string& method, const std::string& key,
                      const std::string& target) {
    return test::call_with_key(node->port(), key, method, target);
  }
};

} // namespace

TEST_CASE("jobs: the node runs platform.noop, and admins see, retry and "
          "cancel their organization's jobs over HTTP",
          "[jobs][http]") {
  jobs_http_fixture f;
  auto& s = *f.db;
  // The composition registers platform.noop and runs the default queue.
  auto noop = enqueue(s, spec("default", std::string{actors::noop_job_kind},
                              f.a.id));
  REQUIRE(eventually([&] { return job(s, noop).state == "completed"; }, 20s));

  // A dead job of A: enqueued, claimed and failed in one transaction, so
  // the node's dispatcher never sees it available.
  auto dead_spec = spec("parked", "test.parked", f.a.id);
  dead_spec.max_attempts = 1;
  dead_spec.args = R"({"n":7})";
  exec(s, "BEGIN");
  auto dead = enqueue(s, dead_spec);
  auto c = claim(s, "parked", 1);
  REQUIRE(c.size() == 1);
  REQUIRE(*storage::fail_job(s, dead, c[0].fence, "it broke",
                             runtime::backoff_policy{})
          == storage::job_fate::discarded);
  exec(s, "COMMIT");
  // Scheduled jobs of A and B, out of the dispatcher's reach for now.
  auto later_a = spec("parked", "test.parked", f.a.id);
  later_a.delay = 1h;
  auto sched = enqueue(s, later_a);
  auto later_b = spec("parked", "test.parked", f.b.id);
  later_b.delay = 1h;
  auto other = enqueue(s, later_b);

  auto listed = f.call("GET", f.a.admin, "/api/v1/jobs?state=discarded");
  REQUIRE(listed.status == 200);
  CHECK(listed.body.find("\"id\":" + std::to_string(dead)) != std::string::npos);
  CHECK(listed.body.find("\"state\":\"discarded\"") != std::string::npos);
  CHECK(listed.body.find("\"error\": \"it broke\"") != std::string::npos);
  CHECK(listed.body.find("\"args\":{\"n\": 7}") != std::string::npos);
  CHECK(listed.body.find("\"max_attempts\":1") != std::string::npos);
  CHECK(listed.body.find("\"id\":" + std::to_string(other)) == std::string::npos);
  CHECK(listed.body.find("\"id\":" + std::to_string(noop)) == std::string::npos);
  CHECK(listed.body.find("\"id\":" + std::to_string(sched)) == std::string::npos);

  // All of A's jobs, one per page, newest first.
  std::vector<int64_t> seen;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    auto target = std::string{"/api/v1/jobs?limit=1"};
    if (!cursor.empty())
      target += "&cursor=" + cursor;
    auto res = f.call("GET", f.a.admin, target);
    REQUIRE(res.status == 200);
    for (auto id : {noop, dead, sched, other})
      if (res.body.find("\"id\":" + std::to_string(id) + ",") != std::string::npos)
        seen.push_back(id);
    cursor = test::json_string(res.body, "next_cursor");
    if (cursor.empty()) {
      CHECK(res.body.find("\"next_cursor\":null") != std::string::npos);
      break;
    }
  }
  CHECK(seen == std::vector<int64_t>{sched, dead, noop});

  CHECK(f.call("GET", f.a.member, "/api/v1/jobs").status == 403);
  CHECK(f.call("GET", f.a.admin, "/api/v1/jobs?state=bogus").status == 422);
  CHECK(f.call("GET", f.a.admin, "/api/v1/jobs?cursor=%25%25").status == 422);
  auto b_list = f.call("GET", f.b.admin, "/api/v1/jobs");
  REQUIRE(b_list.status == 200);
  CHECK(b_list.body.find("\"id\":" + std::to_string(dead)) == std::string::npos);
  CHECK(b_list.body.find("\"id\":" + std::to_string(other)) != std::string::npos);

  auto retry_path = "/api/v1/jobs/" + std::to_string(dead) + "/retry";
  CHECK(f.call("POST", f.b.admin, retry_path).status == 404);
  CHECK(f.call("POST", f.a.member, retry_path).status == 403);
  auto retried = f.call("POST", f.a.admin, retry_path);
  REQUIRE(retried.status == 200);
  CHECK(retried.body.find("\"state\":\"available\"") != std::string::npos);
  CHECK(retried.body.find("\"max_attempts\":2") != std::string::npos);
  // The node runs it again; nobody handles "test.parked", so it is dead
  // again with both errors kept.
  REQUIRE(eventually([&] { return job(s, dead).state == "discarded"; }, 20s));
  CHECK(array_length(s, job(s, dead).errors) == 2);

  auto cancel_path = "/api/v1/jobs/" + std::to_string(sched) + "/cancel";
  CHECK(f.call("POST", f.b.admin, cancel_path).status == 404);
  CHECK(f.call("POST", f.a.member, cancel_path).status == 403);
  auto cancelled = f.call("POST", f.a.admin, cancel_path);
  REQUIRE(cancelled.status == 200);
  CHECK(cancelled.body.find("\"state\":\"cancelled\"") != std::string::npos);
  CHECK(f.call("POST", f.a.admin, cancel_path).status == 409);
  CHECK(f.call("POST", f.a.admin, "/api/v1/jobs/999999/cancel").status == 404);
  CHECK(f.call("POST", f.a.admin, "/api/v1/jobs/abc/retry").status == 404);
  CHECK(job(s, other).state == "scheduled");
}

// Hidden (run with "[.jobs-bench]"): drain throughput of no-op jobs and the
// idle enqueue-to-start latency, printed, not asserted.
TEST_CASE("jobs: no-op drain throughput and idle start latency",
          "[.jobs-bench]") {
  auto url = fresh_database();
  auto s = open_session(url);
  constexpr int total = 20000;
  for (int i = 0; i < total; i += 1000) {
    std::vector<storage::job_spec> batch(
      1000, spec("bench", std::string{actors::noop_job_kind}));
    REQUIRE(storage::enqueue_jobs(*s, batch));
  }
  auto registry = std::make_shared<actors::job_registry>();
  actors::add_platform_job_handlers(*registry);
  std::mutex mtx;
  std::map<int64_t, std::chrono::steady_clock::time_point> started;
  registry->add_pure("bench.stamp", [&](actors::job_context& ctx) -> caf::error {
    std::lock_guard<std::mutex> guard{mtx};
    started[ctx.id] = std::chrono::steady_clock::now();
    return caf::none;
  });
  // Handlers that write (a savepoint each, one transaction per batch).
  exec(*s, "CREATE TABLE public.bench_effects (job_id bigint PRIMARY KEY)");
  registry->add("bench.write", [](actors::job_context& ctx) -> caf::error {
    auto r = ctx.db->exec_prepared("bench.write",
                                   "INSERT INTO public.bench_effects VALUES ($1)",
                                   {std::to_string(ctx.id)});
    return r ? caf::none : std::move(r.error());
  });
  auto t0 = std::chrono::steady_clock::now();
  {
    actors::job_dispatcher_options opts;
    opts.conninfo = url;
    opts.registry = registry;
    opts.workers = 8;
    opts.batch = 100;
    opts.queues = {"bench"};
    runtime::system_config cfg;
    caf::actor_system sys{cfg};
    auto d = actors::spawn_job_dispatcher(sys, opts);
    REQUIRE(eventually([&] {
      return scalar(*s, "SELECT count(*) FROM public.jobs WHERE state = "
                        "'completed'")
             == total;
    }, 120s));
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
    WARN("drained " << total << " no-op jobs in " << took.count() << " s: "
                    << total / took.count() << " jobs/s");
    constexpr int writes = 5000;
    auto t1 = std::chrono::steady_clock::now();
    for (int i = 0; i < writes; i += 1000) {
      std::vector<storage::job_spec> batch(1000, spec("bench", "bench.write"));
      REQUIRE(storage::enqueue_jobs(*s, batch));
    }
    REQUIRE(eventually([&] {
      return scalar(*s, "SELECT count(*) FROM public.bench_effects") == writes;
    }, 120s));
    std::chrono::duration<double> wrote = std::chrono::steady_clock::now() - t1;
    WARN("ran " << writes << " writing jobs in " << wrote.count() << " s: "
                << writes / wrote.count() << " jobs/s");
    // Idle latency: one job at a time.
    std::vector<double> lat;
    for (int i = 0; i < 200; ++i) {
      auto t = std::chrono::steady_clock::now();
      auto id = enqueue(*s, spec("bench", "bench.stamp"));
      REQUIRE(eventually([&] {
        std::lock_guard<std::mutex> guard{mtx};
        return started.count(id) > 0;
      }, 10s));
      std::lock_guard<std::mutex> guard{mtx};
      lat.push_back(std::chrono::duration<double, std::milli>(started[id] - t).count());
      std::this_thread::sleep_for(5ms);
    }
    std::sort(lat.begin(), lat.end());
    WARN("idle enqueue-to-start: p50 " << lat[lat.size() / 2] << " ms, p99 "
                                      << lat[lat.size() * 99 / 100] << " ms");
    caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
  }
}
