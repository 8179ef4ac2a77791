// Chat: conversations with one agent. Posting a message writes the user
// message, the (empty, streaming) assistant reply and the queued execution
// that fills it in ONE transaction; the reply then streams into its message
// and out through `GET /conversations/{id}/stream`.

#include "fp/net/agent_routes.hpp"

#include <charconv>

#include "agent_json.hpp"
#include "agent_route_support.hpp"
#include "execution_stream_sessions.hpp"
#include "fp/actors/agent_engine.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/idempotency.hpp"
#include "fp/net/json.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/agents.hpp"
#include "fp/storage/conversations.hpp"
#include "fp/storage/users.hpp"
#include "route_support.hpp"

namespace fp::net {

namespace {

using namespace agent_detail;
using detail::fail_to;
using detail::not_found;
using detail::tenant_route;
using runtime::errc;
using runtime::make_error;

/// Messages shown with a conversation (the newest are in its stream).
constexpr int max_shown_messages = 1000;
constexpr std::size_t max_content = 64 * 1024;

// -- parsing ------------------------------------------------------------------------

struct conversation_input {
  std::string agent_id;
  std::string title;
};

caf::expected<conversation_input> parse_conversation(const http_request& req) {
  json_body body;
  od::object obj;
  if (auto err = body.parse_object(req, obj,
                                   "expected {\"agent_id\":...,\"title\":...}"))
    return err;
  conversation_input in;
  for (auto field : obj) {
    std::string_view key;
    od::value val;
    if (field.unescaped_key().get(key) || field.value().get(val))
      return make_error(errc::bad_request, "unreadable member");
    caf::error err;
    if (key == "agent_id")
      err = read_string(val, key, in.agent_id, 36, false);
    else if (key == "title")
      err = read_string(val, key, in.title, 200);
    else
      err = unknown_member(key);
    if (err)
      return err;
  }
  if (in.agent_id.empty())
    return invalid("missing member \"agent_id\"");
  if (!storage::is_uuid(in.agent_id))
    return invalid("agent_id must be a UUID");
  return in;
}

caf::expected<std::string> parse_content(const http_request& req) {
  json_body body;
  od::object obj;
  if (auto err = body.parse_object(req, obj, "expected {\"content\":\"...\"}"))
    return err;
  std::optional<std::string> content;
  for (auto field : obj) {
    std::string_view key;
    od::value val;
    if (field.unescaped_key().get(key) || field.value().get(val))
      return make_error(errc::bad_request, "unreadable member");
    if (key != "content")
      return unknown_member(key);
    std::string text;
    if (auto err = read_string(val, key, text, max_content, false))
      return err;
    content = std::move(text);
  }
  if (!content)
    return invalid("missing member \"content\"");
  if (content->find_first_not_of(" \t\r\n") == std::string::npos)
    return invalid("content must not be empty");
  return std::move(*content);
}

/// `{"message": <content>}` as JSON text.
std::string message_input(const std::string& content) {
  std::string out;
  json_writer w{out};
  w.begin_object().member("message", content).end_object();
  return out;
}

// -- rendering ------------------------------------------------------------------------

struct conversation_view {
  storage::conversation_record conversation;
  std::vector<storage::message_record> messages;
};

http_response render(int status, const conversation_view& v) {
  std::string body;
  json_writer w{body};
  w.begin_object()
    .member("id", v.conversation.id)
    .member("agent_id", v.conversation.agent_id)
    .member("title", v.conversation.title);
  detail::write_nullable(w, "created_by", v.conversation.created_by);
  w.member("created_at", v.conversation.created_at)
    .member("updated_at", v.conversation.updated_at);
  w.key("messages").begin_array();
  for (auto& m : v.messages)
    write_message(w, m);
  w.end_array().end_object();
  return http_response::json(status, std::move(body));
}

route_doc doc(std::string summary, int status = 200, bool json_body = false) {
  return detail::auth_doc(std::move(summary), "conversations", status,
                          json_body);
}

// -- handlers ---------------------------------------------------------------------------

void create_handler(const spine_services& spine, const request_context& ctx,
                    const responder_ptr& res, const principal& who) {
  auto in = parse_conversation(ctx.request);
  if (!in) {
    res->fail(in.error());
    return;
  }
  storage::conversation_record c;
  c.id = runtime::new_uuid_v7();
  c.agent_id = in->agent_id;
  c.title = in->title;
  c.created_by = who.user_id;
  run_db<storage::conversation_record>(
    *spine.sys, spine.storage_pool, spine.timeout, "conversations.create",
    [slug = who.org_slug, c](storage::pg_session& db)
      -> caf::expected<storage::conversation_record> {
      auto agent = storage::find_agent(db, slug, c.agent_id);
      if (!agent)
        return std::move(agent.error());
      if (!*agent)
        return invalid("agent_id names no agent of this organization");
      if ((*agent)->state == "archived")
        return make_error(errc::conflict,
                          "agent \"" + (*agent)->name + "\" is archived");
      return storage::insert_conversation(db, slug, c);
    },
    [res](storage::conversation_record&& c) {
      auto resp = render(201, conversation_view{c, {}});
      resp.set_header("Location", "/api/v1/conversations/" + c.id);
      res->send(std::move(resp));
    },
    fail_to(res));
}

void list_handler(const spine_services& spine, const request_context& ctx,
                  const responder_ptr& res, const principal& who) {
  std::string agent_id = ctx.request.query_param("agent_id");
  if (!agent_id.empty() && !storage::is_uuid(agent_id)) {
    res->fail(invalid("agent_id must be a UUID"));
    return;
  }
  std::string before;
  int limit = 50;
  if (auto err = read_id_page(ctx.request, before, limit)) {
    res->fail(std::move(err));
    return;
  }
  using list_t = std::vector<storage::conversation_record>;
  run_db<list_t>(
    *spine.sys, spine.storage_pool, spine.timeout, "conversations.list",
    [slug = who.org_slug, agent_id, before, limit](storage::pg_session& db) {
      // One extra row tells whether there is a next page.
      return storage::list_conversations(db, slug, agent_id, before, limit + 1);
    },
    id_page_to<storage::conversation_record>(
      res, limit, "conversations",
      [](json_writer& w, const storage::conversation_record& c) {
        write_conversation(w, c);
      }),
    fail_to(res));
}

/// Conversation `id` with its first messages, nullopt when absent.
caf::expected<std::optional<conversation_view>>
load_conversation_view(storage::pg_session& db, const std::string& slug,
                       const std::string& id) {
  using found_t = std::optional<conversation_view>;
  auto c = storage::find_conversation(db, slug, id);
  if (!c)
    return std::move(c.error());
  if (!*c)
    return found_t{};
  conversation_view v{std::move(**c), {}};
  int from = 1;
  while (static_cast<int>(v.messages.size()) < max_shown_messages) {
    auto page = storage::messages_from(db, slug, id, from, 200);
    if (!page)
      return std::move(page.error());
    if (page->empty())
      break;
    from = page->back().seq + 1;
    auto n = page->size();
    for (auto& m : *page)
      v.messages.push_back(std::move(m));
    if (n < 200)
      break;
  }
  return found_t{std::move(v)};
}

void get_handler(const spine_services& spine, const request_context& ctx,
                 const responder_ptr& res, const principal& who) {
  detail::get_one(spine, ctx, res, who, "conversations.get", "conversation",
                  load_conversation_view,
                  [](const responder_ptr& out, const conversation_view& v) {
                    out->send(render(200, v));
                  });
}

struct posted_message {
  storage::message_record user;
  storage::message_record assistant;
  storage::execution_record execution;
};

void post_message_handler(const spine_services& spine,
                          const request_context& ctx, const responder_ptr& res,
                          const principal& who) {
  auto content = parse_content(ctx.request);
  if (!content) {
    res->fail(content.error());
    return;
  }
  actors::execution_request req;
  req.input = message_input(*content);
  set_initiator(ctx, who, req);
  run_db<posted_message>(
    *spine.sys, spine.storage_pool, spine.timeout, "conversations.post",
    [tenant = detail::tenant_of(who), id = std::string{ctx.param("id")},
     user_id = who.user_id, content = std::move(*content),
     req](storage::pg_session& db) mutable -> caf::expected<posted_message> {
      auto c = storage::find_conversation(db, tenant.slug, id);
      if (!c)
        return std::move(c.error());
      if (!*c)
        return not_found("conversation");
      posted_message out;
      auto reply_id = runtime::new_uuid_v7();
      req.agent_id = (*c)->agent_id;
      req.conversation_id = (*c)->id;
      req.reply_message_id = reply_id;
      auto e = actors::queue_execution(db, tenant, req);
      if (!e)
        return std::move(e.error());
      out.execution = std::move(*e);
      storage::message_record m;
      m.conversation_id = (*c)->id;
      m.id = runtime::new_uuid_v7();
      m.role = "user";
      m.content = content;
      m.status = "complete";
      m.execution_id = out.execution.id;
      m.created_by = user_id;
      auto user = storage::insert_message(db, tenant.slug, m);
      if (!user)
        return std::move(user.error());
      out.user = std::move(*user);
      m.id = reply_id;
      m.role = "assistant";
      m.content.clear();
      m.status = "streaming";
      m.created_by.clear();
      auto assistant = storage::insert_message(db, tenant.slug, m);
      if (!assistant)
        return std::move(assistant.error());
      out.assistant = std::move(*assistant);
      if (auto err = storage::notify_conversation(db, tenant.slug, (*c)->id))
        return err;
      return out;
    },
    [res](posted_message&& p) {
      std::string body;
      json_writer w{body};
      w.begin_object().key("user_message");
      write_message(w, p.user);
      w.key("assistant_message");
      write_message(w, p.assistant);
      w.key("execution");
      write_execution(w, p.execution);
      w.end_object();
      auto resp = http_response::json(202, std::move(body));
      resp.set_header("Location", "/api/v1/executions/" + p.execution.id);
      res->send(std::move(resp));
    },
    fail_to(res));
}

void stream_handler(const spine_services& spine, const request_context& ctx,
                    const responder_ptr& res, const principal& who) {
  std::string last_id{ctx.request.header("last-event-id")};
  if (last_id.empty())
    last_id = ctx.request.query_param("last_event_id");
  chat_position from;
  if (!last_id.empty()) {
    auto pos = parse_chat_event_id(last_id);
    if (!pos) {
      res->fail(make_error(errc::bad_request,
                           "Last-Event-ID must be <message seq>:<offset>"));
      return;
    }
    from = *pos;
  }
  // 404 before the stream starts: afterwards only events can be sent.
  detail::get_one(spine, ctx, res, who, "conversations.stream_open",
                  "conversation",
                  [](storage::pg_session& db, const std::string& slug,
                     const std::string& id) {
                    return storage::find_conversation(db, slug, id);
                  },
                  [spine, slug = who.org_slug, from](
                    const responder_ptr& out,
                    const storage::conversation_record& c) {
                    open_chat_stream(spine, out, slug, c.id, from);
                  });
}

} // namespace

std::optional<chat_position> parse_chat_event_id(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return std::nullopt;
  auto seq_text = text.substr(0, colon);
  auto off_text = text.substr(colon + 1);
  int seq = 0;
  uint64_t offset = 0;
  auto [e1, c1] = std::from_chars(seq_text.data(),
                                  seq_text.data() + seq_text.size(), seq);
  auto [e2, c2] = std::from_chars(off_text.data(),
                                  off_text.data() + off_text.size(), offset);
  if (seq_text.empty() || off_text.empty() || c1 != std::errc{}
      || c2 != std::errc{} || e1 != seq_text.data() + seq_text.size()
      || e2 != off_text.data() + off_text.size() || seq < 1
      || offset > (uint64_t{1} << 40))
    return std::nullopt;
  return chat_position{seq, static_cast<std::size_t>(offset)};
}

void add_conversation_routes(router& r, const spine_services& spine) {
  using actors::action;
  auto route = [&](const char* method, const char* path, actors::action a,
                   void (*fn)(const spine_services&, const request_context&,
                              const responder_ptr&, const principal&),
                   route_doc d, bool idem = false) {
    authed_handler h = [spine, fn](const request_context& ctx,
                                   const responder_ptr& res, principal who) {
      fn(spine, ctx, res, who);
    };
    if (idem)
      h = idempotent(spine, std::move(h));
    r.add(method, path, tenant_route(spine.auth, a, std::move(h)),
          std::move(d));
  };
  route("GET", "/api/v1/conversations", action::tenant_read, list_handler,
        doc("Lists conversations newest first (agent_id filter; cursor, "
            "limit 1..200)."));
  route("POST", "/api/v1/conversations", action::tenant_write, create_handler,
        doc("Starts a conversation {agent_id, title?} with an agent.", 201,
            true),
        true);
  route("GET", "/api/v1/conversations/{id}", action::tenant_read, get_handler,
        doc("One conversation with its messages in order."));
  route("POST", "/api/v1/conversations/{id}/messages", action::tenant_write,
        post_message_handler,
        doc("Sends {content}: the user message, the assistant reply "
            "(status streaming) and the execution producing it are written in "
            "one transaction. 202 {user_message, assistant_message, "
            "execution}.",
            202, true),
        true);
  auto stream_doc = doc("Streams the conversation as server-sent events.");
  stream_doc.description
    = "`message` events carry a whole message (a streaming reply as far as it "
      "got), `delta` events {message_id, seq, offset, text} the text a "
      "streaming reply gained (offsets in bytes of UTF-8), `message.done` "
      "{message_id, seq, status} its end. Event ids are `<seq>:<offset>`; "
      "Last-Event-ID (or ?last_event_id=) resumes mid-message without losing "
      "or repeating text. Without it the stream starts at the first message.";
  stream_doc.success_type = "text/event-stream";
  route("GET", "/api/v1/conversations/{id}/stream", action::tenant_read,
        stream_handler, std::move(stream_doc));
}

} // namespace fp::net
