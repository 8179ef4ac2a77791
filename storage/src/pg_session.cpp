#include "fp/storage/pg_session.hpp"

#include <algorithm>

#include <poll.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "fp/runtime/errc.hpp"
#include "fp/runtime/log.hpp"
#include "session_impl.hpp"

namespace fp::storage {

namespace log = runtime::log;

// -- classification -----------------------------------------------------------

errc classify_sqlstate(std::string_view s) noexcept {
  if (s.size() != 5)
    return errc::query_failed;
  if (s == "40001" || s == "40P01")
    return errc::serialization_failure;
  if (s == "23505")
    return errc::unique_violation;
  if (s.substr(0, 2) == "23")
    return errc::constraint_violation;
  if (s == "57014")
    return errc::statement_timeout;
  // Class 08 (connection exception), admin/crash shutdown, "cannot connect
  // now" (starting up / shutting down) and too_many_connections all mean
  // "the database is not there for us right now".
  if (s.substr(0, 2) == "08" || s == "57P01" || s == "57P02" || s == "57P03"
      || s == "53300")
    return errc::unavailable;
  return errc::query_failed;
}

bool retryable(errc code) noexcept {
  return code == errc::serialization_failure || code == errc::unavailable;
}

std::string one_line(const char* msg) {
  std::string out = msg ? msg : "";
  for (auto& c : out)
    if (c == '\n' || c == '\r' || c == '\t')
      c = ' ';
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}

caf::error sql_error(pg_session::impl& st, const PGresult* res) {
  const char* sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  st.last_sqlstate = sqlstate ? sqlstate : "";
  std::string primary;
  if (res) {
    if (auto msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY))
      primary = one_line(msg);
    else
      primary = one_line(PQresultErrorMessage(res));
  }
  if (primary.empty() && st.conn)
    primary = one_line(PQerrorMessage(st.conn.get()));
  std::string described = sqlstate ? "SQLSTATE " + std::string{sqlstate} + ": " + primary
                                   : primary;
  // A broken connection wins over whatever the last message said: the retry
  // loop must know the session is gone.
  if (st.bad())
    return make_error(errc::unavailable, "connection lost: " + described);
  if (!sqlstate)
    return make_error(errc::query_failed, described);
  auto code = classify_sqlstate(sqlstate);
  if (code == errc::unique_violation) {
    // The constraint name is what callers switch on ("slug taken").
    if (auto constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME))
      return make_error(code, constraint);
  }
  return make_error(code, std::move(described));
}

bool is_connect_failure(const caf::error& err) {
  return code_of(err) == errc::unavailable
         && runtime::context_of(err).rfind(connect_failure_prefix, 0) == 0;
}

// -- result -------------------------------------------------------------------

result::result() noexcept : res_(nullptr, &PQclear) {
  // nop
}

result::result(pg_result* res) noexcept : res_(res, &PQclear) {
  // nop
}

result::~result() = default;

int result::rows() const noexcept {
  return res_ ? PQntuples(res_.get()) : 0;
}

int result::columns() const noexcept {
  return res_ ? PQnfields(res_.get()) : 0;
}

bool result::is_null(int row, int col) const noexcept {
  return !res_ || PQgetisnull(res_.get(), row, col) != 0;
}

std::string_view result::text(int row, int col) const noexcept {
  if (is_null(row, col))
    return {};
  return {PQgetvalue(res_.get(), row, col),
          static_cast<size_t>(PQgetlength(res_.get(), row, col))};
}

int64_t result::int64(int row, int col) const noexcept {
  auto str = text(row, col);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(str.data(), str.data() + str.size(), value);
  if (ec != std::errc{} || ptr != str.data() + str.size())
    return 0;
  return value;
}

bool result::boolean(int row, int col) const noexcept {
  return text(row, col) == "t";
}

int result::column(std::string_view name) const noexcept {
  // PQfnumber would fold case and parse quotes; callers mean the exact name.
  for (int i = 0; i < columns(); ++i)
    if (name == PQfname(res_.get(), i))
      return i;
  return -1;
}

int64_t result::affected_rows() const noexcept {
  if (!res_)
    return 0;
  std::string_view str = PQcmdTuples(res_.get());
  int64_t value = 0;
  std::from_chars(str.data(), str.data() + str.size(), value);
  return value;
}

// -- impl ---------------------------------------------------------------------

