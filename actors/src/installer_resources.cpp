// The installer's resource steps: building the rows a package declares
// from its manifest and config, creating them (each recorded so uninstall
// removes exactly that), bringing them to a new version, deleting them,
// and the install/upgrade/uninstall steps of the manifest.

#include <algorithm>

#include "fp/actors/agent_rules.hpp"
#include "fp/actors/installation_rules.hpp"
#include "fp/actors/installer.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/agents.hpp"
#include "fp/storage/credentials.hpp"
#include "fp/storage/directives.hpp"
#include "fp/storage/jobs.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/subscriptions.hpp"
#include "installer_internal.hpp"
#include "installer_steps.hpp"
#include "llm_json.hpp"

namespace fp::actors::installer_detail {

using runtime::errc;
using runtime::make_error;

std::string message_of(const caf::error& err) {
  auto ctx = runtime::context_of(err);
  return ctx.empty() ? caf::to_string(err) : ctx;
}

outcome fail(std::string step, std::string message,
             std::vector<schema_issue> issues) {
  return {caf::none, step_failure{std::move(step), std::move(message),
                                  std::move(issues)}};
}

/// A database or rule error met by `step`.
outcome fail_on(std::string step, const caf::error& err, std::string prefix) {
  if (is_transient(err))
    return {err, std::nullopt};
  return fail(std::move(step), prefix + message_of(err));
}

caf::error exec(storage::pg_session& db, const char* sql) {
  auto r = db.exec(sql);
  if (!r)
    return std::move(r.error());
  return caf::none;
}


namespace {

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs) {
    if (!out.empty())
      out += ", ";
    out += x;
  }
  return out;
}

/// The value of secret `field` as a plain string (JSON strings unquoted).
std::optional<std::string>
secret_text(const std::vector<std::pair<std::string, std::string>>& secrets,
            std::string_view field) {
  for (auto& [path, json] : secrets) {
    if (path != field)
      continue;
    simdjson::dom::parser parser;
    auto el = detail::parse_json(parser, json);
    std::string_view s;
    if (el && el->get(s) == simdjson::SUCCESS)
      return std::string{s};
    return json;
  }
  return std::nullopt;
}

/// The field of a `{{secrets.<field>}}` placeholder, or "".
std::string secret_placeholder(std::string_view text) {
  constexpr std::string_view open = "{{secrets.";
  auto a = text.find(open);
  if (a == std::string_view::npos)
    return {};
  auto b = text.find("}}", a);
  if (b == std::string_view::npos)
    return {};
  auto field = text.substr(a + open.size(), b - a - open.size());
  while (!field.empty() && field.front() == ' ')
    field.remove_prefix(1);
  while (!field.empty() && field.back() == ' ')
    field.remove_suffix(1);
  return std::string{field};
}

/// The id of resource (kind, name) of installation `id`, or "".
caf::expected<std::string> resource_id(job_ctx& c, const std::string& id,
                                       std::string_view kind,
                                       std::string_view name) {
  auto all = storage::list_installation_resources(c.db, c.tenant.slug, id);
  if (!all)
    return std::move(all.error());
  for (auto& r : *all)
    if (r.kind == kind && r.name == name)
      return r.resource_id;
  return std::string{};
}

// -- building the rows of a package ------------------------------------------------------

storage::skill_record skill_of(const manifest_skill& s,
                               const storage::installation_record& x,
                               const std::string& plain) {
  storage::skill_record r;
  r.name = s.name;
  r.description = fill_config(s.description, plain);
  r.kind = s.kind;
  r.input_schema = s.input_schema;
  r.output_schema = s.output_schema;
  r.config = fill_config(s.config, plain, true);
  r.min_role = s.min_role;
  r.installation_id = x.id;
  r.required_scopes = s.required_scopes;
  return r;
}

