#include "fp/actors/package_manifest.hpp"

#include <cstdint>
#include <functional>

#include "fp/actors/directive_rules.hpp"
#include "fp/actors/signal_rules.hpp"

#include "package_manifest_checker.hpp"

namespace fp::actors {

namespace {

using detail::cat;
using detail::checker;
using detail::in;
using detail::type_name;
using detail::in_quotes;
using detail::index_path;
using detail::key_path;
using simdjson::dom::element;

// -- steps -----------------------------------------------------------------------------

void check_steps(checker& c, element root, std::string_view list,
                 const package_manifest& m, std::vector<manifest_step>& out) {
  bool upgrade = list == "upgrade";
  bool install = list == "install";
  c.objects(root, "$", list, [&](element step, const std::string& path) {
    auto action = c.string(step, path, "action", true);
    if (!action)
      return;
    auto agent_ref = [&] {
      c.unknown_members(step, path, {"action", "agent"});
      auto is_agent = [&m](const std::string& name) {
        return std::any_of(m.agents.begin(), m.agents.end(),
                           [&](const manifest_agent& a) { return a.name == name; });
      };
      if (auto a = c.string(step, path, "agent", true); a && !is_agent(*a))
        c.add(key_path(path, "agent"),
              cat("unknown agent ", in_quotes(*a), " (not an agent of this package)"));
    };
    auto config_path = [&](std::string_view key) {
      if (auto p = c.string(step, path, key, true); p && !detail::split_path(*p))
        c.add(key_path(path, key), "must be a dotted config path (a.b)");
    };
    auto only_upgrade = [&] {
      if (!upgrade)
        c.add(key_path(path, "action"),
              cat(in_quotes(*action), " is allowed only in upgrade steps"));
    };
    if (*action == "signal.emit") {
      c.unknown_members(step, path, {"action", "type", "payload"});
      if (auto t = c.string(step, path, "type", true))
        if (auto err = signal_type_error(*t); !err.empty())
          c.add(key_path(path, "type"), err);
      c.object_text(step, path, "payload");
    } else if (*action == "agent.activate") {
      if (!install && !upgrade)
        c.add(key_path(path, "action"),
              "\"agent.activate\" is allowed only in install and upgrade steps");
      agent_ref();
    } else if (*action == "agent.pause") {
      agent_ref();
    } else if (*action == "config.rename") {
      only_upgrade();
      c.unknown_members(step, path, {"action", "from", "to"});
      config_path("from");
      config_path("to");
    } else if (*action == "config.set") {
      only_upgrade();
      c.unknown_members(step, path, {"action", "path", "value"});
      config_path("path");
      if (!detail::member(step, "value"))
        c.add(key_path(path, "value"), "is required");
    } else if (*action == "config.remove") {
      only_upgrade();
      c.unknown_members(step, path, {"action", "path"});
      config_path("path");
    } else {
      c.add(key_path(path, "action"),
            cat("unknown action ", in_quotes(*action),
                " (signal.emit, agent.activate, agent.pause, config.rename, "
                "config.set or config.remove)"));
      return;
    }
    auto node = detail::to_node(step);
    node.erase("action");
    out.push_back({*action, detail::canonical_json(node.to_json())});
  });
}

} // namespace

// -- the catalog -------------------------------------------------------------------------

const manifest_catalog& platform_catalog() {
  static const manifest_catalog catalog{
    {"text.summarize", "text.classify", "signal.emit", "webhook.post"},
    platform_directive_types()};
  return catalog;
}

// -- parse_manifest ----------------------------------------------------------------------

manifest_result parse_manifest(std::string_view json,
                               const manifest_catalog& catalog) {
  manifest_result result;
  simdjson::dom::parser parser;
  auto parsed = detail::parse_json(parser, json);
  if (!parsed) {
    result.issues.push_back({"$", "not valid JSON"});
    return result;
  }
  element root = *parsed;
  if (!root.is_object()) {
    result.issues.push_back({"$", "the manifest must be a JSON object"});
    return result;
  }
  checker c;
  package_manifest m;
  std::vector<std::string> duplicates;
  m.canonical = detail::canonical_json(json, &duplicates);
  for (auto& d : duplicates)
    c.add(d, "duplicate member");

  c.unknown_members(root, "$",
                    {"name", "version", "description", "capabilities",
                     "config_schema", "dependencies", "permissions", "install",
                     "uninstall", "upgrade", "limits"});

  // -- identity --
  if (auto name = c.string(root, "$", "name", true)) {
    if (!detail::valid_package_name(*name))
      c.add("$.name", "must look like publisher/name (lowercase letters, "
                      "digits and '-'; the name may also hold '.' and '_')");
    m.name = *name;
  }
  if (auto v = c.string(root, "$", "version", true)) {
    std::string why;
    if (auto parsed_version = semver::parse(*v, &why)) {
      m.version = *parsed_version;
      m.version_text = parsed_version->to_string();
    } else {
      c.add("$.version", cat("not a SemVer 2.0 version: ", why));
    }
  }
  if (auto d = c.string(root, "$", "description", false, 2000))
    m.description = *d;

  // -- permissions --
  for (auto& [path, scope] : c.strings(root, "$", "permissions")) {
    if (auto err = permission_error(scope); !err.empty())
      c.add(path, err);
    else if (in(m.permissions, scope))
      c.add(path, cat("duplicate permission ", in_quotes(scope)));
    else
      m.permissions.push_back(scope);
  }

  // -- config schema --
  simdjson::dom::parser schema_parser;
  std::optional<element> schema;
  if (auto text = c.schema(root, "$", "config_schema")) {
    auto s = detail::parse_json(schema_parser, *text);
    if (detail::string_member(*s, "type") != "object")
      c.add("$.config_schema.type", "must be \"object\"");
    m.config_schema = *text;
    schema = s;
    std::function<void(element, const std::string&)> check_secret
      = [&](element node, const std::string& path) {
          auto props = detail::member(node, "properties");
          if (!props)
            return;
          for (auto [key, sub] : simdjson::dom::object(*props)) {
            auto p = key_path(key_path(path, "properties"), key);
            if (auto sec = detail::member(sub, "secret"); sec && !sec->is_bool())
              c.add(key_path(p, "secret"), "must be a boolean");
            check_secret(sub, p);
          }
        };
    check_secret(*s, "$.config_schema");
  } else if (!detail::member(root, "config_schema")) {
    schema = detail::parse_json(schema_parser, m.config_schema);
  }

  // -- capabilities --
  detail::check_capabilities(c, root, catalog, schema, m);
  std::optional<element> caps;
  if (auto cp = detail::member(root, "capabilities"); cp && cp->is_object())
    caps = cp;
  const std::string cap_path = "$.capabilities";

  // -- placeholders --
  auto check_placeholders = [&](element el, const std::string& base) {
    auto f = [&](const std::string& path, std::string_view text) {
      for (const auto& ph : detail::find_placeholders(text)) {
        if (ph.source == "secrets") {
          bool destination_secret
            = path.rfind("$.capabilities.webhook_destinations[", 0) == 0
              && path.size() > 7 && path.substr(path.size() - 7) == ".secret";
          if (!destination_secret)
            c.add(path, cat("{{secrets.", ph.path,
                            "}} is allowed only as a webhook destination's "
                            "secret"));
          continue;
        }
        if (!schema)
          continue; // config_schema itself is reported
        auto prop = detail::schema_property(*schema, ph.path);
        if (!prop)
          c.add(path, cat("{{config.", ph.path,
                          "}} names no property of config_schema"));
        else if (detail::is_secret(*prop))
          c.add(path, cat("{{config.", ph.path,
                          "}} names a secret field; secrets may only fill a "
                          "webhook destination's secret"));
      }
    };
    detail::each_string(el, base, f);
  };
  if (caps)
    check_placeholders(*caps, cap_path);

  // -- dependencies --
  if (auto deps = c.typed(root, "$", "dependencies", false, &element::is_object,
                          "an object")) {
    for (auto [key, value] : simdjson::dom::object(*deps)) {
      auto p = key_path("$.dependencies", key);
      std::string dep{key};
      if (!detail::valid_package_name(dep))
        c.add(p, "is not a package name (publisher/name)");
      else if (dep == m.name)
        c.add(p, "a package cannot depend on itself");
      std::string_view r;
      if (value.get(r) != simdjson::SUCCESS) {
        c.add(p, cat("expected a version range string, got ", type_name(value)));
        continue;
      }
      std::string why;
      if (!semver::range::parse(r, &why))
        c.add(p, why);
      m.dependencies[dep] = std::string{r};
    }
  }

  // -- steps --
  check_steps(c, root, "install", m, m.install_steps);
  check_steps(c, root, "uninstall", m, m.uninstall_steps);
  check_steps(c, root, "upgrade", m, m.upgrade_steps);
  for (auto list : {"install", "uninstall", "upgrade"})
    if (auto steps = detail::member(root, list); steps && steps->is_array())
      check_placeholders(*steps, key_path("$", list));

  // -- limits --
  if (auto lim = c.typed(root, "$", "limits", false, &element::is_object,
                         "an object")) {
    c.unknown_members(*lim, "$.limits",
                      {"executions_per_hour", "daily_budget_micros", "max_agents"});
    m.limits.executions_per_hour
      = c.integer(*lim, "$.limits", "executions_per_hour", 0, INT64_MAX);
    m.limits.daily_budget_micros
      = c.integer(*lim, "$.limits", "daily_budget_micros", 0, INT64_MAX);
    m.limits.max_agents = c.integer(*lim, "$.limits", "max_agents", 0, INT64_MAX);
    if (m.limits.max_agents
        && static_cast<int64_t>(m.agents.size()) > *m.limits.max_agents)
      c.add("$.capabilities.agents",
            cat(std::to_string(m.agents.size()),
                m.agents.size() == 1 ? " agent" : " agents",
                ", more than limits.max_agents (",
                std::to_string(*m.limits.max_agents), ")"));
  }

  // -- what the skills need, the package must ask for --
  // A skill's required scope that the package does not request could never
  // be granted: every call of the skill would be denied at run time.
  for (std::size_t i = 0; i < m.skills.size(); ++i)
    for (std::size_t j = 0; j < m.skills[i].required_scopes.size(); ++j)
      if (const auto& scope = m.skills[i].required_scopes[j];
          permission_error(scope).empty() && !scope_covered(m.permissions, scope))
        c.add(cat("$.capabilities.skills[", std::to_string(i), "].required_scopes[",
                  std::to_string(j), "]"),
              cat(in_quotes(scope), " is not covered by $.permissions"));

  if (c.issues.empty())
    result.manifest = std::move(m);
  else
    result.issues = std::move(c.issues);
  return result;
}

} // namespace fp::actors