#pragma once

// The registry of platform-owned directive executors (private to actors/):
// a directive of type T runs the executor registered for T.

#include <functional>
#include <string>
#include <string_view>

#include "fp/actors/directives.hpp"

namespace fp::actors::detail {

/// What an executor sees. It runs inside the `directive.execute` job's
/// transaction, with the directive row locked: after the directive entered
/// `executing`, or just before for `external_io` executors.
struct executor_context {
  storage::pg_session& db;
  const tenant_ref& tenant;
  const storage::directive_record& directive;
  const directive_deps& deps;
};

/// What an executor reports.
struct executor_outcome {
  bool ok = false;
  /// JSON object text, stored as the directive's result.
  std::string result = "{}";
  /// Why it failed.
  std::string error;
  /// True when retrying cannot help.
  bool permanent = false;
};

using executor_fn = std::function<executor_outcome(executor_context&)>;

/// One registered executor.
struct executor_entry {
  executor_fn run;
  /// True for executors that wait on the network. They run before the
  /// `executing` transition: emitting a signal takes the tenant's emit lock
  /// until the job commits, and a slow remote end must not hold up the
  /// tenant's ingest meanwhile.
  bool external_io = false;
};

/// The executor of `type`, or nullptr.
const executor_entry* find_executor(std::string_view type);

/// The built-in executors.
executor_outcome run_signal_emit(executor_context& ctx);
executor_outcome run_webhook_post(executor_context& ctx);

} // namespace fp::actors::detail
