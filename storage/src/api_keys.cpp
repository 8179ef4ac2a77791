#include "fp/storage/api_keys.hpp"

#include <algorithm>
#include <cstdlib>

#include "fp/runtime/crypto.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/users.hpp"
#include "sql_text.hpp"

namespace fp::storage {

namespace {

constexpr std::size_t prefix_size = 12; // "fpk_" + 8 hex

std::string new_prefix() {
  unsigned char bytes[4];
  runtime::random_bytes(bytes, sizeof(bytes));
  return "fpk_" + runtime::to_hex(bytes, sizeof(bytes));
}

std::string record_columns() {
  return "id, org_id, name, prefix, scopes, " + detail::rfc3339("created_at")
         + ", " + detail::rfc3339("expires_at") + ", "
         + detail::rfc3339("last_used_at") + ", revoked_at IS NOT NULL";
}

api_key_record read_record(const result& r, int row) {
  api_key_record k;
  k.id = r.text(row, 0);
  k.org_id = r.text(row, 1);
  k.name = r.text(row, 2);
  k.prefix = r.text(row, 3);
  k.scopes = detail::parse_word_array(r.text(row, 4));
  k.created_at = r.text(row, 5);
  k.expires_at = r.text(row, 6);
  k.last_used_at = r.text(row, 7);
  k.revoked = r.boolean(row, 8);
  return k;
}

} // namespace

bool valid_scope(std::string_view scope) noexcept {
  return scope == "read" || scope == "write" || scope == "admin"
         || scope == "publish";
}

caf::expected<issued_api_key>
create_api_key(pg_session& db, std::string_view org_id,
               std::string_view created_by, std::string_view name,
               const std::vector<std::string>& scopes,
               std::string_view expires_at) {
  std::optional<std::string> expires;
  if (!expires_at.empty()) {
    // PostgreSQL parses it; a savepoint keeps the transaction usable when
    // the text is no time at all.
    if (auto sp = db.exec("SAVEPOINT expires_check"); !sp)
      return std::move(sp.error());
    auto ok = db.exec_prepared("api_keys.check_time",
                               "SELECT $1::timestamptz",
                               {std::string{expires_at}});
    if (!ok) {
      if (code_of(ok.error()) != errc::query_failed)
        return std::move(ok.error());
      if (auto rb = db.exec("ROLLBACK TO SAVEPOINT expires_check"); !rb)
        return std::move(rb.error());
      return runtime::make_error(runtime::errc::invalid_argument,
                                 "expires_at must be an RFC 3339 time");
    }
    if (auto rel = db.exec("RELEASE SAVEPOINT expires_check"); !rel)
      return std::move(rel.error());
    expires = std::string{expires_at};
  }
  auto secret = runtime::new_secret_token(32);
  std::optional<std::string> creator;
  if (!created_by.empty())
    creator = std::string{created_by};
  // A 32-bit prefix can collide; try a few (ON CONFLICT keeps the
  // transaction usable).
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto prefix = new_prefix();
    auto r = db.exec_prepared(
      "api_keys.create",
      "INSERT INTO public.api_keys (id, org_id, name, prefix, secret_hash, "
      "scopes, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
      "$8) ON CONFLICT (prefix) DO NOTHING RETURNING "
        + record_columns(),
      {runtime::new_uuid_v7(), std::string{org_id}, std::string{name}, prefix,
       runtime::sha256_hex(secret), detail::word_array(scopes), creator,
       expires});
    if (!r)
      return std::move(r.error());
    if (r->rows() == 1)
      return issued_api_key{read_record(*r, 0), prefix + "_" + secret};
  }
  return runtime::make_error(runtime::errc::internal,
                             "could not allocate an API key prefix");
}

caf::expected<std::vector<api_key_record>> list_api_keys(pg_session& db,
                                                         std::string_view org_id) {
  auto r = db.exec_prepared("api_keys.list",
                            "SELECT " + record_columns()
                              + " FROM public.api_keys WHERE org_id = $1 "
                                "ORDER BY created_at DESC, id DESC",
                            {std::string{org_id}});
  if (!r)
    return std::move(r.error());
  std::vector<api_key_record> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(read_record(*r, i));
  return out;
}

