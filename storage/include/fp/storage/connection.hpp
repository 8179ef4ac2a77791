#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "fp/storage/pg_session.hpp"

namespace fp::storage {

/// Opens one connection synchronously (CLI commands, start-up migrations,
/// tests). Fails with errc::unavailable after `timeout` at the latest.
/// `statement_timeout` > 0 is set on the connection.
caf::expected<std::unique_ptr<pg_session>>
connect(const std::string& conninfo, std::chrono::milliseconds timeout,
        std::chrono::milliseconds statement_timeout = {});

/// Runs `fn` in BEGIN ... COMMIT on `session` with the same retry policy as
/// the storage pool's workers (serialization failures, deadlocks, connection
/// lost before COMMIT; errc::commit_unknown is never retried).
caf::error run_transaction(pg_session& session,
                           const std::function<caf::error(pg_session&)>& fn);

} // namespace fp::storage
