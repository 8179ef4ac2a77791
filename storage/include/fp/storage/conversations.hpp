#pragma once

// Chat: conversations with one agent and their messages (tenant tables of
// migrations/tenant/0005_agents.sql). An assistant reply is written while
// it streams, so its text survives whether or not anyone listens. Every
// function runs in the caller's transaction.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace fp::storage {

class pg_session;

struct conversation_record {
  std::string id;
  std::string agent_id;
  std::string title;
  std::string created_by;
  std::string created_at;
  std::string updated_at;
};

struct message_record {
  std::string conversation_id;
  /// 1, 2, 3, ... per conversation (assigned on insert).
  int seq = 0;
  std::string id;
  /// "user" or "assistant".
  std::string role;
  std::string content;
  /// streaming, complete, failed, cancelled.
  std::string status = "complete";
  std::string execution_id;
  std::string created_by;
  std::string created_at;
  std::string updated_at;
};

caf::expected<conversation_record>
insert_conversation(pg_session& db, std::string_view slug,
                    const conversation_record& c);

caf::expected<std::optional<conversation_record>>
find_conversation(pg_session& db, std::string_view slug, std::string_view id);

/// Newest first; `before_id` is the cursor (empty: from the newest).
caf::expected<std::vector<conversation_record>>
list_conversations(pg_session& db, std::string_view slug,
                   std::string_view agent_id, std::string_view before_id,
                   int limit);

/// Appends `m` (id set by the caller) with the next seq of its
/// conversation; returns it with seq and times filled.
caf::expected<message_record> insert_message(pg_session& db,
                                             std::string_view slug,
                                             const message_record& m);

/// Appends `text` to message `id`'s content (a streaming reply).
caf::error append_message_text(pg_session& db, std::string_view slug,
                               std::string_view id, std::string_view text);

/// Sets message `id`'s status, and its content when `content` is given.
caf::error finish_message(pg_session& db, std::string_view slug,
                          std::string_view id, std::string_view status,
                          std::optional<std::string> content = std::nullopt);

/// Messages of `conversation_id` with seq >= `from_seq`, in order.
caf::expected<std::vector<message_record>>
messages_from(pg_session& db, std::string_view slug,
              std::string_view conversation_id, int from_seq, int limit = 200);

/// NOTIFY storage::executions_channel "<slug>:conversation:<id>" (delivered
/// at commit): a message was added to or grew in conversation `id`.
caf::error notify_conversation(pg_session& db, std::string_view slug,
                               std::string_view id);

} // namespace fp::storage
