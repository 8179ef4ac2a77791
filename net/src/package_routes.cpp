// The package registry: publish (a manifest in, an immutable version out),
// list and search, one package with its versions by SemVer precedence, one
// version with its manifest, yank / unyank, and dependency resolution.

#include "fp/net/package_routes.hpp"

#include <algorithm>
#include <map>

#include "fp/actors/package_manifest.hpp"
#include "fp/actors/semver.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/json.hpp"
#include "fp/net/problem.hpp"
#include "fp/runtime/crypto.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "json_body.hpp"
#include "package_support.hpp"
#include "route_support.hpp"

namespace fp::net {

namespace {

using namespace package_detail;
using detail::fail_to;
using detail::not_found;
using runtime::errc;
using runtime::make_error;

namespace od = simdjson::ondemand;

// -- who may do what ----------------------------------------------------------------

bool has_scope(const principal& who, std::string_view s) {
  return std::find(who.scopes.begin(), who.scopes.end(), s) != who.scopes.end();
}

bool platform_admin(const principal& who) {
  return who.how == principal::via::session && who.platform_admin;
}

/// Reads are open to every caller but a key that may only publish.
caf::error may_read(const principal& who) {
  if (who.how == principal::via::api_key && !has_scope(who, "read")
      && !has_scope(who, "write") && !has_scope(who, "admin"))
    return make_error(errc::forbidden,
                      "the key's scopes allow only publishing packages");
  return caf::none;
}

/// The publisher identity of `who`, or forbidden.
caf::expected<storage::publisher_identity> publisher_of(const principal& who) {
  storage::publisher_identity id;
  if (platform_admin(who)) {
    id.platform_admin = true;
    id.who = "user:" + who.user_id;
    return id;
  }
  if (who.how == principal::via::api_key && has_scope(who, "publish")) {
    id.org_id = who.org_id;
    id.who = "api_key:" + who.api_key_id;
    return id;
  }
  return make_error(errc::forbidden,
                    "publishing needs a platform admin's session or an API "
                    "key with scope \"publish\"");
}

/// No error when `who` may yank versions of a package whose publisher
/// belongs to `owner_org` ("" when unclaimed).
caf::error may_yank(const principal& who, const std::string& owner_org) {
  if (platform_admin(who))
    return caf::none;
  if (who.how == principal::via::api_key && has_scope(who, "publish")
      && !owner_org.empty() && owner_org == who.org_id)
    return caf::none;
  return make_error(errc::forbidden,
                    "yanking needs a platform admin's session or an API key "
                    "with scope \"publish\" of the publisher's organization");
}

// -- rendering --------------------------------------------------------------------------

/// Writes a stored manifest: its canonical text when it still parses (so
/// its sha256 is `content_sha256`), else the text as stored.
void write_manifest(json_writer& w, const std::string& stored) {
  auto parsed = actors::parse_manifest(stored, actors::platform_catalog());
  w.raw(parsed.manifest ? std::string_view{parsed.manifest->canonical}
                        : std::string_view{stored});
}

void write_version(json_writer& w, const storage::package_version_record& v,
                   const std::string* canonical = nullptr) {
  w.begin_object()
    .member("package", v.package)
    .member("version", v.version)
    .member("yanked", v.yanked)
    .member("yanked_reason", v.yanked_reason)
    .member("published_by", v.published_by)
    .member("published_at", v.published_at)
    .member("content_sha256", v.content_sha256);
  w.key("manifest");
  if (canonical)
    w.raw(*canonical);
  else
    write_manifest(w, v.manifest);
  w.end_object();
}

void write_package(json_writer& w, const storage::package_record& p,
                   const std::string& latest) {
  w.member("name", p.name)
    .member("publisher", p.publisher)
    .member("description", p.description);
  detail::write_nullable(w, "latest_version", latest);
  w.member("version_count", p.version_count)
    .member("created_at", p.created_at)
    .member("updated_at", p.updated_at);
}

http_response version_response(int status,
                                const storage::package_version_record& v,
                                const std::string* canonical = nullptr) {
  std::string body;
  json_writer w{body};
  write_version(w, v, canonical);
  return http_response::json(status, std::move(body));
}

/// 422 with every problem of a manifest as `errors: [{path, message}]`.
http_response invalid_manifest(const request_context& ctx,
                               const std::vector<actors::schema_issue>& issues) {
  return problem(ctx, 422, "Invalid manifest", actors::describe_issues(issues),
                 [&issues](json_writer& w) {
                   w.key("errors").begin_array();
                   for (auto& i : issues)
                     w.begin_object()
                       .member("path", i.path)
                       .member("message", i.message)
                       .end_object();
                   w.end_array();
                 });
}

route_doc doc(std::string summary, int status = 200, bool json_body = false) {
  return detail::auth_doc(std::move(summary), "packages", status, json_body);
}

std::string package_param(const request_context& ctx) {
  return std::string{ctx.param("publisher")} + "/"
         + std::string{ctx.param("name")};
}

// -- handlers ---------------------------------------------------------------------------

struct published {
  storage::publish_outcome outcome;
  storage::package_version_record record;
};

void publish(const spine_services& spine, const request_context& ctx,
             const responder_ptr& res, const principal& who) {
  auto id = publisher_of(who);
  if (!id) {
    res->fail(id.error());
    return;
  }
  auto parsed = actors::parse_manifest(ctx.request.body,
                                       actors::platform_catalog());
  if (!parsed.manifest) {
    res->send(invalid_manifest(ctx, parsed.issues));
    return;
  }
  auto m = std::move(*parsed.manifest);
  auto sha = runtime::sha256_hex(m.canonical);
  run_db<published>(
    *spine.sys, spine.storage_pool, spine.timeout, "packages.publish",
    [id = std::move(*id), name = m.name, version = m.version_text,
     key = m.version.without_build(), description = m.description,
     canonical = m.canonical,
     sha](storage::pg_session& db) -> caf::expected<published> {
      auto outcome = storage::publish_package_version(
        db, id, name, version, key, description, canonical, sha);
      if (!outcome)
        return std::move(outcome.error());
      auto rec = storage::find_package_version(db, name, version);
      if (!rec)
        return std::move(rec.error());
      if (!*rec)
        return make_error(errc::internal, "published version not found");
      return published{*outcome, std::move(**rec)};
    },
    [res, canonical = m.canonical](published&& p) {
      bool created = p.outcome == storage::publish_outcome::created;
      auto resp = version_response(created ? 201 : 200, p.record, &canonical);
      if (created)
        resp.set_header("Location", "/api/v1/packages/" + p.record.package
                                      + "/versions/" + p.record.version);
      res->send(std::move(resp));
    },
    fail_to(res));
}

struct package_page {
  std::vector<storage::package_record> packages;
  std::vector<storage::package_version_summary> versions;
};

void list(const spine_services& spine, const request_context& ctx,
          const responder_ptr& res) {
  storage::package_filter f;
  f.query = ctx.request.query_param("q");
  if (f.query.size() > 200) {
    res->fail(make_error(errc::invalid_argument,
                         "q must have at most 200 characters"));
    return;
  }
  if (auto c = ctx.request.query_param("cursor"); !c.empty()) {
    auto name = runtime::base64url_decode(c);
    if (!name || name->empty() || name->find('/') == std::string::npos) {
      res->fail(make_error(errc::invalid_argument,
                           "cursor is not a cursor returned by this endpoint"));
      return;
    }
    f.after_name = std::move(*name);
  }
  if (auto l = ctx.request.query_param("limit"); !l.empty()) {
    auto n = detail::parse_limit(l, 200);
    if (!n) {
      res->fail(make_error(errc::invalid_argument,
                           "limit must be an integer from 1 to 200"));
      return;
    }
    f.limit = *n;
  }
  auto limit = f.limit;
  // One extra row tells whether there is a next page.
  f.limit += 1;
  run_db<package_page>(
    *spine.sys, spine.storage_pool, spine.timeout, "packages.list",
    [f](storage::pg_session& db) -> caf::expected<package_page> {
      auto found = storage::list_packages(db, f);
      if (!found)
        return std::move(found.error());
      std::vector<std::string> names;
      for (auto& p : *found)
        names.push_back(p.name);
      auto versions = storage::list_version_summaries(db, names);
      if (!versions)
        return std::move(versions.error());
      return package_page{std::move(*found), std::move(*versions)};
    },
    [res, limit](package_page&& page) {
      auto& list = page.packages;
      bool more = list.size() > static_cast<std::size_t>(limit);
      if (more)
        list.resize(static_cast<std::size_t>(limit));
      std::map<std::string, std::vector<storage::package_version_summary>> by;
      for (auto& v : page.versions)
        by[v.package].push_back(v);
      std::string body;
      json_writer w{body};
      w.begin_object().key("items").begin_array();
      for (auto& p : list) {
        w.begin_object();
        write_package(w, p, latest_version(by[p.name]));
        w.end_object();
      }
      w.end_array().key("next_cursor");
      if (more)
        w.value(runtime::base64url_encode(list.back().name));
      else
        w.null();
      w.end_object();
      res->send(http_response::json(200, std::move(body)));
    },
    fail_to(res));
}

struct package_view {
  storage::package_record package;
  std::vector<storage::package_version_record> versions;
};

void get_package(const spine_services& spine, const request_context& ctx,
                 const responder_ptr& res) {
  using found_t = std::optional<package_view>;
  run_db<found_t>(
    *spine.sys, spine.storage_pool, spine.timeout, "packages.get",
    [name = package_param(ctx)](storage::pg_session& db)
      -> caf::expected<found_t> {
      auto p = storage::find_package(db, name);
      if (!p)
        return std::move(p.error());
      if (!*p)
        return found_t{};
      auto versions = storage::list_package_versions(db, name);
      if (!versions)
        return std::move(versions.error());
      return found_t{package_view{std::move(**p), std::move(*versions)}};
    },
    detail::found_or_404(res, "package",
                         [](const responder_ptr& out, package_view& v) {
                           std::vector<storage::package_version_summary> s;
                           for (auto& r : v.versions)
                             s.push_back({r.package, r.version, r.yanked});
                           sort_by_precedence(v.versions);
                           std::string body;
                           json_writer w{body};
                           w.begin_object();
                           write_package(w, v.package, latest_version(s));
                           w.key("versions").begin_array();
                           for (auto& r : v.versions)
                             w.begin_object()
                               .member("version", r.version)
                               .member("yanked", r.yanked)
                               .member("yanked_reason", r.yanked_reason)
                               .member("published_at", r.published_at)
                               .member("content_sha256", r.content_sha256)
                               .end_object();
                           w.end_array().end_object();
                           out->send(http_response::json(200, std::move(body)));
                         }),
    fail_to(res));
}

void get_version(const spine_services& spine, const request_context& ctx,
                 const responder_ptr& res) {
  using found_t = std::optional<storage::package_version_record>;
  run_db<found_t>(
    *spine.sys, spine.storage_pool, spine.timeout, "packages.version",
    [name = package_param(ctx),
     version = std::string{ctx.param("version")}](storage::pg_session& db) {
      return storage::find_package_version(db, name, version);
    },
    detail::found_or_404(res, "package version",
                         [](const responder_ptr& out,
                            const storage::package_version_record& v) {
                           out->send(version_response(200, v));
                         }),
    fail_to(res));
}

/// The version the listing names `latest_version`, for a package page that
/// needs one request instead of the package and then its version.
void get_latest(const spine_services& spine, const request_context& ctx,
                const responder_ptr& res) {
  using found_t = std::optional<storage::package_version_record>;
  run_db<found_t>(
    *spine.sys, spine.storage_pool, spine.timeout, "packages.latest",
    [name = package_param(ctx)](storage::pg_session& db)
      -> caf::expected<found_t> {
      auto all = storage::list_package_versions(db, name);
      if (!all)
        return std::move(all.error());
      std::vector<storage::package_version_summary> summaries;
      for (auto& r : *all)
        summaries.push_back({r.package, r.version, r.yanked});
      auto latest = latest_version(summaries);
      for (auto& r : *all)
        if (!latest.empty() && r.version == latest)
          return found_t{std::move(r)};
      return found_t{};
    },
    detail::found_or_404(res, "package version",
                         [](const responder_ptr& out,
                            const storage::package_version_record& v) {
                           out->send(version_response(200, v));
                         }),
    fail_to(res));
}

caf::expected<std::string> parse_yank_reason(const http_request& req) {
  std::string reason;
  if (req.body.empty())
    return reason;
  json_body body;
  od::object obj;
  if (auto err = body.parse_object(req, obj, "expected {\"reason\":\"...\"}"))
    return err;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key))
      return make_error(errc::bad_request, "unreadable member");
    if (key != "reason")
      return make_error(errc::invalid_argument,
                        "unknown member \"" + std::string{key} + "\"");
    std::string_view text;
    if (field.value().get_string().get(text))
      return make_error(errc::invalid_argument, "reason must be a string");
    if (text.size() > 1000)
      return make_error(errc::invalid_argument,
                        "reason must have at most 1000 characters");
    reason = std::string{text};
  }
  return reason;
}

