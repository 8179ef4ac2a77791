// The skill catalog as a tenant sees it: its own skills plus the global
// ones it does not override. Globals are read-only here; a tenant skill of
// the same name overrides one. `POST /skills/{id}/test` runs a skill in
// isolation and waits (bounded) for the result.

#include "fp/net/agent_routes.hpp"

#include <regex>

#include "agent_json.hpp"
#include "agent_route_support.hpp"
#include "fp/actors/agent_engine.hpp"
#include "fp/actors/json_schema.hpp"
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

/// The members of a POST (all that are given) or PATCH body.
struct skill_input {
  std::optional<std::string> name, description, kind, input_schema,
    output_schema, config, min_role;
  std::optional<std::vector<std::string>> required_scopes;
};

bool valid_skill_name(std::string_view name) {
  static const std::regex re{R"(^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$)"};
  return name.size() <= 100 && std::regex_match(name.begin(), name.end(), re);
}

caf::error check_schema_member(std::string_view key, const std::string& text) {
  auto issues = actors::check_schema(text);
  if (issues.empty())
    return caf::none;
  return invalid(std::string{key} + " is not a usable schema: "
                 + actors::describe_issues(issues));
}

caf::expected<skill_input> parse_skill(const http_request& req) {
  json_body body;
  od::object obj;
  if (auto err = body.parse_object(req, obj,
                                   "expected {\"name\":...,\"kind\":...}"))
    return err;
  skill_input in;
  for (auto field : obj) {
    std::string_view key;
    od::value val;
    if (field.unescaped_key().get(key) || field.value().get(val))
      return make_error(errc::bad_request, "unreadable member");
    std::string text;
    caf::error err;
    if (key == "name" || key == "description" || key == "kind"
        || key == "min_role") {
      err = read_string(val, key, text, key == "description" ? 4000 : 100,
                        false);
      if (!err) {
        if (key == "name")
          in.name = std::move(text);
        else if (key == "description")
          in.description = std::move(text);
        else if (key == "kind")
          in.kind = std::move(text);
        else
          in.min_role = std::move(text);
      }
    } else if (key == "input_schema" || key == "output_schema"
               || key == "config") {
      err = read_object(val, key, text, 64 * 1024);
      if (!err) {
        if (key == "input_schema")
          in.input_schema = std::move(text);
        else if (key == "output_schema")
          in.output_schema = std::move(text);
        else
          in.config = std::move(text);
      }
    } else if (key == "required_scopes") {
      std::vector<std::string> xs;
      err = read_strings(val, key, xs, 50);
      if (!err)
        in.required_scopes = std::move(xs);
    } else if (key == "id" || key == "scope" || key == "overrides"
               || key == "created_at" || key == "updated_at"
               || key == "created_by" || key == "installation_id") {
      // Read-only members of the rendered form: ignored, so a fetched
      // skill can be sent back edited.
    } else {
      err = unknown_member(key);
    }
    if (err)
      return err;
  }
  if (in.name && !valid_skill_name(*in.name))
    return invalid("name must be dot-separated lower-case words "
                   "(letters, digits, '_'), e.g. text.summarize");
  if (in.kind && *in.kind != "prompt" && *in.kind != "directive")
    return invalid("kind must be \"prompt\" or \"directive\"");
  if (in.min_role && !actors::parse_role(*in.min_role))
    return invalid("min_role must be member, admin or owner");
  if (in.input_schema)
    if (auto err = check_schema_member("input_schema", *in.input_schema))
      return err;
  if (in.output_schema)
    if (auto err = check_schema_member("output_schema", *in.output_schema))
      return err;
  return in;
}

void apply(const skill_input& in, storage::skill_record& s) {
  if (in.description)
    s.description = *in.description;
  if (in.input_schema)
    s.input_schema = *in.input_schema;
  if (in.output_schema)
    s.output_schema = *in.output_schema;
  if (in.config)
    s.config = *in.config;
  if (in.min_role)
    s.min_role = *in.min_role;
  if (in.required_scopes)
    s.required_scopes = *in.required_scopes;
}

caf::error global_read_only(const storage::skill_record& s) {
  return make_error(errc::conflict,
                    "skill \"" + s.name
                      + "\" is global and read-only through an organization: "
                        "create a skill of the same name (POST "
                        "/api/v1/skills) to override it");
}

struct test_input {
  std::string input = "{}";
  std::string provider;
  std::string model;
};

