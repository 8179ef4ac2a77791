#pragma once

// The agent engine as the rest of the product sees it: queueing executions
// (inside the caller's transaction, so a 2xx means the work is durable),
// the `agent.execute` job that runs them, and the engine actor that routes
// each run to its agent actor (under the tenant actor) and cancels runs.
//
//   HTTP / chat / skill test ──queue_execution──► executions row (queued)
//                                                 + agent.execute job
//   signal matching an agent trigger ──emit path──► agent.execute job
//   job dispatcher ──async handler──► engine ──► tenant actor ──► agent actor
//                                                  └─► execution actor
//
// Each execution emits agent.execution.started | completed | failed
// signals, writes its progress to execution_events (NOTIFY
// storage::executions_channel) and, for chat, streams the reply into its
// assistant message.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "fp/actors/llm.hpp"
#include "fp/actors/signal_emit.hpp"
#include "fp/runtime/actor_directory.hpp"
#include "fp/runtime/actor_slot.hpp"
#include "fp/runtime/metrics.hpp"
#include "fp/storage/executions.hpp"

namespace fp::storage {
class pg_session;
} // namespace fp::storage

namespace fp::actors {

class job_registry;

/// Job kind and queue of execution runs.
inline constexpr const char* execute_job_kind = "agent.execute";
inline constexpr const char* execute_job_queue = "agents";

/// Signal types every execution emits.
inline constexpr const char* execution_started_type = "agent.execution.started";
inline constexpr const char* execution_completed_type = "agent.execution.completed";
inline constexpr const char* execution_failed_type = "agent.execution.failed";

/// What a caller asks to run. Exactly one of agent_id / skill_name.
struct execution_request {
  /// Run this agent (it must be draft or active).
  std::string agent_id;
  /// Or run this skill in isolation (POST /skills/{id}/test), with
  /// `provider`/`model` (default: local).
  std::string skill_name;
  std::string provider;
  std::string model;
  /// Chat: the conversation, and the assistant message (status streaming,
  /// inserted by the caller) that receives the reply.
  std::string conversation_id;
  std::string reply_message_id;
  /// JSON object text: the run's input (for chat: {"message": "..."}).
  std::string input = "{}";
  /// Who asked, and their role in the organization ("member", "admin",
  /// "owner"; empty for system).
  storage::signal_actor initiator;
  std::string initiator_role;
  /// Empty: the execution's own id / none.
  std::string correlation_id;
  std::string causation_id;
  /// W3C trace id (32 hex) from `traceparent`; empty: a new one.
  std::string trace_id;
};

/// Validates `req`, inserts the execution (queued) and enqueues its
/// `agent.execute` job, in the caller's transaction. Errors:
/// runtime::errc::not_found (agent or skill), errc::conflict (agent paused
/// or archived), errc::invalid_argument (bad input: not an object, or not
/// matching the skill's input schema — the message names the path).
caf::expected<storage::execution_record>
queue_execution(storage::pg_session& db, const tenant_ref& tenant,
                const execution_request& req);

/// Cancels execution `id`: sets cancel_requested (a queued one is
/// cancelled at once) and returns the execution after the change; nullopt
/// when absent. Also tell the engine (`cancel` message) after the commit so
/// a local run stops promptly; runs on other nodes notice the flag.
caf::expected<std::optional<storage::execution_record>>
cancel_execution(storage::pg_session& db, const tenant_ref& tenant,
                 std::string_view id);

/// What the engine needs.
struct agent_engine_options {
  /// storage::storage_pool_actor, runtime::tenant_registry_actor.
  runtime::actor_slot_ptr storage_pool;
  runtime::actor_slot_ptr tenants;
  /// The LLM client every execution uses.
  std::shared_ptr<llm::client> llm;
  /// Threads that make blocking provider calls (network providers).
  unsigned llm_threads = 16;
  /// A run still going after this is stopped as timed_out.
  std::chrono::milliseconds execution_timeout{300000};
  /// Streamed text is written (and announced) at most this often.
  std::chrono::milliseconds stream_flush{50};
  /// Limits of the emit path for the execution signals.
  emit_limits limits;
  runtime::metrics_registry* metrics = nullptr;
  runtime::actor_directory* directory = nullptr;
  uint64_t parent_id = 0;
};

/// Spawns the engine (kind "agent_engine") and the LLM gateway threads
/// (kind "llm_gateway"). Messages (all asynchronous):
///   describe                          -> own status
///   (cancel, slug, execution id)      stop a local run promptly
///   (reload, slug, agent id)          the agent changed: its actor reloads
///                                     (or stops when paused/archived/deleted)
caf::actor spawn_agent_engine(caf::actor_system& sys, agent_engine_options opts);

/// Registers the async `agent.execute` handler: it hands each run to the
/// engine in `engine` (an actor slot holding the engine) and completes the
/// job when the run ended (in any final state). A run found finished
/// already completes at once; one found `running` from a dead attempt is
/// started again (attempt + 1, logged as interrupted) so no execution stays
/// running forever.
void register_agent_job_handlers(job_registry& registry,
                                 runtime::actor_slot_ptr engine);

} // namespace fp::actors