caf::expected<bool> revoke_api_key(pg_session& db, std::string_view org_id,
                                   std::string_view id) {
  if (!is_uuid(id))
    return false;
  auto r = db.exec_prepared(
    "api_keys.revoke",
    "UPDATE public.api_keys SET revoked_at = COALESCE(revoked_at, now()) "
    "WHERE id = $1 AND org_id = $2",
    {std::string{id}, std::string{org_id}});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() > 0;
}

caf::expected<std::optional<issued_api_key>>
rotate_api_key(pg_session& db, std::string_view org_id, std::string_view id,
               std::chrono::milliseconds grace) {
  if (!is_uuid(id))
    return std::optional<issued_api_key>{};
  auto secret = runtime::new_secret_token(32);
  auto r = db.exec_prepared(
    "api_keys.rotate",
    "UPDATE public.api_keys SET previous_secret_hash = secret_hash, "
    "previous_valid_until = now() + make_interval(secs => $3::double "
    "precision), secret_hash = $4 "
    "WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL RETURNING "
      + record_columns(),
    {std::string{id}, std::string{org_id},
     std::to_string(static_cast<double>(grace.count()) / 1000.0),
     runtime::sha256_hex(secret)});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return std::optional<issued_api_key>{};
  auto rec = read_record(*r, 0);
  auto key = rec.prefix + "_" + secret;
  return std::optional<issued_api_key>{issued_api_key{std::move(rec), key}};
}

caf::expected<std::optional<usable_api_key>>
find_usable_api_key(pg_session& db, std::string_view presented) {
  std::optional<usable_api_key> none;
  if (presented.size() <= prefix_size + 1 || presented.substr(0, 4) != "fpk_"
      || presented[prefix_size] != '_')
    return none;
  auto prefix = presented.substr(0, prefix_size);
  auto secret_hash = runtime::sha256_hex(presented.substr(prefix_size + 1));
  auto r = db.exec_prepared(
    "api_keys.find_usable",
    "SELECT k.id, k.org_id, o.slug, k.created_by, COALESCE(u.email, ''), "
    "k.scopes, k.secret_hash, COALESCE(k.previous_secret_hash, ''), "
    "COALESCE(k.previous_valid_until > now(), false), "
    "(k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute'), "
    "EXTRACT(EPOCH FROM k.expires_at - now()) * 1000, "
    "EXTRACT(EPOCH FROM k.previous_valid_until - now()) * 1000 "
    "FROM public.api_keys k JOIN public.organizations o "
    "  ON o.id = k.org_id AND o.state = 'active' "
    "LEFT JOIN public.users u ON u.id = k.created_by "
    "WHERE k.prefix = $1 AND k.revoked_at IS NULL "
    "  AND (k.expires_at IS NULL OR k.expires_at > now())",
    {std::string{prefix}});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return none;
  bool current = runtime::constant_time_equal(secret_hash, r->text(0, 6));
  bool previous = r->boolean(0, 8)
                  && runtime::constant_time_equal(secret_hash, r->text(0, 7));
  if (!current && !previous)
    return none;
  usable_api_key k;
  k.id = r->text(0, 0);
  k.org_id = r->text(0, 1);
  k.org_slug = r->text(0, 2);
  k.user_id = r->text(0, 3);
  k.email = r->text(0, 4);
  k.scopes = detail::parse_word_array(r->text(0, 5));
  auto millis_left = [&](int col) -> std::optional<std::chrono::milliseconds> {
    if (r->is_null(0, col))
      return std::nullopt;
    auto ms = std::strtod(std::string{r->text(0, col)}.c_str(), nullptr);
    return std::chrono::milliseconds{
      static_cast<std::chrono::milliseconds::rep>(std::max(ms, 0.0))};
  };
  k.usable_for = millis_left(10);
  // A previous secret is usable only until the grace ends (the current
  // one may match too, in which case the grace does not apply).
  if (!current)
    if (auto grace = millis_left(11); grace && (!k.usable_for || *grace < *k.usable_for))
      k.usable_for = grace;
  if (r->boolean(0, 9)) {
    if (auto err = touch_api_key(db, k.id))
      return err;
    k.touched = true;
  }
  return std::optional<usable_api_key>{std::move(k)};
}

caf::error touch_api_key(pg_session& db, std::string_view id) {
  auto r = db.exec_prepared(
    "api_keys.touch_if_old",
    "UPDATE public.api_keys SET last_used_at = now() WHERE id = $1::uuid "
    "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
    {std::string{id}});
  if (!r)
    return std::move(r.error());
  return caf::none;
}

} // namespace fp::storage
