// Agents: CRUD, lifecycle through PATCH {state}, manual runs. Every change to an agent is followed, after the
// commit, by `(reload, slug, agent id)` to the engine so a resident agent
// actor drops its cached config (or stops).

#include "fp/net/agent_routes.hpp"

#include "agent_json.hpp"
#include "agent_route_support.hpp"
#include "fp/actors/agent_engine.hpp"
#include "fp/actors/agent_rules.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/idempotency.hpp"
#include "fp/net/json.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/agents.hpp"
#include "route_support.hpp"

namespace fp::net {

namespace {

using namespace agent_detail;
using detail::fail_to;
using detail::not_found;
using detail::tenant_route;
using runtime::errc;
using runtime::make_error;

// -- parsing ------------------------------------------------------------------------

/// The members given in a POST or PATCH body.
struct agent_input {
  std::optional<std::string> name, purpose, provider, model, system_prompt,
    state;
  std::optional<std::vector<std::string>> skills, directive_types, triggers;
  std::optional<int64_t> max_tokens, max_tool_calls;
  bool has_budget = false;
  std::optional<int64_t> daily_budget_micros;
};

caf::expected<agent_input> parse_agent(const http_request& req) {
  json_body body;
  od::object obj;
  if (auto err = body.parse_object(req, obj, "expected {\"name\":...}"))
    return err;
  agent_input in;
  for (auto field : obj) {
    std::string_view key;
    od::value val;
    if (field.unescaped_key().get(key) || field.value().get(val))
      return make_error(errc::bad_request, "unreadable member");
    caf::error err;
    auto str = [&](std::optional<std::string>& out, std::size_t max) {
      std::string text;
      err = read_string(val, key, text, max, false);
      if (!err)
        out = std::move(text);
    };
    auto list = [&](std::optional<std::vector<std::string>>& out) {
      std::vector<std::string> xs;
      err = read_strings(val, key, xs, 100);
      if (!err)
        out = std::move(xs);
    };
    auto num = [&](std::optional<int64_t>& out, int64_t lo, int64_t hi) {
      int64_t n = 0;
      err = read_int(val, key, n, lo, hi);
      if (!err)
        out = n;
    };
    if (key == "name")
      str(in.name, 100);
    else if (key == "purpose")
      str(in.purpose, 4000);
    else if (key == "provider")
      str(in.provider, 50);
    else if (key == "model")
      str(in.model, 200);
    else if (key == "system_prompt")
      str(in.system_prompt, 64 * 1024);
    else if (key == "state")
      str(in.state, 20);
    else if (key == "skills")
      list(in.skills);
    else if (key == "directive_types")
      list(in.directive_types);
    else if (key == "triggers")
      list(in.triggers);
    else if (key == "max_tokens")
      num(in.max_tokens, 1, 1000000);
    else if (key == "max_tool_calls")
      num(in.max_tool_calls, 0, 1000);
    else if (key == "daily_budget_micros") {
      in.has_budget = true;
      bool is_null = false;
      if (!val.is_null().get(is_null) && is_null)
        in.daily_budget_micros.reset();
      else
        num(in.daily_budget_micros, 0, max_budget_micros);
    } else if (key == "id" || key == "version" || key == "created_at"
               || key == "updated_at" || key == "created_by"
               || key == "installation_id" || key == "granted_scopes") {
      // Read-only members of the rendered form: ignored, so a fetched
      // agent can be sent back edited.
    } else {
      err = unknown_member(key);
    }
    if (err)
      return err;
  }
  if (in.state && !actors::is_agent_state(*in.state))
    return invalid("state must be draft, active, paused or archived");
  return in;
}

void apply(const agent_input& in, storage::agent_record& a) {
  if (in.name)
    a.name = *in.name;
  if (in.purpose)
    a.purpose = *in.purpose;
  if (in.provider)
    a.provider = *in.provider;
  if (in.model)
    a.model = *in.model;
  if (in.system_prompt)
    a.system_prompt = *in.system_prompt;
  if (in.skills)
    a.skills = *in.skills;
  if (in.directive_types)
    a.directive_types = *in.directive_types;
  if (in.triggers)
    a.triggers = *in.triggers;
  if (in.max_tokens)
    a.max_tokens = static_cast<int>(*in.max_tokens);
  if (in.max_tool_calls)
    a.max_tool_calls = static_cast<int>(*in.max_tool_calls);
  if (in.has_budget)
    a.daily_budget_micros = in.daily_budget_micros;
}

/// Rule problems of `a` plus skills the tenant cannot resolve.
caf::error check_agent(storage::pg_session& db, std::string_view slug,
                       const storage::agent_record& a) {
  auto issues = actors::validate_agent(a);
  if (!issues.empty()) {
    std::string detail;
    for (auto& i : issues) {
      if (!detail.empty())
        detail += "; ";
      detail += i.field + ": " + i.message;
    }
    return invalid(std::move(detail));
  }
  for (std::size_t i = 0; i < a.skills.size(); ++i) {
    auto s = storage::resolve_skill(db, slug, a.skills[i]);
    if (!s)
      return std::move(s.error());
    if (!*s)
      return invalid("skills[" + std::to_string(i) + "]: unknown skill \""
                     + a.skills[i] + "\"");
  }
  return caf::none;
}

caf::expected<std::string> parse_run_input(const http_request& req) {
  if (req.body.empty())
    return std::string{"{}"};
  json_body body;
  od::object obj;
  if (auto err = body.parse_object(req, obj, "expected {\"input\":{...}}"))
    return err;
  std::string input = "{}";
  for (auto field : obj) {
    std::string_view key;
    od::value val;
    if (field.unescaped_key().get(key) || field.value().get(val))
      return make_error(errc::bad_request, "unreadable member");
    if (key != "input")
      return unknown_member(key);
    if (auto err = read_object(val, key, input))
      return err;
  }
  return input;
}

// -- rendering ------------------------------------------------------------------------

http_response one(int status, const storage::agent_record& a) {
  std::string body;
  json_writer w{body};
  write_agent(w, a);
  return http_response::json(status, std::move(body));
}

route_doc doc(std::string summary, int status = 200, bool json_body = false,
              std::string tag = "agents") {
  return detail::auth_doc(std::move(summary), std::move(tag), status,
                          json_body);
}

// -- handlers ---------------------------------------------------------------------------

void create_agent(const spine_services& spine, const request_context& ctx,
                  const responder_ptr& res, const principal& who) {
  auto in = parse_agent(ctx.request);
  if (!in) {
    res->fail(in.error());
    return;
  }
  if (!in->name) {
    res->fail(invalid("missing member \"name\""));
    return;
  }
  if (in->state && *in->state != "draft" && *in->state != "active") {
    res->fail(invalid("state: a new agent is draft or active"));
    return;
  }
  storage::agent_record a;
  a.id = runtime::new_uuid_v7();
  a.created_by = who.user_id;
  apply(*in, a);
  if (in->state)
    a.state = *in->state;
  run_db<storage::agent_record>(
    *spine.sys, spine.storage_pool, spine.timeout, "agents.create",
    [slug = who.org_slug, a](storage::pg_session& db)
      -> caf::expected<storage::agent_record> {
      if (auto err = check_agent(db, slug, a))
        return err;
      return storage::insert_agent(db, slug, a);
    },
    [res](storage::agent_record&& a) {
      auto resp = one(201, a);
      resp.set_header("Location", "/api/v1/agents/" + a.id);
      res->send(std::move(resp));
    },
    fail_to(res));
}

void patch_agent(const spine_services& spine, const request_context& ctx,
                 const responder_ptr& res, const principal& who) {
  auto in = parse_agent(ctx.request);
  if (!in) {
    res->fail(in.error());
    return;
  }
  using found_t = std::optional<storage::agent_record>;
  run_db<found_t>(
    *spine.sys, spine.storage_pool, spine.timeout, "agents.update",
    [slug = who.org_slug, id = std::string{ctx.param("id")},
     in = *in](storage::pg_session& db) -> caf::expected<found_t> {
      auto found = storage::find_agent(db, slug, id, true);
      if (!found || !*found)
        return found;
      auto a = std::move(**found);
      if (a.state == "archived" && (!in.state || *in.state == "archived"))
        return make_error(errc::conflict,
                          "agent \"" + a.name + "\" is archived");
      if (in.state) {
        if (!actors::agent_transition_allowed(a.state, *in.state))
          return make_error(errc::conflict,
                            "agent \"" + a.name + "\" cannot go from "
                              + a.state + " to " + *in.state);
        a.state = *in.state;
      }
      apply(in, a);
      if (auto err = check_agent(db, slug, a))
        return err;
      return storage::update_agent(db, slug, a);
    },
    detail::found_or_404(res, "agent",
                         [spine, slug = who.org_slug](
                           const responder_ptr& out,
                           const storage::agent_record& a) {
                           tell_reload(spine, slug, a.id);
                           out->send(one(200, a));
                         }),
    fail_to(res));
}

void delete_agent(const spine_services& spine, const request_context& ctx,
                  const responder_ptr& res, const principal& who) {
  std::string id{ctx.param("id")};
  run_db<bool>(
    *spine.sys, spine.storage_pool, spine.timeout, "agents.delete",
    [slug = who.org_slug, id](storage::pg_session& db) {
      return storage::delete_agent(db, slug, id);
    },
    [spine, res, slug = who.org_slug, id](bool found) {
      if (!found) {
        res->fail(not_found("agent"));
        return;
      }
      tell_reload(spine, slug, id);
      res->send(detail::no_content());
    },
    fail_to(res));
}

void list_agents(const spine_services& spine, const request_context& ctx,
                 const responder_ptr& res, const principal& who) {
  storage::agent_filter f;
  f.state = ctx.request.query_param("state");
  if (!f.state.empty() && f.state != "all" && !actors::is_agent_state(f.state)) {
    res->fail(invalid("state must be draft, active, paused, archived or all"));
    return;
  }
  if (auto err = read_id_page(ctx.request, f.before_id, f.limit)) {
    res->fail(std::move(err));
    return;
  }
  auto limit = f.limit;
  // One extra row tells whether there is a next page.
  f.limit += 1;
  using list_t = std::vector<storage::agent_record>;
  run_db<list_t>(
    *spine.sys, spine.storage_pool, spine.timeout, "agents.list",
    [slug = who.org_slug, f](storage::pg_session& db) {
      return storage::list_agents(db, slug, f);
    },
    id_page_to<storage::agent_record>(
      res, limit, "agents",
      [](json_writer& w, const storage::agent_record& a) { write_agent(w, a); }),
    fail_to(res));
}

void run_agent(const spine_services& spine, const request_context& ctx,
               const responder_ptr& res, const principal& who) {
  auto input = parse_run_input(ctx.request);
  if (!input) {
    res->fail(input.error());
    return;
  }
  actors::execution_request req;
  req.agent_id = std::string{ctx.param("id")};
  req.input = std::move(*input);
  set_initiator(ctx, who, req);
  run_db<storage::execution_record>(
    *spine.sys, spine.storage_pool, spine.timeout, "agents.run",
    [tenant = detail::tenant_of(who), req](storage::pg_session& db)
      -> caf::expected<storage::execution_record> {
      // A text that is no uuid names no agent (404, not a database error).
      auto found = storage::find_agent(db, tenant.slug, req.agent_id);
      if (!found)
        return std::move(found.error());
      if (!*found)
        return not_found("agent");
      return actors::queue_execution(db, tenant, req);
    },
    [res](storage::execution_record&& e) {
      std::string body;
      json_writer w{body};
      write_execution(w, e);
      auto resp = http_response::json(202, std::move(body));
      resp.set_header("Location", "/api/v1/executions/" + e.id);
      res->send(std::move(resp));
    },
    fail_to(res));
}

} // namespace

void add_agent_routes(router& r, const spine_services& spine) {
  using actors::action;
  r.add("GET", "/api/v1/agents",
        tenant_route(spine.auth, action::tenant_read,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       list_agents(spine, ctx, res, who);
                     }),
        doc("Lists agents newest first (state: draft|active|paused|archived|"
            "all, default all but archived; cursor, limit 1..200)."));
  r.add("POST", "/api/v1/agents",
        tenant_route(spine.auth, action::tenant_admin,
                     idempotent(spine, [spine](const request_context& ctx,
                                               const responder_ptr& res,
                                               principal who) {
                       create_agent(spine, ctx, res, who);
                     })),
        doc("Creates an agent {name, purpose?, provider?, model?, "
            "system_prompt?, skills?, directive_types?, triggers?, "
            "max_tokens?, max_tool_calls?, daily_budget_micros?, state?: "
            "draft|active}. Triggers are signal type patterns (exact, "
            "`prefix.*`, `*`).",
            201, true));
  r.add("GET", "/api/v1/agents/{id}",
        tenant_route(spine.auth, action::tenant_read,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       detail::get_one(
                         spine, ctx, res, who, "agents.get", "agent",
                         [](storage::pg_session& db, const std::string& slug,
                            const std::string& id) {
                           return storage::find_agent(db, slug, id);
                         },
                         [](const responder_ptr& out,
                            const storage::agent_record& a) {
                           out->send(one(200, a));
                         });
                     }),
        doc("One agent."));
  r.add("PATCH", "/api/v1/agents/{id}",
        tenant_route(spine.auth, action::tenant_admin,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       patch_agent(spine, ctx, res, who);
                     }),
        doc("Edits an agent; {state} moves it through its lifecycle "
            "(draft→active, active⇄paused, any→archived; archived is final): "
            "409 on another move.",
            200, true));
  r.add("DELETE", "/api/v1/agents/{id}",
        tenant_route(spine.auth, action::tenant_admin,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       delete_agent(spine, ctx, res, who);
                     }),
        doc("Deletes an agent (its executions stay, without agent_id).", 204));
  r.add("POST", "/api/v1/agents/{id}/executions",
        tenant_route(spine.auth, action::tenant_write,
                     idempotent(spine, [spine](const request_context& ctx,
                                               const responder_ptr& res,
                                               principal who) {
                       run_agent(spine, ctx, res, who);
                     })),
        doc("Runs the agent now with {input: {...}}: 202 with the queued "
            "execution and its Location.",
            202, true));
}

void add_all_agent_routes(router& r, const spine_services& spine) {
  add_skill_routes(r, spine);
  add_agent_routes(r, spine);
  add_budget_routes(r, spine);
  add_execution_routes(r, spine);
  add_conversation_routes(r, spine);
}

} // namespace fp::net