storage::agent_record agent_of(const manifest_agent& a,
                               const storage::installation_record& x,
                               const std::string& plain) {
  storage::agent_record r;
  r.name = a.name;
  r.purpose = fill_config(a.purpose, plain);
  r.provider = a.provider;
  r.model = fill_config(a.model, plain);
  r.system_prompt = fill_config(a.system_prompt, plain);
  r.skills = a.skills;
  r.directive_types = a.directive_types;
  r.triggers = a.triggers;
  r.max_tokens = a.max_tokens;
  r.max_tool_calls = a.max_tool_calls;
  r.daily_budget_micros = a.daily_budget_micros;
  r.state = a.state;
  r.installation_id = x.id;
  r.granted_scopes = x.granted_scopes;
  return r;
}

/// Rule problems of an agent, and skills it names that do not resolve.
outcome check_agent(job_ctx& c, const std::string& step,
                    const storage::agent_record& a) {
  auto issues = validate_agent(a);
  if (!issues.empty()) {
    std::vector<schema_issue> out;
    for (auto& i : issues)
      out.push_back({"$." + i.field, i.message});
    return fail(step, "agent \"" + a.name + "\": " + describe_issues(out), out);
  }
  for (auto& name : a.skills) {
    auto s = storage::resolve_skill(c.db, c.tenant.slug, name);
    if (!s)
      return fail_on(step, s.error());
    if (!*s)
      return fail(step, "agent \"" + a.name + "\": unknown skill \"" + name + "\"");
  }
  return {};
}

std::string schedule_name(const storage::installation_record& x,
                          const manifest_schedule& s) {
  return "inst:" + x.id + ":" + s.name;
}

storage::job_schedule schedule_of(job_ctx& c, const storage::installation_record& x,
                                  const manifest_schedule& s,
                                  const std::string& agent_id) {
  storage::job_schedule js;
  js.name = schedule_name(x, s);
  js.cron = s.cron;
  js.queue = installer_job_queue;
  js.kind = scheduled_run_job_kind;
  js.tenant = c.tenant.org_id;
  std::string types = "[";
  for (std::size_t i = 0; i < s.signal_types.size(); ++i)
    types += (i > 0 ? "," : "") + quote(s.signal_types[i]);
  types += "]";
  js.args = "{\"installation_id\":" + quote(x.id) + ",\"agent_id\":"
            + quote(agent_id) + ",\"schedule\":" + quote(s.name)
            + ",\"window_hours\":" + std::to_string(s.window_hours)
            + ",\"signal_types\":" + types + "}";
  js.enabled = true;
  return js;
}

/// The secret a destination is created with.
outcome destination_secret(const manifest_webhook_destination& w,
                           const std::vector<std::pair<std::string, std::string>>& secrets,
                           const std::string& step, std::string& out) {
  if (w.secret.empty()) {
    out.clear(); // the platform generates one
    return {};
  }
  auto field = secret_placeholder(w.secret);
  auto value = secret_text(secrets, field);
  if (!value)
    return fail(step, "webhook destination \"" + w.name + "\": secret field \""
                        + field + "\" is not set");
  out = std::move(*value);
  return {};
}

// -- creating ------------------------------------------------------------------------------

outcome record(job_ctx& c, const storage::installation_record& x,
               std::string kind, std::string id, std::string name) {
  if (auto err = storage::add_installation_resource(
        c.db, c.tenant.slug, x.id, {std::move(kind), std::move(id), std::move(name), {}}))
    return fail_on("resources", err);
  return {};
}

outcome create_skill(job_ctx& c, const storage::installation_record& x,
                     const manifest_skill& s, const std::string& plain,
                     const std::string& step) {
  auto r = skill_of(s, x, plain);
  r.id = runtime::new_uuid_v7();
  auto made = storage::insert_skill(c.db, c.tenant.slug, r);
  if (!made)
    return fail_on(step, made.error(), "skill \"" + s.name + "\": ");
  return record(c, x, "skill", made->id, s.name);
}

outcome create_agent(job_ctx& c, const storage::installation_record& x,
                     const manifest_agent& a, const std::string& plain,
                     const std::string& step) {
  auto r = agent_of(a, x, plain);
  r.id = runtime::new_uuid_v7();
  if (auto o = check_agent(c, step, r); !o.ok())
    return o;
  auto made = storage::insert_agent(c.db, c.tenant.slug, r);
  if (!made)
    return fail_on(step, made.error(), "agent \"" + a.name + "\": ");
  return record(c, x, "agent", made->id, a.name);
}

