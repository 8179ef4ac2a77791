#pragma once

// The private side of pg_session: the libpq connection and what the retry
// loop needs to know about it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>

#include <libpq-fe.h>

#include <caf/error.hpp>

#include "fp/storage/pg_session.hpp"

namespace fp::storage {

using conn_ptr = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using result_ptr = std::unique_ptr<PGresult, decltype(&PQclear)>;

struct pg_session::impl {
  std::string conninfo;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds statement_timeout{0};

  conn_ptr conn{nullptr, &PQfinish};
  /// Statements prepared on `conn` (dropped with it).
  std::unordered_set<std::string> prepared;
  /// Statements handed to the server since the connection was opened; the
  /// retry loop compares it to tell "nothing ran" from "something may have".
  uint64_t statements_sent = 0;
  /// SQLSTATE of the last failed statement (empty when none or client-side).
  std::string last_sqlstate;
  /// The server announced (FATAL, while we were idle) that it is closing
  /// this connection, though the socket may not show it yet.
  bool doomed = false;

  /// Opens a new connection (dropping any old one) within connect_timeout
  /// and applies the per-connection settings.
  caf::error connect();

  /// Drops the connection (and the prepared statement cache).
  void disconnect() noexcept;

  /// True when `conn` exists and libpq has not seen it fail; also reads a
  /// pending hang-up (terminated backend, server shutdown) without sending.
  bool alive() noexcept;

  bool bad() const noexcept {
    return !conn || PQstatus(conn.get()) == CONNECTION_BAD;
  }
};

/// Start of the context of every errc::unavailable raised because a
/// connection could not be opened (as opposed to one lost while in use);
/// the pool tells "the database is down" from "this connection broke" by it.
inline constexpr std::string_view connect_failure_prefix = "cannot connect";

/// True when `err` says a connection could not be opened.
bool is_connect_failure(const caf::error& err);

/// Turns a failed result (or a null one) into a classified storage error and
/// records its SQLSTATE in `st`.
caf::error sql_error(pg_session::impl& st, const PGresult* res);

/// libpq's message without the trailing newline(s), on one line.
std::string one_line(const char* msg);

/// Opens a session (connected) on `conninfo`.
caf::expected<std::unique_ptr<pg_session>>
open_session(const std::string& conninfo, std::chrono::milliseconds timeout,
             std::chrono::milliseconds statement_timeout, bool connect_now);

} // namespace fp::storage
