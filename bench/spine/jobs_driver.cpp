// Job queue benchmark driver (see bench/spine.sh). Enqueues no-op jobs into
// FleetPrompt's queue (storage::enqueue_jobs, kind "platform.noop") or into
// graphile-worker's (graphile_worker.add_jobs, task "noop") on the same
// database, then waits until the workers have drained them.
//
//   spine_jobs URL fp|graphile bulk N TAG
//     N jobs in one transaction; the time from its COMMIT until no job is
//     left unfinished gives jobs/s.
//   spine_jobs URL fp|graphile offer RATE SECONDS TAG [BATCH] [THREADS]
//     RATE jobs/s for SECONDS, in transactions of BATCH jobs spread over
//     THREADS connections, each on a fixed schedule.
//
// Every job carries {"tag": TAG, "n": total}. For FleetPrompt the
// enqueue-to-start latency (attempted_at - created_at of public.jobs) is
// computed here; graphile-worker deletes finished jobs, so its runner
// (graphile/run.mjs) measures the same difference in the task. Prints one
// "name value" line per figure.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fp/storage/connection.hpp"
#include "fp/storage/jobs.hpp"
#include "fp/storage/pg_session.hpp"

using namespace fp;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const std::string& what, const caf::error& err = {}) {
  std::fprintf(stderr, "spine_jobs: %s %s\n", what.c_str(),
               err ? caf::to_string(err).c_str() : "");
  std::exit(1);
}

bool is_fp = true;

std::unique_ptr<storage::pg_session> open(const std::string& url) {
  auto db = storage::connect(url, 10s);
  if (!db)
    die("cannot connect:", db.error());
  return std::move(*db);
}

/// The ids of the FleetPrompt jobs enqueued by this run (graphile-worker's
/// table only ever holds this run's jobs).
struct id_range {
  std::mutex mx;
  int64_t lo = std::numeric_limits<int64_t>::max();
  int64_t hi = 0;
  void add(int64_t id) {
    std::lock_guard guard{mx};
    lo = std::min(lo, id);
    hi = std::max(hi, id);
  }
};

/// Enqueues `count` jobs in one transaction.
void enqueue(storage::pg_session& db, const std::string& tag, int64_t total,
             int count, id_range& ids) {
  auto args = "{\"tag\":\"" + tag + "\",\"n\":" + std::to_string(total) + "}";
  auto err = storage::run_transaction(db, [&](storage::pg_session& s) -> caf::error {
    if (is_fp) {
      std::vector<storage::job_spec> specs(static_cast<size_t>(count));
      for (auto& spec : specs) {
        spec.kind = "platform.noop";
        spec.args = args;
      }
      auto done = storage::enqueue_jobs(s, specs);
      if (!done)
        return done.error();
      for (auto& job : *done)
        ids.add(job.id);
      return {};
    }
    auto res = s.exec_prepared(
      "bench_add_jobs",
      "SELECT count(*) FROM graphile_worker.add_jobs(ARRAY("
      "SELECT ROW('noop', $1::json, NULL, NULL, NULL, NULL, NULL, NULL)"
      "::graphile_worker.job_spec FROM generate_series(1, $2::int)))",
      {args, std::to_string(count)});
    return res ? caf::error{} : res.error();
  });
  if (err)
    die("enqueue failed:", err);
}

/// True while any job of this run is unfinished. Cheap on purpose: it
/// runs every few milliseconds next to the system under test.
bool unfinished(storage::pg_session& db, id_range& ids) {
  auto res = is_fp
    ? db.exec_prepared("bench_unfinished",
                       "SELECT EXISTS (SELECT 1 FROM public.jobs WHERE id BETWEEN "
                       "$1::bigint AND $2::bigint AND state IN ('available', 'running'))",
                       {std::to_string(ids.lo), std::to_string(ids.hi)})
    : db.exec_prepared("bench_unfinished",
                       "SELECT EXISTS (SELECT 1 FROM graphile_worker._private_jobs)");
  if (!res)
    die("poll failed:", res.error());
  return res->boolean(0, 0);
}

/// Jobs of this run not finished yet (checked once a second for progress).
int64_t unfinished_count(storage::pg_session& db, id_range& ids) {
  auto res = is_fp
    ? db.exec_prepared("bench_unfinished_count",
                       "SELECT count(*) FROM public.jobs WHERE id BETWEEN "
                       "$1::bigint AND $2::bigint AND state IN ('available', 'running')",
                       {std::to_string(ids.lo), std::to_string(ids.hi)})
    : db.exec_prepared("bench_unfinished_count",
                       "SELECT count(*) FROM graphile_worker._private_jobs");
  if (!res)
    die("poll failed:", res.error());
  return res->int64(0, 0);
}