namespace {

// Server notices ("relation already exists, skipping") would otherwise go
// to stderr. A FATAL "notice" is the server's goodbye, received while we were
// idle (terminated backend, shutdown): the connection is done for even
// before its socket says so.
void on_notice(void* arg, const PGresult* res) {
  auto* st = static_cast<pg_session::impl*>(arg);
  const char* severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (severity
      && (std::strcmp(severity, "FATAL") == 0 || std::strcmp(severity, "PANIC") == 0))
    st->doomed = true;
  log::debug("postgres notice",
             {{"severity", severity ? severity : ""},
              {"message", one_line(PQresultErrorMessage(res))}});
}

caf::error lost(const pg_session::impl& st) {
  if (!st.conn)
    return make_error(errc::unavailable, "not connected");
  return make_error(errc::unavailable,
                    "connection lost: " + one_line(PQerrorMessage(st.conn.get())));
}

caf::error send_failed(pg_session::impl& st) {
  if (st.bad())
    return lost(st);
  return make_error(errc::query_failed,
                    "cannot send: " + one_line(PQerrorMessage(st.conn.get())));
}

/// Collects every result of the statement in flight. Returns the first
/// error, else the last result.
caf::expected<result> take_result(pg_session::impl& st) {
  auto* conn = st.conn.get();
  result_ptr keep{nullptr, &PQclear};
  result_ptr failed{nullptr, &PQclear};
  const char* unsupported = nullptr;
  while (PGresult* raw = PQgetResult(conn)) {
    result_ptr res{raw, &PQclear};
    switch (PQresultStatus(raw)) {
      case PGRES_FATAL_ERROR:
      case PGRES_BAD_RESPONSE:
      case PGRES_NONFATAL_ERROR:
        if (!failed)
          failed = std::move(res);
        break;
      case PGRES_COPY_IN:
        // Nobody can feed it: end it, the server then reports an error.
        PQputCopyEnd(conn, "COPY FROM STDIN is not supported by pg_session");
        unsupported = "COPY FROM STDIN is not supported";
        break;
      case PGRES_COPY_OUT: {
        char* buf = nullptr;
        while (PQgetCopyData(conn, &buf, 0) > 0)
          PQfreemem(buf);
        unsupported = "COPY TO STDOUT is not supported";
        break;
      }
      case PGRES_COPY_BOTH:
        unsupported = "replication protocol is not supported";
        st.disconnect();
        return make_error(errc::query_failed, unsupported);
      default:
        keep = std::move(res);
    }
    if (st.bad())
      break;
  }
  if (failed)
    return sql_error(st, failed.get());
  if (st.bad())
    return sql_error(st, nullptr);
  if (unsupported)
    return make_error(errc::query_failed, unsupported);
  st.last_sqlstate.clear();
  return result{keep.release()};
}

struct param_array {
  std::vector<const char*> values;
  /// Set only when some parameter is binary (text ones need neither).
  std::vector<int> lengths;
  std::vector<int> formats;

  explicit param_array(const sql_params& params,
                       const std::vector<bool>& binary = {}) {
    values.reserve(params.size());
    for (auto& p : params)
      values.push_back(p ? p->c_str() : nullptr);
    if (std::find(binary.begin(), binary.end(), true) == binary.end())
      return;
    for (std::size_t i = 0; i < params.size(); ++i) {
      bool bin = i < binary.size() && binary[i];
      formats.push_back(bin ? 1 : 0);
      lengths.push_back(params[i] ? static_cast<int>(params[i]->size()) : 0);
    }
  }

  const int* length_data() const {
    return lengths.empty() ? nullptr : lengths.data();
  }

  const int* format_data() const {
    return formats.empty() ? nullptr : formats.data();
  }

  int size() const {
    return static_cast<int>(values.size());
  }

  const char* const* data() const {
    return values.empty() ? nullptr : values.data();
  }
};

} // namespace

caf::error pg_session::impl::connect() {
  disconnect();
  using clock_type = std::chrono::steady_clock;
  // Our defaults first, then `dbname` (the caller's URL or key=value string,
  // expanded): later keywords win, so the caller can override any of ours.
  const char* keys[] = {"fallback_application_name", "client_encoding",
                        "keepalives", "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "dbname", nullptr};
  const char* values[] = {"fleetprompt", "UTF8", "1", "30", "10", "3",
                          conninfo.c_str(), nullptr};
  conn_ptr c{PQconnectStartParams(keys, values, 1), &PQfinish};
  auto failed = [&](const std::string& detail) {
    // Appended piecewise: g++ 12 warns (-Warray-bounds, falsely) on
    // string{...} + ": " + detail.
    std::string context{connect_failure_prefix};
    context += ": ";
    context += detail;
    return make_error(errc::unavailable, std::move(context));
  };
  if (!c)
    return failed("out of memory");
  if (PQstatus(c.get()) == CONNECTION_BAD)
    return failed(one_line(PQerrorMessage(c.get())));
  // Our own deadline, because libpq's connect_timeout has whole-second
  // granularity and applies per host.
  auto deadline = clock_type::now() + connect_timeout;
  auto state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED)
      return failed(one_line(PQerrorMessage(c.get())));
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock_type::now());
    if (left.count() <= 0)
      return failed("timed out after " + std::to_string(connect_timeout.count())
                    + " ms");
    pollfd pfd{PQsocket(c.get()),
               static_cast<short>(state == PGRES_POLLING_READING ? POLLIN : POLLOUT),
               0};
    int rc = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc < 0)
      return failed(std::string{"poll: "} + std::strerror(errno));
    if (rc == 0)
      continue; // deadline check above
    state = PQconnectPoll(c.get());
  }
  PQsetNoticeReceiver(c.get(), on_notice, this);
  conn = std::move(c);
  doomed = false;
  // Every connection runs short OLTP statements that never gain from JIT,
  // while estimates the planner cannot know (e.g. the job claim's tenants
  // times per-tenant limit) can cross jit_above_cost: compiling each claim
  // took ten times the claim itself. Set on every (re)connect.
  std::string sql = "SET jit = off";
  if (statement_timeout.count() > 0)
    sql += "; SET statement_timeout = "
           + std::to_string(statement_timeout.count());
  result_ptr res{PQexec(conn.get(), sql.c_str()), &PQclear};
  if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    auto err = sql_error(*this, res.get());
    disconnect();
    return err;
  }
  return caf::none;
}

