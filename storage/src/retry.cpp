#include "retry.hpp"

#include <algorithm>
#include <exception>
#include <random>
#include <thread>

#include "fp/runtime/errc.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/errc.hpp"
#include "session_impl.hpp"

namespace fp::storage {

namespace log = runtime::log;

namespace {

caf::error call(const std::function<caf::error(pg_session&)>& fn,
                pg_session& session) {
  if (!fn)
    return runtime::make_error(runtime::errc::internal,
                               "database task without a run function");
  // The task is arbitrary code: an exception must end up as an error reply,
  // never as a dead worker.
  try {
    return fn(session);
  } catch (const std::exception& ex) {
    return runtime::make_error(runtime::errc::internal,
                               std::string{"database task threw: "} + ex.what());
  } catch (...) {
    return runtime::make_error(runtime::errc::internal,
                               "database task threw a non-standard exception");
  }
}

void backoff(const retry_policy& policy, unsigned retry) {
  thread_local std::minstd_rand rng{std::random_device{}()};
  auto shift = std::min(retry - 1, 16u);
  auto ceiling = std::min(policy.base * (1u << shift), policy.cap);
  auto count = std::max<int64_t>(1, ceiling.count());
  std::uniform_int_distribution<int64_t> dist{count / 2, count};
  std::this_thread::sleep_for(std::chrono::milliseconds{dist(rng)});
}

/// Rolls back what is open on a still-live connection. A failure here only
/// means the connection is gone, which the next attempt notices.
void rollback(pg_session& session) {
  auto& st = session.internals();
  if (st.bad())
    return;
  if (PQtransactionStatus(st.conn.get()) == PQTRANS_IDLE)
    return;
  auto res = session.exec("ROLLBACK");
  (void) res;
}

const char* reason_for(pg_session& session, const caf::error& err) {
  if (code_of(err) == errc::serialization_failure)
    return session.internals().last_sqlstate == "40P01" ? "deadlock"
                                                        : "serialization";
  return "connection";
}

enum class step { done, retry };

struct attempt_result {
  step next;
  caf::error err;
  const char* reason = nullptr;
};

attempt_result transactional_attempt(pg_session& session,
                                     const std::function<caf::error(pg_session&)>& fn) {
  auto& st = session.internals();
  if (auto begin = session.exec("BEGIN"); !begin) {
    if (st.bad())
      return {step::retry, std::move(begin.error()), "connection"};
    return {step::done, std::move(begin.error())};
  }
  if (auto err = call(fn, session)) {
    if (st.bad()) // lost before COMMIT: nothing was committed
      return {step::retry, std::move(err), "connection"};
    rollback(session);
    if (is_storage_error(err) && retryable(code_of(err)))
      return {step::retry, err, reason_for(session, err)};
    return {step::done, std::move(err)};
  }
  if (st.bad())
    return {step::retry, make_error(errc::unavailable, "connection lost"),
            "connection"};
  // A task that swallowed an SQL error leaves an aborted transaction, and
  // COMMIT would silently turn into ROLLBACK. Say so instead.
  if (PQtransactionStatus(st.conn.get()) == PQTRANS_INERROR) {
    rollback(session);
    return {step::done,
            make_error(errc::query_failed,
                       "the task ignored an SQL error; transaction rolled back")};
  }
  if (auto commit = session.exec("COMMIT"); !commit) {
    if (st.bad())
      return {step::done,
              make_error(errc::commit_unknown,
                         "connection lost during COMMIT; the transaction may "
                         "or may not have been committed ("
                           + runtime::context_of(commit.error()) + ")")};
    // The server answered: the transaction is rolled back for sure.
    auto err = std::move(commit.error());
    if (retryable(code_of(err)))
      return {step::retry, err, reason_for(session, err)};
    return {step::done, std::move(err)};
  }
  return {step::done, caf::none};
}

attempt_result plain_attempt(pg_session& session,
                             const std::function<caf::error(pg_session&)>& fn) {
  auto& st = session.internals();
  auto sent_before = st.statements_sent;
  auto err = call(fn, session);
  if (err && st.bad() && st.statements_sent == sent_before)
    return {step::retry, std::move(err), "connection"};
  // Leave no transaction open on a pooled connection.
  if (!st.bad() && PQtransactionStatus(st.conn.get()) != PQTRANS_IDLE) {
    rollback(session);
    if (!err)
      err = make_error(errc::query_failed,
                       "a non-transactional task left a transaction open; "
                       "it was rolled back");
  }
  return {step::done, std::move(err)};
}

} // namespace

run_outcome run_with_retry(pg_session& session, bool transactional,
                           const std::function<caf::error(pg_session&)>& fn,
                           const retry_policy& policy,
                           const retry_observer& on_retry) {
  auto max_attempts = std::max(1u, policy.max_attempts);
  for (unsigned attempt = 1;; ++attempt) {
    if (auto err = session.ensure_connected())
      return {std::move(err), attempt};
    // Never start on top of what an earlier task left behind.
    rollback(session);
    auto res = transactional ? transactional_attempt(session, fn)
                             : plain_attempt(session, fn);
    if (res.next == step::done)
      return {std::move(res.err), attempt};
    if (attempt >= max_attempts) {
      log::warn("database task failed after retries",
                {{"attempts", attempt}, {"reason", res.reason},
                 {"error", runtime::context_of(res.err)}});
      return {std::move(res.err), attempt};
    }
    if (on_retry)
      on_retry(res.reason);
    log::debug("retrying database task",
               {{"attempt", attempt}, {"reason", res.reason}});
    // A lost connection is replaced at once; contention needs a pause.
    if (std::string_view{res.reason} != "connection")
      backoff(policy, attempt);
  }
}

} // namespace fp::storage
