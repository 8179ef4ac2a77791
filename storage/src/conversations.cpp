#include "fp/storage/conversations.hpp"

#include <algorithm>

#include "agent_sql.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/executions.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"
#include "sql_text.hpp"

namespace fp::storage {

namespace {

using detail::opt_text;

// -- conversations ------------------------------------------------------------------

std::string conversation_columns() {
  return "id::text, agent_id::text, title, coalesce(created_by, ''), "
         + detail::rfc3339("created_at") + ", " + detail::rfc3339("updated_at");
}

conversation_record read_conversation(const result& r, int row) {
  conversation_record c;
  c.id = r.text(row, 0);
  c.agent_id = r.text(row, 1);
  c.title = r.text(row, 2);
  c.created_by = r.text(row, 3);
  c.created_at = r.text(row, 4);
  c.updated_at = r.text(row, 5);
  return c;
}

// -- messages -----------------------------------------------------------------------

std::string message_columns() {
  return "conversation_id::text, seq, id::text, role, content, status, "
         "coalesce(execution_id::text, ''), coalesce(created_by, ''), "
         + detail::rfc3339("created_at") + ", " + detail::rfc3339("updated_at");
}

message_record read_message(const result& r, int row) {
  message_record m;
  int c = 0;
  m.conversation_id = r.text(row, c++);
  m.seq = static_cast<int>(r.int64(row, c++));
  m.id = r.text(row, c++);
  m.role = r.text(row, c++);
  m.content = r.text(row, c++);
  m.status = r.text(row, c++);
  m.execution_id = r.text(row, c++);
  m.created_by = r.text(row, c++);
  m.created_at = r.text(row, c++);
  m.updated_at = r.text(row, c++);
  return m;
}

} // namespace

// -- conversations ------------------------------------------------------------------

caf::expected<conversation_record>
insert_conversation(pg_session& db, std::string_view slug,
                    const conversation_record& c) {
  if (!is_uuid(c.id))
    return detail::not_a_uuid("conversation id");
  if (!is_uuid(c.agent_id))
    return detail::not_a_uuid("agent_id");
  auto schema = quoted_tenant_schema(slug);
  // Inserted only when the agent exists: a foreign-key violation would
  // abort the caller's transaction.
  auto r = db.exec("INSERT INTO " + schema
                     + ".conversations (id, agent_id, title, created_by) "
                       "SELECT $1::uuid, a.id, $3, $4 FROM "
                     + schema + ".agents a WHERE a.id = $2::uuid RETURNING "
                     + conversation_columns(),
                   {c.id, c.agent_id, c.title, opt_text(c.created_by)});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return runtime::make_error(runtime::errc::not_found, "agent not found");
  return read_conversation(*r, 0);
}

caf::expected<std::optional<conversation_record>>
find_conversation(pg_session& db, std::string_view slug, std::string_view id) {
  if (!is_uuid(id))
    return std::optional<conversation_record>{};
  return detail::first_row(
    db.exec("SELECT " + conversation_columns() + " FROM "
              + quoted_tenant_schema(slug) + ".conversations WHERE id = $1::uuid",
            {std::string{id}}),
    read_conversation);
}

caf::expected<std::vector<conversation_record>>
list_conversations(pg_session& db, std::string_view slug,
                   std::string_view agent_id, std::string_view before_id,
                   int limit) {
  std::vector<conversation_record> out;
  if (!detail::empty_or_uuid(agent_id))
    return detail::not_a_uuid("agent_id");
  if (!detail::empty_or_uuid(before_id))
    return runtime::make_error(runtime::errc::invalid_argument,
                               "invalid cursor");
  std::string sql = "SELECT " + conversation_columns() + " FROM "
                    + quoted_tenant_schema(slug) + ".conversations WHERE true";
  sql_params params;
  if (!agent_id.empty()) {
    params.emplace_back(std::string{agent_id});
    sql += " AND agent_id = $" + std::to_string(params.size()) + "::uuid";
  }
  if (!before_id.empty()) {
    params.emplace_back(std::string{before_id});
    sql += " AND id < $" + std::to_string(params.size()) + "::uuid";
  }
  params.emplace_back(std::to_string(std::max(limit, 0)));
  sql += " ORDER BY id DESC LIMIT $" + std::to_string(params.size());
  auto r = db.exec(sql, std::move(params));
  if (!r)
    return std::move(r.error());
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(read_conversation(*r, i));
  return out;
}

// -- messages -----------------------------------------------------------------------

caf::expected<message_record> insert_message(pg_session& db,
                                             std::string_view slug,
                                             const message_record& m) {
  if (!is_uuid(m.id))
    return detail::not_a_uuid("message id");
  if (!is_uuid(m.conversation_id))
    return detail::not_a_uuid("conversation_id");
  if (!detail::empty_or_uuid(m.execution_id))
    return detail::not_a_uuid("execution_id");
  auto schema = quoted_tenant_schema(slug);
  // Two statements on purpose: the conversation's row lock orders
  // concurrent appenders, and under READ COMMITTED only a statement that
  // starts after the lock was granted sees the previous appender's row
  // (a max(seq) subquery in the locking statement would read a stale
  // snapshot and collide on the primary key).
  auto lock = db.exec("UPDATE " + schema
                        + ".conversations SET updated_at = now() WHERE id = "
                          "$1::uuid",
                      {m.conversation_id});
  if (!lock)
    return std::move(lock.error());
  if (lock->affected_rows() == 0)
    return runtime::make_error(runtime::errc::not_found,
                               "conversation not found");
  auto r = db.exec(
    "INSERT INTO " + schema
      + ".messages (conversation_id, seq, id, role, content, status, "
        "execution_id, created_by) SELECT $1::uuid, coalesce(max(seq), 0) + "
        "1, $2::uuid, $3, $4, $5, $6::uuid, $7 FROM "
      + schema + ".messages WHERE conversation_id = $1::uuid RETURNING "
      + message_columns(),
    {m.conversation_id, m.id, m.role, m.content,
     m.status.empty() ? std::string{"complete"} : m.status,
     opt_text(m.execution_id), opt_text(m.created_by)});
  if (!r)
    return std::move(r.error());
  return read_message(*r, 0);
}

caf::error append_message_text(pg_session& db, std::string_view slug,
                               std::string_view id, std::string_view text) {
  if (!is_uuid(id))
    return detail::not_a_uuid("message id");
  auto r = db.exec_prepared(
    detail::statement_name("messages.append", slug),
    "UPDATE " + quoted_tenant_schema(slug)
      + ".messages SET content = content || $2, updated_at = "
        "clock_timestamp() WHERE id = $1::uuid",
    {std::string{id}, std::string{text}});
  if (!r)
    return std::move(r.error());
  if (r->affected_rows() == 0)
    return runtime::make_error(runtime::errc::not_found, "message not found");
  return caf::none;
}

caf::error finish_message(pg_session& db, std::string_view slug,
                          std::string_view id, std::string_view status,
                          std::optional<std::string> content) {
  if (!is_uuid(id))
    return detail::not_a_uuid("message id");
  auto r = db.exec_prepared(
    detail::statement_name("messages.finish", slug),
    "UPDATE " + quoted_tenant_schema(slug)
      + ".messages SET status = $2, content = coalesce($3, content), "
        "updated_at = clock_timestamp() WHERE id = $1::uuid",
    {std::string{id}, std::string{status}, std::move(content)});
  if (!r)
    return std::move(r.error());
  if (r->affected_rows() == 0)
    return runtime::make_error(runtime::errc::not_found, "message not found");
  return caf::none;
}

caf::expected<std::vector<message_record>>
messages_from(pg_session& db, std::string_view slug,
              std::string_view conversation_id, int from_seq, int limit) {
  std::vector<message_record> out;
  if (!is_uuid(conversation_id))
    return out;
  auto r = db.exec_prepared(
    detail::statement_name("messages.from", slug),
    "SELECT " + message_columns() + " FROM " + quoted_tenant_schema(slug)
      + ".messages WHERE conversation_id = $1::uuid AND seq >= $2::int ORDER "
        "BY seq LIMIT $3::int",
    {std::string{conversation_id}, std::to_string(from_seq),
     std::to_string(std::max(limit, 0))});
  if (!r)
    return std::move(r.error());
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(read_message(*r, i));
  return out;
}

caf::error notify_conversation(pg_session& db, std::string_view slug,
                               std::string_view id) {
  std::string payload{slug};
  payload += ":conversation:";
  payload += id;
  auto r = db.exec_prepared("conversations.notify", "SELECT pg_notify($1, $2)",
                            {std::string{executions_channel}, payload});
  if (!r)
    return std::move(r.error());
  return caf::none;
}

} // namespace fp::storage