void set_yanked(const spine_services& spine, const request_context& ctx,
                const responder_ptr& res, const principal& who, bool yanked) {
  std::string reason;
  if (yanked) {
    auto r = parse_yank_reason(ctx.request);
    if (!r) {
      res->fail(r.error());
      return;
    }
    reason = std::move(*r);
  }
  using found_t = std::optional<storage::package_version_record>;
  run_db<found_t>(
    *spine.sys, spine.storage_pool, spine.timeout,
    yanked ? "packages.yank" : "packages.unyank",
    [who, name = package_param(ctx),
     version = std::string{ctx.param("version")}, yanked,
     reason](storage::pg_session& db) -> caf::expected<found_t> {
      auto owner = storage::package_publisher_org(db, name);
      if (!owner)
        return std::move(owner.error());
      if (!*owner)
        return not_found("package");
      if (auto err = may_yank(who, **owner))
        return err;
      return storage::set_package_version_yanked(db, name, version, yanked,
                                                 reason);
    },
    detail::found_or_404(res, "package version",
                         [](const responder_ptr& out,
                            const storage::package_version_record& v) {
                           out->send(version_response(200, v));
                         }),
    fail_to(res));
}

/// The problem of a failed resolution: 404 when `root` is unknown, else
/// 422 (an unknown dependency too); `kind` and `packages` name what went
/// wrong.
http_response resolution_problem(const request_context& ctx,
                                 const std::string& root,
                                 const actors::resolution_error& e) {
  bool root_unknown = e.kind == "not_found"
                      && (e.packages.empty() || e.packages.front() == root);
  int status = root_unknown ? 404 : 422;
  return problem(ctx, status, "Unresolvable dependencies", e.message,
                 [&e](json_writer& w) {
                   w.member("kind", e.kind);
                   w.key("packages").begin_array();
                   for (auto& p : e.packages)
                     w.value(p);
                   w.end_array();
                 });
}

