// Executions: listing with filters, one execution with its tool calls, its
// event log (paged by seq), its SSE stream and cancel.

#include "fp/net/agent_routes.hpp"

#include <charconv>

#include "agent_json.hpp"
#include "agent_route_support.hpp"
#include "execution_stream_sessions.hpp"
#include "fp/actors/agent_engine.hpp"
#include "fp/actors/signal_rules.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/json.hpp"
#include "fp/runtime/errc.hpp"
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

bool execution_status(std::string_view s) {
  return s == "queued" || s == "running" || s == "succeeded" || s == "failed"
         || s == "cancelled" || s == "timed_out";
}

caf::expected<storage::execution_filter> parse_filter(const http_request& req) {
  storage::execution_filter f;
  auto uuid_param = [&](std::string_view name,
                        std::string& out) -> caf::error {
    out = req.query_param(name);
    if (!out.empty() && !storage::is_uuid(out))
      return invalid(std::string{name} + " must be a UUID");
    return caf::none;
  };
  if (auto err = uuid_param("agent_id", f.agent_id))
    return err;
  if (auto err = uuid_param("conversation_id", f.conversation_id))
    return err;
  if (auto err = uuid_param("trigger_signal_id", f.trigger_signal_id))
    return err;
  f.status = req.query_param("status");
  if (!f.status.empty() && !execution_status(f.status))
    return invalid("status must be queued, running, succeeded, failed, "
                   "cancelled or timed_out");
  f.correlation_id = req.query_param("correlation_id");
  if (auto e = actors::opaque_id_error(f.correlation_id, "correlation_id");
      !e.empty())
    return invalid(e);
  f.skill_name = req.query_param("skill_name");
  if (f.skill_name.size() > 100)
    return invalid("skill_name is too long");
  f.since = req.query_param("since");
  if (!f.since.empty())
    if (auto e = actors::rfc3339_error(f.since, "since"); !e.empty())
      return invalid(e);
  f.until = req.query_param("until");
  if (!f.until.empty())
    if (auto e = actors::rfc3339_error(f.until, "until"); !e.empty())
      return invalid(e);
  if (auto err = read_id_page(req, f.before_id, f.limit))
    return err;
  return f;
}

void list_handler(const spine_services& spine, const request_context& ctx,
                  const responder_ptr& res, const principal& who) {
  auto f = parse_filter(ctx.request);
  if (!f) {
    res->fail(f.error());
    return;
  }
  auto limit = f->limit;
  // One extra row tells whether there is a next page.
  f->limit += 1;
  using list_t = std::vector<storage::execution_record>;
  run_db<list_t>(
    *spine.sys, spine.storage_pool, spine.timeout, "executions.list",
    [slug = who.org_slug, f = *f](storage::pg_session& db) {
      return storage::list_executions(db, slug, f);
    },
    id_page_to<storage::execution_record>(
      res, limit, "executions",
      [](json_writer& w, const storage::execution_record& e) {
        write_execution(w, e);
      }),
    fail_to(res));
}

void get_handler(const spine_services& spine, const request_context& ctx,
                 const responder_ptr& res, const principal& who) {
  detail::get_one(
    spine, ctx, res, who, "executions.get", "execution",
    [](storage::pg_session& db, const std::string& slug, const std::string& id) {
      return load_execution_view(db, slug, id);
    },
    [](const responder_ptr& out, const execution_view& v) {
      std::string body;
      json_writer w{body};
      write_execution(w, v.record, &v.calls);
      out->send(http_response::json(200, std::move(body)));
    });
}

struct events_page {
  bool found = false;
  std::string status;
  std::vector<storage::execution_event> events;
};

void events_handler(const spine_services& spine, const request_context& ctx,
                    const responder_ptr& res, const principal& who) {
  int after = 0;
  if (auto a = ctx.request.query_param("after"); !a.empty()) {
    auto n = parse_execution_event_id(a);
    if (!n) {
      res->fail(invalid("after must be a non-negative integer (an event seq)"));
      return;
    }
    after = *n;
  }
  int limit = 500;
  if (auto l = ctx.request.query_param("limit"); !l.empty()) {
    auto n = detail::parse_limit(l, 1000);
    if (!n) {
      res->fail(invalid("limit must be an integer from 1 to 1000"));
      return;
    }
    limit = *n;
  }
  run_db<events_page>(
    *spine.sys, spine.storage_pool, spine.timeout, "executions.events",
    [slug = who.org_slug, id = std::string{ctx.param("id")}, after,
     limit](storage::pg_session& db) -> caf::expected<events_page> {
      events_page page;
      auto found = storage::find_execution(db, slug, id);
      if (!found)
        return std::move(found.error());
      if (!*found)
        return page;
      page.found = true;
      page.status = (*found)->status;
      auto events = storage::execution_events_after(db, slug, id, after, limit);
      if (!events)
        return std::move(events.error());
      page.events = std::move(*events);
      return page;
    },
    [res, after](events_page&& page) {
      if (!page.found) {
        res->fail(not_found("execution"));
        return;
      }
      std::string body;
      json_writer w{body};
      w.begin_object().member("status", page.status).key("events").begin_array();
      for (auto& ev : page.events)
        write_execution_event(w, ev);
      w.end_array();
      w.member("last_seq", page.events.empty() ? after : page.events.back().seq);
      w.end_object();
      res->send(http_response::json(200, std::move(body)));
    },
    fail_to(res));
}

