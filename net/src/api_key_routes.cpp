// Tenant API keys: the tenant is the caller's bound organization, never a
// path or body parameter, so a key id of another organization is simply
// not found.

#include <algorithm>

#include "auth_routes.hpp"
#include "fp/net/api_key_cache.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/problem.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/api_keys.hpp"
#include "json_body.hpp"

namespace fp::net::detail {

namespace {

using runtime::errc;
using runtime::make_error;

struct create_input {
  std::string name;
  std::vector<std::string> scopes;
  std::string expires_at;
};

caf::expected<create_input> parse_create(const http_request& req) {
  json_body body;
  simdjson::ondemand::object obj;
  if (auto err = body.parse_object(req, obj, "expected {\"name\":...,\"scopes\":[...]}"))
    return err;
  create_input in;
  std::string_view text;
  auto name = obj.find_field_unordered("name");
  if (name.error() == simdjson::NO_SUCH_FIELD)
    return make_error(errc::invalid_argument, "missing member \"name\"");
  if (name.get_string().get(text))
    return make_error(errc::invalid_argument, "\"name\" must be a string");
  if (text.empty() || text.size() > 200)
    return make_error(errc::invalid_argument,
                      "\"name\" must have 1 to 200 characters");
  in.name = std::string{text};
  auto scopes = obj.find_field_unordered("scopes");
  if (scopes.error() == simdjson::NO_SUCH_FIELD)
    return make_error(errc::invalid_argument, "missing member \"scopes\"");
  simdjson::ondemand::array arr;
  if (scopes.get_array().get(arr))
    return make_error(errc::invalid_argument, "\"scopes\" must be an array");
  for (auto item : arr) {
    if (item.get_string().get(text) || !storage::valid_scope(text))
      return make_error(errc::invalid_argument,
                        "each scope must be \"read\", \"write\", "
                        "\"admin\" or \"publish\"");
    if (std::find(in.scopes.begin(), in.scopes.end(), text) == in.scopes.end())
      in.scopes.emplace_back(text);
  }
  if (in.scopes.empty())
    return make_error(errc::invalid_argument, "\"scopes\" must not be empty");
  auto expires = obj.find_field_unordered("expires_at");
  if (expires.error() != simdjson::NO_SUCH_FIELD) {
    bool is_null = false;
    if (expires.is_null().get(is_null))
      return make_error(errc::invalid_argument,
                        "\"expires_at\" must be a string or null");
    if (!is_null) {
      if (expires.get_string().get(text) || text.empty())
        return make_error(errc::invalid_argument,
                          "\"expires_at\" must be an RFC 3339 time");
      in.expires_at = std::string{text};
    }
  }
  return in;
}

void write_key(json_writer& w, const storage::api_key_record& k,
               const std::string* secret) {
  w.begin_object()
    .member("id", k.id)
    .member("name", k.name)
    .member("prefix", k.prefix);
  w.key("scopes").begin_array();
  for (auto& s : k.scopes)
    w.value(s);
  w.end_array();
  w.member("created_at", k.created_at);
  write_nullable(w, "expires_at", k.expires_at);
  write_nullable(w, "last_used_at", k.last_used_at);
  w.member("revoked", k.revoked);
  if (secret)
    w.member("key", *secret);
  w.end_object();
}

http_response issued(int status, const storage::issued_api_key& k) {
  std::string body;
  json_writer w{body};
  write_key(w, k.record, &k.key);
  auto resp = http_response::json(status, std::move(body));
  resp.set_header("Cache-Control", "no-store");
  return resp;
}

} // namespace

void add_api_key_routes(router& r, const auth_services& svc) {
  using actors::action;

  auto create_doc = auth_doc("Creates an API key for the selected "
                             "organization; the secret is shown once.",
                             "api-keys", 201, true);
  create_doc.description = "Scopes: read, write, admin, publish. A key acts "
                           "as admin with \"admin\", else as member; without "
                           "\"write\" it may only read. \"publish\" lets it "
                           "publish and yank the organization's packages; "
                           "alone it allows nothing else.";
  r.add("POST", "/api/v1/api-keys",
        tenant_route(svc, action::api_keys_create,
                     [svc](const request_context& ctx,
                           const responder_ptr& res, principal who) {
                       auto in = parse_create(ctx.request);
                       if (!in) {
                         res->fail(in.error());
                         return;
                       }
                       run_db<storage::issued_api_key>(
                         *svc.sys, svc.storage_pool, svc.db_timeout,
                         "api_keys.create",
                         [org = who.org_id, user = who.user_id,
                          in = std::move(*in)](storage::pg_session& db) {
                           return storage::create_api_key(db, org, user,
                                                          in.name, in.scopes,
                                                          in.expires_at);
                         },
                         [res](storage::issued_api_key&& k) {
                           res->send(issued(201, k));
                         },
                         fail_to(res));
                     }),
        std::move(create_doc));

  r.add("GET", "/api/v1/api-keys",
        tenant_route(svc, action::api_keys_list,
                     [svc](const request_context&,
                           const responder_ptr& res, principal who) {
                       using list_t = std::vector<storage::api_key_record>;
                       run_db<list_t>(
                         *svc.sys, svc.storage_pool, svc.db_timeout,
                         "api_keys.list",
                         [org = who.org_id](storage::pg_session& db) {
                           return storage::list_api_keys(db, org);
                         },
                         [res](list_t&& keys) {
                           std::string body;
                           json_writer w{body};
                           w.begin_object().key("api_keys").begin_array();
                           for (auto& k : keys)
                             write_key(w, k, nullptr);
                           w.end_array().end_object();
                           res->send(http_response::json(200, std::move(body)));
                         },
                         fail_to(res));
                     }),
        auth_doc("Lists the organization's API keys (never their secrets).",
                 "api-keys"));

  r.add("DELETE", "/api/v1/api-keys/{id}",
        tenant_route(svc, action::api_keys_revoke,
                     [svc](const request_context& ctx,
                           const responder_ptr& res, principal who) {
                       run_db<bool>(
                         *svc.sys, svc.storage_pool, svc.db_timeout,
                         "api_keys.revoke",
                         [org = who.org_id, id = std::string{ctx.param("id")}](
                           storage::pg_session& db) {
                           return storage::revoke_api_key(db, org, id);
                         },
                         clearing_first(svc.key_cache,
                                        deleted_or_404(res, "API key")),
                         fail_to(res));
                     }),
        auth_doc("Revokes an API key at once.", "api-keys", 204));

  auto rotate_doc = auth_doc("Gives an API key a new secret, shown once.",
                             "api-keys");
  rotate_doc.description = "The previous secret keeps working for "
                           "api-key-rotation-grace.";
  r.add("POST", "/api/v1/api-keys/{id}/rotate",
        tenant_route(svc, action::api_keys_rotate,
                     [svc](const request_context& ctx,
                           const responder_ptr& res, principal who) {
                       using found_t = std::optional<storage::issued_api_key>;
                       run_db<found_t>(
                         *svc.sys, svc.storage_pool, svc.db_timeout,
                         "api_keys.rotate",
                         [org = who.org_id, id = std::string{ctx.param("id")},
                          grace = svc.settings->api_key_rotation_grace](
                           storage::pg_session& db) {
                           return storage::rotate_api_key(db, org, id, grace);
                         },
                         clearing_first(
                           svc.key_cache,
                           found_or_404(res, "API key",
                                        [](const responder_ptr& out,
                                           const storage::issued_api_key& k) {
                                          out->send(issued(200, k));
                                        })),
                         fail_to(res));
                     }),
        std::move(rotate_doc));
}

} // namespace fp::net::detail