caf::expected<test_input> parse_test(const http_request& req) {
  test_input in;
  if (req.body.empty())
    return in;
  json_body body;
  od::object obj;
  if (auto err = body.parse_object(req, obj, "expected {\"input\":{...}}"))
    return err;
  for (auto field : obj) {
    std::string_view key;
    od::value val;
    if (field.unescaped_key().get(key) || field.value().get(val))
      return make_error(errc::bad_request, "unreadable member");
    caf::error err;
    if (key == "input")
      err = read_object(val, key, in.input);
    else if (key == "provider")
      err = read_string(val, key, in.provider, 50);
    else if (key == "model")
      err = read_string(val, key, in.model, 200);
    else
      err = unknown_member(key);
    if (err)
      return err;
  }
  return in;
}

// -- rendering ------------------------------------------------------------------------

http_response one(int status, const storage::skill_record& s) {
  std::string body;
  json_writer w{body};
  write_skill(w, s);
  return http_response::json(status, std::move(body));
}

route_doc doc(std::string summary, int status = 200, bool json_body = false) {
  return detail::auth_doc(std::move(summary), "skills", status, json_body);
}

// -- handlers ---------------------------------------------------------------------------

void create_skill(const spine_services& spine, const request_context& ctx,
                  const responder_ptr& res, const principal& who) {
  auto in = parse_skill(ctx.request);
  if (!in) {
    res->fail(in.error());
    return;
  }
  if (!in->name || !in->kind) {
    res->fail(invalid(!in->name ? "missing member \"name\""
                                : "missing member \"kind\""));
    return;
  }
  storage::skill_record s;
  s.id = runtime::new_uuid_v7();
  s.name = *in->name;
  s.kind = *in->kind;
  s.created_by = who.user_id;
  apply(*in, s);
  run_db<storage::skill_record>(
    *spine.sys, spine.storage_pool, spine.timeout, "skills.create",
    [slug = who.org_slug, s](storage::pg_session& db) {
      return storage::insert_skill(db, slug, s);
    },
    [res](storage::skill_record&& s) {
      auto resp = one(201, s);
      resp.set_header("Location", "/api/v1/skills/" + s.id);
      res->send(std::move(resp));
    },
    fail_to(res));
}

void patch_skill(const spine_services& spine, const request_context& ctx,
                 const responder_ptr& res, const principal& who) {
  auto in = parse_skill(ctx.request);
  if (!in) {
    res->fail(in.error());
    return;
  }
  if (in->kind) {
    res->fail(invalid("kind cannot be changed: create another skill"));
    return;
  }
  using found_t = std::optional<storage::skill_record>;
  run_db<found_t>(
    *spine.sys, spine.storage_pool, spine.timeout, "skills.update",
    [slug = who.org_slug, id = std::string{ctx.param("id")},
     in = *in](storage::pg_session& db) -> caf::expected<found_t> {
      auto found = storage::find_skill(db, slug, id);
      if (!found || !*found)
        return found;
      auto s = std::move(**found);
      if (s.scope == "global")
        return global_read_only(s);
      if (in.name && *in.name != s.name)
        return invalid("name cannot be changed: create another skill");
      apply(in, s);
      return storage::update_skill(db, slug, s);
    },
    detail::found_or_404(res, "skill",
                         [](const responder_ptr& out,
                            const storage::skill_record& s) {
                           out->send(one(200, s));
                         }),
    fail_to(res));
}

void delete_skill(const spine_services& spine, const request_context& ctx,
                  const responder_ptr& res, const principal& who) {
  run_db<bool>(
    *spine.sys, spine.storage_pool, spine.timeout, "skills.delete",
    [slug = who.org_slug,
     id = std::string{ctx.param("id")}](storage::pg_session& db)
      -> caf::expected<bool> {
      auto found = storage::find_skill(db, slug, id);
      if (!found)
        return std::move(found.error());
      if (!*found)
        return false;
      if ((*found)->scope == "global")
        return global_read_only(**found);
      return storage::delete_skill(db, slug, id);
    },
    detail::deleted_or_404(res, "skill"), fail_to(res));
}

