// Organization and membership endpoints. Handlers parse, then hand one
// blocking function of actors/orgs.hpp to the storage pool and render its
// result; authorization uses the caller's membership of the org in the path.

#include "fp/net/org_routes.hpp"

#include <memory>
#include <optional>

#include <caf/actor_system.hpp>

#include "fp/actors/orgs.hpp"
#include "fp/net/api_key_cache.hpp"
#include "fp/net/bridge.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/json.hpp"
#include "fp/net/problem.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/type_ids.hpp"
#include "fp/storage/storage_pool.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "json_body.hpp"
#include "route_support.hpp"

namespace fp::net {

namespace {

using runtime::errc;
using runtime::make_error;

/// Answers `err`; a validation error whose context starts with "<field>: "
/// also names the field as `"field"` in the problem document.
void fail_with_field(const responder_ptr& res, const caf::error& err) {
  auto text = runtime::context_of(err);
  auto colon = text.find(": ");
  if (runtime::code_of(err) == errc::invalid_argument
      && colon != std::string::npos && colon < 16) {
    auto field = text.substr(0, colon);
    res->send(problem(res->context(), 422, {}, text,
                      [field](json_writer& w) { w.member("field", field); }));
    return;
  }
  res->fail(err);
}

/// Runs `work` on the storage pool outside a transaction (the functions of
/// orgs.hpp manage their own) and answers through `res`: `render(T&&)` on
/// success, problem+json otherwise. Validation errors whose context starts
/// with "<field>: " also carry `"field"`.
template <class T, class Work, class Render>
void run_and_respond(const org_services& svc, const responder_ptr& res,
                     std::string label, Work work, Render render) {
  run_db<T>(
    *svc.sys, svc.storage_pool, svc.db_timeout, std::move(label),
    std::move(work),
    [res, render = std::move(render)](T&& value) mutable {
      res->send(render(std::move(value)));
    },
    [res](caf::error&& err) { fail_with_field(res, err); },
    /*transactional=*/false);
}

/// The org in the path as the caller sees it. Sessions: the caller's
/// membership. API keys: only the key's own organization, with its role.
caf::expected<actors::org_access> access_for(storage::pg_session& db,
                                             const principal& who,
                                             const std::string& slug) {
  if (who.how == principal::via::api_key) {
    if (slug != who.org_slug || !who.org_role)
      return make_error(errc::not_found, "no organization named '" + slug + "'");
    auto org = storage::find_org_by_slug(db, slug);
    if (!org)
      return std::move(org.error());
    if (!*org || (*org)->state != "active" || (*org)->id != who.org_id)
      return make_error(errc::not_found, "no organization named '" + slug + "'");
    return actors::org_access{std::move(**org), *who.org_role};
  }
  return actors::resolve_org(db, slug, who.user_id);
}

struct json_fields {
  std::string slug;
  std::string name;
  std::string email;
  std::string role;
};

/// Reads string members `names` of a JSON object body; missing ones stay
/// empty (the domain functions name the field that is wrong).
caf::expected<json_fields> parse_fields(const http_request& req,
                                        std::initializer_list<std::string_view> names) {
  json_body body;
  simdjson::ondemand::object obj;
  if (auto err = body.parse_object(req, obj, "body: expected a JSON object"))
    return err;
  json_fields out;
  for (auto name : names) {
    auto field = obj.find_field_unordered(name);
    if (field.error() == simdjson::NO_SUCH_FIELD)
      continue;
    std::string_view text;
    if (field.get_string().get(text))
      return make_error(errc::invalid_argument,
                        std::string{name} + ": must be a string");
    std::string* dst = name == "slug"    ? &out.slug
                       : name == "name"  ? &out.name
                       : name == "email" ? &out.email
                                         : &out.role;
    *dst = std::string{text};
  }
  return out;
}

void write_org(json_writer& w, const storage::org_row& org,
               std::string_view role) {
  w.begin_object()
    .member("id", org.id)
    .member("slug", org.slug)
    .member("name", org.name)
    .member("state", org.state)
    .member("role", role)
    .end_object();
}

void write_member(json_writer& w, const storage::member_row& m) {
  w.begin_object()
    .member("user_id", m.user_id)
    .member("email", m.email)
    .member("role", m.role)
    .end_object();
}

route_doc doc(std::string summary, int status = 200,
              std::string request_type = {}) {
  route_doc d;
  d.summary = std::move(summary);
  d.tags = {"organizations"};
  d.success_status = status;
  d.request_type = std::move(request_type);
  d.bearer_auth = true;
  return d;
}

} // namespace

void create_org_handler(const org_services& svc, const request_context& ctx,
                        const responder_ptr& res, const principal& who) {
  if (who.how != principal::via::session) {
    res->fail(make_error(errc::forbidden,
                         "organizations are created by users, not API keys"));
    return;
  }
  auto in = parse_fields(ctx.request, {"slug", "name"});
  if (!in) {
    fail_with_field(res, in.error());
    return;
  }
  auto user = who.user_id;
  run_and_respond<storage::org_row>(
    svc, res, "orgs.create",
    [in = std::move(*in), user](storage::pg_session& db) {
      return actors::create_org(db, in.slug, in.name, user,
                                storage::tenant_migrations());
    },
    [](storage::org_row&& org) {
      std::string body;
      json_writer w{body};
      write_org(w, org, "owner");
      return http_response::json(201, std::move(body));
    });
}

void list_orgs_handler(const org_services& svc, const request_context&,
                       const responder_ptr& res, const principal& who) {
  auto user = who.user_id;
  // An API key acts for its own organization only.
  auto only = who.how == principal::via::api_key ? who.org_slug : std::string{};
  run_and_respond<std::vector<storage::org_membership>>(
    svc, res, "orgs.list",
    [user, only](storage::pg_session& db)
      -> caf::expected<std::vector<storage::org_membership>> {
      auto orgs = storage::orgs_of_user(db, user);
      if (orgs && !only.empty())
        std::erase_if(*orgs, [&](const storage::org_membership& m) {
          return m.org.slug != only;
        });
      return orgs;
    },
    [](std::vector<storage::org_membership>&& orgs) {
      std::string body;
      json_writer w{body};
      w.begin_object().key("orgs").begin_array();
      for (const auto& o : orgs)
        write_org(w, o.org, o.role);
      w.end_array().end_object();
      return http_response::json(200, std::move(body));
    });
}

void delete_org_handler(const org_services& svc, const request_context& ctx,
                        const responder_ptr& res, const principal& who) {
  auto slug = std::string{ctx.param("slug")};
  auto grace = svc.settings ? svc.settings->org_purge_grace
                            : config::settings{}.org_purge_grace;
  run_and_respond<std::string>(
    svc, res, "orgs.delete",
    [who, slug, grace](storage::pg_session& db) -> caf::expected<std::string> {
      auto access = access_for(db, who, slug);
      if (!access)
        return std::move(access.error());
      if (!actors::allowed(access->caller_role, actors::action::org_delete))
        return make_error(errc::forbidden, "only owners delete an organization");
      if (auto err = actors::soft_delete_org(db, slug, grace))
        return err;
      return slug;
    },
    clearing_first(svc.key_cache, [](std::string&& slug) {
      std::string body;
      json_writer w{body};
      w.begin_object().member("slug", slug).member("state", "deleting").end_object();
      return http_response::json(202, std::move(body));
    }));
}

void list_members_handler(const org_services& svc, const request_context& ctx,
                          const responder_ptr& res, const principal& who) {
  auto slug = std::string{ctx.param("slug")};
  run_and_respond<std::vector<storage::member_row>>(
    svc, res, "members.list",
    [who, slug](storage::pg_session& db)
      -> caf::expected<std::vector<storage::member_row>> {
      auto access = access_for(db, who, slug);
      if (!access)
        return std::move(access.error());
      if (!actors::allowed(access->caller_role, actors::action::members_list))
        return make_error(errc::forbidden, "members only");
      return storage::list_members(db, access->org.id);
    },
    [](std::vector<storage::member_row>&& members) {
      std::string body;
      json_writer w{body};
      w.begin_object().key("members").begin_array();
      for (const auto& m : members)
        write_member(w, m);
      w.end_array().end_object();
      return http_response::json(200, std::move(body));
    });
}

void add_member_handler(const org_services& svc, const request_context& ctx,
                        const responder_ptr& res, const principal& who) {
  auto slug = std::string{ctx.param("slug")};
  auto in = parse_fields(ctx.request, {"email", "role"});
  if (!in) {
    fail_with_field(res, in.error());
    return;
  }
  run_and_respond<storage::member_row>(
    svc, res, "members.add",
    [who, slug, in = std::move(*in)](storage::pg_session& db)
      -> caf::expected<storage::member_row> {
      auto access = access_for(db, who, slug);
      if (!access)
        return std::move(access.error());
      return actors::add_member(db, *access, in.email,
                                in.role.empty() ? "member" : in.role);
    },
    [](storage::member_row&& m) {
      std::string body;
      json_writer w{body};
      write_member(w, m);
      return http_response::json(201, std::move(body));
    });
}

void remove_member_handler(const org_services& svc, const request_context& ctx,
                           const responder_ptr& res, const principal& who) {
  auto slug = std::string{ctx.param("slug")};
  auto user = std::string{ctx.param("user")};
  run_and_respond<bool>(
    svc, res, "members.remove",
    [who, slug, user](storage::pg_session& db) -> caf::expected<bool> {
      auto access = access_for(db, who, slug);
      if (!access)
        return std::move(access.error());
      if (auto err = actors::remove_member(db, *access, user))
        return err;
      return true;
    },
    [](bool) { return detail::no_content(); });
}

void add_org_routes(router& r, org_services svc, auth_services auth) {
  if (!svc.sys)
    throw std::invalid_argument("add_org_routes: missing actor system");
  auto wrap = [svc, auth](auto fn) {
    return authed(auth, [svc, fn](const request_context& ctx,
                                  const responder_ptr& res, principal who) {
      fn(svc, ctx, res, who);
    });
  };
  r.add("POST", "/api/v1/orgs", wrap(create_org_handler),
        doc("Create an organization; the caller becomes its owner.", 201,
            "application/json"));
  r.add("GET", "/api/v1/orgs", wrap(list_orgs_handler),
        doc("The caller's organizations and roles."));
  r.add("DELETE", "/api/v1/orgs/{slug}", wrap(delete_org_handler),
        doc("Delete an organization (owners; purged after the grace).", 202));
  r.add("GET", "/api/v1/orgs/{slug}/members", wrap(list_members_handler),
        doc("Members of an organization."));
  r.add("POST", "/api/v1/orgs/{slug}/members", wrap(add_member_handler),
        doc("Add a member {email, role} or change a member's role.", 201,
            "application/json"));
  r.add("DELETE", "/api/v1/orgs/{slug}/members/{user}",
        wrap(remove_member_handler), doc("Remove a member.", 204));
}

} // namespace fp::net
