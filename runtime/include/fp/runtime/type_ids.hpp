#pragma once

// The one type-ID block of the project: every message type and atom that
// crosses an actor boundary is listed here, and both the real actor system
// config and the test configs register it with
// `cfg.add_message_types<caf::id_block::fp>()`.

#include <string>
#include <vector>

#include <caf/type_id.hpp>

#include "fp/runtime/messages.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(fp, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(fp, (fp::runtime::version_info))
  CAF_ADD_TYPE_ID(fp, (fp::runtime::readiness))
  CAF_ADD_TYPE_ID(fp, (fp::runtime::actor_node))
  CAF_ADD_TYPE_ID(fp, (fp::runtime::actor_status))
  CAF_ADD_TYPE_ID(fp, (std::vector<fp::runtime::actor_node>))

  // Atoms: text is at most 10 characters, and equal text means equal type.
  CAF_ADD_ATOM(fp, fp, describe_atom, "describe")
  CAF_ADD_ATOM(fp, fp, version_atom, "version")
  CAF_ADD_ATOM(fp, fp, ready_atom, "ready")
  CAF_ADD_ATOM(fp, fp, check_atom, "check")
  CAF_ADD_ATOM(fp, fp, run_atom, "run")
  CAF_ADD_ATOM(fp, fp, idle_atom, "idle")
  CAF_ADD_ATOM(fp, fp, restart_atom, "restart")
  CAF_ADD_ATOM(fp, fp, child_atom, "child")
  CAF_ADD_ATOM(fp, fp, tick_atom, "tick")
  CAF_ADD_ATOM(fp, fp, crash_atom, "crash")
  CAF_ADD_ATOM(fp, fp, tree_atom, "tree")
  CAF_ADD_ATOM(fp, fp, tenant_atom, "tenant")
  CAF_ADD_ATOM(fp, fp, org_atom, "org")
  // The spine: signal bus, pubsub hub, job dispatcher.
  CAF_ADD_ATOM(fp, fp, emit_atom, "emit")
  CAF_ADD_ATOM(fp, fp, flush_atom, "flush")
  CAF_ADD_ATOM(fp, fp, publish_atom, "publish")
  CAF_ADD_ATOM(fp, fp, subscribe_atom, "subscribe")
  CAF_ADD_ATOM(fp, fp, unsub_atom, "unsub")
  CAF_ADD_ATOM(fp, fp, notify_atom, "notify")
  CAF_ADD_ATOM(fp, fp, wake_atom, "wake")
  CAF_ADD_ATOM(fp, fp, done_atom, "done")
  CAF_ADD_ATOM(fp, fp, beat_atom, "beat")
  CAF_ADD_ATOM(fp, fp, claim_atom, "claim")
  // Agents, executions, the LLM gateway and chat.
  CAF_ADD_ATOM(fp, fp, agent_atom, "agent")
  CAF_ADD_ATOM(fp, fp, cancel_atom, "cancel")
  CAF_ADD_ATOM(fp, fp, reload_atom, "reload")
  CAF_ADD_ATOM(fp, fp, execute_atom, "execute")
  CAF_ADD_ATOM(fp, fp, delta_atom, "delta")
  CAF_ADD_ATOM(fp, fp, step_atom, "step")
  CAF_ADD_ATOM(fp, fp, await_atom, "await")
  CAF_ADD_ATOM(fp, fp, llm_atom, "llm")
  CAF_ADD_ATOM(fp, fp, tool_atom, "tool")
  CAF_ADD_ATOM(fp, fp, result_atom, "result")
  CAF_ADD_ATOM(fp, fp, timeout_atom, "timeout")
  CAF_ADD_ATOM(fp, fp, stream_atom, "stream")
  CAF_ADD_ATOM(fp, fp, spawn_atom, "spawn")
  CAF_ADD_ATOM(fp, fp, stop_atom, "stop")
  CAF_ADD_ATOM(fp, fp, installation_atom, "install")

CAF_END_TYPE_ID_BLOCK(fp)
