// Claiming, leasing and finishing jobs; rescue of expired leases; pruning.

#include <algorithm>
#include <tuple>

#include "fp/runtime/errc.hpp"
#include "fp/storage/jobs.hpp"
#include "jobs_sql.hpp"

namespace fp::storage {

namespace {

using detail::int_array_literal;

/// Distinct tenants with available jobs in queue $1, in tenant order
/// starting after $5 and wrapping around (a loose index scan over
/// jobs_claim: one index probe per tenant, however many jobs each has).
/// Rotating the start keeps tenants late in the order from waiting when
/// more tenants are waiting than one claim serves.
const std::string claim_ctes
  = "after_cursor AS ("
    "  (SELECT j.tenant FROM public.jobs j WHERE j.state = 'available' AND "
    "   j.queue = $1 AND ($5::text IS NULL OR j.tenant > $5::text) "
    "   ORDER BY j.tenant LIMIT 1)"
    "  UNION ALL"
    "  SELECT (SELECT j.tenant FROM public.jobs j WHERE j.state = "
    "   'available' AND j.queue = $1 AND j.tenant > t.tenant ORDER BY "
    "   j.tenant LIMIT 1) FROM after_cursor t WHERE t.tenant IS NOT NULL), "
    "up_to_cursor AS ("
    "  (SELECT j.tenant FROM public.jobs j WHERE $5::text IS NOT NULL AND "
    "   j.state = 'available' AND j.queue = $1 AND j.tenant <= $5::text "
    "   ORDER BY j.tenant LIMIT 1)"
    "  UNION ALL"
    "  SELECT (SELECT j.tenant FROM public.jobs j WHERE j.state = "
    "   'available' AND j.queue = $1 AND j.tenant > t.tenant AND j.tenant "
    "   <= $5::text ORDER BY j.tenant LIMIT 1) FROM up_to_cursor t WHERE "
    "   t.tenant IS NOT NULL), "
    "active AS (SELECT tenant FROM (SELECT tenant FROM after_cursor UNION ALL "
    "  SELECT tenant FROM up_to_cursor) a WHERE tenant IS NOT NULL LIMIT $2), "
    // Each tenant's fair share, rounded up.
    "quota AS (SELECT GREATEST(1, ceil($2::numeric / GREATEST(count(*), "
    "  1)))::int AS n FROM active), "
    "picked AS (SELECT c.id, c.priority, c.run_at, row_number() OVER "
    "  (PARTITION BY a.tenant ORDER BY c.priority, c.run_at, c.id) AS turn "
    "  FROM active a CROSS JOIN quota CROSS JOIN LATERAL ("
    "    SELECT j.id, j.priority, j.run_at FROM public.jobs j"
    "    WHERE j.state = 'available' AND j.queue = $1 AND j.tenant = a.tenant"
    "      AND j.run_at <= now()"
    "    ORDER BY j.priority, j.run_at, j.id LIMIT quota.n"
    "    FOR UPDATE OF j SKIP LOCKED) c), "
    // Round-robin over tenants: everyone's first job, then second, ...
    "chosen AS (SELECT id, turn FROM picked ORDER BY turn, priority, run_at, "
    "  id LIMIT $2) ";

const std::string claim_update
  = "UPDATE public.jobs j SET state = 'running', attempt = j.attempt + 1, "
    "  fence = j.fence + 1, lease_owner = $3, lease_expires_at = now() + "
    "  $4::bigint * interval '1 millisecond', attempted_at = now() "
    "FROM chosen WHERE j.id = chosen.id "
    "RETURNING j.id, j.fence, j.queue, j.kind, j.tenant, j.args::text, "
    "  j.priority, j.attempt, j.max_attempts, "
    "  GREATEST(0, extract(epoch FROM now() - j.run_at))::float8, chosen.turn";

const std::string claim_sql = "WITH RECURSIVE " + claim_ctes + claim_update;

/// `claim_sql` that first completes the leases in $6/$7 (fenced). Finished
/// rows are running, claimed ones available: the two updates never meet.
/// Rows: (0, claimed columns...) and (1, completed id, NULLs).
const std::string complete_and_claim_sql
  = "WITH RECURSIVE done AS (UPDATE public.jobs j SET state = 'completed', "
    "  finished_at = now(), lease_owner = NULL, lease_expires_at = NULL WHERE "
    + detail::fenced_ids("$6", "$7")
    + " AND j.state = 'running' RETURNING j.id), "
    + claim_ctes + ", claimed AS (" + claim_update
    + ") SELECT 0, c.* FROM claimed c UNION ALL SELECT 1, d.id, NULL, NULL, "
      "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM done d";

/// Reads the claimed rows of `r` (columns from `col`, rows where `keep`)
/// in round-robin, priority order.
template <class Keep>
std::vector<claimed_job> read_claimed(const result& r, int col, Keep keep) {
  std::vector<claimed_job> out;
  std::vector<int64_t> turn;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    if (!keep(i))
      continue;
    claimed_job j;
    j.id = r.int64(i, col);
    j.fence = r.int64(i, col + 1);
    j.queue = r.text(i, col + 2);
    j.kind = r.text(i, col + 3);
    j.tenant = r.text(i, col + 4);
    j.args = r.text(i, col + 5);
    j.priority = static_cast<int>(r.int64(i, col + 6));
    j.attempt = static_cast<int>(r.int64(i, col + 7));
    j.max_attempts = static_cast<int>(r.int64(i, col + 8));
    j.waited = std::strtod(std::string{r.text(i, col + 9)}.c_str(), nullptr);
    turn.push_back(r.int64(i, col + 10));
    out.push_back(std::move(j));
  }
  // RETURNING has no order: restore the round-robin, priority order.
  std::vector<std::size_t> idx(out.size());
  for (std::size_t i = 0; i < idx.size(); ++i)
    idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    return std::tie(turn[a], out[a].priority, out[a].id)
           < std::tie(turn[b], out[b].priority, out[b].id);
  });
  std::vector<claimed_job> sorted;
  sorted.reserve(out.size());
  for (auto i : idx)
    sorted.push_back(std::move(out[i]));
  return sorted;
}

} // namespace

