#pragma once

// Private to the execution actor (execution_actor.cpp) and its tool calls
// (execution_tools.cpp): the actor's state and the steps both use.

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/stateful_actor.hpp>

#include "agent_engine_internal.hpp"

namespace fp::actors::detail {

using db_fn = std::function<caf::error(storage::pg_session&)>;
using llm_result = caf::expected<llm::response>;

struct exec_state {
  std::shared_ptr<const engine_env> env;
  caf::actor engine;
  run_args args;
  tenant_ref tenant;
  std::shared_ptr<run_plan> plan = std::make_shared<run_plan>();
  std::shared_ptr<llm::cancel_token> cancel = std::make_shared<llm::cancel_token>();
  std::vector<llm::message> messages;
  std::vector<llm::tool_spec> tools;
  storage::execution_progress totals;
  int rounds = 0;
  /// Text of the current answer, and streamed text not written yet.
  std::string text;
  std::string pending;
  bool flush_scheduled = false;
  /// Writes wait here; one is in flight at a time.
  std::deque<std::pair<db_fn, std::function<void()>>> writes;
  bool writing = false;
  /// "cancelled" or "timed_out" once asked to stop.
  std::string stop_status;
  bool finished = false;
  /// The model call in flight (network providers).
  uint64_t call_no = 0;
  std::shared_ptr<llm_result> call_result;
  std::function<void(llm_result)> on_answer;
  /// Tool calls of the current answer.
  std::vector<llm::tool_call> calls;
  std::size_t next_call = 0;
  /// When the actor started the run (for the duration metric).
  std::chrono::steady_clock::time_point began = std::chrono::steady_clock::now();
  static inline const char* name = "fp.execution";
};


using exec_ptr = caf::stateful_actor<exec_state>*;

// -- steps of the run (execution_actor.cpp) ----------------------------------------------

/// Queues a database write; writes run one at a time, in order, and `then`
/// follows a successful one.
void write(exec_ptr self, db_fn fn, std::function<void()> then = {});

/// Calls the model with `req` (inline for the local provider, else on the
/// gateway threads); with `stream_text` its text streams to the run's
/// events. `on_answer` gets the answer or the error.
void call_model(exec_ptr self, llm::request req, bool stream_text,
                std::function<void(llm_result)> on_answer);

/// Adds a model answer's tokens and cost to the run's totals.
void add_usage(exec_ptr self, const llm::response& r);

/// True when the agent's or tenant's daily budget is spent.
bool budget_exhausted(exec_ptr self);

/// A model call failed: cancelled or timed out when asked to stop, else
/// failed with the error's code.
void on_model_error(exec_ptr self, const caf::error& err);

/// Ends the run as `stop_status` (cancelled or timed_out).
void stop_now(exec_ptr self);

/// One line describing `err` for the execution record.
std::string error_text(const caf::error& err);

/// Asks the model again with the tool results so far.
void begin_round(exec_ptr self);

/// Writes the final state (once) and completes the job.
void finish(exec_ptr self, std::string status, std::string output,
            std::string error, std::string code);

// -- tool calls and skill runs (execution_tools.cpp) -------------------------------------------

/// Runs a skill test execution: the skill alone, with its input.
void run_skill_test(exec_ptr self);

/// Decides and runs the next tool call of the current answer, then asks
/// the model again once all are done.
void run_next_tool(exec_ptr self);

} // namespace fp::actors::detail
