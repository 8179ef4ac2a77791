#include "fp/config/cli.hpp"

#include <exception>
#include <utility>

#include "config_file.hpp"
#include "messages.hpp"
#include "setting_table.hpp"
#include "validation.hpp"

namespace fp::config {

namespace {

using detail::setting_def;

constexpr std::string_view default_source = "built-in default";
constexpr std::string_view flag_source = "from command line";

// One `--key value` for a setting, applied only after the file and the
// environment so that flags win regardless of where they appear.
struct setting_flag {
  const setting_def* def;
  std::string value;
};

// Collects the first error but keeps going, so that `--help` anywhere can
// still succeed with whatever loaded.
class loader {
public:
  loader(const std::vector<flag_spec>& extra, const env_lookup& env)
    : extra_(extra), env_(env) {
  }

  std::variant<command_line, std::string> run(const std::vector<std::string>& args) {
    scan(args);
    load_file();
    load_env();
    for (auto& f : setting_flags_)
      apply(*f.def, f.value, std::string{flag_source});
    if (error_.empty())
      fail(detail::validate_settings(out_.values, [this](std::string_view key) {
        auto it = sources_.find(key);
        return it == sources_.end() ? std::string{default_source} : it->second;
      }));
    if (out_.help_requested || error_.empty())
      return std::move(out_);
    return std::move(error_);
  }

private:
  void fail(std::string message) {
    if (error_.empty())
      error_ = std::move(message);
  }

  const flag_spec* find_extra(std::string_view name) const {
    for (auto& spec : extra_)
      if (spec.name == name)
        return &spec;
    return nullptr;
  }

  // -- command line -------------------------------------------------------------

  void scan(const std::vector<std::string>& args) {
    bool only_positional = false;
    for (size_t i = 0; i < args.size(); ++i) {
      const auto& arg = args[i];
      if (only_positional) {
        out_.positional.push_back(arg);
      } else if (arg == "--") {
        only_positional = true;
      } else if (arg == "-h" || arg == "--help") {
        out_.help_requested = true;
      } else if (arg.starts_with("--")) {
        scan_flag(args, i);
      } else if (arg.size() > 1 && arg.front() == '-') {
        fail("unknown flag " + detail::quote(arg));
      } else {
        // Includes a lone "-", the usual spelling of stdin.
        out_.positional.push_back(arg);
      }
    }
  }

  // Handles args[i], a `--name` or `--name=value`; advances i past a
  // separate value.
  void scan_flag(const std::vector<std::string>& args, size_t& i) {
    std::string_view body = std::string_view{args[i]}.substr(2);
    auto eq = body.find('=');
    std::string name{body.substr(0, eq)};
    std::optional<std::string> inline_value;
    if (eq != std::string_view::npos)
      inline_value = std::string{body.substr(eq + 1)};

    // A following flag is not taken as the value: `--listen --help` is a
    // forgotten value, not a host named "--help". Values that really start
    // with "--" can be given as `--key=--value`.
    auto take_value = [&]() -> std::optional<std::string> {
      if (inline_value)
        return inline_value;
      if (i + 1 < args.size() && !args[i + 1].starts_with("--") &&
          args[i + 1] != "-h")
        return args[++i];
      fail("--" + name + " needs a value");
      return std::nullopt;
    };

    if (auto* def = detail::find_setting(name)) {
      if (auto value = take_value())
        setting_flags_.push_back({def, std::move(*value)});
      return;
    }
    if (auto* spec = find_extra(name)) {
      if (spec->takes_value) {
        if (auto value = take_value())
          out_.flags[spec->name] = std::move(*value);
      } else if (inline_value) {
        fail("--" + name + " does not take a value");
      } else {
        out_.flags[spec->name] = "";
      }
      return;
    }
    if (name == "help") {
      fail("--help does not take a value");
      return;
    }
    auto candidates = detail::setting_keys();
    for (auto& spec : extra_)
      candidates.push_back(spec.name);
    candidates.push_back("help");
    fail("unknown flag " + detail::quote("--" + name) +
         detail::did_you_mean(name, candidates, "--"));
  }

  // -- sources ------------------------------------------------------------------

  std::optional<std::string> env(std::string_view name) const {
    if (!env_)
      return std::nullopt;
    auto value = env_(name);
    // Shells and compose files export empty variables to mean "not set".
    if (value && value->empty())
      return std::nullopt;
    return value;
  }

  void apply(const setting_def& def, std::string_view value, std::string source) {
    if (auto expected = def.assign(out_.values, value); !expected.empty())
      fail(detail::invalid_value_message(def, value, source, expected));
    else
      sources_[def.key] = std::move(source);
  }

  void load_file() {
    std::string path;
    std::string origin;
    for (auto& f : setting_flags_) {
      if (f.def->key == detail::config_key) {
        path = f.value;
        origin = "--config";
      }
    }
    if (origin.empty()) {
      auto var = detail::env_var_name(detail::config_key);
      if (auto value = env(var)) {
        path = std::move(*value);
        origin = std::move(var);
      }
    }
    // An empty `--config=` is reported as an invalid value when flags apply.
    if (path.empty())
      return;

    auto file = detail::read_config_file(path, origin);
    std::map<std::string, size_t, std::less<>> first_line;
    for (auto& entry : file.entries) {
      auto where = path + ":" + std::to_string(entry.line);
      auto* def = detail::find_setting(entry.key);
      if (!def) {
        auto candidates = detail::setting_keys();
        std::erase(candidates, detail::config_key);
        fail("unknown setting " + detail::quote(entry.key) + " in " + where +
             detail::did_you_mean(entry.key, candidates));
        continue;
      }
      if (def->key == detail::config_key) {
        fail("setting \"config\" is not allowed in " + where +
             " (use --config or FLEETPROMPT_CONFIG)");
        continue;
      }
      // Last-one-wins would silently hide one of two conflicting lines.
      if (auto [it, fresh] = first_line.emplace(entry.key, entry.line); !fresh) {
        fail("duplicate setting " + detail::quote(entry.key) + " in " + where +
             " (first set on line " + std::to_string(it->second) + ")");
        continue;
      }
      apply(*def, entry.value, "from " + where);
    }
    // After the entries: they all precede the line with the syntax error.
    if (!file.error.empty())
      fail(std::move(file.error));
  }

  void load_env() {
    for (auto& def : detail::setting_table()) {
      auto var = detail::env_var_name(def.key);
      if (auto value = env(var))
        apply(def, *value, "from " + var);
    }
  }

  const std::vector<flag_spec>& extra_;
  const env_lookup& env_;
  command_line out_;
  std::vector<setting_flag> setting_flags_;
  std::map<std::string_view, std::string, std::less<>> sources_;
  std::string error_;
};

} // namespace

std::variant<command_line, std::string>
parse_command_line(const std::vector<std::string>& args,
                   const std::vector<flag_spec>& extra, const env_lookup& env) {
  // The only exceptions possible here are allocation failures and whatever a
  // caller-supplied env lookup throws; neither may escape the API.
  try {
    return loader{extra, env}.run(args);
  } catch (const std::exception& e) {
    return std::string{"cannot load settings: "} + e.what();
  } catch (...) {
    return std::string{"cannot load settings: unknown error"};
  }
}

} // namespace fp::config
