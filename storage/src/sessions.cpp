#include "fp/storage/sessions.hpp"

#include "fp/runtime/crypto.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/pg_session.hpp"
#include "sql_text.hpp"

namespace fp::storage {

caf::expected<new_session> create_session(pg_session& db,
                                          std::string_view user_id,
                                          std::chrono::milliseconds ttl,
                                          std::string_view remote_address,
                                          std::string_view replaced_token) {
  if (!replaced_token.empty()) {
    auto r = db.exec_prepared(
      "sessions.revoke_token",
      "UPDATE public.sessions SET revoked_at = now() "
      "WHERE token_hash = $1 AND revoked_at IS NULL",
      {runtime::sha256_hex(replaced_token)});
    if (!r)
      return std::move(r.error());
  }
  new_session s;
  s.id = runtime::new_uuid_v7();
  s.token = runtime::new_secret_token(32);
  s.csrf_token = runtime::new_secret_token(32);
  auto r = db.exec_prepared(
    "sessions.create",
    "INSERT INTO public.sessions (id, token_hash, user_id, csrf_hash, "
    "expires_at, remote_addr) VALUES ($1, $2, $3, $4, "
    "now() + make_interval(secs => $5::double precision), $6) RETURNING "
      + detail::rfc3339("expires_at"),
    {s.id, runtime::sha256_hex(s.token), std::string{user_id},
     runtime::sha256_hex(s.csrf_token),
     std::to_string(static_cast<double>(ttl.count()) / 1000.0),
     std::string{remote_address}});
  if (!r)
    return std::move(r.error());
  s.expires_at = r->text(0, 0);
  return s;
}

caf::error revoke_session(pg_session& db, std::string_view id) {
  auto r = db.exec_prepared("sessions.revoke",
                            "UPDATE public.sessions SET revoked_at = now() "
                            "WHERE id = $1 AND revoked_at IS NULL",
                            {std::string{id}});
  return r ? caf::error{} : std::move(r.error());
}

caf::expected<std::optional<active_session>>
find_active_session(pg_session& db, std::string_view token) {
  auto r = db.exec_prepared(
    "sessions.find_active",
    "SELECT s.id, u.id, u.email, u.platform_admin, s.csrf_hash, "
      + detail::rfc3339("s.expires_at")
      + ", o.id, o.slug, m.role "
        "FROM public.sessions s JOIN public.users u ON u.id = s.user_id "
        "LEFT JOIN public.organizations o "
        "  ON o.id = s.selected_org_id AND o.state = 'active' "
        "LEFT JOIN public.memberships m "
        "  ON m.org_id = o.id AND m.user_id = u.id "
        "WHERE s.token_hash = $1 AND s.revoked_at IS NULL "
        "  AND s.expires_at > now() AND u.disabled_at IS NULL",
    {runtime::sha256_hex(token)});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return std::optional<active_session>{};
  active_session s;
  s.id = r->text(0, 0);
  s.user_id = r->text(0, 1);
  s.email = r->text(0, 2);
  s.platform_admin = r->boolean(0, 3);
  s.csrf_hash = r->text(0, 4);
  s.expires_at = r->text(0, 5);
  if (!r->is_null(0, 8)) {
    s.org_id = r->text(0, 6);
    s.org_slug = r->text(0, 7);
    s.org_role = r->text(0, 8);
  }
  return std::optional<active_session>{std::move(s)};
}

caf::expected<std::optional<membership_record>>
find_membership(pg_session& db, std::string_view user_id,
                std::string_view slug) {
  auto r = db.exec_prepared(
    "memberships.find",
    "SELECT o.id, o.slug, m.role FROM public.organizations o "
    "JOIN public.memberships m ON m.org_id = o.id AND m.user_id = $1 "
    "WHERE o.slug = $2 AND o.state = 'active'",
    {std::string{user_id}, std::string{slug}});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return std::optional<membership_record>{};
  return std::optional<membership_record>{
    membership_record{std::string{r->text(0, 0)}, std::string{r->text(0, 1)},
                      std::string{r->text(0, 2)}}};
}

caf::error select_org(pg_session& db, std::string_view session_id,
                      std::string_view org_id) {
  auto r = db.exec_prepared(
    "sessions.select_org",
    "UPDATE public.sessions SET selected_org_id = $2 WHERE id = $1",
    {std::string{session_id}, std::string{org_id}});
  return r ? caf::error{} : std::move(r.error());
}

} // namespace fp::storage
