#include <algorithm>

#include "fp/config/cli.hpp"
#include "setting_table.hpp"

namespace fp::config {

namespace {

using detail::setting_group;

std::string_view group_title(setting_group group) {
  switch (group) {
    case setting_group::general:
      return "General";
    case setting_group::database:
      return "Database";
    case setting_group::http:
      return "HTTP";
    case setting_group::actors:
      return "Actors";
    case setting_group::keys:
      return "Master keys";
    case setting_group::logging:
      return "Logging";
  }
  return "Other";
}

std::string pad(std::string text, size_t width) {
  if (text.size() < width)
    text.resize(width, ' ');
  return text;
}

} // namespace

std::string settings_help() {
  struct row {
    const detail::setting_def* def;
    std::string flag;
    std::string env;
    std::string fallback;
  };
  const settings defaults;
  std::vector<row> rows;
  size_t flag_width = 0;
  size_t env_width = 0;
  for (auto& def : detail::setting_table()) {
    row r{&def, "--" + std::string{def.key} + " " + std::string{def.hint},
          detail::env_var_name(def.key), def.show(defaults)};
    r.fallback = "default: " + (r.fallback.empty() ? "(none)" : r.fallback);
    flag_width = std::max(flag_width, r.flag.size());
    env_width = std::max(env_width, r.env.size());
    rows.push_back(std::move(r));
  }
  // The description goes on its own line: four columns would not fit a
  // terminal, and the first three are what people scan for.
  std::string out;
  for (auto group : {setting_group::general, setting_group::database,
                     setting_group::http, setting_group::actors,
                     setting_group::keys, setting_group::logging}) {
    bool first = true;
    for (auto& r : rows) {
      if (r.def->group != group)
        continue;
      if (first) {
        out.append("\n").append(group_title(group)).append(":\n");
        first = false;
      }
      out.append("  ")
        .append(pad(r.flag, flag_width + 2))
        .append(pad(r.env, env_width + 2))
        .append(r.fallback)
        .append("\n      ")
        .append(r.def->help);
      if (!r.def->range.empty())
        out.append(" Range: ").append(r.def->range).append(".");
      out.append("\n");
    }
  }
  // Starts with the first group's blank separator line; drop it.
  return out.empty() ? out : out.substr(1);
}

std::string flags_help(const std::vector<flag_spec>& extra) {
  std::vector<std::string> names;
  size_t width = 0;
  for (auto& f : extra) {
    names.push_back("--" + f.name + (f.takes_value ? " VALUE" : ""));
    width = std::max(width, names.back().size());
  }
  std::string out;
  for (size_t i = 0; i < extra.size(); ++i)
    out.append("  ").append(pad(names[i], width + 2)).append(extra[i].help).append("\n");
  return out;
}

} // namespace fp::config