void resolve(const spine_services& spine, const request_context& ctx,
             const responder_ptr& res) {
  auto range = ctx.request.query_param("range");
  if (range.empty())
    range = "*";
  std::string why;
  if (!actors::semver::range::parse(range, &why)) {
    res->fail(make_error(errc::invalid_argument, "range: " + why));
    return;
  }
  bool prerelease = false;
  auto pre = ctx.request.query_param("prerelease");
  if (pre == "true" || pre == "1")
    prerelease = true;
  else if (!pre.empty() && pre != "false" && pre != "0") {
    res->fail(make_error(errc::invalid_argument,
                         "prerelease must be true or false"));
    return;
  }
  auto root = package_param(ctx);
  run_db<actors::resolution_result>(
    *spine.sys, spine.storage_pool, spine.timeout, "packages.resolve",
    [root, range, prerelease](storage::pg_session& db) {
      return resolve_in_registry(db, root, range, prerelease);
    },
    [res, root](actors::resolution_result&& r) {
      if (!r.ok) {
        actors::resolution_error e;
        if (r.error)
          e = *r.error;
        else
          e = {"no_match", "no version of " + root + " matches", {root}};
        res->send(resolution_problem(res->context(), root, e));
        return;
      }
      std::string body;
      json_writer w{body};
      w.begin_object();
      auto i = r.ok->chosen.find(root);
      w.member("version", i == r.ok->chosen.end() ? std::string{} : i->second);
      w.key("chosen").begin_object();
      for (auto& [pkg, v] : r.ok->chosen)
        w.member(pkg, v);
      w.end_object();
      w.key("install_order").begin_array();
      for (auto& pkg : r.ok->install_order)
        w.value(pkg);
      w.end_array().end_object();
      res->send(http_response::json(200, std::move(body)));
    },
    fail_to(res));
}

