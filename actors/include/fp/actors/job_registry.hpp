#pragma once

// What a job handler sees and how handlers are registered. The dispatcher
// (job_dispatcher.hpp) runs each handler on a job worker thread, inside a
// transaction on the worker's own connection, and completes the job in that
// same transaction (checking the lease's fencing token): the handler's
// database effects and the job's completion commit together or not at all.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

namespace fp::storage {
class pg_session;
} // namespace fp::storage

namespace fp::actors {

/// One claimed job as its handler sees it.
struct job_context {
  int64_t id = 0;
  std::string queue;
  std::string kind;
  /// Organization id ("" for platform jobs).
  std::string tenant;
  /// Arguments (JSON object text).
  std::string args;
  /// 1 on the first run.
  int attempt = 1;
  int max_attempts = 1;
  /// The worker's connection, inside the job's transaction (a savepoint of
  /// it). Blocking here is fine: workers are dedicated threads.
  storage::pg_session* db = nullptr;
};

/// Runs one job. No error: the job is completed. An error rolls the
/// handler's work back (to its savepoint) and schedules a retry with
/// exponential backoff and full jitter, or discards the job after its last
/// attempt; the error text is kept in the job's error history. Return
/// `permanent_failure(...)` to discard at once (retrying cannot help).
using job_handler = std::function<caf::error(job_context&)>;

/// Reports the end of an asynchronous job (see `job_registry::add_async`):
/// no error completes it, an error fails the attempt as a handler's error
/// does. Thread-safe; call it exactly once (later calls are ignored).
using job_completion = std::function<void(caf::error)>;

/// Starts one job whose work continues after the call returns (an agent
/// execution, which may stream from a model for minutes). Called on a job
/// worker thread with `job_context::db` null; it must not block. The job
/// stays running (its lease extended by the dispatcher, its queue slot
/// taken) until `done` is called; if the process dies first, the lease
/// expires and the job is rescued and run again.
using async_job_handler = std::function<void(const job_context&, job_completion done)>;

/// An error that discards the job without further attempts.
caf::error permanent_failure(std::string reason);

/// True for errors made by `permanent_failure`.
bool is_permanent_failure(const caf::error& err) noexcept;

/// The text kept in a job's error history for `err`: the context message
/// when there is one (prefixed by the error code's name for the project's
/// own categories), else CAF's rendering.
std::string describe_job_error(const caf::error& err);

/// Handlers by job kind. Filled by the composition root before the
/// dispatcher starts; read-only afterwards.
class job_registry {
public:
  /// One registered handler.
  struct entry {
    job_handler fn;
    /// The handler never touches `job_context::db` (which is then null): it
    /// runs without a savepoint, and a batch of only such jobs completes
    /// in one statement without a transaction around it.
    bool pure = false;
    /// Set for `add_async` handlers (then `fn` is empty).
    async_job_handler start;
  };

  /// Registers `fn` for `kind`; a second registration replaces the first.
  void add(std::string kind, job_handler fn);

  /// Registers a handler that does no database work (see `entry::pure`).
  void add_pure(std::string kind, job_handler fn);

  /// Registers a handler that finishes later (see `async_job_handler`).
  void add_async(std::string kind, async_job_handler fn);

  /// The handler of `kind`, or nullptr.
  const job_handler* find(std::string_view kind) const;

  /// The entry of `kind`, or nullptr.
  const entry* find_entry(std::string_view kind) const;

  /// Registered kinds, sorted.
  std::vector<std::string> kinds() const;

private:
  std::map<std::string, entry, std::less<>> handlers_;
};

/// Job kind of the handler that does nothing (benchmarks, health checks).
inline constexpr std::string_view noop_job_kind = "platform.noop";

/// Registers the platform's own handlers: `platform.noop`.
void add_platform_job_handlers(job_registry& registry);

} // namespace fp::actors
