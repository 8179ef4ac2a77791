#pragma once

// The agent endpoints: skills, agents, the tenant budget, executions (with
// their event log and SSE stream) and chat conversations (with their SSE
// stream). Reads need tenant_read, runs and chat tenant_write, creating,
// editing and deleting skills and agents and setting the budget
// tenant_admin.

#include <optional>
#include <string>
#include <string_view>

#include "fp/net/router.hpp"
#include "fp/net/spine_services.hpp"

namespace fp::net {

/// `GET|POST /api/v1/skills`, `GET|PATCH|DELETE /api/v1/skills/{id}`,
/// `POST /api/v1/skills/{id}/test`.
void add_skill_routes(router& r, const spine_services& spine);

/// `GET|POST /api/v1/agents`, `GET|PATCH|DELETE /api/v1/agents/{id}`,
/// `POST /api/v1/agents/{id}/executions`.
void add_agent_routes(router& r, const spine_services& spine);

/// `GET|PUT /api/v1/budget`.
void add_budget_routes(router& r, const spine_services& spine);

/// `GET /api/v1/executions[/{id}[/events|/stream]]`,
/// `POST /api/v1/executions/{id}/cancel`.
void add_execution_routes(router& r, const spine_services& spine);

/// `GET|POST /api/v1/conversations`, `GET /api/v1/conversations/{id}`,
/// `POST /api/v1/conversations/{id}/messages`,
/// `GET /api/v1/conversations/{id}/stream`.
void add_conversation_routes(router& r, const spine_services& spine);

/// All of the above.
void add_all_agent_routes(router& r, const spine_services& spine);

/// A chat stream position: message `seq` delivered up to byte `offset` of
/// its content (offset 0: nothing of it yet).
struct chat_position {
  int seq = 1;
  std::size_t offset = 0;
};

/// Parses a chat stream `Last-Event-ID` ("<seq>:<offset>"); nullopt when
/// malformed.
std::optional<chat_position> parse_chat_event_id(std::string_view text);

/// Parses an execution stream `Last-Event-ID` (an event seq >= 0); nullopt
/// when malformed.
std::optional<int> parse_execution_event_id(std::string_view text);

} // namespace fp::net
