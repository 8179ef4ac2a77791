#pragma once

// Private to net/: the JSON forms of skills, agents, executions (with their
// events and tool calls), conversations and messages, shared by the routes
// and the SSE streams so a streamed object reads like a fetched one.

#include <string>
#include <vector>

#include "fp/net/json.hpp"
#include "fp/storage/agents.hpp"
#include "fp/storage/conversations.hpp"
#include "fp/storage/executions.hpp"

namespace fp::net {

void write_skill(json_writer& w, const storage::skill_record& s);

void write_agent(json_writer& w, const storage::agent_record& a);

/// The execution; its `tool_calls` member only when `calls` is given.
void write_execution(json_writer& w, const storage::execution_record& e,
                     const std::vector<storage::tool_call_record>* calls
                     = nullptr);

void write_tool_call(json_writer& w, const storage::tool_call_record& c);

void write_execution_event(json_writer& w, const storage::execution_event& ev);

void write_conversation(json_writer& w, const storage::conversation_record& c);

void write_message(json_writer& w, const storage::message_record& m);

/// `text` as a JSON value when it holds one, else null (empty text too).
void write_raw_or_null(json_writer& w, const std::string& text);

} // namespace fp::net
