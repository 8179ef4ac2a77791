// Helpers shared by the installer's request and job code.

#include <algorithm>
#include <chrono>
#include <ctime>

#include "directives_json.hpp"
#include "fp/actors/installation_rules.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/credentials.hpp"
#include "fp/storage/errc.hpp"
#include "fp/storage/jobs.hpp"
#include "fp/storage/packages.hpp"
#include "fp/storage/pg_session.hpp"
#include "installer_internal.hpp"
#include "llm_json.hpp"

namespace fp::actors {

storage::signal_actor installer_signal_actor() {
  return {"system", "installer", "Installer"};
}

namespace installer_detail {

using runtime::errc;
using runtime::make_error;

std::string quote(std::string_view text) {
  return detail::json_quote(text);
}

std::string now_rfc3339() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              now.time_since_epoch())
              .count()
            % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::vector<candidate_version> candidates_of(storage::pg_session& db,
                                             const std::string& package) {
  std::vector<candidate_version> out;
  auto versions = storage::list_package_versions(db, package);
  if (!versions)
    return out;
  simdjson::dom::parser parser;
  for (auto& v : *versions) {
    auto parsed = semver::parse(v.version);
    if (!parsed)
      continue;
    candidate_version c;
    c.version = std::move(*parsed);
    c.version_text = v.version;
    c.yanked = v.yanked;
    // The stored manifest is canonical and valid: read only its deps.
    if (auto root = detail::parse_json(parser, v.manifest)) {
      if (auto deps = detail::member(*root, "dependencies");
          deps && deps->is_object())
        for (auto [k, val] : simdjson::dom::object(*deps)) {
          std::string_view range;
          if (val.get(range) == simdjson::SUCCESS)
            c.dependencies.emplace(std::string{k}, std::string{range});
        }
    }
    out.push_back(std::move(c));
  }
  return out;
}

caf::expected<installed_versions> installed_of(storage::pg_session& db,
                                               std::string_view slug,
                                               std::string_view skip_id) {
  storage::installation_filter f;
  f.limit = 10000;
  auto all = storage::list_installations(db, slug, f);
  if (!all)
    return std::move(all.error());
  installed_versions out;
  for (auto& x : *all)
    if (x.id != skip_id
        && (x.state == "installed" || x.state == "disabled"
            || x.state == "upgrading"))
      out[x.package] = x.version;
  return out;
}

caf::expected<package_manifest> load_manifest(storage::pg_session& db,
                                              std::string_view package,
                                              std::string_view version) {
  auto found = storage::find_package_version(db, package, version);
  if (!found)
    return std::move(found.error());
  if (!*found)
    return make_error(errc::not_found, "package " + std::string{package} + " "
                                         + std::string{version}
                                         + " is not published");
  auto parsed = parse_manifest((*found)->manifest, platform_catalog());
  if (!parsed.manifest)
    return make_error(errc::internal,
                      "the manifest of " + std::string{package} + " "
                        + std::string{version} + " does not validate: "
                        + describe_issues(parsed.issues));
  return std::move(*parsed.manifest);
}

std::string dependencies_json(const std::map<std::string, std::string>& deps) {
  std::string out = "{";
  for (auto& [k, v] : deps) {
    if (out.size() > 1)
      out += ',';
    out += quote(k) + ":" + quote(v);
  }
  return out + "}";
}

std::string limits_json(const manifest_limits& limits) {
  std::string out = "{";
  auto add = [&out](std::string_view key, const std::optional<int64_t>& v) {
    if (!v)
      return;
    if (out.size() > 1)
      out += ',';
    out += quote(key) + ":" + std::to_string(*v);
  };
  add("daily_budget_micros", limits.daily_budget_micros);
  add("executions_per_hour", limits.executions_per_hour);
  add("max_agents", limits.max_agents);
  return out + "}";
}

caf::expected<std::vector<std::pair<std::string, std::string>>>
open_secrets(storage::pg_session& db, std::string_view slug,
             const runtime::key_ring& keys, std::string_view id,
             std::string_view prefix) {
  auto infos = storage::list_credentials(db, slug, id);
  if (!infos)
    return std::move(infos.error());
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& info : *infos) {
    bool pending = info.field.rfind(pending_prefix, 0) == 0;
    if (prefix.empty() ? pending : info.field.rfind(prefix, 0) != 0)
      continue;
    auto value = storage::get_credential(db, slug, keys, id, info.field);
    if (!value)
      return std::move(value.error());
    if (!*value)
      continue;
    out.emplace_back(info.field.substr(prefix.size()), std::move(**value));
  }
  return out;
}

std::string signal_payload(const storage::installation_record& x,
                           const std::string& extra) {
  std::string out = "{\"installation_id\":" + quote(x.id)
                    + ",\"package\":" + quote(x.package)
                    + ",\"version\":" + quote(x.version);
  if (!extra.empty())
    out += "," + extra;
  return out + "}";
}

