#include "fp/storage/credentials.hpp"

#include <openssl/crypto.h>

#include "fp/runtime/errc.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"
#include "sql_text.hpp"

namespace fp::storage {

namespace {

std::string schema_of(std::string_view slug) {
  return quoted_tenant_schema(slug);
}

std::string info_columns() {
  return "field, key_id, fingerprint, " + detail::rfc3339("updated_at");
}

credential_info read_info(const result& r, int row) {
  return {std::string{r.text(row, 0)}, std::string{r.text(row, 1)},
          std::string{r.text(row, 2)}, std::string{r.text(row, 3)}};
}

/// Wipes a plaintext copy once it is no longer needed.
void wipe(std::string& s) {
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

/// True when the tenant's schema has the credentials table (tenant
/// migration 0006 applied).
caf::expected<bool> has_credentials_table(pg_session& db, std::string_view slug) {
  auto r = db.exec("SELECT to_regclass($1) IS NOT NULL",
                   {schema_of(slug) + ".credentials"});
  if (!r)
    return std::move(r.error());
  return r->boolean(0, 0);
}

caf::error no_installation() {
  return runtime::make_error(runtime::errc::invalid_argument,
                             "installation id must be a UUID");
}

} // namespace

std::string credential_aad(std::string_view slug, std::string_view installation_id,
                           std::string_view field) {
  std::string out = "org_";
  out += slug;
  out += "/credentials/";
  out += installation_id;
  out += '/';
  out += field;
  return out;
}

std::string webhook_secret_aad(std::string_view slug,
                               std::string_view destination_id) {
  std::string out = "org_";
  out += slug;
  out += "/webhook_destinations/";
  out += destination_id;
  return out;
}

caf::expected<credential_info>
put_credential(pg_session& db, std::string_view slug, const runtime::key_ring& keys,
               std::string_view installation_id, std::string_view field,
               std::string_view plaintext) {
  if (!is_uuid(installation_id))
    return no_installation();
  if (field.empty())
    return runtime::make_error(runtime::errc::invalid_argument,
                               "credential field must not be empty");
  auto sealed = keys.seal(plaintext,
                          credential_aad(slug, installation_id, field));
  auto r = db.exec("INSERT INTO " + schema_of(slug)
                     + ".credentials (installation_id, field, ciphertext, "
                       "key_id, fingerprint) VALUES ($1, $2, $3, $4, $5) ON "
                       "CONFLICT (installation_id, field) DO UPDATE SET "
                       "ciphertext = EXCLUDED.ciphertext, key_id = "
                       "EXCLUDED.key_id, fingerprint = EXCLUDED.fingerprint, "
                       "updated_at = now() RETURNING "
                     + info_columns(),
                   {std::string{installation_id}, std::string{field},
                    std::move(sealed), keys.active_id(),
                    keys.fingerprint(plaintext)});
  if (!r)
    return std::move(r.error());
  return read_info(*r, 0);
}

caf::expected<std::optional<std::string>>
get_credential(pg_session& db, std::string_view slug, const runtime::key_ring& keys,
               std::string_view installation_id, std::string_view field) {
  if (!is_uuid(installation_id))
    return std::optional<std::string>{};
  auto r = db.exec("SELECT ciphertext FROM " + schema_of(slug)
                     + ".credentials WHERE installation_id = $1 AND field = $2",
                   {std::string{installation_id}, std::string{field}});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return std::optional<std::string>{};
  auto plain
    = keys.open(r->text(0, 0), credential_aad(slug, installation_id, field));
  if (!plain)
    return runtime::make_error(runtime::code_of(plain.error()),
                               "credential '" + std::string{field}
                                 + "': " + runtime::context_of(plain.error()));
  return std::optional<std::string>{std::move(*plain)};
}

caf::expected<std::vector<credential_info>>
list_credentials(pg_session& db, std::string_view slug,
                 std::string_view installation_id) {
  std::vector<credential_info> out;
  if (!is_uuid(installation_id))
    return out;
  auto r = db.exec("SELECT " + info_columns() + " FROM " + schema_of(slug)
                     + ".credentials WHERE installation_id = $1 ORDER BY field",
                   {std::string{installation_id}});
  if (!r)
    return std::move(r.error());
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(read_info(*r, i));
  return out;
}

caf::expected<int64_t> delete_credentials(pg_session& db, std::string_view slug,
                                          std::string_view installation_id) {
  if (!is_uuid(installation_id))
    return int64_t{0};
  auto r = db.exec("DELETE FROM " + schema_of(slug)
                     + ".credentials WHERE installation_id = $1",
                   {std::string{installation_id}});
  if (!r)
    return std::move(r.error());
  return r->affected_rows();
}

caf::expected<reencrypt_report>
reencrypt_tenant(pg_session& db, std::string_view slug,
                 const runtime::key_ring& keys) {
  reencrypt_report report;
  const auto schema = schema_of(slug);
  const auto& active = keys.active_id();
  auto has_table = has_credentials_table(db, slug);
  if (!has_table)
    return std::move(has_table.error());
  // A tenant not yet migrated to the credentials table has only webhook
  // secrets to re-seal.
  caf::expected<result> creds{result{}};
  if (*has_table)
    creds = db.exec("SELECT installation_id::text, field, ciphertext FROM "
                      + schema
                      + ".credentials WHERE key_id <> $1 OR left(ciphertext, "
                        "length($2)) <> $2 ORDER BY installation_id, field FOR "
                        "UPDATE",
                    {active, std::string{runtime::sealed_prefix} + active + ":"});
  if (!creds)
    return std::move(creds.error());
  for (int i = 0; i < creds->rows(); ++i) {
    auto inst = creds->text(i, 0);
    auto field = creds->text(i, 1);
    auto aad = credential_aad(slug, inst, field);
    auto plain = keys.open(creds->text(i, 2), aad);
    if (!plain) {
      report.unreadable.push_back("credentials/" + std::string{inst} + "/"
                                  + std::string{field});
      continue;
    }
    auto r = db.exec("UPDATE " + schema
                       + ".credentials SET ciphertext = $3, key_id = $4, "
                         "fingerprint = $5, updated_at = now() WHERE "
                         "installation_id = $1 AND field = $2",
                     {std::string{inst}, std::string{field},
                      keys.seal(*plain, aad), active, keys.fingerprint(*plain)});
    wipe(*plain);
    if (!r)
      return std::move(r.error());
    ++report.credentials;
  }
  auto hooks = db.exec("SELECT id::text, secret FROM " + schema
                         + ".webhook_destinations WHERE left(secret, length($1)) "
                           "<> $1 ORDER BY id FOR UPDATE",
                       {std::string{runtime::sealed_prefix} + active + ":"});
  if (!hooks)
    return std::move(hooks.error());
  for (int i = 0; i < hooks->rows(); ++i) {
    auto id = hooks->text(i, 0);
    auto stored = hooks->text(i, 1);
    auto aad = webhook_secret_aad(slug, id);
    std::string plain;
    if (runtime::is_sealed(stored)) {
      auto opened = keys.open(stored, aad);
      if (!opened) {
        report.unreadable.push_back("webhook_destinations/" + std::string{id});
        continue;
      }
      plain = std::move(*opened);
    } else {
      // A row written before secrets were sealed.
      plain = std::string{stored};
    }
    auto r = db.exec("UPDATE " + schema
                       + ".webhook_destinations SET secret = $2 WHERE id = $1",
                     {std::string{id}, keys.seal(plain, aad)});
    wipe(plain);
    if (!r)
      return std::move(r.error());
    ++report.webhook_secrets;
  }
  return report;
}

caf::expected<std::vector<sealed_count>> count_sealed(pg_session& db,
                                                      std::string_view slug) {
  const auto schema = schema_of(slug);
  auto has_table = has_credentials_table(db, slug);
  if (!has_table)
    return std::move(has_table.error());
  std::string sql
    = "SELECT k, sum(c)::bigint, sum(w)::bigint FROM (SELECT CASE WHEN "
      "left(secret, length($1)) = $1 THEN split_part(secret, ':', 2) ELSE '' "
      "END AS k, 0 AS c, 1 AS w FROM "
      + schema + ".webhook_destinations";
  if (*has_table)
    sql += " UNION ALL SELECT key_id, 1, 0 FROM " + schema + ".credentials";
  sql += ") v GROUP BY k ORDER BY k";
  auto r = db.exec(sql, {std::string{runtime::sealed_prefix}});
  if (!r)
    return std::move(r.error());
  std::vector<sealed_count> out;
  for (int i = 0; i < r->rows(); ++i)
    out.push_back({std::string{r->text(i, 0)}, r->int64(i, 1), r->int64(i, 2)});
  return out;
}

} // namespace fp::storage
