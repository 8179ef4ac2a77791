#include "package_manifest_checker.hpp"

#include "fp/actors/signal_rules.hpp"
#include "fp/runtime/cron.hpp"
#include "fp/runtime/errc.hpp"

// The capabilities of a package manifest: directive types, skills, agents,
// subscriptions, tools, schedules and webhook destinations.

namespace fp::actors::detail {

void check_capabilities(checker& c, element root, const manifest_catalog& catalog,
                        const std::optional<element>& schema,
                        package_manifest& m) {
  std::optional<element> caps;
  if (auto cp = c.typed(root, "$", "capabilities", false, &element::is_object,
                        "an object")) {
    caps = cp;
    c.unknown_members(*cp, "$.capabilities",
                      {"skills", "agents", "subscriptions", "directive_types",
                       "tools", "schedules", "webhook_destinations"});
  }
  const std::string cap_path = "$.capabilities";
  name_set skills{c, "skill"}, agents{c, "agent"}, subs{c, "subscription"},
    tools{c, "tool"}, schedules{c, "schedule"}, hooks{c, "webhook destination"};

  // Directive types first: the other capabilities refer to them.
  if (caps) {
    for (auto& [path, type] : c.strings(*caps, cap_path, "directive_types")) {
      if (in(m.directive_types, type)) {
        c.add(path, cat("duplicate directive type ", in_quotes(type)));
        continue;
      }
      if (!in(catalog.platform_directive_types, type)) {
        std::string known;
        for (auto& t : catalog.platform_directive_types)
          known += known.empty() ? t : ", " + t;
        c.add(path, cat("unknown directive type ", in_quotes(type),
                        " (the platform executes ", known, ")"));
      } else if (!scope_covered(m.permissions, cat("directive:", type))) {
        c.add(path, cat("needs the permission \"directive:", type,
                        "\" in $.permissions"));
      }
      m.directive_types.push_back(type);
    }
  }
  auto check_directive_type = [&](const std::string& path, std::string_view type) {
    if (!in(m.directive_types, type))
      c.add(path, cat("directive type ", in_quotes(type),
                      " is not listed in $.capabilities.directive_types"));
  };

  if (caps) {
    c.objects(*caps, cap_path, "skills", [&](element s, const std::string& p) {
      c.unknown_members(s, p, {"name", "description", "kind", "input_schema",
                               "output_schema", "config", "min_role",
                               "required_scopes"});
      manifest_skill sk;
      if (auto n = c.string(s, p, "name", true)) {
        if (!valid_skill_name(*n))
          c.add(key_path(p, "name"),
                "must be dotted lowercase words (like text.summarize)");
        skills.add(*n, key_path(p, "name"));
        sk.name = *n;
      }
      if (auto d = c.string(s, p, "description", false))
        sk.description = *d;
      if (auto k = c.string(s, p, "kind", true)) {
        if (*k != "prompt" && *k != "directive")
          c.add(key_path(p, "kind"), "must be \"prompt\" or \"directive\"");
        sk.kind = *k;
      }
      if (auto t = c.schema(s, p, "input_schema"))
        sk.input_schema = *t;
      if (auto t = c.schema(s, p, "output_schema"))
        sk.output_schema = *t;
      if (auto cfg = c.object_text(s, p, "config"))
        sk.config = *cfg;
      if (sk.kind == "directive") {
        auto cfg = detail::member(s, "config");
        auto type = cfg ? detail::member(*cfg, "directive_type") : std::nullopt;
        std::string_view t;
        if (!type || type->get(t) != simdjson::SUCCESS)
          c.add(key_path(p, "config.directive_type"),
                "a directive skill names its directive type (a string)");
        else
          check_directive_type(key_path(p, "config.directive_type"), t);
      }
      if (auto r = c.string(s, p, "min_role", false)) {
        if (*r != "member" && *r != "admin" && *r != "owner")
          c.add(key_path(p, "min_role"), "must be member, admin or owner");
        sk.min_role = *r;
      }
      for (auto& [sp, scope] : c.strings(s, p, "required_scopes")) {
        if (auto err = permission_error(scope); !err.empty())
          c.add(sp, err);
        sk.required_scopes.push_back(scope);
      }
      m.skills.push_back(std::move(sk));
    });
    // A package with dependencies may use their skills: which skills those
    // bring is only known at install time, where the installer checks that
    // every agent's skills resolve in the organization.
    auto deps = detail::member(root, "dependencies");
    bool may_use_dependency_skills
      = deps && deps->is_object() && simdjson::dom::object(*deps).size() > 0;
    auto known_skill = [&](std::string_view name) {
      return skills.contains(name) || in(catalog.platform_skills, name)
             || may_use_dependency_skills;
    };

    c.objects(*caps, cap_path, "agents", [&](element a, const std::string& p) {
      c.unknown_members(a, p, {"name", "purpose", "provider", "model",
                               "system_prompt", "skills", "directive_types",
                               "triggers", "max_tokens", "max_tool_calls",
                               "daily_budget_micros", "state"});
      manifest_agent ag;
      if (auto n = c.string(a, p, "name", true)) {
        if (!valid_item_name(*n))
          c.add(key_path(p, "name"), "must be 1-100 of a-z, 0-9, '.', '_', '-'");
        agents.add(*n, key_path(p, "name"));
        ag.name = *n;
      }
      if (auto v = c.string(a, p, "purpose", false))
        ag.purpose = *v;
      if (auto v = c.string(a, p, "provider", false)) {
        if (v->empty())
          c.add(key_path(p, "provider"), "must not be empty");
        ag.provider = *v;
      }
      if (auto v = c.string(a, p, "model", false)) {
        if (v->empty())
          c.add(key_path(p, "model"), "must not be empty");
        ag.model = *v;
      }
      if (auto v = c.string(a, p, "system_prompt", false, 100000))
        ag.system_prompt = *v;
      for (auto& [sp, name] : c.strings(a, p, "skills")) {
        if (!known_skill(name))
          c.add(sp, cat("unknown skill ", in_quotes(name),
                        " (neither in this package nor a platform skill)"));
        ag.skills.push_back(name);
      }
      for (auto& [sp, type] : c.strings(a, p, "directive_types")) {
        check_directive_type(sp, type);
        ag.directive_types.push_back(type);
      }
      for (auto& [sp, pattern] : c.strings(a, p, "triggers")) {
        if (auto err = subscription_pattern_error(pattern); !err.empty())
          c.add(sp, err);
        ag.triggers.push_back(pattern);
      }
      if (auto v = c.integer(a, p, "max_tokens", 1, 1'000'000))
        ag.max_tokens = static_cast<int>(*v);
      if (auto v = c.integer(a, p, "max_tool_calls", 0, 1000))
        ag.max_tool_calls = static_cast<int>(*v);
      if (auto v = c.integer(a, p, "daily_budget_micros", 0, INT64_MAX))
        ag.daily_budget_micros = *v;
      if (auto v = c.string(a, p, "state", false)) {
        if (*v != "draft" && *v != "active")
          c.add(key_path(p, "state"), "must be \"draft\" or \"active\"");
        ag.state = *v;
      }
      m.agents.push_back(std::move(ag));
    });

    c.objects(*caps, cap_path, "subscriptions",
              [&](element s, const std::string& p) {
                c.unknown_members(s, p, {"name", "pattern", "directive_type",
                                         "params"});
                manifest_subscription sub;
                if (auto n = c.string(s, p, "name", true)) {
                  if (!valid_item_name(*n))
                    c.add(key_path(p, "name"),
                          "must be 1-100 of a-z, 0-9, '.', '_', '-'");
                  subs.add(*n, key_path(p, "name"));
                  sub.name = *n;
                }
                if (auto v = c.string(s, p, "pattern", true)) {
                  if (auto err = subscription_pattern_error(*v); !err.empty())
                    c.add(key_path(p, "pattern"), err);
                  sub.pattern = *v;
                }
                if (auto v = c.string(s, p, "directive_type", true)) {
                  check_directive_type(key_path(p, "directive_type"), *v);
                  sub.directive_type = *v;
                }
                if (auto v = c.object_text(s, p, "params"))
                  sub.params = *v;
                m.subscriptions.push_back(std::move(sub));
              });

    c.objects(*caps, cap_path, "tools", [&](element t, const std::string& p) {
      c.unknown_members(t, p, {"name", "skill", "description"});
      manifest_tool tool;
      if (auto n = c.string(t, p, "name", true)) {
        if (!valid_item_name(*n))
          c.add(key_path(p, "name"), "must be 1-100 of a-z, 0-9, '.', '_', '-'");
        tools.add(*n, key_path(p, "name"));
        tool.name = *n;
      }
      if (auto s = c.string(t, p, "skill", true)) {
        if (!known_skill(*s))
          c.add(key_path(p, "skill"),
                cat("unknown skill ", in_quotes(*s),
                    " (neither in this package nor a platform skill)"));
        tool.skill = *s;
      }
      if (auto d = c.string(t, p, "description", false))
        tool.description = *d;
      m.tools.push_back(std::move(tool));
    });

    c.objects(*caps, cap_path, "schedules", [&](element s, const std::string& p) {
      c.unknown_members(s, p, {"name", "cron", "agent", "window_hours",
                               "signal_types"});
      manifest_schedule sch;
      if (auto n = c.string(s, p, "name", true)) {
        if (!valid_item_name(*n))
          c.add(key_path(p, "name"), "must be 1-100 of a-z, 0-9, '.', '_', '-'");
        schedules.add(*n, key_path(p, "name"));
        sch.name = *n;
      }
      if (auto v = c.string(s, p, "cron", true)) {
        if (auto parsed_cron = runtime::cron_schedule::parse(*v); !parsed_cron) {
          auto why = runtime::context_of(parsed_cron.error());
          c.add(key_path(p, "cron"),
                cat("not a valid cron expression",
                    why.empty() ? std::string{} : cat(": ", why)));
        }
        sch.cron = *v;
      }
      if (auto v = c.string(s, p, "agent", true)) {
        if (!agents.contains(*v))
          c.add(key_path(p, "agent"),
                cat("unknown agent ", in_quotes(*v), " (not an agent of this package)"));
        sch.agent = *v;
      }
      if (auto v = c.integer(s, p, "window_hours", 1, 24 * 31))
        sch.window_hours = static_cast<int>(*v);
      for (auto& [sp, pattern] : c.strings(s, p, "signal_types")) {
        if (auto err = subscription_pattern_error(pattern); !err.empty())
          c.add(sp, err);
        sch.signal_types.push_back(pattern);
      }
      m.schedules.push_back(std::move(sch));
    });

    c.objects(*caps, cap_path, "webhook_destinations",
              [&](element w, const std::string& p) {
                c.unknown_members(w, p, {"name", "url", "secret", "description"});
                manifest_webhook_destination d;
                if (auto n = c.string(w, p, "name", true)) {
                  if (!valid_item_name(*n))
                    c.add(key_path(p, "name"),
                          "must be 1-100 of a-z, 0-9, '.', '_', '-'");
                  hooks.add(*n, key_path(p, "name"));
                  d.name = *n;
                }
                if (auto u = c.string(w, p, "url", true)) {
                  bool templated = !detail::find_placeholders(*u).empty();
                  if (!templated && u->rfind("https://", 0) != 0
                      && u->rfind("http://", 0) != 0)
                    c.add(key_path(p, "url"), "must be an http(s) URL");
                  d.url = *u;
                }
                if (auto s = c.string(w, p, "secret", false)) {
                  auto found = detail::find_placeholders(*s);
                  bool whole = found.size() == 1 && found[0].source == "secrets"
                               && found[0].offset == 0
                               && found[0].length == s->size();
                  if (!whole) {
                    c.add(key_path(p, "secret"),
                          "must be exactly {{secrets.<field>}} (a secret "
                          "field of config_schema), or left out");
                  } else if (schema) {
                    auto prop = detail::schema_property(*schema, found[0].path);
                    if (!prop || !is_secret(*prop))
                      c.add(key_path(p, "secret"),
                            cat("{{secrets.", found[0].path,
                                "}} names no secret field of config_schema"));
                  }
                  d.secret = *s;
                }
                if (auto v = c.string(w, p, "description", false))
                  d.description = *v;
                m.webhook_destinations.push_back(std::move(d));
              });
  }
}

} // namespace fp::actors::detail
