#include "fp/storage/directives.hpp"

#include <openssl/crypto.h>

#include "fp/runtime/crypto.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/webhook_signature.hpp"
#include "fp/storage/credentials.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"
#include "sql_text.hpp"

namespace fp::storage {

namespace {

std::string schema_of(std::string_view slug) {
  return quoted_tenant_schema(slug);
}

std::optional<std::string> opt(std::string_view s) {
  if (s.empty())
    return std::nullopt;
  return std::string{s};
}

std::string directive_columns() {
  return "id, type, params::text, state, COALESCE(idempotency_key, ''), "
         "correlation_id, COALESCE(causation_id, ''), "
         "COALESCE(last_signal_id, ''), actor_kind, actor_id, actor_display, "
         "approver_role, COALESCE(decided_by, ''), COALESCE(reason, ''), "
         "COALESCE(result::text, ''), COALESCE(error, ''), "
         "attempt_errors::text, "
         + detail::rfc3339("created_at") + ", " + detail::rfc3339("updated_at");
}

directive_record read_directive(const result& r, int row) {
  directive_record d;
  int c = 0;
  d.id = r.text(row, c++);
  d.type = r.text(row, c++);
  d.params = r.text(row, c++);
  d.state = r.text(row, c++);
  d.idempotency_key = r.text(row, c++);
  d.correlation_id = r.text(row, c++);
  d.causation_id = r.text(row, c++);
  d.last_signal_id = r.text(row, c++);
  d.actor.kind = r.text(row, c++);
  d.actor.id = r.text(row, c++);
  d.actor.display = r.text(row, c++);
  d.approver_role = r.text(row, c++);
  d.decided_by = r.text(row, c++);
  d.reason = r.text(row, c++);
  d.result = r.text(row, c++);
  d.error = r.text(row, c++);
  d.attempt_errors = r.text(row, c++);
  d.created_at = r.text(row, c++);
  d.updated_at = r.text(row, c++);
  return d;
}

std::string destination_columns(bool with_secret) {
  return std::string{"id, url, description, "}
         + (with_secret ? "secret" : "''")
         + ", COALESCE(installation_id::text, ''), "
         + detail::rfc3339("created_at");
}

webhook_destination read_destination(const result& r, int row) {
  webhook_destination w;
  w.id = r.text(row, 0);
  w.url = r.text(row, 1);
  w.description = r.text(row, 2);
  w.secret = r.text(row, 3);
  w.installation_id = r.text(row, 4);
  w.created_at = r.text(row, 5);
  return w;
}

/// Replaces the stored (maybe sealed) secret of `w` by its plaintext.
caf::error open_destination_secret(webhook_destination& w, std::string_view slug,
                                   const runtime::key_ring* keys) {
  // Rows written before secrets were sealed hold the plaintext until
  // `fleetprompt keys rotate` seals them.
  if (!runtime::is_sealed(w.secret))
    return caf::none;
  if (keys == nullptr)
    return runtime::make_error(runtime::errc::internal,
                               "webhook destination " + w.id
                                 + ": secret is sealed and no master key "
                                   "ring is configured");
  auto plain = keys->open(w.secret, webhook_secret_aad(slug, w.id));
  if (!plain)
    return runtime::make_error(runtime::errc::internal,
                               "webhook destination " + w.id + ": "
                                 + runtime::context_of(plain.error()));
  OPENSSL_cleanse(w.secret.data(), w.secret.size());
  w.secret = std::move(*plain);
  return caf::none;
}

/// The first destination row of `r` with its secret opened.
caf::expected<std::optional<webhook_destination>>
opened_destination(caf::expected<result> r, std::string_view slug,
                   const runtime::key_ring* keys) {
  auto row = detail::first_row(std::move(r), read_destination);
  if (!row || !*row)
    return row;
  if (auto err = open_destination_secret(**row, slug, keys))
    return err;
  return row;
}

directive_policy_row read_policy(const result& r, int row) {
  return {std::string{r.text(row, 0)}, std::string{r.text(row, 1)},
          std::string{r.text(row, 2)}, std::string{r.text(row, 3)}};
}

std::string policy_columns() {
  return "type, mode, approver_role, " + detail::rfc3339("updated_at");
}

} // namespace

// -- directives ---------------------------------------------------------------------

caf::expected<inserted_directive>
insert_directive(pg_session& db, std::string_view slug,
                 const directive_record& d) {
  const auto schema = schema_of(slug);
  // ON CONFLICT on the partial unique index: concurrent proposals with one
  // key insert once, the others find the winner below.
  auto r = db.exec(
    "INSERT INTO " + schema
      + ".directives (id, type, params, state, idempotency_key, "
        "correlation_id, causation_id, last_signal_id, actor_kind, actor_id, "
        "actor_display, approver_role) VALUES ($1, $2, $3::jsonb, $4, $5, $6, "
        "$7, $8, $9, $10, $11, $12) ON CONFLICT (idempotency_key) WHERE "
        "idempotency_key IS NOT NULL AND state <> 'failed' DO NOTHING "
        "RETURNING "
      + directive_columns(),
    {d.id, d.type, d.params, d.state, opt(d.idempotency_key), d.correlation_id,
     opt(d.causation_id), opt(d.last_signal_id), d.actor.kind, d.actor.id,
     d.actor.display, d.approver_role});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 1)
    return inserted_directive{read_directive(*r, 0), true};
  auto existing = db.exec("SELECT " + directive_columns() + " FROM " + schema
                            + ".directives WHERE idempotency_key = $1 AND "
                              "state <> 'failed'",
                          {d.idempotency_key});
  if (!existing)
    return std::move(existing.error());
  if (existing->rows() == 0)
    return runtime::make_error(runtime::errc::conflict,
                               "a directive with this idempotency key changed "
                               "concurrently; try again");
  return inserted_directive{read_directive(*existing, 0), false};
}

