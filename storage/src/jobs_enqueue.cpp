// Enqueueing jobs inside the caller's transaction.

#include <unordered_map>

#include "fp/runtime/errc.hpp"
#include "fp/storage/jobs.hpp"
#include "jobs_sql.hpp"

namespace fp::storage {

namespace {

caf::error check_spec(const job_spec& spec) {
  using runtime::errc;
  if (spec.kind.empty() || spec.kind.size() > 200)
    return runtime::make_error(errc::invalid_argument,
                               "a job kind has 1 to 200 characters");
  if (spec.queue.empty() || spec.queue.size() > 100)
    return runtime::make_error(errc::invalid_argument,
                               "a queue name has 1 to 100 characters");
  if (spec.max_attempts < 1)
    return runtime::make_error(errc::invalid_argument,
                               "max_attempts must be at least 1");
  return caf::none;
}

std::string args_of(const job_spec& spec) {
  return spec.args.empty() ? std::string{"{}"} : spec.args;
}

int64_t delay_of(const job_spec& spec) {
  return std::max<int64_t>(0, spec.delay.count());
}

/// The unfinished job holding `key`, or 0 when there is none (any more).
caf::expected<int64_t> holder_of(pg_session& db, const std::string& key) {
  auto r = db.exec_prepared("jobs.unique_holder",
                            "SELECT id FROM public.jobs WHERE unique_key = $1 "
                            "AND state IN ('available', 'running')",
                            {key});
  if (!r)
    return std::move(r.error());
  return r->rows() > 0 ? r->int64(0, 0) : int64_t{0};
}

} // namespace

caf::expected<enqueued_job> enqueue_job(pg_session& db, const job_spec& spec) {
  if (auto err = check_spec(spec))
    return err;
  std::optional<std::string> key;
  if (!spec.unique_key.empty())
    key = spec.unique_key;
  // The NOTIFY is part of the statement: queued now, delivered at COMMIT,
  // dropped on ROLLBACK. Postgres folds repeated identical notifications
  // of one transaction into one.
  // The conflict target is the partial unique index over unfinished jobs.
  static constexpr std::string_view sql
    = "WITH ins AS (INSERT INTO public.jobs (queue, kind, tenant, args, "
      "priority, unique_key, max_attempts, run_at) VALUES ($1, $2, $3, "
      "$4::jsonb, $5::int, $6, $7::int, now() + $8::bigint * interval '1 "
      "millisecond') ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL "
      "AND state IN ('available', 'running') DO NOTHING "
      "RETURNING id, queue) SELECT ins.id, pg_notify('fp_jobs', ins.queue) "
      "FROM ins";
  // A holder of the key may finish between the insert and the lookup; then
  // the insert is tried again.
  for (int round = 0; round < 3; ++round) {
    auto r = db.exec_prepared(
      "jobs.enqueue", sql,
      {spec.queue, spec.kind, spec.tenant, args_of(spec),
       std::to_string(spec.priority), key, std::to_string(spec.max_attempts),
       std::to_string(delay_of(spec))});
    if (!r)
      return std::move(r.error());
    if (r->rows() == 1)
      return enqueued_job{r->int64(0, 0), true};
    auto holder = holder_of(db, *key);
    if (!holder)
      return std::move(holder.error());
    if (*holder != 0)
      return enqueued_job{*holder, false};
  }
  return runtime::make_error(runtime::errc::conflict,
                             "the unique key " + *key + " keeps changing hands");
}

caf::expected<std::vector<enqueued_job>>
enqueue_jobs(pg_session& db, const std::vector<job_spec>& specs) {
  std::vector<enqueued_job> out;
  if (specs.empty())
    return out;
  for (auto& spec : specs)
    if (auto err = check_spec(spec))
      return err;
  using detail::array_literal;
  using detail::int_array_literal;
  auto text = [](auto member) {
    return [member](const job_spec& s) -> std::optional<std::string_view> {
      return std::string_view{s.*member};
    };
  };
  // Ids are drawn first so each input row can be matched to the row it
  // inserted (RETURNING cannot see the input's ordinality).
  static constexpr std::string_view sql
    = "WITH input AS (SELECT nextval('public.jobs_id_seq') AS id, u.* FROM "
      "unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::int[], "
      "$6::text[], $7::int[], $8::bigint[]) WITH ORDINALITY AS u(queue, kind, "
      "tenant, args, priority, unique_key, max_attempts, delay_ms, ord)), "
      "ins AS (INSERT INTO public.jobs (id, queue, kind, tenant, args, "
      "priority, unique_key, max_attempts, run_at) SELECT id, queue, kind, "
      "tenant, args, priority, unique_key, max_attempts, now() + delay_ms * "
      "interval '1 millisecond' FROM input ORDER BY ord ON CONFLICT "
      "(unique_key) WHERE unique_key IS NOT NULL AND state IN ('available', "
      "'running') DO NOTHING RETURNING id, queue), "
        "notified AS (SELECT pg_notify('fp_jobs', q.queue) FROM (SELECT "
        "DISTINCT queue FROM ins) q) "
        "SELECT input.ord, ins.id IS NOT NULL, COALESCE(ins.id, held.id, 0) "
        "FROM input LEFT JOIN ins ON ins.id = input.id "
        "LEFT JOIN LATERAL (SELECT j.id FROM public.jobs j WHERE ins.id IS "
        "NULL AND input.unique_key IS NOT NULL AND j.unique_key = "
        "input.unique_key AND j.state IN ('available', 'running') LIMIT 1) "
        "held ON true CROSS JOIN (SELECT count(*) FROM notified) n "
        "ORDER BY input.ord";
  auto r = db.exec_prepared(
    "jobs.enqueue_batch", sql,
    {array_literal(specs, text(&job_spec::queue)),
     array_literal(specs, text(&job_spec::kind)),
     array_literal(specs, text(&job_spec::tenant)),
     array_literal(specs,
                   [](const job_spec& s) -> std::optional<std::string_view> {
                     if (s.args.empty())
                       return std::string_view{"{}"};
                     return std::string_view{s.args};
                   }),
     int_array_literal(specs, [](const job_spec& s) { return s.priority; }),
     array_literal(specs,
                   [](const job_spec& s) -> std::optional<std::string_view> {
                     if (s.unique_key.empty())
                       return std::nullopt;
                     return std::string_view{s.unique_key};
                   }),
     int_array_literal(specs, [](const job_spec& s) { return s.max_attempts; }),
     int_array_literal(specs, [](const job_spec& s) { return delay_of(s); })});
  if (!r)
    return std::move(r.error());
  out.resize(specs.size());
  // Keys inserted earlier in this batch: a later duplicate gets that id.
  std::unordered_map<std::string_view, int64_t> inserted_keys;
  for (int row = 0; row < r->rows(); ++row) {
    auto index = static_cast<std::size_t>(r->int64(row, 0) - 1);
    if (index >= specs.size())
      continue;
    out[index] = enqueued_job{r->int64(row, 2), r->boolean(row, 1)};
  }
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto& spec = specs[i];
    if (out[i].inserted) {
      if (!spec.unique_key.empty())
        inserted_keys.emplace(spec.unique_key, out[i].id);
      continue;
    }
    if (auto it = inserted_keys.find(spec.unique_key); it != inserted_keys.end()) {
      out[i].id = it->second;
      continue;
    }
    if (out[i].id != 0)
      continue;
    // The holder committed after this statement's snapshot was taken, or
    // finished meanwhile: settle this one alone.
    auto single = enqueue_job(db, spec);
    if (!single)
      return std::move(single.error());
    out[i] = *single;
    if (single->inserted)
      inserted_keys.emplace(spec.unique_key, single->id);
  }
  return out;
}

} // namespace fp::storage
