#pragma once

// Private to net/: the SSE sessions of one execution and of one chat
// conversation. Each registers with the stream hub, then reads what is new
// from PostgreSQL whenever it is woken (reads are coalesced: one in flight,
// at most one more queued), writes one chunk per read and paces itself by
// the writer's queue.

#include <string>
#include <string_view>

#include "fp/net/agent_routes.hpp"
#include "fp/net/responder.hpp"
#include "fp/net/spine_services.hpp"

namespace fp::net {

/// Streams the events of execution `id` with seq > `after_seq`, then `end`.
void open_execution_stream(const spine_services& spine, const responder_ptr& res,
                           std::string slug, std::string id, int after_seq);

/// Streams conversation `id` from position `from`.
void open_chat_stream(const spine_services& spine, const responder_ptr& res,
                      std::string slug, std::string id, chat_position from);

/// The length of the longest prefix of `text` that does not end inside a
/// UTF-8 sequence (a reply may be cut mid-character while it streams).
std::size_t complete_utf8_prefix(std::string_view text) noexcept;

} // namespace fp::net