outcome create_subscription(job_ctx& c, const storage::installation_record& x,
                            const manifest_subscription& s,
                            const std::string& plain, const std::string& step) {
  storage::new_subscription sub;
  sub.pattern = s.pattern;
  sub.directive_type = s.directive_type;
  sub.params = fill_config(s.params, plain, true);
  auto made = storage::create_subscription(c.db, c.tenant.slug, sub);
  if (!made)
    return fail_on(step, made.error(), "subscription \"" + s.name + "\": ");
  return record(c, x, "subscription", made->id, s.name);
}

outcome create_destination(job_ctx& c, const storage::installation_record& x,
                           const manifest_webhook_destination& w,
                           const std::string& plain,
                           const std::vector<std::pair<std::string, std::string>>& secrets,
                           const std::string& step) {
  std::string secret;
  if (auto o = destination_secret(w, secrets, step, secret); !o.ok())
    return o;
  auto made = storage::create_sealed_webhook_destination(
    c.db, c.tenant.slug, c.keys, x.id, fill_config(w.url, plain),
    fill_config(w.description, plain), secret);
  if (!made)
    return fail_on(step, made.error(), "webhook destination \"" + w.name + "\": ");
  return record(c, x, "webhook_destination", *made, w.name);
}

outcome create_schedule(job_ctx& c, const storage::installation_record& x,
                        const manifest_schedule& s, const std::string& step) {
  auto agent = resource_id(c, x.id, "agent", s.agent);
  if (!agent)
    return fail_on(step, agent.error());
  auto js = schedule_of(c, x, s, *agent);
  if (auto err = storage::upsert_job_schedule(c.db, js))
    return fail_on(step, err, "schedule \"" + s.name + "\": ");
  return record(c, x, "schedule", js.name, s.name);
}


} // namespace

/// Runs the steps of `list` ("install", "upgrade", "uninstall").
outcome run_steps(job_ctx& c, const storage::installation_record& x,
                  const std::vector<manifest_step>& steps, const std::string& list,
                  const std::string& plain) {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    auto& st = steps[i];
    auto step = list + "[" + std::to_string(i) + "]";
    simdjson::dom::parser parser;
    auto args = detail::parse_json(parser, st.args);
    if (!args)
      return fail(step, "the step's arguments are not JSON");
    if (st.action == "signal.emit") {
      std::string type{detail::string_member(*args, "type")};
      std::string payload = "{}";
      if (auto p = detail::member(*args, "payload"))
        payload = fill_config(detail::to_json(*p), plain, true);
      if (auto err = emit_signal(c.db, c.tenant, installer_signal_actor(), type,
                                 payload, x.correlation_id))
        return fail_on(step, err);
    } else if (st.action == "agent.activate" || st.action == "agent.pause") {
      std::string name{detail::string_member(*args, "agent")};
      auto id = resource_id(c, x.id, "agent", name);
      if (!id)
        return fail_on(step, id.error());
      auto found = storage::find_agent(c.db, c.tenant.slug, *id, true);
      if (!found)
        return fail_on(step, found.error());
      if (!*found)
        return fail(step, "no agent \"" + name + "\" in this installation");
      auto a = std::move(**found);
      auto to = st.action == "agent.activate" ? "active" : "paused";
      if (a.state == to)
        continue;
      if (!agent_transition_allowed(a.state, to))
        return fail(step, "agent \"" + name + "\" cannot go from " + a.state
                            + " to " + to);
      a.state = to;
      auto updated = storage::update_agent(c.db, c.tenant.slug, a);
      if (!updated)
        return fail_on(step, updated.error());
    }
    // config.* steps were applied to the config before validation.
  }
  return {};
}

// -- checks --------------------------------------------------------------------------------