const char* to_string(job_fate fate) noexcept {
  switch (fate) {
    case job_fate::completed: return "completed";
    case job_fate::retried: return "retried";
    case job_fate::discarded: return "discarded";
    case job_fate::stale: return "stale";
  }
  return "stale";
}

caf::expected<std::vector<claimed_job>>
claim_jobs(pg_session& db, std::string_view queue, int limit,
           std::string_view owner, std::chrono::milliseconds lease,
           std::optional<std::string> after_tenant) {
  std::vector<claimed_job> out;
  if (limit <= 0)
    return out;
  auto r = db.exec_prepared("jobs.claim", claim_sql,
                            {std::string{queue}, std::to_string(limit),
                             std::string{owner}, detail::millis(lease),
                             std::move(after_tenant)});
  if (!r)
    return std::move(r.error());
  return read_claimed(*r, 0, [](int) { return true; });
}

caf::expected<claim_outcome>
complete_and_claim_jobs(pg_session& db, const std::vector<job_lease>& completed,
                        std::string_view queue, int limit,
                        std::string_view owner, std::chrono::milliseconds lease,
                        std::optional<std::string> after_tenant) {
  if (completed.empty()) {
    auto jobs = claim_jobs(db, queue, limit, owner, lease,
                           std::move(after_tenant));
    if (!jobs)
      return std::move(jobs.error());
    return claim_outcome{std::move(*jobs), {}};
  }
  auto r = db.exec_prepared(
    "jobs.complete_and_claim", complete_and_claim_sql,
    {std::string{queue}, std::to_string(std::max(0, limit)),
     std::string{owner}, detail::millis(lease), std::move(after_tenant),
     int_array_literal(completed, [](const job_lease& l) { return l.id; }),
     int_array_literal(completed, [](const job_lease& l) { return l.fence; })});
  if (!r)
    return std::move(r.error());
  claim_outcome out;
  out.claimed = read_claimed(*r, 1, [&](int i) { return r->int64(i, 0) == 0; });
  std::vector<int64_t> done;
  for (int i = 0; i < r->rows(); ++i)
    if (r->int64(i, 0) == 1)
      done.push_back(r->int64(i, 1));
  std::sort(done.begin(), done.end());
  for (auto& c : completed) {
    if (std::binary_search(done.begin(), done.end(), c.id))
      out.finished.completed.push_back(c.id);
    else
      out.finished.stale.push_back(c.id);
  }
  return out;
}

caf::expected<std::vector<claimed_job>>
claim_jobs(pg_session& db, std::string_view queue, int limit,
           std::string_view owner, std::chrono::milliseconds lease) {
  return claim_jobs(db, queue, limit, owner, lease, std::nullopt);
}