caf::expected<std::optional<directive_record>>
find_directive(pg_session& db, std::string_view slug, std::string_view id,
               bool lock) {
  std::optional<directive_record> none;
  if (!is_uuid(id))
    return none;
  auto r = db.exec("SELECT " + directive_columns() + " FROM " + schema_of(slug)
                     + ".directives WHERE id = $1"
                     + (lock ? " FOR UPDATE" : ""),
                   {std::string{id}});
  return detail::first_row(std::move(r), read_directive);
}

caf::expected<std::vector<directive_record>>
list_directives(pg_session& db, std::string_view slug,
                const directive_filter& f) {
  std::vector<directive_record> out;
  if (!f.before_id.empty() && !is_uuid(f.before_id))
    return runtime::make_error(runtime::errc::invalid_argument,
                               "invalid cursor");
  auto r = db.exec(
    "SELECT " + directive_columns() + " FROM " + schema_of(slug)
      + ".directives WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS "
        "NULL OR type = $2) AND ($3::uuid IS NULL OR id < $3::uuid) AND "
        "($5::text IS NULL OR correlation_id = $5) ORDER BY id DESC LIMIT $4",
    {opt(f.state), opt(f.type), opt(f.before_id), std::to_string(f.limit),
     opt(f.correlation_id)});
  if (!r)
    return std::move(r.error());
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(read_directive(*r, i));
  return out;
}

caf::error update_directive(pg_session& db, std::string_view slug,
                            std::string_view id, const directive_update& u) {
  auto r = db.exec(
    "UPDATE " + schema_of(slug)
      + ".directives SET state = $2, last_signal_id = COALESCE($3, "
        "last_signal_id), decided_by = COALESCE($4, decided_by), reason = "
        "COALESCE($5, reason), result = COALESCE($6::jsonb, result), error = "
        "COALESCE($7, error), updated_at = now() WHERE id = $1",
    {std::string{id}, u.state, opt(u.last_signal_id), opt(u.decided_by),
     opt(u.reason), opt(u.result), opt(u.error)});
  if (!r)
    return std::move(r.error());
  if (r->affected_rows() == 0)
    return runtime::make_error(runtime::errc::not_found, "directive not found");
  return caf::none;
}

