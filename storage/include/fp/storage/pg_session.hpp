#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "fp/storage/errc.hpp"

// libpq's handle types, so this header does not drag in libpq-fe.h.
struct pg_conn;
struct pg_result;

namespace fp::storage {

/// Text parameters `$1, $2, ...` of a statement; `std::nullopt` is SQL NULL.
using sql_params = std::vector<std::optional<std::string>>;

/// Maps a SQLSTATE (5 characters) to a storage error code:
/// 40001/40P01 -> serialization_failure, 23505 -> unique_violation, other
/// 23xxx -> constraint_violation, 57014 -> statement_timeout, connection
/// classes (08xxx, 57P01..57P03, 53300) -> unavailable, else query_failed.
errc classify_sqlstate(std::string_view sqlstate) noexcept;

/// True for codes a retry of the whole transaction can fix: serialization
/// failures (incl. deadlocks) and a connection lost before COMMIT was sent.
/// `commit_unknown` is never retryable.
bool retryable(errc code) noexcept;

/// The rows of one statement (move-only owner of a PGresult). Rows and
/// columns are 0-based; accessors do not check bounds.
class result {
public:
  /// An empty result (no rows, no columns).
  result() noexcept;
  /// Takes ownership of `res` (may be null).
  explicit result(pg_result* res) noexcept;

  result(result&&) noexcept = default;
  result& operator=(result&&) noexcept = default;
  result(const result&) = delete;
  result& operator=(const result&) = delete;
  ~result();

  /// Number of rows returned.
  int rows() const noexcept;
  /// Number of columns returned.
  int columns() const noexcept;
  /// True when the value is SQL NULL.
  bool is_null(int row, int col) const noexcept;
  /// The value in text format; empty for NULL. Valid while `*this` lives.
  std::string_view text(int row, int col) const noexcept;
  /// The value parsed as a 64-bit integer; 0 for NULL or non-integer text.
  int64_t int64(int row, int col) const noexcept;
  /// True when the value is the boolean `t`; false for NULL.
  bool boolean(int row, int col) const noexcept;
  /// Index of the column named exactly `name`, or -1.
  int column(std::string_view name) const noexcept;
  /// Rows affected by INSERT/UPDATE/DELETE/... (0 when not applicable).
  int64_t affected_rows() const noexcept;
  /// The underlying PGresult (still owned by `*this`).
  pg_result* native_handle() const noexcept {
    return res_.get();
  }

private:
  std::unique_ptr<pg_result, void (*)(pg_result*)> res_;
};

/// One database connection, as seen by code that runs SQL: what a
/// `db_task` receives inside a storage worker and what `connect` returns to
/// the CLI. Not thread-safe. It never reconnects behind a caller's back
/// (that would silently drop an open transaction); the retry loop of the
/// pool and of `run_transaction` reconnects between attempts.
class pg_session {
public:
  struct impl;

  /// Used by the storage module itself; see `connect` (connection.hpp).
  explicit pg_session(std::unique_ptr<impl> ptr) noexcept;
  pg_session(pg_session&&) noexcept;
  pg_session& operator=(pg_session&&) noexcept;
  pg_session(const pg_session&) = delete;
  pg_session& operator=(const pg_session&) = delete;
  ~pg_session();

  /// Runs one statement with text parameters (extended protocol, so SQL
  /// injection through `params` is impossible).
  caf::expected<result> exec(std::string_view sql, sql_params params = {});

  /// Like `exec`, but the statement is prepared once per connection under
  /// `name` and reused; the cache is dropped when the connection is
  /// replaced. The same `name` must always be used with the same `sql`.
  caf::expected<result> exec_prepared(std::string_view name,
                                      std::string_view sql,
                                      sql_params params = {});

  /// Like `exec_prepared`, but the parameters whose `binary` flag is set
  /// are in PostgreSQL's binary format (e.g. detail::binary_array): the
  /// server copies them instead of parsing text. Results stay text.
  caf::expected<result> exec_prepared(std::string_view name,
                                      std::string_view sql, sql_params params,
                                      const std::vector<bool>& binary);

  /// Runs several `;`-separated statements without parameters (simple
  /// protocol), e.g. a migration. Stops at the first error.
  caf::error exec_script(std::string_view sql);

  /// True while a connection is held that libpq has not seen fail.
  bool connected() const noexcept;

  /// Makes sure a live connection is held: checks the current one for a
  /// pending hang-up (e.g. the backend was terminated while idle) and
  /// connects again when needed. Never called implicitly by `exec`.
  caf::error ensure_connected();

  /// Process id of the server backend, 0 when not connected.
  int backend_pid() const noexcept;

  /// The libpq connection, or nullptr; for diagnostics only.
  pg_conn* native_handle() const noexcept;

  /// Internal state, for the storage module's own code.
  impl& internals() noexcept {
    return *impl_;
  }

private:
  std::unique_ptr<impl> impl_;
};

} // namespace fp::storage
