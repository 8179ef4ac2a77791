#include "fp/storage/login_throttle.hpp"

#include "fp/storage/pg_session.hpp"
#include "fp/storage/users.hpp"

namespace fp::storage {

throttle_keys make_throttle_keys(std::string_view email,
                                 std::string_view remote_address) {
  // The server writes "<address>:<port>" (IPv6 unbracketed, e.g.
  // "::1:5000"): everything before the last colon is the address. The port
  // must go, or each new connection would count as a new address.
  auto host = remote_address;
  if (auto colon = host.rfind(':'); colon != std::string_view::npos)
    host = host.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return {"account:" + normalize_email(email), "addr:" + std::string{host}};
}

caf::expected<int64_t> login_wait_seconds(pg_session& db,
                                          const throttle_keys& keys,
                                          const throttle_limits& limits) {
  auto r = db.exec_prepared(
    "throttle.wait",
    "SELECT COALESCE(max(ceil(extract(epoch FROM window_started_at "
    "  + make_interval(secs => $3::int) - now()))), 0)::bigint "
    "FROM public.login_throttle "
    "WHERE window_started_at + make_interval(secs => $3::int) > now() "
    "  AND ((key = $1 AND failures >= $4::int) "
    "    OR (key = $2 AND failures >= $5::int))",
    {keys.account, keys.address, std::to_string(limits.window.count()),
     std::to_string(limits.account_failures),
     std::to_string(limits.address_failures)});
  if (!r)
    return std::move(r.error());
  auto wait = r->rows() > 0 ? r->int64(0, 0) : 0;
  return wait > 0 ? wait : int64_t{0};
}

caf::error record_login_failure(pg_session& db, const throttle_keys& keys,
                                const throttle_limits& limits) {
  for (const auto* key : {&keys.account, &keys.address}) {
    auto r = db.exec_prepared(
      "throttle.fail",
      "INSERT INTO public.login_throttle AS t (key, failures, "
      "window_started_at) VALUES ($1, 1, now()) "
      "ON CONFLICT (key) DO UPDATE SET "
      "  failures = CASE WHEN t.window_started_at "
      "    + make_interval(secs => $2::int) <= now() THEN 1 "
      "    ELSE t.failures + 1 END, "
      "  window_started_at = CASE WHEN t.window_started_at "
      "    + make_interval(secs => $2::int) <= now() THEN now() "
      "    ELSE t.window_started_at END",
      {*key, std::to_string(limits.window.count())});
    if (!r)
      return std::move(r.error());
  }
  return caf::none;
}

caf::error clear_account_failures(pg_session& db, const throttle_keys& keys) {
  auto r = db.exec_prepared("throttle.clear",
                            "DELETE FROM public.login_throttle WHERE key = $1",
                            {keys.account});
  return r ? caf::error{} : std::move(r.error());
}

} // namespace fp::storage
