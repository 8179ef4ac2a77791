#include "fp/storage/connection.hpp"

#include "retry.hpp"
#include "session_impl.hpp"

namespace fp::storage {

caf::expected<std::unique_ptr<pg_session>>
connect(const std::string& conninfo, std::chrono::milliseconds timeout,
        std::chrono::milliseconds statement_timeout) {
  return open_session(conninfo, timeout, statement_timeout, true);
}

caf::error run_transaction(pg_session& session,
                           const std::function<caf::error(pg_session&)>& fn) {
  return run_with_retry(session, true, fn).err;
}

} // namespace fp::storage
