// Cron schedules: each due time enqueues exactly one job.

#include "fp/runtime/cron.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/jobs.hpp"
#include "jobs_sql.hpp"

namespace fp::storage {

namespace {

using std::chrono::system_clock;

/// Seconds since the epoch, with milliseconds, as SQL text for
/// to_timestamp().
std::string epoch_text(system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              t.time_since_epoch())
              .count();
  return std::to_string(ms / 1000) + "." + std::to_string(1000 + ms % 1000).substr(1);
}

caf::error disable(pg_session& db, const std::string& name,
                   const std::string& why) {
  runtime::log::warn("disabling job schedule", {{"schedule", name}, {"reason", why}});
  auto r = db.exec_prepared("jobs.schedule_disable",
                            "UPDATE public.job_schedules SET enabled = false, "
                            "updated_at = now() WHERE name = $1",
                            {name});
  return r ? caf::none : std::move(r.error());
}

} // namespace

caf::error upsert_job_schedule(pg_session& db, const job_schedule& s) {
  using runtime::errc;
  if (s.name.empty() || s.name.size() > 200)
    return runtime::make_error(errc::invalid_argument,
                               "a schedule name has 1 to 200 characters");
  if (s.kind.empty())
    return runtime::make_error(errc::invalid_argument,
                               "a schedule needs a job kind");
  auto cron = runtime::cron_schedule::parse(s.cron);
  if (!cron)
    return std::move(cron.error());
  auto next = cron->next_after(system_clock::now());
  if (!next)
    return runtime::make_error(errc::invalid_argument,
                               "the cron expression \"" + s.cron
                                 + "\" never matches");
  auto r = db.exec_prepared(
    "jobs.schedule_upsert",
    "INSERT INTO public.job_schedules (name, cron, queue, kind, args, tenant, "
    "next_run_at, enabled) VALUES ($1, $2, $3, $4, $5::jsonb, $6, "
    "to_timestamp($7::double precision), $8::bool) ON CONFLICT (name) DO "
    "UPDATE SET cron = EXCLUDED.cron, queue = EXCLUDED.queue, kind = "
    "EXCLUDED.kind, args = EXCLUDED.args, tenant = EXCLUDED.tenant, enabled "
    "= EXCLUDED.enabled, updated_at = now(), next_run_at = CASE WHEN "
    "public.job_schedules.cron = EXCLUDED.cron AND "
    "public.job_schedules.enabled THEN public.job_schedules.next_run_at ELSE "
    "EXCLUDED.next_run_at END",
    {s.name, cron->text(), s.queue.empty() ? std::string{"default"} : s.queue,
     s.kind, s.args.empty() ? std::string{"{}"} : s.args, s.tenant,
     epoch_text(*next), s.enabled ? "true" : "false"});
  if (!r)
    return std::move(r.error());
  return caf::none;
}

caf::expected<std::vector<job_schedule>> list_job_schedules(pg_session& db) {
  auto r = db.exec_prepared(
    "jobs.schedule_list",
    "SELECT name, cron, queue, kind, args::text, tenant, enabled, "
      + detail::rfc3339("next_run_at")
      + " FROM public.job_schedules ORDER BY name");
  if (!r)
    return std::move(r.error());
  std::vector<job_schedule> out;
  for (int i = 0; i < r->rows(); ++i) {
    job_schedule s;
    s.name = r->text(i, 0);
    s.cron = r->text(i, 1);
    s.queue = r->text(i, 2);
    s.kind = r->text(i, 3);
    s.args = r->text(i, 4);
    s.tenant = r->text(i, 5);
    s.enabled = r->boolean(i, 6);
    s.next_run_at = r->text(i, 7);
    out.push_back(std::move(s));
  }
  return out;
}

caf::expected<bool> delete_job_schedule(pg_session& db, std::string_view name) {
  auto r = db.exec_prepared("jobs.schedule_delete",
                            "DELETE FROM public.job_schedules WHERE name = $1",
                            {std::string{name}});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() > 0;
}

caf::expected<int64_t>
enqueue_due_schedules(pg_session& db, system_clock::time_point now) {
  auto due = db.exec_prepared(
    "jobs.schedule_due",
    "SELECT name, cron, queue, kind, args::text, tenant, "
      + detail::rfc3339("next_run_at")
      + " FROM public.job_schedules WHERE enabled AND next_run_at <= "
        "to_timestamp($1::double precision) ORDER BY next_run_at LIMIT 100 "
        "FOR UPDATE SKIP LOCKED",
    {epoch_text(now)});
  if (!due)
    return std::move(due.error());
  int64_t enqueued = 0;
  for (int i = 0; i < due->rows(); ++i) {
    std::string name{due->text(i, 0)};
    auto cron = runtime::cron_schedule::parse(due->text(i, 1));
    if (!cron) {
      if (auto err = disable(db, name, runtime::context_of(cron.error())))
        return err;
      continue;
    }
    job_spec spec;
    spec.queue = due->text(i, 2);
    spec.kind = due->text(i, 3);
    spec.args = due->text(i, 4);
    spec.tenant = due->text(i, 5);
    spec.unique_key = "cron:" + name + ":" + std::string{due->text(i, 6)};
    auto job = enqueue_job(db, spec);
    if (!job)
      return std::move(job.error());
    if (job->inserted)
      ++enqueued;
    auto next = cron->next_after(now);
    if (!next) {
      if (auto err = disable(db, name, "the cron expression never matches"))
        return err;
      continue;
    }
    auto moved = db.exec_prepared(
      "jobs.schedule_advance",
      "UPDATE public.job_schedules SET next_run_at = to_timestamp($2::double "
      "precision) WHERE name = $1",
      {name, epoch_text(*next)});
    if (!moved)
      return std::move(moved.error());
  }
  return enqueued;
}

} // namespace fp::storage