caf::error append_directive_attempt_error(pg_session& db, std::string_view slug,
                                          std::string_view id, int attempt,
                                          std::string_view error) {
  auto r = db.exec(
    "UPDATE " + schema_of(slug)
      + ".directives SET attempt_errors = attempt_errors || "
        "jsonb_build_array(jsonb_build_object('attempt', $2::int, 'error', "
        "$3::text, 'at', "
      + detail::rfc3339("now()")
      + ")), error = $3, updated_at = now() WHERE id = $1",
    {std::string{id}, std::to_string(attempt), std::string{error}});
  if (!r)
    return std::move(r.error());
  return caf::none;
}

// -- policies -----------------------------------------------------------------------

caf::expected<std::optional<directive_policy_row>>
find_directive_policy(pg_session& db, std::string_view slug,
                      std::string_view type) {
  auto r = db.exec("SELECT " + policy_columns() + " FROM " + schema_of(slug)
                     + ".directive_policies WHERE type = $1",
                   {std::string{type}});
  return detail::first_row(std::move(r), read_policy);
}

caf::expected<std::vector<directive_policy_row>>
list_directive_policies(pg_session& db, std::string_view slug) {
  auto r = db.exec("SELECT " + policy_columns() + " FROM " + schema_of(slug)
                   + ".directive_policies ORDER BY type");
  if (!r)
    return std::move(r.error());
  std::vector<directive_policy_row> out;
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(read_policy(*r, i));
  return out;
}

caf::expected<directive_policy_row>
upsert_directive_policy(pg_session& db, std::string_view slug,
                        const directive_policy_row& row) {
  auto r = db.exec("INSERT INTO " + schema_of(slug)
                     + ".directive_policies (type, mode, approver_role) "
                       "VALUES ($1, $2, $3) ON CONFLICT (type) DO UPDATE SET "
                       "mode = EXCLUDED.mode, approver_role = "
                       "EXCLUDED.approver_role, updated_at = now() RETURNING "
                     + policy_columns(),
                   {row.type, row.mode, row.approver_role});
  if (!r)
    return std::move(r.error());
  return read_policy(*r, 0);
}

// -- webhook destinations -----------------------------------------------------------

std::string new_webhook_secret() {
  unsigned char bytes[24];
  runtime::random_bytes(bytes, sizeof(bytes));
  return "whsec_"
         + runtime::base64_encode(std::string_view{
           reinterpret_cast<const char*>(bytes), sizeof(bytes)});
}

caf::expected<webhook_destination>
create_webhook_destination(pg_session& db, std::string_view slug,
                           const runtime::key_ring* keys, std::string_view url,
                           std::string_view description, std::string_view secret,
                           std::string_view installation_id) {
  std::optional<std::string> installation;
  if (!installation_id.empty()) {
    if (!is_uuid(installation_id))
      return runtime::make_error(runtime::errc::invalid_argument,
                                 "installation id must be a UUID");
    installation = std::string{installation_id};
  }
  std::string plain;
  if (secret.empty()) {
    plain = new_webhook_secret();
  } else {
    auto key = runtime::webhook_secret_key(secret);
    if (!key || secret.rfind("whsec_", 0) != 0)
      return runtime::make_error(runtime::errc::invalid_argument,
                                 "webhook secret must be whsec_ followed by "
                                 "base64");
    OPENSSL_cleanse(key->data(), key->size());
    plain = std::string{secret};
  }
  auto id = runtime::new_uuid_v7();
  auto stored = keys != nullptr ? keys->seal(plain, webhook_secret_aad(slug, id))
                                : plain;
  auto r = db.exec("INSERT INTO " + schema_of(slug)
                     + ".webhook_destinations (id, url, description, secret, "
                       "installation_id) VALUES ($1, $2, $3, $4, $5) ON "
                       "CONFLICT (url) DO NOTHING RETURNING "
                     + destination_columns(false),
                   {id, std::string{url}, std::string{description},
                    std::move(stored), std::move(installation)});
  if (!r) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return std::move(r.error());
  }
  if (r->rows() == 0) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return runtime::make_error(runtime::errc::conflict,
                               "this URL is already a webhook destination");
  }
  auto out = read_destination(*r, 0);
  out.secret = std::move(plain);
  return out;
}