/// Permissions and config of `x` at manifest `m`; `plain` receives the
/// non-secret config with the schema's defaults (for templating).
outcome check_install(const storage::installation_record& x,
                      const package_manifest& m,
                      const std::vector<std::pair<std::string, std::string>>& secrets,
                      std::string& plain) {
  auto missing = uncovered_scopes(x.granted_scopes, m.permissions);
  if (!missing.empty())
    return fail("permissions", "permissions not granted: " + join(missing));
  auto merged = merge_config(m.config_schema, x.config, secrets);
  if (!merged)
    return fail("config", message_of(merged.error()));
  auto issues = validate_json(m.config_schema, *merged);
  if (!issues.empty())
    return fail("config", "config does not match the config_schema of "
                            + m.name + ": " + describe_issues(issues),
                issues);
  auto defaults = merge_config(m.config_schema, x.config, {});
  plain = defaults ? *defaults : x.config;
  return {};
}

/// Creates everything of `m` for `x` and runs its install steps.
outcome install_one(job_ctx& c, const storage::installation_record& x,
                    const package_manifest& m,
                    const std::vector<std::pair<std::string, std::string>>& secrets) {
  std::string plain;
  if (auto o = check_install(x, m, secrets, plain); !o.ok())
    return o;
  auto at = [](const char* kind, std::size_t i) {
    return std::string{kind} + "[" + std::to_string(i) + "]";
  };
  for (std::size_t i = 0; i < m.skills.size(); ++i)
    if (auto o = create_skill(c, x, m.skills[i], plain, at("skills", i)); !o.ok())
      return o;
  for (std::size_t i = 0; i < m.agents.size(); ++i)
    if (auto o = create_agent(c, x, m.agents[i], plain, at("agents", i)); !o.ok())
      return o;
  for (std::size_t i = 0; i < m.subscriptions.size(); ++i)
    if (auto o = create_subscription(c, x, m.subscriptions[i], plain,
                                     at("subscriptions", i));
        !o.ok())
      return o;
  for (std::size_t i = 0; i < m.webhook_destinations.size(); ++i)
    if (auto o = create_destination(c, x, m.webhook_destinations[i], plain, secrets,
                                    at("webhook_destinations", i));
        !o.ok())
      return o;
  for (std::size_t i = 0; i < m.schedules.size(); ++i)
    if (auto o = create_schedule(c, x, m.schedules[i], at("schedules", i)); !o.ok())
      return o;
  return run_steps(c, x, m.install_steps, "install", plain);
}

/// Installs the dependencies of `root` at manifest `m` that are missing
/// (their own installation rows, required_by = root, default config).
outcome install_dependencies(job_ctx& c, const storage::installation_record& root,
                             const package_manifest& m) {
  if (m.dependencies.empty())
    return {};
  auto installed = installed_of(c.db, c.tenant.slug, root.id);
  if (!installed)
    return fail_on("dependencies", installed.error());
  installed->erase(m.name);
  // The version being installed was accepted when it was requested: a yank
  // since then (or before a reconfigure of an installation of it) must not
  // break it, so it resolves as if not yanked. Dependencies still resolve
  // only to versions that are not yanked.
  auto source = [&c, &m](const std::string& pkg) {
    auto all = candidates_of(c.db, pkg);
    if (pkg == m.name)
      for (auto& v : all)
        if (v.version_text == m.version_text)
          v.yanked = false;
    return all;
  };
  auto res = resolve_dependencies(m.name, m.version_text, source, *installed, true);
  if (res.error)
    return fail("dependencies", res.error->message);
  for (auto& pkg : res.ok->install_order) {
    if (pkg == m.name)
      continue;
    auto version = res.ok->chosen[pkg];
    auto dm = load_manifest(c.db, pkg, version);
    if (!dm)
      return fail_on("dependencies", dm.error());
    storage::installation_record d;
    d.id = runtime::new_uuid_v7();
    d.package = pkg;
    d.version = version;
    d.state = "installing";
    d.granted_scopes = root.granted_scopes;
    d.required_by = root.id;
    d.dependencies = dependencies_json(dm->dependencies);
    d.limits = limits_json(dm->limits);
    d.requested_by = root.requested_by;
    d.correlation_id = root.correlation_id;
    auto made = storage::insert_installation(c.db, c.tenant.slug, d);
    if (!made)
      return fail_on("dependencies", made.error());
    d = std::move(*made);
    storage::installation_transition t;
    t.to_state = "installing";
    t.version = version;
    t.detail = "dependency of " + root.package;
    t.actor_id = "system:installer";
    if (auto err = storage::add_installation_transition(c.db, c.tenant.slug, d.id, t))
      return fail_on("dependencies", err);
    auto o = install_one(c, d, *dm, {});
    if (o.transient)
      return o;
    if (o.failure)
      return fail("dependencies", pkg + " " + version + ": " + o.failure->step + ": "
                                    + o.failure->message);
    if (auto err = transition(c.db, c.tenant, d, "installed", "installed",
                              installer_signal_actor(),
                              installation_signal_type("install", "completed"),
                              signal_payload(d)))
      return fail_on("dependencies", err);
  }
  return {};
}


