#pragma once

// Private vocabulary of the agent engine: what the engine, its execution
// actors, the LLM gateway threads and the `agent.execute` job handler share.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>

#include "fp/actors/agent_engine.hpp"
#include "fp/actors/job_registry.hpp"
#include "fp/actors/llm.hpp"
#include "fp/storage/agents.hpp"
#include "fp/storage/conversations.hpp"
#include "fp/storage/executions.hpp"

namespace fp::actors::detail {

// -- async job completions -----------------------------------------------------------------

/// Keeps `done` until `finish_parked_job(key)`; returns the key. The
/// completion cannot travel in a CAF message (no type id), so only its key
/// does.
uint64_t park_job_completion(job_completion done);

/// Calls the completion parked under `key` once (later calls do nothing).
void finish_parked_job(uint64_t key, caf::error err);

// -- the LLM gateway ---------------------------------------------------------------------

/// Dedicated threads for blocking provider calls (`llm::client::complete`),
/// so cooperative actors never block.
class llm_gateway {
public:
  explicit llm_gateway(unsigned threads);
  ~llm_gateway();
  llm_gateway(const llm_gateway&) = delete;
  llm_gateway& operator=(const llm_gateway&) = delete;

  /// Runs `work` on one of the threads.
  void submit(std::function<void()> work);

  /// Calls waiting or running right now.
  std::size_t busy() const;

private:
  void loop();
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// -- what a run needs ----------------------------------------------------------------------

/// Shared by the engine and its execution actors (immutable).
struct engine_env {
  agent_engine_options opts;
  std::shared_ptr<llm_gateway> gateway;
};

/// The arguments of one `agent.execute` job.
struct run_args {
  std::string org_id;
  std::string slug;
  /// Manual runs: the queued execution.
  std::string execution_id;
  std::string reply_message_id;
  /// Triggered runs.
  std::string agent_id;
  std::string signal_id;
  std::string correlation_id;
  std::string trigger_key;
  std::string replay_of;
  /// A replay's run: the trigger key of the original run (replay_of is
  /// resolved from it).
  std::string replay_of_key;
  int64_t job_id = 0;
  /// Key of the parked job completion (0: none).
  uint64_t completion = 0;
};

/// Parses job args (JSON object text); an error names what is missing.
caf::expected<run_args> parse_run_args(const std::string& args);

/// What the load step found out, read by the execution actor.
struct run_plan {
  /// Nothing left to do (finished already, cancelled, refused, gone).
  bool done = false;
  storage::execution_record exec;
  std::optional<storage::agent_record> agent;
  /// The skill of a skill test run.
  std::optional<storage::skill_record> test_skill;
  /// The agent's skills as the tenant resolves them (missing ones absent).
  std::vector<storage::skill_record> skills;
  /// Conversation so far (chat), or the one user message.
  std::vector<llm::message> history;
  /// Micro-units the run may still spend; nullopt: no limit.
  std::optional<int64_t> budget_left;
  int attempt = 1;
};

/// The end of a run.
struct run_end {
  storage::execution_outcome outcome;
  /// Chat reply message to finish ("" for none).
  std::string reply_message_id;
  /// Streamed text not written yet: its delta event leads the final ones.
  std::string pending_text;
};

// -- database steps (run inside a storage task's transaction) ------------------------------

/// Finds or creates the execution, checks the budget and starts it; see
/// run_plan. Refused and cancelled runs are finished here.
caf::error load_run(storage::pg_session& db, const run_args& args,
                    run_plan& plan);

/// Finishes the execution: outcome, final events, the completed/failed
/// signal, the chat reply's status, NOTIFYs. Nothing when finished already.
caf::error finish_run(storage::pg_session& db, const tenant_ref& tenant,
                      const storage::execution_record& exec,
                      const run_end& end);

// -- small JSON helpers --------------------------------------------------------------------

/// String member `key` of a JSON object ("" when absent or not a string).
std::string json_string_at(std::string_view json, std::string_view key);

/// Member `key` of a JSON object as minified JSON ("" when absent).
std::string json_raw_at(std::string_view json, std::string_view key);

/// `base` object with the members of `over` set on it (both objects; a
/// non-object counts as {}).
std::string json_merge(std::string_view base, std::string_view over);

/// True when `text` parses as JSON.
bool is_json(std::string_view text);

// -- group commit ----------------------------------------------------------------------------

/// Execution signals held back while a group-committed batch runs, and
/// emitted together at its end: the tenant's emit lock (held until COMMIT)
/// is then taken once, just before the commit, instead of at the first
/// run's signal — so concurrent batches overlap their other statements.
struct deferred_emits {
  struct item {
    tenant_ref tenant;
    storage::signal_actor actor;
    std::vector<signal_input> inputs;
  };
  std::vector<item> items;
};

/// The collector of the batch running on this thread, or null (then
/// execution signals are emitted at once).
deferred_emits*& current_deferred_emits() noexcept;

/// Emits everything `d` holds, one grouped emit per tenant, in the
/// caller's transaction.
caf::error emit_deferred(storage::pg_session& db, const deferred_emits& d);

/// Spawns the execution writer (linked to `engine`): it takes storage tasks
/// like the storage pool and commits concurrent ones together. Its slot.
runtime::actor_slot_ptr spawn_execution_writer(caf::local_actor* engine,
                                               runtime::actor_slot_ptr pool);

// -- execution actors ------------------------------------------------------------------------

/// Spawns the actor running one execution (linked to nothing; `engine`
/// monitors it). It registers with the engine (spawn_atom) once it knows
/// its execution id, and finishes the parked job when the run ended.
caf::actor spawn_execution_actor(caf::local_actor* parent,
                                 std::shared_ptr<const engine_env> env,
                                 caf::actor engine, run_args args);

} // namespace fp::actors::detail