void pg_session::impl::disconnect() noexcept {
  conn.reset();
  prepared.clear();
}

bool pg_session::impl::alive() noexcept {
  if (bad())
    return false;
  // A backend that was terminated while we were idle has already sent its
  // FATAL message and closed the socket: read that now, before sending
  // anything, so the caller reconnects instead of failing a statement.
  // Two reads at most: the message, then the end of the stream.
  for (int i = 0; i < 3 && !bad(); ++i) {
    pollfd pfd{PQsocket(conn.get()), POLLIN, 0};
    if (::poll(&pfd, 1, 0) <= 0)
      break;
    if (!PQconsumeInput(conn.get()))
      break;
    // Parses what arrived; an error while idle reaches on_notice.
    (void) PQisBusy(conn.get());
    while (PGnotify* n = PQnotifies(conn.get()))
      PQfreemem(n);
  }
  return !bad() && !doomed;
}

caf::expected<std::unique_ptr<pg_session>>
open_session(const std::string& conninfo, std::chrono::milliseconds timeout,
             std::chrono::milliseconds statement_timeout, bool connect_now) {
  auto st = std::make_unique<pg_session::impl>();
  st->conninfo = conninfo;
  st->connect_timeout = timeout;
  st->statement_timeout = statement_timeout;
  if (connect_now)
    if (auto err = st->connect())
      return err;
  return std::make_unique<pg_session>(std::move(st));
}

// -- pg_session ---------------------------------------------------------------

pg_session::pg_session(std::unique_ptr<impl> ptr) noexcept
  : impl_(std::move(ptr)) {
  // nop
}

pg_session::pg_session(pg_session&&) noexcept = default;
pg_session& pg_session::operator=(pg_session&&) noexcept = default;
pg_session::~pg_session() = default;

caf::expected<result> pg_session::exec(std::string_view sql,
                                       sql_params params) {
  auto& st = *impl_;
  if (st.bad())
    return lost(st);
  std::string text{sql};
  param_array values{params};
  if (!PQsendQueryParams(st.conn.get(), text.c_str(), values.size(), nullptr,
                         values.data(), nullptr, nullptr, 0))
    return send_failed(st);
  ++st.statements_sent;
  return take_result(st);
}

caf::expected<result> pg_session::exec_prepared(std::string_view name,
                                                std::string_view sql,
                                                sql_params params) {
  return exec_prepared(name, sql, std::move(params), {});
}

caf::expected<result> pg_session::exec_prepared(std::string_view name,
                                                std::string_view sql,
                                                sql_params params,
                                                const std::vector<bool>& binary) {
  auto& st = *impl_;
  if (st.bad())
    return lost(st);
  std::string key{name};
  if (st.prepared.count(key) == 0) {
    std::string text{sql};
    // Preparing has no side effects, so it does not count as "sent".
    if (!PQsendPrepare(st.conn.get(), key.c_str(), text.c_str(), 0, nullptr))
      return send_failed(st);
    auto prepared = take_result(st);
    if (!prepared)
      return std::move(prepared.error());
    st.prepared.insert(key);
  }
  param_array values{params, binary};
  if (!PQsendQueryPrepared(st.conn.get(), key.c_str(), values.size(),
                           values.data(), values.length_data(),
                           values.format_data(), 0))
    return send_failed(st);
  ++st.statements_sent;
  return take_result(st);
}

caf::error pg_session::exec_script(std::string_view sql) {
  auto& st = *impl_;
  if (st.bad())
    return lost(st);
  std::string text{sql};
  if (!PQsendQuery(st.conn.get(), text.c_str()))
    return send_failed(st);
  ++st.statements_sent;
  auto res = take_result(st);
  if (!res)
    return std::move(res.error());
  return caf::none;
}

bool pg_session::connected() const noexcept {
  return !impl_->bad();
}

caf::error pg_session::ensure_connected() {
  if (impl_->alive())
    return caf::none;
  return impl_->connect();
}

int pg_session::backend_pid() const noexcept {
  return impl_->bad() ? 0 : PQbackendPID(impl_->conn.get());
}

pg_conn* pg_session::native_handle() const noexcept {
  return impl_->conn.get();
}

} // namespace fp::storage