// -- upgrade -------------------------------------------------------------------------------

/// Brings the resources of `x` from `old_m` to `m` (matched by kind and
/// name): updated in place, created, or deleted.
outcome diff_resources(job_ctx& c, const storage::installation_record& x,
                       const package_manifest& m, const std::string& plain,
                       const std::vector<std::pair<std::string, std::string>>& secrets) {
  auto current = storage::list_installation_resources(c.db, c.tenant.slug, x.id);
  if (!current)
    return fail_on("resources", current.error());
  auto existing = [&](std::string_view kind, std::string_view name) -> std::string {
    for (auto& r : *current)
      if (r.kind == kind && r.name == name)
        return r.resource_id;
    return {};
  };
  auto at = [](const char* kind, std::size_t i) {
    return std::string{kind} + "[" + std::to_string(i) + "]";
  };
  auto& slug = c.tenant.slug;
  for (std::size_t i = 0; i < m.skills.size(); ++i) {
    auto& s = m.skills[i];
    auto id = existing("skill", s.name);
    if (id.empty()) {
      if (auto o = create_skill(c, x, s, plain, at("skills", i)); !o.ok())
        return o;
      continue;
    }
    auto r = skill_of(s, x, plain);
    r.id = id;
    auto updated = storage::update_skill(c.db, slug, r);
    if (!updated)
      return fail_on(at("skills", i), updated.error());
  }
  for (std::size_t i = 0; i < m.agents.size(); ++i) {
    auto& a = m.agents[i];
    auto id = existing("agent", a.name);
    if (id.empty()) {
      if (auto o = create_agent(c, x, a, plain, at("agents", i)); !o.ok())
        return o;
      continue;
    }
    auto found = storage::find_agent(c.db, slug, id, true);
    if (!found)
      return fail_on(at("agents", i), found.error());
    auto r = agent_of(a, x, plain);
    r.id = id;
    // The agent keeps its id and where the organization moved it.
    if (*found)
      r.state = (*found)->state;
    if (auto o = check_agent(c, at("agents", i), r); !o.ok())
      return o;
    auto updated = storage::update_agent(c.db, slug, r);
    if (!updated)
      return fail_on(at("agents", i), updated.error());
  }
  for (std::size_t i = 0; i < m.subscriptions.size(); ++i) {
    auto& s = m.subscriptions[i];
    if (auto id = existing("subscription", s.name); !id.empty()) {
      auto gone = storage::delete_subscription(c.db, slug, id);
      if (!gone)
        return fail_on(at("subscriptions", i), gone.error());
      if (auto err = storage::remove_installation_resource(c.db, slug, x.id,
                                                           "subscription", id))
        return fail_on(at("subscriptions", i), err);
    }
    if (auto o = create_subscription(c, x, s, plain, at("subscriptions", i)); !o.ok())
      return o;
  }
  for (std::size_t i = 0; i < m.webhook_destinations.size(); ++i) {
    auto& w = m.webhook_destinations[i];
    auto id = existing("webhook_destination", w.name);
    if (id.empty()) {
      if (auto o = create_destination(c, x, w, plain, secrets,
                                      at("webhook_destinations", i));
          !o.ok())
        return o;
      continue;
    }
    std::string secret;
    if (auto o = destination_secret(w, secrets, at("webhook_destinations", i), secret);
        !o.ok())
      return o;
    auto updated = storage::update_sealed_webhook_destination(
      c.db, slug, c.keys, id, fill_config(w.url, plain),
      fill_config(w.description, plain), secret);
    if (!updated)
      return fail_on(at("webhook_destinations", i), updated.error());
  }
  for (std::size_t i = 0; i < m.schedules.size(); ++i) {
    auto& s = m.schedules[i];
    if (auto o = create_schedule(c, x, s, at("schedules", i)); !o.ok())
      return o;
  }
  // What the new version no longer has.
  auto in_manifest = [&](const storage::installation_resource& r) {
    auto named = [&](const auto& list) {
      return std::any_of(list.begin(), list.end(),
                         [&](const auto& item) { return item.name == r.name; });
    };
    if (r.kind == "skill")
      return named(m.skills);
    if (r.kind == "agent")
      return named(m.agents);
    if (r.kind == "subscription")
      return named(m.subscriptions);
    if (r.kind == "webhook_destination")
      return named(m.webhook_destinations);
    if (r.kind == "schedule")
      return named(m.schedules);
    return true;
  };
  for (auto& r : *current) {
    if (in_manifest(r))
      continue;
    caf::error err;
    if (r.kind == "skill") {
      auto gone = storage::delete_skill(c.db, slug, r.resource_id);
      if (!gone)
        err = gone.error();
    } else if (r.kind == "agent") {
      auto gone = storage::delete_agent(c.db, slug, r.resource_id);
      if (!gone)
        err = gone.error();
    } else if (r.kind == "subscription") {
      auto gone = storage::delete_subscription(c.db, slug, r.resource_id);
      if (!gone)
        err = gone.error();
    } else if (r.kind == "webhook_destination") {
      auto gone = storage::delete_webhook_destination(c.db, slug, r.resource_id);
      if (!gone)
        err = gone.error();
    } else if (r.kind == "schedule") {
      auto gone = storage::delete_job_schedule(c.db, r.resource_id);
      if (!gone)
        err = gone.error();
    }
    if (!err)
      err = storage::remove_installation_resource(c.db, slug, x.id, r.kind,
                                                  r.resource_id);
    if (err)
      return fail_on("resources", err);
  }
  return {};
}

