#pragma once

// Counting failed logins in public.login_throttle, per account
// ("account:<normalized email>") and per client address ("addr:<ip>").

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace fp::storage {

class pg_session;

/// Failures allowed within one window before further attempts are refused.
struct throttle_limits {
  int account_failures = 5;
  int address_failures = 20;
  std::chrono::seconds window{15 * 60};
};

/// The throttle keys of one login attempt.
struct throttle_keys {
  std::string account;
  std::string address;
};

/// Keys for `email` (normalized) and the peer `remote_address`
/// ("address:port" as the server writes it; the port is dropped).
throttle_keys make_throttle_keys(std::string_view email,
                                 std::string_view remote_address);

/// Seconds until a login with `keys` may be tried again; 0 when allowed.
caf::expected<int64_t> login_wait_seconds(pg_session& db,
                                          const throttle_keys& keys,
                                          const throttle_limits& limits = {});

/// Counts one failed login against both keys (a window that ran out starts
/// over).
caf::error record_login_failure(pg_session& db, const throttle_keys& keys,
                                const throttle_limits& limits = {});

/// Forgets the account's failures after a successful login (the address
/// keeps its count: one good password must not unlock guessing others).
caf::error clear_account_failures(pg_session& db, const throttle_keys& keys);

} // namespace fp::storage