void cancel_handler(const spine_services& spine, const request_context& ctx,
                    const responder_ptr& res, const principal& who) {
  using found_t = std::optional<storage::execution_record>;
  run_db<found_t>(
    *spine.sys, spine.storage_pool, spine.timeout, "executions.cancel",
    [tenant = detail::tenant_of(who),
     id = std::string{ctx.param("id")}](storage::pg_session& db)
      -> caf::expected<found_t> {
      auto found = storage::find_execution(db, tenant.slug, id);
      if (!found || !*found)
        return found;
      return actors::cancel_execution(db, tenant, id);
    },
    detail::found_or_404(res, "execution",
                         [spine, slug = who.org_slug](
                           const responder_ptr& out,
                           const storage::execution_record& e) {
                           tell_cancel(spine, slug, e.id);
                           std::string body;
                           json_writer w{body};
                           write_execution(w, e);
                           auto resp = http_response::json(202, std::move(body));
                           resp.set_header("Location",
                                           "/api/v1/executions/" + e.id);
                           out->send(std::move(resp));
                         }),
    fail_to(res));
}

void stream_handler(const spine_services& spine, const request_context& ctx,
                    const responder_ptr& res, const principal& who) {
  std::string last_id{ctx.request.header("last-event-id")};
  if (last_id.empty())
    last_id = ctx.request.query_param("last_event_id");
  int after = 0;
  if (!last_id.empty()) {
    auto n = parse_execution_event_id(last_id);
    if (!n) {
      res->fail(make_error(errc::bad_request,
                           "Last-Event-ID must be an event seq of this "
                           "execution"));
      return;
    }
    after = *n;
  }
  // 404 before the stream starts: afterwards only events can be sent.
  detail::get_one(spine, ctx, res, who, "executions.stream_open", "execution",
                  [](storage::pg_session& db, const std::string& slug,
                     const std::string& id) {
                    return storage::find_execution(db, slug, id);
                  },
                  [spine, slug = who.org_slug, after](
                    const responder_ptr& out,
                    const storage::execution_record& e) {
                    open_execution_stream(spine, out, slug, e.id, after);
                  });
}

route_doc doc(std::string summary, int status = 200) {
  return detail::auth_doc(std::move(summary), "executions", status);
}

} // namespace

std::optional<int> parse_execution_event_id(std::string_view text) {
  int n = 0;
  auto last = text.data() + text.size();
  auto [end, ec] = std::from_chars(text.data(), last, n);
  if (text.empty() || ec != std::errc{} || end != last || n < 0)
    return std::nullopt;
  return n;
}

void add_execution_routes(router& r, const spine_services& spine) {
  using actors::action;
  auto route = [&](const char* method, const char* path, actors::action a,
                   void (*fn)(const spine_services&, const request_context&,
                              const responder_ptr&, const principal&),
                   route_doc d) {
    r.add(method, path,
          tenant_route(spine.auth, a,
                       [spine, fn](const request_context& ctx,
                                   const responder_ptr& res, principal who) {
                         fn(spine, ctx, res, who);
                       }),
          std::move(d));
  };
  route("GET", "/api/v1/executions", action::tenant_read, list_handler,
        doc("Lists executions newest first. Filters: agent_id, status, "
            "conversation_id, correlation_id, trigger_signal_id, skill_name, "
            "since / until (RFC 3339, on queued_at); cursor, limit 1..200."));
  route("GET", "/api/v1/executions/{id}", action::tenant_read, get_handler,
        doc("One execution with its tool calls (allowed and denied)."));
  route("GET", "/api/v1/executions/{id}/events", action::tenant_read,
        events_handler,
        doc("The execution's events with seq > ?after= (default 0), oldest "
            "first, at most ?limit= (default 500)."));
  auto stream_doc = doc("Streams the execution's events as server-sent "
                        "events.");
  stream_doc.description
    = "Event id = event seq, event name = event kind (status, log, delta, "
      "tool_call, usage, output, error), data = the event as JSON. "
      "Last-Event-ID (or ?last_event_id=) resumes after that seq with no gap "
      "or duplicate. Once the execution finished and every event was sent, "
      "an `end` event {status} closes the stream. Comment heartbeats keep "
      "idle streams open.";
  stream_doc.success_type = "text/event-stream";
  route("GET", "/api/v1/executions/{id}/stream", action::tenant_read,
        stream_handler, std::move(stream_doc));
  route("POST", "/api/v1/executions/{id}/cancel", action::tenant_write,
        cancel_handler,
        doc("Requests cancellation: a queued execution is cancelled at once, "
            "a running one stops promptly. 202 with the execution.",
            202));
}

} // namespace fp::net