/// `authed` plus the read rule.
handler reader(const spine_services& spine,
               void (*fn)(const spine_services&, const request_context&,
                          const responder_ptr&)) {
  return authed(spine.auth, [spine, fn](const request_context& ctx,
                                        const responder_ptr& res,
                                        principal who) {
    if (auto err = may_read(who)) {
      res->fail(err);
      return;
    }
    fn(spine, ctx, res);
  });
}

} // namespace

void add_package_routes(router& r, const spine_services& spine) {
  auto publish_doc = doc("Publishes a package version: the body is the "
                         "manifest (fleetprompt.package.json).",
                         201, true);
  publish_doc.description =
    "Platform admins (session) or API keys with scope \"publish\" (whose "
    "organization claims an unclaimed publisher). 201 for a new version, "
    "200 when the same version with the same content exists, 409 when the "
    "version (or one differing only in build metadata) exists with other "
    "content, 403 for another organization's publisher, 422 with "
    "errors: [{path, message}] for an invalid manifest.";
  r.add("POST", "/api/v1/packages",
        authed(spine.auth,
               [spine](const request_context& ctx, const responder_ptr& res,
                       principal who) { publish(spine, ctx, res, who); }),
        std::move(publish_doc));
  r.add("GET", "/api/v1/packages", reader(spine, list),
        doc("Lists packages by name with their latest version (q: "
            "case-insensitive substring of name or description; cursor, "
            "limit 1..200)."));
  r.add("GET", "/api/v1/packages/{publisher}/{name}", reader(spine, get_package),
        doc("One package with its versions, highest precedence first."));
  r.add("GET", "/api/v1/packages/{publisher}/{name}/resolve",
        reader(spine, resolve),
        doc("Resolves ?range= (default *; &prerelease=true admits "
            "pre-releases) with the package's dependencies: {version, "
            "chosen, install_order}; 404/422 with the resolver's kind "
            "(not_found, no_match, conflict, cycle)."));
  r.add("GET", "/api/v1/packages/{publisher}/{name}/versions/{version}",
        reader(spine, get_version),
        doc("One version with its canonical manifest (a yanked one too)."));
  r.add("GET", "/api/v1/packages/{publisher}/{name}/versions/latest",
        reader(spine, get_latest),
        doc("The latest version (the highest non-yanked release, else "
            "pre-release) with its manifest, as .../versions/{version} "
            "shows it; 404 when every version is yanked."));
  auto yank_route = [&](bool yanked) {
    return authed(spine.auth,
                  [spine, yanked](const request_context& ctx,
                                  const responder_ptr& res, principal who) {
                    set_yanked(spine, ctx, res, who, yanked);
                  });
  };
  r.add("POST",
        "/api/v1/packages/{publisher}/{name}/versions/{version}/yank",
        yank_route(true),
        // The body is optional, so no declared request type: the server
        // still requires JSON whenever one is sent.
        doc("Yanks a version (optional body {reason}): new resolutions skip "
            "it, existing installations keep it (platform admins or a "
            "\"publish\" key of the publisher's organization)."));
  r.add("POST",
        "/api/v1/packages/{publisher}/{name}/versions/{version}/unyank",
        yank_route(false), doc("Makes a yanked version resolvable again."));
}

} // namespace fp::net