caf::expected<int64_t> heartbeat_jobs(pg_session& db,
                                      const std::vector<job_lease>& leases,
                                      std::chrono::milliseconds lease) {
  if (leases.empty())
    return int64_t{0};
  auto r = db.exec_prepared(
    "jobs.heartbeat",
    "UPDATE public.jobs j SET lease_expires_at = now() + $3::bigint * "
    "interval '1 millisecond' WHERE j.id IN (SELECT x.id FROM public.jobs x "
    "JOIN unnest($1::bigint[], $2::bigint[]) AS h(id, fence) ON x.id = h.id "
    "AND x.fence = h.fence WHERE x.state = 'running' FOR UPDATE OF x SKIP "
    "LOCKED)",
    {int_array_literal(leases, [](const job_lease& l) { return l.id; }),
     int_array_literal(leases, [](const job_lease& l) { return l.fence; }),
     detail::millis(lease)});
  if (!r)
    return std::move(r.error());
  return r->affected_rows();
}

caf::expected<std::vector<int64_t>>
lock_job_leases(pg_session& db, const std::vector<job_lease>& leases) {
  std::vector<int64_t> out;
  if (leases.empty())
    return out;
  auto r = db.exec_prepared(
    "jobs.lock_leases",
    "SELECT x.id FROM public.jobs x JOIN unnest($1::bigint[], $2::bigint[]) "
    "AS h(id, fence) ON x.id = h.id AND x.fence = h.fence WHERE x.state = "
    "'running' ORDER BY x.id FOR UPDATE OF x",
    {int_array_literal(leases, [](const job_lease& l) { return l.id; }),
     int_array_literal(leases, [](const job_lease& l) { return l.fence; })});
  if (!r)
    return std::move(r.error());
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(r->int64(i, 0));
  return out;
}

caf::expected<int64_t> release_jobs(pg_session& db,
                                    const std::vector<job_lease>& leases) {
  if (leases.empty())
    return int64_t{0};
  auto r = db.exec_prepared(
    "jobs.release",
    "WITH released AS (UPDATE public.jobs j SET state = 'available', attempt "
    "= GREATEST(0, j.attempt - 1), lease_owner = NULL, lease_expires_at = "
    "NULL FROM unnest($1::bigint[], $2::bigint[]) AS h(id, fence) WHERE "
    "j.id = h.id AND j.fence = h.fence AND j.state = 'running' RETURNING "
    "j.queue) SELECT count(*), (SELECT count(*) FROM (SELECT "
    "pg_notify('fp_jobs', q.queue) FROM (SELECT DISTINCT queue FROM released) "
    "q) n) FROM released",
    {int_array_literal(leases, [](const job_lease& l) { return l.id; }),
     int_array_literal(leases, [](const job_lease& l) { return l.fence; })});
  if (!r)
    return std::move(r.error());
  return r->rows() > 0 ? r->int64(0, 0) : int64_t{0};
}

caf::expected<bool> complete_job(pg_session& db, int64_t id, int64_t fence) {
  auto r = db.exec_prepared(
    "jobs.complete",
    "UPDATE public.jobs SET state = 'completed', finished_at = now(), "
    "lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 AND fence = "
    "$2 AND state = 'running'",
    {std::to_string(id), std::to_string(fence)});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() == 1;
}

caf::expected<finished_jobs>
finish_jobs(pg_session& db, const std::vector<job_lease>& completed,
            const std::vector<job_failure>& failed) {
  finished_jobs out;
  if (completed.empty() && failed.empty())
    return out;
  using detail::array_literal;
  static const std::string final_state
    = "CASE WHEN f.permanent OR j.attempt >= j.max_attempts THEN "
      "'discarded' ELSE 'available' END";
  static const std::string sql
    = "WITH done AS (UPDATE public.jobs j SET state = 'completed', "
      "finished_at = now(), lease_owner = NULL, lease_expires_at = NULL WHERE "
      + detail::fenced_ids("$1", "$2")
      + " AND j.state = 'running' RETURNING j.id, "
      "j.state), "
      "failed AS (UPDATE public.jobs j SET state = "
      + final_state
      + ", run_at = CASE WHEN f.permanent OR j.attempt >= j.max_attempts "
        "THEN j.run_at ELSE now() + f.delay_ms * interval '1 millisecond' "
        "END, finished_at = CASE WHEN f.permanent OR j.attempt >= "
        "j.max_attempts THEN now() END, errors = j.errors || "
      + detail::error_entry("f.error")
      + ", lease_owner = NULL, lease_expires_at = NULL FROM "
        "unnest($3::bigint[], $4::bigint[], $5::text[], $6::bool[], "
        "$7::bigint[]) AS f(id, fence, error, permanent, delay_ms) WHERE "
        "j.id = f.id AND j.fence = f.fence AND j.state = 'running' RETURNING "
        "j.id, j.state, j.queue) "
        // A retry due at once should not wait for the next poll.
        "SELECT id, state FROM done UNION ALL SELECT id, state FROM failed "
        "UNION ALL SELECT 0, pg_notify('fp_jobs', queue)::text FROM (SELECT "
        "DISTINCT queue FROM failed WHERE state = 'available') q";
  auto r = db.exec_prepared(
    "jobs.finish", sql,
    {int_array_literal(completed, [](const job_lease& l) { return l.id; }),
     int_array_literal(completed, [](const job_lease& l) { return l.fence; }),
     int_array_literal(failed, [](const job_failure& f) { return f.id; }),
     int_array_literal(failed, [](const job_failure& f) { return f.fence; }),
     array_literal(failed,
                   [](const job_failure& f) -> std::optional<std::string_view> {
                     return std::string_view{f.error};
                   }),
     array_literal(failed,
                   [](const job_failure& f) -> std::optional<std::string_view> {
                     return f.permanent ? "t" : "f";
                   }),
     int_array_literal(failed, [](const job_failure& f) {
       return std::max<int64_t>(0, f.retry_in.count());
     })});
  if (!r)
    return std::move(r.error());
  std::vector<int64_t> touched;
  for (int i = 0; i < r->rows(); ++i) {
    auto id = r->int64(i, 0);
    if (id == 0)
      continue;
    auto state = r->text(i, 1);
    touched.push_back(id);
    if (state == "completed")
      out.completed.push_back(id);
    else if (state == "available")
      out.retried.push_back(id);
    else
      out.discarded.push_back(id);
  }
  std::sort(touched.begin(), touched.end());
  auto note_stale = [&](int64_t id) {
    if (!std::binary_search(touched.begin(), touched.end(), id))
      out.stale.push_back(id);
  };
  for (auto& c : completed)
    note_stale(c.id);
  for (auto& f : failed)
    note_stale(f.id);
  return out;
}

