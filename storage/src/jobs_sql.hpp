#pragma once

// Private helpers of the job repository (jobs_*.cpp): array literals for
// batched statements and the columns of a listed job.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fp/storage/jobs.hpp"
#include "fp/storage/pg_session.hpp"
#include "pg_array.hpp"
#include "sql_text.hpp"

namespace fp::storage::detail {

/// "{...}" with `append(out, item)` writing each element, comma-separated.
template <class Range, class Append>
std::string braced_list(const Range& items, Append append) {
  std::string out = "{";
  bool first = true;
  for (const auto& item : items) {
    if (!first)
      out += ',';
    first = false;
    append(out, item);
  }
  out += '}';
  return out;
}

/// The array literal of arbitrary strings (quoted and escaped, so it is
/// valid for text[] and, with JSON texts, for jsonb[]); nullopt is NULL.
template <class Range, class Get>
std::string array_literal(const Range& items, Get get) {
  return braced_list(items, [&](std::string& out, const auto& item) {
    std::optional<std::string_view> v = get(item);
    if (v)
      append_array_element(out, *v);
    else
      out += "NULL";
  });
}

/// The array literal of integers, e.g. "{1,2,3}".
template <class Range, class Get>
std::string int_array_literal(const Range& items, Get get) {
  return braced_list(items, [&](std::string& out, const auto& item) {
    out += std::to_string(get(item));
  });
}

/// Milliseconds as a SQL interval expression operand.
inline std::string millis(std::chrono::milliseconds d) {
  return std::to_string(d.count());
}

/// The condition "job `j` is one of `ids` (bigint[]) with the fence at the
/// same position in `fences`". No join: a cached generic plan joining
/// unnest(ids, fences) with public.jobs guessed one row on one side and
/// rescanned the other for every row (quadratic); this always probes the
/// primary key and checks the fence in place.
inline std::string fenced_ids(std::string_view ids, std::string_view fences) {
  std::string a{ids};
  a += "::bigint[]";
  std::string f{fences};
  f += "::bigint[]";
  return "j.id = ANY(" + a + ") AND j.fence = (" + f + ")[array_position("
         + a + ", j.id)]";
}

/// The columns `read_job_record` expects, from table alias `t`.
inline std::string job_record_columns(std::string_view t) {
  std::string p{t};
  p += '.';
  return p + "id, " + p + "queue, " + p + "kind, " + p + "tenant, "
         + "CASE WHEN " + p + "state = 'available' AND " + p
         + "run_at > now() THEN 'scheduled' ELSE " + p + "state END, " + p
         + "attempt, " + p + "max_attempts, " + p + "priority, COALESCE(" + p
         + "unique_key, ''), " + rfc3339(p + "run_at") + ", "
         + rfc3339(p + "created_at") + ", " + rfc3339(p + "attempted_at")
         + ", " + rfc3339(p + "finished_at") + ", " + p + "errors::text, " + p
         + "args::text, " + p + "fence";
}

inline job_record read_job_record(const result& r, int row) {
  job_record j;
  j.id = r.int64(row, 0);
  j.queue = r.text(row, 1);
  j.kind = r.text(row, 2);
  j.tenant = r.text(row, 3);
  j.state = r.text(row, 4);
  j.attempt = static_cast<int>(r.int64(row, 5));
  j.max_attempts = static_cast<int>(r.int64(row, 6));
  j.priority = static_cast<int>(r.int64(row, 7));
  j.unique_key = r.text(row, 8);
  j.run_at = r.text(row, 9);
  j.created_at = r.text(row, 10);
  j.attempted_at = r.text(row, 11);
  j.finished_at = r.text(row, 12);
  j.errors = r.text(row, 13);
  j.args = r.text(row, 14);
  j.fence = r.int64(row, 15);
  return j;
}

/// SQL of the error entry appended to `errors` (alias `j`, old values):
/// {"attempt", "at", "error", "owner"} with the error text from `error_sql`.
inline std::string error_entry(std::string_view error_sql) {
  return "jsonb_build_array(jsonb_build_object('attempt', j.attempt, 'at', "
         + rfc3339("now()") + ", 'error', " + std::string{error_sql}
         + ", 'owner', j.lease_owner))";
}

} // namespace fp::storage::detail
