// What the installation API does in its request transaction, and the
// schedule-driven runs of installed agents.

#include <algorithm>

#include "fp/actors/agent_engine.hpp"
#include "fp/actors/agent_rules.hpp"
#include "fp/actors/installation_rules.hpp"
#include "fp/actors/installer.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/agents.hpp"
#include "fp/storage/credentials.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/subscriptions.hpp"
#include "installer_internal.hpp"
#include "llm_json.hpp"

namespace fp::actors {

namespace {

using namespace installer_detail;
using runtime::errc;
using runtime::make_error;

caf::error invalid(std::vector<schema_issue> found, std::string prefix,
                   std::vector<schema_issue>* issues) {
  auto msg = prefix + describe_issues(found);
  if (issues)
    *issues = std::move(found);
  return make_error(errc::invalid_argument, std::move(msg));
}

/// Checks permission texts; issues at $.permissions[i].
caf::error check_permissions(const std::vector<std::string>& scopes,
                             std::vector<schema_issue>* issues) {
  std::vector<schema_issue> bad;
  for (std::size_t i = 0; i < scopes.size(); ++i)
    if (auto why = permission_error(scopes[i]); !why.empty())
      bad.push_back({"$.permissions[" + std::to_string(i) + "]", why});
  if (bad.empty())
    return caf::none;
  return invalid(std::move(bad), "invalid permissions: ", issues);
}

/// Validates `rc` against `m`'s config_schema; issues at $.config.<path>.
caf::error check_config(const package_manifest& m, const request_config& rc,
                        std::vector<schema_issue>* issues) {
  auto merged = merge_config(m.config_schema, rc.plain, rc.secrets);
  if (!merged)
    return make_error(errc::invalid_argument,
                      "config: " + runtime::context_of(merged.error()));
  auto found = validate_json(m.config_schema, *merged);
  if (found.empty())
    return caf::none;
  for (auto& i : found)
    i.path = "$.config" + (i.path.size() > 1 ? i.path.substr(1) : std::string{});
  return invalid(std::move(found),
                 "config does not match the config_schema of " + m.name + ": ",
                 issues);
}

/// The version of `package` a request's range picks (with its whole
/// dependency tree resolvable).
caf::expected<std::string> pick_version(storage::pg_session& db,
                                        const tenant_ref& tenant,
                                        const installation_request& req,
                                        std::vector<schema_issue>* issues) {
  auto installed = installed_of(db, tenant.slug);
  if (!installed)
    return std::move(installed.error());
  installed->erase(req.package);
  auto source = [&db](const std::string& pkg) { return candidates_of(db, pkg); };
  auto range = req.range.empty() ? std::string{"*"} : req.range;
  auto res = resolve_dependencies(req.package, range, source, *installed,
                                  req.prerelease);
  if (res.error) {
    if (res.error->kind == "not_found")
      return make_error(errc::not_found, res.error->message);
    if (issues)
      *issues = {{"$.version", res.error->message}};
    return make_error(errc::invalid_argument, res.error->message);
  }
  return res.ok->chosen[req.package];
}

bool satisfies(const std::string& range, const std::string& version) {
  auto r = semver::range::parse(range.empty() ? "*" : range);
  auto v = semver::parse(version);
  return r && v && r->satisfies(*v, true);
}

caf::error seal_all(storage::pg_session& db, const tenant_ref& tenant,
                    const runtime::key_ring& keys, const std::string& id,
                    const std::vector<std::pair<std::string, std::string>>& secrets,
                    std::string_view prefix = {}) {
  for (auto& [field, json] : secrets) {
    auto put = storage::put_credential(db, tenant.slug, keys, id,
                                       std::string{prefix} + field, json);
    if (!put)
      return std::move(put.error());
  }
  return caf::none;
}

caf::expected<std::optional<storage::installation_record>>
locked(storage::pg_session& db, const tenant_ref& tenant, std::string_view id) {
  return storage::find_installation(db, tenant.slug, id, true);
}

caf::error wrong_state(const storage::installation_record& x, std::string what) {
  return make_error(errc::conflict, "installation of " + x.package + " is "
                                      + x.state + ": " + std::move(what));
}

} // namespace

caf::expected<installation_answer>
request_install(storage::pg_session& db, const tenant_ref& tenant,
                const runtime::key_ring& keys, const installation_request& req,
                std::vector<schema_issue>* issues) {
  if (auto err = check_permissions(req.permissions.value_or(std::vector<std::string>{}),
                                   issues))
    return err;
  auto live = storage::find_live_installation(db, tenant.slug, req.package);
  if (!live)
    return std::move(live.error());
  if (*live) {
    if (satisfies(req.range, (*live)->version))
      return installation_answer{std::move(**live), false};
    return make_error(errc::conflict, "package " + req.package
                                        + " is installed at version "
                                        + (*live)->version
                                        + "; upgrade it instead");
  }
  auto version = pick_version(db, tenant, req, issues);
  if (!version)
    return std::move(version.error());
  auto m = load_manifest(db, req.package, *version);
  if (!m)
    return std::move(m.error());
  auto rc = split_request_config(m->config_schema, req.config.value_or("{}"),
                                 req.credentials, issues);
  if (!rc)
    return std::move(rc.error());
  if (auto err = check_config(*m, *rc, issues))
    return err;
  storage::installation_record x;
  x.id = runtime::new_uuid_v7();
  x.package = req.package;
  x.version = *version;
  x.state = "requested";
  x.config = rc->plain;
  x.granted_scopes = req.permissions.value_or(std::vector<std::string>{});
  x.dependencies = dependencies_json(m->dependencies);
  x.limits = limits_json(m->limits);
  x.requested_by = req.actor.id;
  x.correlation_id = runtime::new_uuid_v7();
  auto made = storage::insert_installation(db, tenant.slug, x);
  if (!made)
    return std::move(made.error());
  x = std::move(*made);
  if (auto err = seal_all(db, tenant, keys, x.id, rc->secrets))
    return err;
  storage::installation_transition t;
  t.to_state = "requested";
  t.version = x.version;
  t.detail = "install requested";
  t.actor_id = req.actor.id;
  if (auto err = storage::add_installation_transition(db, tenant.slug, x.id, t))
    return err;
  if (auto err = emit_signal(db, tenant, req.actor,
                             installation_signal_type("install", "requested"),
                             signal_payload(x), x.correlation_id))
    return err;
  if (auto err = enqueue_installer_job(db, tenant, install_job_kind, x.id))
    return err;
  return installation_answer{std::move(x), true};
}

caf::expected<std::optional<storage::installation_record>>
request_upgrade(storage::pg_session& db, const tenant_ref& tenant,
                const runtime::key_ring& keys, std::string_view id,
                const installation_request& req,
                std::vector<schema_issue>* issues) {
  auto found = locked(db, tenant, id);
  if (!found || !*found)
    return found;
  auto x = std::move(**found);
  if (x.state != "installed")
    return wrong_state(x, "only an installed package can be upgraded or "
                          "reconfigured");
  if (req.permissions)
    if (auto err = check_permissions(*req.permissions, issues))
      return err;
  std::string target = x.version;
  if (!req.range.empty()) {
    auto q = req;
    q.package = x.package;
    auto v = pick_version(db, tenant, q, issues);
    if (!v)
      return std::move(v.error());
    target = *v;
  }
  auto m = load_manifest(db, x.package, target);
  if (!m)
    return std::move(m.error());
  auto rc = split_request_config(m->config_schema, req.config.value_or("{}"),
                                 req.credentials, issues);
  if (!rc)
    return std::move(rc.error());
  // Kept aside until the upgrade succeeds.
  if (auto err = seal_all(db, tenant, keys, x.id, rc->secrets, pending_prefix))
    return err;
  x.target_version = target;
  x.target_config = rc->plain;
  if (req.permissions)
    x.granted_scopes = *req.permissions;
  auto from = x.version;
  if (auto err = transition(db, tenant, x, "upgrading",
                            target == from ? "reconfiguration requested"
                                           : "upgrade to " + target + " requested",
                            req.actor, installation_signal_type("upgrade", "requested"),
                            signal_payload(x, "\"from_version\":" + quote(from)
                                                + ",\"to_version\":" + quote(target))))
    return err;
  if (auto err = enqueue_installer_job(db, tenant, upgrade_job_kind, x.id))
    return err;
  return std::optional<storage::installation_record>{std::move(x)};
}

caf::expected<std::optional<storage::installation_record>>
request_uninstall(storage::pg_session& db, const tenant_ref& tenant,
                  std::string_view id, const storage::signal_actor& actor) {
  auto found = locked(db, tenant, id);
  if (!found || !*found)
    return found;
  auto x = std::move(**found);
  if (x.state == "uninstalling")
    return std::optional<storage::installation_record>{std::move(x)};
  auto state = parse_installation_state(x.state);
  if (!state
      || !installation_transition_allowed(*state, installation_state::uninstalling))
    return wrong_state(x, "it cannot be uninstalled now");
  auto dependents = storage::installation_dependents(db, tenant.slug, x.package);
  if (!dependents)
    return std::move(dependents.error());
  std::vector<std::string> names;
  for (auto& d : *dependents)
    if (d.id != x.id)
      names.push_back(d.package);
  if (!names.empty()) {
    std::string list;
    for (auto& n : names)
      list += (list.empty() ? "" : ", ") + n;
    return make_error(errc::conflict, "package " + x.package
                                        + " is needed by " + list
                                        + "; uninstall those first");
  }
  if (auto err = transition(db, tenant, x, "uninstalling", "uninstall requested",
                            actor, installation_signal_type("uninstall", "requested"),
                            signal_payload(x)))
    return err;
  if (auto err = enqueue_installer_job(db, tenant, uninstall_job_kind, x.id))
    return err;
  return std::optional<storage::installation_record>{std::move(x)};
}

caf::expected<std::optional<storage::installation_record>>
request_retry(storage::pg_session& db, const tenant_ref& tenant,
              std::string_view id, const storage::signal_actor& actor) {
  auto found = locked(db, tenant, id);
  if (!found || !*found)
    return found;
  auto x = std::move(**found);
  if (x.state != "failed")
    return wrong_state(x, "only a failed installation can be retried");
  if (auto err = transition(db, tenant, x, "installing", "retry requested", actor,
                            installation_signal_type("install", "requested"),
                            signal_payload(x)))
    return err;
  if (auto err = enqueue_installer_job(db, tenant, install_job_kind, x.id))
    return err;
  return std::optional<storage::installation_record>{std::move(x)};
}

caf::expected<std::optional<storage::installation_record>>
set_installation_enabled(storage::pg_session& db, const tenant_ref& tenant,
                         std::string_view id, bool enable,
                         const storage::signal_actor& actor) {
  auto found = locked(db, tenant, id);
  if (!found || !*found)
    return found;
  auto x = std::move(**found);
  if (x.state != (enable ? "disabled" : "installed"))
    return wrong_state(x, enable ? "only a disabled installation can be enabled"
                                 : "only an installed package can be disabled");
  auto m = load_manifest(db, x.package, x.version);
  if (!m)
    return std::move(m.error());
  auto resources = storage::list_installation_resources(db, tenant.slug, x.id);
  if (!resources)
    return std::move(resources.error());
  for (auto& r : *resources) {
    if (r.kind == "agent") {
      auto a = storage::find_agent(db, tenant.slug, r.resource_id, true);
      if (!a)
        return std::move(a.error());
      if (!*a)
        continue;
      std::string to;
      if (!enable) {
        to = (*a)->state == "active" ? "paused" : (*a)->state;
      } else {
        auto spec = std::find_if(m->agents.begin(), m->agents.end(),
                                 [&](auto& ma) { return ma.name == r.name; });
        to = (*a)->state;
        if (spec != m->agents.end() && spec->state == "active"
            && (*a)->state == "paused")
          to = "active";
      }
      if (to == (*a)->state)
        continue;
      (*a)->state = to;
      auto updated = storage::update_agent(db, tenant.slug, **a);
      if (!updated)
        return std::move(updated.error());
    } else if (r.kind == "subscription") {
      auto set = storage::set_subscription_enabled(db, tenant.slug, r.resource_id,
                                                   enable);
      if (!set)
        return std::move(set.error());
    } else if (r.kind == "schedule") {
      auto set = storage::set_job_schedule_enabled(db, r.resource_id, enable);
      if (!set)
        return std::move(set.error());
    }
  }
  auto op = enable ? "enable" : "disable";
  if (auto err = transition(db, tenant, x, enable ? "installed" : "disabled",
                            enable ? "enabled" : "disabled", actor,
                            installation_signal_type(op, ""), signal_payload(x)))
    return err;
  return std::optional<storage::installation_record>{std::move(x)};
}

// -- scheduled runs ----------------------------------------------------------------------------

caf::error run_scheduled_job(storage::pg_session& db, const tenant_ref& tenant,
                             std::string_view args) {
  simdjson::dom::parser parser;
  auto root = detail::parse_json(parser, args);
  if (!root || !root->is_object())
    return make_error(errc::invalid_argument, "job arguments are not a JSON object");
  std::string id{detail::string_member(*root, "installation_id")};
  std::string agent_id{detail::string_member(*root, "agent_id")};
  std::string schedule{detail::string_member(*root, "schedule")};
  auto hours = static_cast<int>(detail::int_member(*root, "window_hours", 24));
  std::vector<std::string> patterns;
  if (auto t = detail::member(*root, "signal_types"); t && t->is_array())
    for (auto p : simdjson::dom::array(*t)) {
      std::string_view s;
      if (p.get(s) == simdjson::SUCCESS)
        patterns.emplace_back(s);
    }
  auto x = storage::find_installation(db, tenant.slug, id);
  if (!x)
    return std::move(x.error());
  // Disabled, being changed or gone: nothing to run.
  if (!*x || (*x)->state != "installed")
    return caf::none;
  std::string start, end;
  auto signals = storage::window_signals(db, tenant.slug, patterns,
                                         std::max(hours, 1), 200, start, end);
  if (!signals)
    return std::move(signals.error());
  std::map<std::string, int> by_type;
  std::string text;
  for (auto& s : *signals) {
    ++by_type[s.type];
    auto summary = s.payload.size() > 300 ? s.payload.substr(0, 300) + "..."
                                          : s.payload;
    text += s.type + ": " + summary + "\n";
  }
  std::string types = "{";
  for (auto& [type, n] : by_type) {
    if (types.size() > 1)
      types += ',';
    types += quote(type) + ":" + std::to_string(n);
  }
  types += "}";
  execution_request req;
  req.agent_id = agent_id;
  req.input = "{\"window_start\":" + quote(start) + ",\"window_end\":" + quote(end)
              + ",\"count\":" + std::to_string(signals->size())
              + ",\"by_type\":" + types + ",\"text\":" + quote(text) + "}";
  req.initiator = {"system", "schedule:" + schedule, "Schedule " + schedule};
  req.correlation_id = (*x)->correlation_id;
  auto queued = queue_execution(db, tenant, req);
  if (!queued) {
    // A paused or deleted agent skips this run; retrying cannot help.
    auto code = runtime::code_of(queued.error());
    if (code == errc::not_found || code == errc::conflict)
      return caf::none;
    return std::move(queued.error());
  }
  return caf::none;
}

} // namespace fp::actors
