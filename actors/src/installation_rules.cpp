#include "fp/actors/installation_rules.hpp"

#include "fp/runtime/errc.hpp"

#include "llm_json.hpp"
#include "package_manifest_internal.hpp"

namespace fp::actors {

namespace {

using detail::cat;
using detail::in_quotes;
using state = installation_state;

caf::error invalid(std::string why) {
  return runtime::make_error(runtime::errc::invalid_argument, std::move(why));
}

// The config as an object tree.
caf::expected<detail::json_node> object_tree(std::string_view config) {
  simdjson::dom::parser parser;
  auto root = detail::parse_json(parser, config);
  if (!root)
    return invalid("the config is not JSON");
  if (!root->is_object())
    return invalid("the config must be a JSON object");
  return detail::to_node(*root);
}

caf::expected<std::vector<std::string>> step_path(simdjson::dom::element args,
                                                  std::string_view key,
                                                  std::string_view action) {
  std::string_view text;
  if (auto m = detail::member(args, key);
      !m || m->get(text) != simdjson::SUCCESS)
    return invalid(cat(action, ": \"", key, "\" must be a config path"));
  auto path = detail::split_path(text);
  if (!path)
    return invalid(cat(action, ": ", in_quotes(text), " is not a config path"));
  return std::move(*path);
}

} // namespace

// -- states --------------------------------------------------------------------------------

const char* to_string(installation_state s) noexcept {
  switch (s) {
    case state::requested: return "requested";
    case state::installing: return "installing";
    case state::installed: return "installed";
    case state::failed: return "failed";
    case state::disabled: return "disabled";
    case state::upgrading: return "upgrading";
    case state::uninstalling: return "uninstalling";
    case state::uninstalled: return "uninstalled";
  }
  return "unknown";
}

std::optional<installation_state>
parse_installation_state(std::string_view text) noexcept {
  for (auto s : {state::requested, state::installing, state::installed,
                 state::failed, state::disabled, state::upgrading,
                 state::uninstalling, state::uninstalled})
    if (text == to_string(s))
      return s;
  return std::nullopt;
}

bool installation_transition_allowed(installation_state from,
                                     installation_state to) noexcept {
  switch (from) {
    case state::requested: return to == state::installing;
    case state::installing:
      return to == state::installed || to == state::failed;
    case state::installed:
      return to == state::disabled || to == state::upgrading
             || to == state::uninstalling;
    case state::disabled:
      return to == state::installed || to == state::uninstalling;
    case state::upgrading: return to == state::installed;
    case state::failed:
      return to == state::installing || to == state::uninstalling;
    case state::uninstalling: return to == state::uninstalled;
    case state::uninstalled: return false;
  }
  return false;
}

std::string installation_signal_type(std::string_view operation,
                                     std::string_view phase) {
  if (operation == "disable")
    return "package.installation.disabled";
  if (operation == "enable")
    return "package.installation.enabled";
  return cat("package.", operation, ".", phase);
}

// -- config ----------------------------------------------------------------------------------

caf::expected<std::string> migrate_config(std::string_view config,
                                          const std::vector<manifest_step>& steps) {
  auto tree = object_tree(config);
  if (!tree)
    return std::move(tree.error());
  for (const auto& step : steps) {
    if (step.action != "config.rename" && step.action != "config.set"
        && step.action != "config.remove")
      continue;
    simdjson::dom::parser parser;
    auto args = detail::parse_json(parser, step.args);
    if (!args || !args->is_object())
      return invalid(cat(step.action, ": the step's arguments are not an object"));
    if (step.action == "config.rename") {
      auto from = step_path(*args, "from", step.action);
      if (!from)
        return std::move(from.error());
      auto to = step_path(*args, "to", step.action);
      if (!to)
        return std::move(to.error());
      if (*from == *to)
        continue;
      auto value = detail::take_at(*tree, *from);
      if (!value)
        continue; // Nothing to rename.
      if (!detail::put_at(*tree, *to, std::move(*value)))
        return invalid(cat("config.rename: a non-object value is in the way of ",
                           in_quotes(detail::string_member(*args, "to"))));
    } else if (step.action == "config.set") {
      auto path = step_path(*args, "path", step.action);
      if (!path)
        return std::move(path.error());
      auto value = detail::member(*args, "value");
      if (!value)
        return invalid("config.set: \"value\" is required");
      if (!detail::put_at(*tree, *path, detail::to_node(*value)))
        return invalid(cat("config.set: a non-object value is in the way of ",
                           in_quotes(detail::string_member(*args, "path"))));
    } else {
      auto path = step_path(*args, "path", step.action);
      if (!path)
        return std::move(path.error());
      detail::take_at(*tree, *path);
    }
  }
  return tree->to_json();
}

caf::expected<std::string>
merge_config(std::string_view config_schema, std::string_view plain,
             const std::vector<std::pair<std::string, std::string>>& secrets) {
  auto tree = object_tree(plain);
  if (!tree)
    return std::move(tree.error());
  for (const auto& [field, json] : secrets) {
    auto path = detail::split_path(field);
    if (!path)
      return invalid(cat(in_quotes(field), " is not a config path"));
    simdjson::dom::parser parser;
    auto value = detail::parse_json(parser, json);
    // The message names the field only: the value is a secret.
    if (!value)
      return invalid(cat("the value of secret field ", in_quotes(field),
                         " is not JSON"));
    if (!detail::put_at(*tree, *path, detail::to_node(*value)))
      return invalid(cat("secret field ", in_quotes(field),
                         " lies below a non-object config value"));
  }
  return apply_defaults(config_schema, tree->to_json());
}

} // namespace fp::actors