/// Polls every 5 ms until drained; returns when that was seen. Gives up
/// when nothing finished for 15 s (no worker runs these jobs).
steady::time_point wait_drained(storage::pg_session& db, id_range& ids,
                                std::chrono::seconds timeout) {
  auto deadline = steady::now() + timeout;
  auto next_check = steady::now() + 1s;
  auto last_progress = steady::now();
  int64_t last_left = -1;
  while (unfinished(db, ids)) {
    auto now = steady::now();
    if (now > deadline)
      die("jobs still unfinished after " + std::to_string(timeout.count()) + " s");
    if (now >= next_check) {
      auto left = unfinished_count(db, ids);
      if (left != last_left) {
        last_left = left;
        last_progress = now;
      } else if (now - last_progress > 15s) {
        die("no job finished for 15 s (" + std::to_string(left)
            + " left): is a worker running them?");
      }
      next_check = now + 1s;
    }
    std::this_thread::sleep_for(5ms);
  }
  return steady::now();
}

/// FleetPrompt's enqueue-to-start latency, from its own columns.
void print_fp_latency(storage::pg_session& db, id_range& ids) {
  auto res = db.exec(
    "WITH l AS (SELECT extract(epoch FROM attempted_at - created_at) * 1000 AS ms, "
    "attempted_at, finished_at, created_at FROM public.jobs "
    "WHERE id BETWEEN $1::bigint AND $2::bigint AND kind = 'platform.noop') "
    "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), "
    "percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), max(ms), "
    "extract(epoch FROM max(finished_at) - min(attempted_at)), "
    "count(*) FILTER (WHERE finished_at IS NULL) FROM l",
    {std::to_string(ids.lo), std::to_string(ids.hi)});
  if (!res)
    die("latency query failed:", res.error());
  std::printf("started %s\n", std::string{res->text(0, 0)}.c_str());
  std::printf("p50_ms %.3f\n", std::atof(std::string{res->text(0, 1)}.c_str()));
  std::printf("p99_ms %.3f\n", std::atof(std::string{res->text(0, 2)}.c_str()));
  std::printf("max_ms %.3f\n", std::atof(std::string{res->text(0, 3)}.c_str()));
  std::printf("first_start_to_last_finish_s %s\n",
              std::string{res->text(0, 4)}.c_str());
  std::printf("unfinished %s\n", std::string{res->text(0, 5)}.c_str());
}

double seconds(steady::duration d) {
  return std::chrono::duration<double>(d).count();
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: spine_jobs URL fp|graphile bulk N TAG\n"
                         "       spine_jobs URL fp|graphile offer RATE SECONDS TAG "
                         "[BATCH] [THREADS]\n");
    return 2;
  }
  const std::string url = argv[1];
  is_fp = std::string{argv[2]} == "fp";
  const std::string mode = argv[3];
  auto db = open(url);
  id_range ids;

  if (mode == "bulk" && argc >= 6) {
    const int n = std::atoi(argv[4]);
    const std::string tag = argv[5];
    enqueue(*db, tag, n, n, ids);
    auto committed = steady::now();
    auto drained = wait_drained(*db, ids, 120s);
    std::printf("jobs %d\n", n);
    std::printf("drain_s %.3f\n", seconds(drained - committed));
    std::printf("jobs_per_s %.0f\n", n / seconds(drained - committed));
    if (is_fp)
      print_fp_latency(*db, ids);
    return 0;
  }
  if (mode == "offer" && argc >= 7) {
    const double rate = std::atof(argv[4]);
    const double secs = std::atof(argv[5]);
    const std::string tag = argv[6];
    const int batch = argc > 7 ? std::atoi(argv[7]) : 10;
    const int threads = argc > 8 ? std::atoi(argv[8]) : 4;
    const int64_t per_thread_tx
      = static_cast<int64_t>(rate * secs / batch / threads + 0.5);
    const int64_t total = per_thread_tx * batch * threads;
    // Each thread sends one transaction per period, threads staggered.
    const auto period = std::chrono::duration_cast<steady::duration>(
      std::chrono::duration<double>(batch * threads / rate));
    std::atomic<int64_t> late{0};
    std::vector<std::unique_ptr<storage::pg_session>> conns;
    for (int i = 0; i < threads; ++i)
      conns.push_back(open(url));
    auto t0 = steady::now() + 50ms;
    std::vector<std::thread> workers;
    for (int i = 0; i < threads; ++i)
      workers.emplace_back([&, i] {
        auto next = t0 + period * i / threads;
        for (int64_t k = 0; k < per_thread_tx; ++k) {
          std::this_thread::sleep_until(next);
          if (steady::now() - next > period)
            ++late;
          enqueue(*conns[static_cast<size_t>(i)], tag, total, batch, ids);
          next += period;
        }
      });
    for (auto& w : workers)
      w.join();
    auto sent = steady::now();
    auto drained = wait_drained(*db, ids, 60s);
    std::printf("jobs %lld\n", static_cast<long long>(total));
    std::printf("offered_per_s %.0f\n", total / seconds(sent - t0));
    std::printf("late_transactions %lld\n", static_cast<long long>(late.load()));
    std::printf("drained_after_last_enqueue_s %.3f\n", seconds(drained - sent));
    if (is_fp)
      print_fp_latency(*db, ids);
    return 0;
  }
  std::fprintf(stderr, "spine_jobs: unknown mode or missing arguments\n");
  return 2;
}