caf::expected<std::vector<webhook_destination>>
list_webhook_destinations(pg_session& db, std::string_view slug) {
  auto r = db.exec("SELECT " + destination_columns(false) + " FROM "
                   + schema_of(slug)
                   + ".webhook_destinations ORDER BY created_at, id");
  if (!r)
    return std::move(r.error());
  std::vector<webhook_destination> out;
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(read_destination(*r, i));
  return out;
}

caf::expected<bool> delete_webhook_destination(pg_session& db,
                                               std::string_view slug,
                                               std::string_view id) {
  if (!is_uuid(id))
    return false;
  auto r = db.exec("DELETE FROM " + schema_of(slug)
                     + ".webhook_destinations WHERE id = $1",
                   {std::string{id}});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() > 0;
}

caf::expected<std::optional<webhook_destination>>
find_webhook_destination(pg_session& db, std::string_view slug,
                         const runtime::key_ring* keys, std::string_view id) {
  if (!is_uuid(id))
    return std::optional<webhook_destination>{};
  auto r = db.exec("SELECT " + destination_columns(true) + " FROM "
                     + schema_of(slug) + ".webhook_destinations WHERE id = $1",
                   {std::string{id}});
  return opened_destination(std::move(r), slug, keys);
}

caf::expected<std::optional<webhook_destination>>
match_webhook_destination(pg_session& db, std::string_view slug,
                          const runtime::key_ring* keys, std::string_view url) {
  // Exact prefix match (no LIKE: '%' and '_' in URLs are no wildcards).
  auto r = db.exec("SELECT " + destination_columns(true) + " FROM "
                     + schema_of(slug)
                     + ".webhook_destinations WHERE left($1, length(url)) = "
                       "url ORDER BY length(url) DESC LIMIT 1",
                   {std::string{url}});
  return opened_destination(std::move(r), slug, keys);
}

// -- JSON members -------------------------------------------------------------------

caf::expected<std::vector<json_member>>
json_members(pg_session& db, std::string_view json,
             const std::vector<std::string>& names) {
  // A savepoint keeps the caller's transaction usable when `json` does not
  // parse.
  if (auto sp = db.exec("SAVEPOINT json_members"); !sp)
    return std::move(sp.error());
  auto r = db.exec(
    "SELECT n, v IS NOT NULL, COALESCE(jsonb_typeof(v), ''), "
    "COALESCE(CASE jsonb_typeof(v) WHEN 'string' THEN v #>> '{}' ELSE v::text "
    "END, '') FROM (SELECT $1::jsonb AS doc) d, unnest($2::text[]) WITH "
    "ORDINALITY AS k(n, i) LEFT JOIN LATERAL (SELECT CASE jsonb_typeof(d.doc) "
    "WHEN 'object' THEN d.doc -> k.n END AS v) x ON true WHERE "
    "jsonb_typeof(d.doc) = 'object' ORDER BY i",
    {std::string{json}, detail::word_array(names)});
  if (!r) {
    if (code_of(r.error()) != errc::query_failed)
      return std::move(r.error());
    if (auto rb = db.exec("ROLLBACK TO SAVEPOINT json_members"); !rb)
      return std::move(rb.error());
    return runtime::make_error(runtime::errc::invalid_argument,
                               "not a JSON object");
  }
  if (auto rel = db.exec("RELEASE SAVEPOINT json_members"); !rel)
    return std::move(rel.error());
  if (r->rows() != static_cast<int>(names.size()))
    return runtime::make_error(runtime::errc::invalid_argument,
                               "not a JSON object");
  std::vector<json_member> out;
  for (int i = 0; i < r->rows(); ++i)
    out.push_back({r->boolean(i, 1), std::string{r->text(i, 2)},
                   std::string{r->text(i, 3)}});
  return out;
}

} // namespace fp::storage