// -- uninstall -----------------------------------------------------------------------------

caf::error delete_resources(job_ctx& c, const storage::installation_record& x) {
  auto all = storage::list_installation_resources(c.db, c.tenant.slug, x.id);
  if (!all)
    return std::move(all.error());
  auto& slug = c.tenant.slug;
  // Schedules and subscriptions first: nothing starts while agents go.
  auto rank = [](const std::string& kind) {
    if (kind == "schedule")
      return 0;
    if (kind == "subscription")
      return 1;
    if (kind == "agent")
      return 2;
    if (kind == "skill")
      return 3;
    return 4;
  };
  std::stable_sort(all->begin(), all->end(), [&](auto& a, auto& b) {
    return rank(a.kind) < rank(b.kind);
  });
  for (auto& r : *all) {
    caf::error err;
    auto take = [&](caf::expected<bool> gone) {
      if (!gone)
        err = std::move(gone.error());
    };
    if (r.kind == "skill")
      take(storage::delete_skill(c.db, slug, r.resource_id));
    else if (r.kind == "agent")
      take(storage::delete_agent(c.db, slug, r.resource_id));
    else if (r.kind == "subscription")
      take(storage::delete_subscription(c.db, slug, r.resource_id));
    else if (r.kind == "webhook_destination")
      take(storage::delete_webhook_destination(c.db, slug, r.resource_id));
    else if (r.kind == "schedule")
      take(storage::delete_job_schedule(c.db, r.resource_id));
    if (!err)
      err = storage::remove_installation_resource(c.db, slug, x.id, r.kind,
                                                  r.resource_id);
    if (err)
      return err;
  }
  return caf::none;
}

} // namespace fp::actors::installer_detail