void test_skill(const spine_services& spine, const request_context& ctx,
                const responder_ptr& res, const principal& who) {
  auto in = parse_test(ctx.request);
  if (!in) {
    res->fail(in.error());
    return;
  }
  auto wait = parse_wait(ctx.request.query_param("wait"),
                         spine.settings->request_timeout);
  if (!wait) {
    res->fail(wait.error());
    return;
  }
  actors::execution_request req;
  req.provider = in->provider;
  req.model = in->model;
  req.input = in->input;
  set_initiator(ctx, who, req);
  run_db<storage::execution_record>(
    *spine.sys, spine.storage_pool, spine.timeout, "skills.test",
    [tenant = detail::tenant_of(who), id = std::string{ctx.param("id")},
     req](storage::pg_session& db) mutable
      -> caf::expected<storage::execution_record> {
      auto found = storage::find_skill(db, tenant.slug, id);
      if (!found)
        return std::move(found.error());
      if (!*found)
        return not_found("skill");
      req.skill_name = (*found)->name;
      return actors::queue_execution(db, tenant, req);
    },
    [spine, res, slug = who.org_slug, wait = *wait](storage::execution_record&& e) {
      await_execution(
        spine, slug, e.id, wait,
        [res](execution_view&& v) {
          std::string body;
          json_writer w{body};
          write_execution(w, v.record, &v.calls);
          bool done = storage::execution_finished(v.record.status);
          auto resp = http_response::json(done ? 200 : 202, std::move(body));
          resp.set_header("Location", "/api/v1/executions/" + v.record.id);
          res->send(std::move(resp));
        },
        fail_to(res));
    },
    fail_to(res));
}

} // namespace

void add_skill_routes(router& r, const spine_services& spine) {
  using actors::action;
  r.add("GET", "/api/v1/skills",
        tenant_route(spine.auth, action::tenant_read,
                     [spine](const request_context&, const responder_ptr& res,
                             principal who) {
                       using list_t = std::vector<storage::skill_record>;
                       run_db<list_t>(
                         *spine.sys, spine.storage_pool, spine.timeout,
                         "skills.list",
                         [slug = who.org_slug](storage::pg_session& db) {
                           return storage::list_skills(db, slug);
                         },
                         [res](list_t&& list) {
                           std::string body;
                           json_writer w{body};
                           w.begin_object().key("skills").begin_array();
                           for (auto& s : list)
                             write_skill(w, s);
                           w.end_array().end_object();
                           res->send(http_response::json(200, std::move(body)));
                         },
                         fail_to(res));
                     }),
        doc("The skills the organization sees: its own and the global ones "
            "it does not override."));
  r.add("POST", "/api/v1/skills",
        tenant_route(spine.auth, action::tenant_admin,
                     idempotent(spine, [spine](const request_context& ctx,
                                               const responder_ptr& res,
                                               principal who) {
                       create_skill(spine, ctx, res, who);
                     })),
        doc("Creates a skill {name, kind: prompt|directive, description?, "
            "input_schema?, output_schema?, config?, min_role?, "
            "required_scopes?}; a global skill's name overrides it.",
            201, true));
  r.add("GET", "/api/v1/skills/{id}",
        tenant_route(spine.auth, action::tenant_read,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       detail::get_one(
                         spine, ctx, res, who, "skills.get", "skill",
                         [](storage::pg_session& db, const std::string& slug,
                            const std::string& id) {
                           return storage::find_skill(db, slug, id);
                         },
                         [](const responder_ptr& out,
                            const storage::skill_record& s) {
                           out->send(one(200, s));
                         });
                     }),
        doc("One skill (own or global)."));
  r.add("PATCH", "/api/v1/skills/{id}",
        tenant_route(spine.auth, action::tenant_admin,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       patch_skill(spine, ctx, res, who);
                     }),
        doc("Edits an own skill (description, schemas, config, min_role, "
            "required_scopes); a global one gives 409.",
            200, true));
  r.add("DELETE", "/api/v1/skills/{id}",
        tenant_route(spine.auth, action::tenant_admin,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       delete_skill(spine, ctx, res, who);
                     }),
        doc("Deletes an own skill; a global one gives 409.", 204));
  auto test_doc = doc("Runs a skill in isolation {input, provider?, model?} "
                      "and waits up to ?wait= seconds (default 30, max 120) "
                      "for it: 200 with the finished execution, or 202 with "
                      "its state so far.",
                      200, true);
  r.add("POST", "/api/v1/skills/{id}/test",
        tenant_route(spine.auth, action::tenant_write,
                     idempotent(spine, [spine](const request_context& ctx,
                                               const responder_ptr& res,
                                               principal who) {
                       test_skill(spine, ctx, res, who);
                     })),
        std::move(test_doc));
}

} // namespace fp::net