caf::expected<job_fate> fail_job(pg_session& db, int64_t id, int64_t fence,
                                 std::string_view error,
                                 const runtime::backoff_policy& backoff,
                                 bool permanent) {
  auto r = db.exec_prepared("jobs.attempt_of",
                            "SELECT attempt FROM public.jobs WHERE id = $1 AND "
                            "fence = $2 AND state = 'running'",
                            {std::to_string(id), std::to_string(fence)});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return job_fate::stale;
  job_failure f;
  f.id = id;
  f.fence = fence;
  f.error = std::string{error};
  f.permanent = permanent;
  f.retry_in = runtime::backoff_delay(backoff, static_cast<int>(r->int64(0, 0)));
  auto done = finish_jobs(db, {}, {f});
  if (!done)
    return std::move(done.error());
  if (!done->retried.empty())
    return job_fate::retried;
  if (!done->discarded.empty())
    return job_fate::discarded;
  return job_fate::stale;
}

caf::expected<int64_t> rescue_expired_jobs(pg_session& db, int limit) {
  static const std::string sql
    = "WITH expired AS (SELECT id FROM public.jobs WHERE state = 'running' "
      "AND lease_expires_at < now() ORDER BY lease_expires_at LIMIT $1 FOR "
      "UPDATE SKIP LOCKED), "
      "rescued AS (UPDATE public.jobs j SET state = CASE WHEN j.attempt >= "
      "j.max_attempts THEN 'discarded' ELSE 'available' END, finished_at = "
      "CASE WHEN j.attempt >= j.max_attempts THEN now() END, errors = "
      "j.errors || "
      + detail::error_entry("'lease expired'")
      + ", lease_owner = NULL, lease_expires_at = NULL FROM expired WHERE "
        "j.id = expired.id RETURNING j.id, j.queue, j.state) "
        "SELECT count(*), (SELECT count(*) FROM (SELECT pg_notify('fp_jobs', "
        "q.queue) FROM (SELECT DISTINCT queue FROM rescued WHERE state = "
        "'available') q) n) FROM rescued";
  auto r = db.exec_prepared("jobs.rescue", sql, {std::to_string(limit)});
  if (!r)
    return std::move(r.error());
  return r->rows() > 0 ? r->int64(0, 0) : int64_t{0};
}

caf::expected<int64_t> prune_jobs(pg_session& db,
                                  std::chrono::milliseconds retention,
                                  int chunk) {
  int64_t total = 0;
  chunk = std::max(1, chunk);
  while (true) {
    auto r = db.exec_prepared(
      "jobs.prune",
      "DELETE FROM public.jobs WHERE id IN (SELECT id FROM public.jobs WHERE "
      "state IN ('completed', 'discarded', 'cancelled') AND finished_at < "
      "now() - $1::bigint * interval '1 millisecond' LIMIT $2)",
      {detail::millis(retention), std::to_string(chunk)});
    if (!r)
      return std::move(r.error());
    total += r->affected_rows();
    if (r->affected_rows() < chunk)
      return total;
  }
}

} // namespace fp::storage
