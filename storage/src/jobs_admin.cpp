// Listing jobs, retrying and cancelling them, and queue limits.

#include <algorithm>

#include "fp/runtime/errc.hpp"
#include "fp/storage/jobs.hpp"
#include "jobs_sql.hpp"

namespace fp::storage {

namespace {

std::optional<std::string> tenant_param(const std::optional<std::string>& t) {
  return t;
}

/// The job a retry or cancel returned in `r`; when no row changed, not
/// found (nullopt) or a conflict naming the job's state.
caf::expected<std::optional<job_record>>
changed_job(pg_session& db, const std::optional<std::string>& tenant,
            int64_t id, const result& r, std::string_view verb) {
  if (r.rows() > 0)
    return std::optional<job_record>{detail::read_job_record(r, 0)};
  auto current = get_job(db, tenant, id);
  if (!current)
    return std::move(current.error());
  if (!*current)
    return std::optional<job_record>{};
  return runtime::make_error(runtime::errc::conflict,
                             "a " + (*current)->state + " job cannot be "
                               + std::string{verb});
}

} // namespace

bool valid_job_state(std::string_view s) noexcept {
  return s == "available" || s == "scheduled" || s == "running"
         || s == "completed" || s == "discarded" || s == "cancelled";
}

caf::expected<job_page> list_jobs(pg_session& db, const job_filter& f) {
  if (!f.state.empty() && !valid_job_state(f.state))
    return runtime::make_error(runtime::errc::invalid_argument,
                               "unknown job state \"" + f.state + "\"");
  sql_params params;
  std::string where;
  auto add = [&](const std::string& cond, std::string value) {
    params.emplace_back(std::move(value));
    where += where.empty() ? " WHERE " : " AND ";
    auto pos = cond.find('?');
    where += cond.substr(0, pos) + "$" + std::to_string(params.size())
             + cond.substr(pos + 1);
  };
  if (f.tenant)
    add("j.tenant = ?", *f.tenant);
  if (f.state == "scheduled") {
    add("j.state = ?", "available");
    where += " AND j.run_at > now()";
  } else if (f.state == "available") {
    add("j.state = ?", "available");
    where += " AND j.run_at <= now()";
  } else if (!f.state.empty()) {
    add("j.state = ?", f.state);
  }
  if (!f.queue.empty())
    add("j.queue = ?", f.queue);
  if (!f.kind.empty())
    add("j.kind = ?", f.kind);
  if (f.before_id > 0)
    add("j.id < ?::bigint", std::to_string(f.before_id));
  auto limit = std::clamp(f.limit, 1, 500);
  // One extra row tells whether another page exists.
  params.emplace_back(std::to_string(limit + 1));
  auto sql = "SELECT " + detail::job_record_columns("j") + " FROM public.jobs j"
             + where + " ORDER BY j.id DESC LIMIT $"
             + std::to_string(params.size());
  auto r = db.exec(sql, std::move(params));
  if (!r)
    return std::move(r.error());
  job_page page;
  auto rows = std::min(r->rows(), limit);
  page.jobs.reserve(static_cast<std::size_t>(rows));
  for (int i = 0; i < rows; ++i)
    page.jobs.push_back(detail::read_job_record(*r, i));
  if (r->rows() > limit && !page.jobs.empty())
    page.next_cursor = page.jobs.back().id;
  return page;
}

caf::expected<std::optional<job_record>>
get_job(pg_session& db, const std::optional<std::string>& tenant, int64_t id) {
  auto r = db.exec_prepared("jobs.get",
                            "SELECT " + detail::job_record_columns("j")
                              + " FROM public.jobs j WHERE j.id = $1 AND "
                                "($2::text IS NULL OR j.tenant = $2::text)",
                            {std::to_string(id), tenant_param(tenant)});
  return detail::first_row(std::move(r), detail::read_job_record);
}

caf::expected<std::optional<job_record>>
retry_job(pg_session& db, const std::optional<std::string>& tenant, int64_t id) {
  auto r = db.exec_prepared(
    "jobs.retry",
    "WITH u AS (UPDATE public.jobs SET state = 'available', run_at = now(), "
    "finished_at = NULL, lease_owner = NULL, lease_expires_at = NULL, "
    "max_attempts = GREATEST(max_attempts, attempt + 1) WHERE id = $1 AND "
    "($2::text IS NULL OR tenant = $2::text) AND state IN ('discarded', "
    "'cancelled') RETURNING *) SELECT "
      + detail::job_record_columns("u")
      + ", pg_notify('fp_jobs', u.queue) FROM u",
    {std::to_string(id), tenant_param(tenant)});
  if (!r) {
    if (code_of(r.error()) == errc::unique_violation)
      return runtime::make_error(runtime::errc::conflict,
                                 "another unfinished job holds this job's "
                                 "unique key");
    return std::move(r.error());
  }
  return changed_job(db, tenant, id, *r, "retried");
}

caf::expected<std::optional<job_record>>
cancel_job(pg_session& db, const std::optional<std::string>& tenant, int64_t id) {
  auto r = db.exec_prepared(
    "jobs.cancel",
    "UPDATE public.jobs j SET state = 'cancelled', finished_at = now(), "
    "lease_owner = NULL, lease_expires_at = NULL WHERE j.id = $1 AND "
    "($2::text IS NULL OR j.tenant = $2::text) AND j.state IN ('available', "
    "'running', 'discarded') RETURNING "
      + detail::job_record_columns("j"),
    {std::to_string(id), tenant_param(tenant)});
  if (!r)
    return std::move(r.error());
  return changed_job(db, tenant, id, *r, "cancelled");
}

caf::expected<std::vector<job_queue>> list_job_queues(pg_session& db) {
  auto r = db.exec_prepared(
    "jobs.queues",
    "WITH RECURSIVE q AS ("
    "  (SELECT queue FROM public.jobs WHERE state = 'available' ORDER BY "
    "   queue LIMIT 1)"
    "  UNION ALL"
    "  SELECT (SELECT j.queue FROM public.jobs j WHERE j.state = 'available' "
    "   AND j.queue > q.queue ORDER BY j.queue LIMIT 1) FROM q WHERE q.queue "
    "   IS NOT NULL) "
    "SELECT name, concurrency FROM public.job_queues UNION ALL SELECT queue, "
    "0 FROM q WHERE queue IS NOT NULL AND queue NOT IN (SELECT name FROM "
    "public.job_queues) ORDER BY 1");
  if (!r)
    return std::move(r.error());
  std::vector<job_queue> out;
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(job_queue{std::string{r->text(i, 0)},
                            static_cast<int>(r->int64(i, 1))});
  return out;
}

caf::error set_queue_concurrency(pg_session& db, std::string_view queue,
                                 int concurrency) {
  if (concurrency < 1)
    return runtime::make_error(runtime::errc::invalid_argument,
                               "a queue's concurrency must be at least 1");
  if (queue.empty() || queue.size() > 100)
    return runtime::make_error(runtime::errc::invalid_argument,
                               "a queue name has 1 to 100 characters");
  auto r = db.exec_prepared(
    "jobs.set_concurrency",
    "INSERT INTO public.job_queues (name, concurrency) VALUES ($1, $2::int) "
    "ON CONFLICT (name) DO UPDATE SET concurrency = EXCLUDED.concurrency",
    {std::string{queue}, std::to_string(concurrency)});
  if (!r)
    return std::move(r.error());
  return caf::none;
}

} // namespace fp::storage