caf::error transition(storage::pg_session& db, const tenant_ref& tenant,
                      storage::installation_record& x, std::string_view to,
                      std::string detail, const storage::signal_actor& actor,
                      const std::string& signal_type, const std::string& payload) {
  storage::installation_transition t;
  t.from_state = x.state;
  t.to_state = std::string{to};
  t.version = x.version;
  t.detail = std::move(detail);
  t.actor_id = actor.kind == "system" ? "system:" + actor.id : actor.id;
  x.state = std::string{to};
  auto updated = storage::update_installation(db, tenant.slug, x);
  if (!updated)
    return std::move(updated.error());
  if (auto err = storage::add_installation_transition(db, tenant.slug, x.id, t))
    return err;
  if (signal_type.empty())
    return caf::none;
  return emit_signal(db, tenant, actor, signal_type, payload, x.correlation_id);
}

caf::error emit_signal(storage::pg_session& db, const tenant_ref& tenant,
                       const storage::signal_actor& actor,
                       const std::string& type, const std::string& payload,
                       const std::string& correlation_id) {
  signal_input in;
  in.type = type;
  in.payload = payload;
  in.correlation_id = correlation_id;
  auto emitted = emit_in_transaction(db, tenant, actor, {in});
  if (!emitted)
    return std::move(emitted.error());
  if (!emitted->empty() && !emitted->front().error.empty())
    return make_error(errc::invalid_argument,
                      "cannot emit " + type + ": " + emitted->front().error);
  return caf::none;
}

caf::error enqueue_installer_job(storage::pg_session& db, const tenant_ref& tenant,
                                 std::string_view kind, const std::string& id) {
  storage::job_spec spec;
  spec.queue = installer_job_queue;
  spec.kind = std::string{kind};
  spec.tenant = tenant.org_id;
  // The installation id only: never config or secrets.
  spec.args = "{\"installation_id\":" + quote(id) + "}";
  spec.max_attempts = installer_max_attempts;
  spec.unique_key = std::string{kind} + ":" + id;
  auto job = storage::enqueue_job(db, spec);
  if (!job)
    return std::move(job.error());
  return caf::none;
}

std::string error_json(const step_failure& f) {
  std::string out = "{\"step\":" + quote(f.step)
                    + ",\"message\":" + quote(f.message) + ",\"issues\":[";
  for (std::size_t i = 0; i < f.issues.size(); ++i) {
    if (i > 0)
      out += ',';
    out += "{\"path\":" + quote(f.issues[i].path)
           + ",\"message\":" + quote(f.issues[i].message) + "}";
  }
  return out + "],\"at\":" + quote(now_rfc3339()) + "}";
}

std::string error_member(const step_failure& f) {
  return "\"error\":{\"step\":" + quote(f.step)
         + ",\"message\":" + quote(f.message) + "}";
}

caf::expected<request_config>
split_request_config(const std::string& schema, const std::string& config,
                     const std::map<std::string, std::string>& credentials,
                     std::vector<schema_issue>* issues) {
  request_config out;
  auto split = split_secrets(schema, config);
  out.plain = split.plain;
  for (auto& [path, json] : split.secrets)
    out.secrets.emplace_back(path, json);
  auto fields = secret_fields(schema);
  std::vector<schema_issue> bad;
  for (auto& [field, value] : credentials) {
    if (std::find(fields.begin(), fields.end(), field) == fields.end()) {
      bad.push_back({"$.credentials." + field,
                     "is not a secret field of the package's config_schema"});
      continue;
    }
    bool replaced = false;
    for (auto& [path, json] : out.secrets)
      if (path == field) {
        json = quote(value);
        replaced = true;
      }
    if (!replaced)
      out.secrets.emplace_back(field, quote(value));
  }
  if (!bad.empty()) {
    auto msg = describe_issues(bad);
    if (issues)
      *issues = std::move(bad);
    return make_error(errc::invalid_argument, std::move(msg));
  }
  return out;
}

std::string merge_objects(std::string_view base, std::string_view overlay) {
  simdjson::dom::parser p1, p2;
  auto b = detail::parse_json(p1, base);
  auto o = detail::parse_json(p2, overlay);
  if (!o || !o->is_object())
    return std::string{base};
  if (!b || !b->is_object())
    return std::string{overlay};
  std::map<std::string, std::string> members;
  std::vector<std::string> order;
  for (auto [k, v] : simdjson::dom::object(*b)) {
    std::string key{k};
    order.push_back(key);
    members[key] = detail::to_json(v);
  }
  for (auto [k, v] : simdjson::dom::object(*o)) {
    std::string key{k};
    if (!members.count(key))
      order.push_back(key);
    members[key] = detail::to_json(v);
  }
  std::string out = "{";
  for (auto& key : order) {
    if (out.size() > 1)
      out += ',';
    out += quote(key) + ":" + members[key];
  }
  return out + "}";
}

bool is_transient(const caf::error& err) noexcept {
  if (!err)
    return false;
  if (storage::is_storage_error(err)) {
    auto code = storage::code_of(err);
    return code == storage::errc::unavailable || code == storage::errc::overloaded
           || code == storage::errc::serialization_failure
           || code == storage::errc::commit_unknown
           || code == storage::errc::statement_timeout;
  }
  if (err.category() == caf::atom("fp"))
    return runtime::code_of(err) == errc::unavailable;
  return false;
}

} // namespace installer_detail

} // namespace fp::actors
