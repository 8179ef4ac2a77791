#include "fp/storage/idempotency.hpp"

#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/pg_session.hpp"

namespace fp::storage {

namespace {

/// The quoted tenant schema of `slug`, or an error for a slug that is not
/// one (callers pass validated slugs; this keeps SQL safe regardless).
caf::expected<std::string> table_of(std::string_view slug) {
  bool ok = !slug.empty() && slug.size() <= 48 && slug[0] >= 'a'
            && slug[0] <= 'z';
  for (char c : slug)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!ok)
    return runtime::make_error(runtime::errc::invalid_argument,
                               "invalid organization slug");
  return "\"org_" + std::string{slug} + "\".idempotency_keys";
}

std::string seconds_of(std::chrono::milliseconds d) {
  return std::to_string(static_cast<double>(d.count()) / 1000.0);
}

} // namespace

caf::expected<idempotency_claim>
claim_idempotency_key(pg_session& db, const idempotency_ref& ref,
                      std::string_view route, std::string_view request_hash,
                      std::chrono::milliseconds lease) {
  auto table = table_of(ref.slug);
  if (!table)
    return std::move(table.error());
  // Expiry rides on the scope's own claims: no sweeper needed, and the
  // scope's rows are found through the primary key's prefix.
  auto pruned = db.exec("DELETE FROM " + *table
                          + " WHERE scope = $1 AND created_at < now() - "
                            "make_interval(secs => $2::double precision)",
                        {ref.scope, seconds_of(idempotency_retention)});
  if (!pruned)
    return std::move(pruned.error());
  idempotency_claim out;
  // A row seen by the INSERT may be released before the SELECT sees it;
  // then the INSERT is tried again (each statement has a fresh snapshot).
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto token = runtime::new_uuid_v7();
    auto ins = db.exec("INSERT INTO " + *table
                         + " (scope, key, route, request_hash, claim_token) "
                           "VALUES ($1, $2, $3, $4, $5) "
                           "ON CONFLICT (scope, key) DO NOTHING RETURNING 1",
                       {ref.scope, ref.key, std::string{route},
                        std::string{request_hash}, token});
    if (!ins)
      return std::move(ins.error());
    if (ins->rows() == 1) {
      out.what = idempotency_claim::outcome::claimed;
      out.token = std::move(token);
      return out;
    }
    auto row = db.exec("SELECT state, request_hash, COALESCE(status, 0), "
                       "COALESCE(content_type, ''), COALESCE(body, ''), "
                       "created_at < now() - make_interval(secs => "
                       "$3::double precision) FROM "
                         + *table
                         + " WHERE scope = $1 AND key = $2 FOR UPDATE",
                       {ref.scope, ref.key, seconds_of(lease)});
    if (!row)
      return std::move(row.error());
    if (row->rows() == 0)
      continue;
    if (row->text(0, 1) != request_hash) {
      out.what = idempotency_claim::outcome::mismatch;
      return out;
    }
    if (row->text(0, 0) == "completed") {
      out.what = idempotency_claim::outcome::completed;
      out.status = static_cast<int>(row->int64(0, 2));
      out.content_type = row->text(0, 3);
      out.body = row->text(0, 4);
      return out;
    }
    if (!row->boolean(0, 5)) {
      out.what = idempotency_claim::outcome::in_flight;
      return out;
    }
    // The first runner outlived the lease (crashed or timed out): take the
    // claim over under a new token so its late answer cannot land.
    auto take = db.exec("UPDATE " + *table
                          + " SET claim_token = $3, created_at = now() "
                            "WHERE scope = $1 AND key = $2",
                        {ref.scope, ref.key, token});
    if (!take)
      return std::move(take.error());
    out.what = idempotency_claim::outcome::claimed;
    out.token = std::move(token);
    return out;
  }
  out.what = idempotency_claim::outcome::in_flight;
  return out;
}

caf::expected<bool>
complete_idempotency_key(pg_session& db, const idempotency_ref& ref,
                         std::string_view token, int status,
                         std::string_view content_type, std::string_view body) {
  auto table = table_of(ref.slug);
  if (!table)
    return std::move(table.error());
  auto r = db.exec("UPDATE " + *table
                     + " SET state = 'completed', status = $4, "
                       "content_type = $5, body = $6, completed_at = now() "
                       "WHERE scope = $1 AND key = $2 AND claim_token = $3 "
                       "AND state = 'in_flight'",
                   {ref.scope, ref.key, std::string{token},
                    std::to_string(status), std::string{content_type},
                    std::string{body}});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() > 0;
}

caf::expected<bool> release_idempotency_key(pg_session& db,
                                            const idempotency_ref& ref,
                                            std::string_view token) {
  auto table = table_of(ref.slug);
  if (!table)
    return std::move(table.error());
  auto r = db.exec("DELETE FROM " + *table
                     + " WHERE scope = $1 AND key = $2 AND claim_token = $3 "
                       "AND state = 'in_flight'",
                   {ref.scope, ref.key, std::string{token}});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() > 0;
}

std::string idempotency_request_hash(std::string_view method,
                                     std::string_view path,
                                     std::string_view body) {
  std::string text;
  text.reserve(method.size() + path.size() + body.size() + 2);
  text.append(method).append("\n").append(path).append("\n").append(body);
  return runtime::sha256_hex(text);
}

} // namespace fp::storage
