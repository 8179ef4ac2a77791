#include "fp/actors/package_manifest.hpp"

#include <regex>

#include "fp/actors/signal_rules.hpp"

#include "llm_json.hpp"
#include "package_manifest_internal.hpp"

// Permissions, secret fields and config templating of package manifests.

namespace fp::actors {

namespace {

// `*`, `prefix.*` or an exact dotted name accepted by `exact_error`.
template <class ExactCheck>
std::string pattern_error(std::string_view pattern, ExactCheck exact_error) {
  if (pattern == "*")
    return {};
  if (pattern.size() > 2 && pattern.substr(pattern.size() - 2) == ".*") {
    auto prefix = pattern.substr(0, pattern.size() - 2);
    // A prefix is dotted words like a type, possibly a single word.
    static const std::regex re{R"(^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$)"};
    if (!std::regex_match(prefix.begin(), prefix.end(), re))
      return detail::cat(detail::in_quotes(pattern), " is not a valid pattern");
    return {};
  }
  return exact_error(pattern);
}

bool valid_skill_name(std::string_view name) {
  static const std::regex re{R"(^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$)"};
  return name.size() <= 100 && std::regex_match(name.begin(), name.end(), re);
}

// The kinds of scope that carry a pattern after their prefix.
constexpr std::string_view pattern_kinds[] = {"signals:emit:", "signals:read:",
                                              "directive:", "skills:"};

// True when pattern `g` covers pattern or name `w` (both of one kind).
bool pattern_covers(std::string_view g, std::string_view w) {
  if (g == w || g == "*")
    return true;
  if (g.size() > 2 && g.substr(g.size() - 2) == ".*") {
    auto prefix = g.substr(0, g.size() - 1); // keeps the dot
    return w.size() > prefix.size() && w.substr(0, prefix.size()) == prefix;
  }
  return false;
}

} // namespace

// -- permissions -----------------------------------------------------------------------

std::string permission_error(std::string_view scope) {
  if (scope == "agents:run" || scope == "webhooks:post")
    return {};
  auto typed = [&](std::string_view prefix, auto exact) -> std::optional<std::string> {
    if (scope.substr(0, prefix.size()) != prefix)
      return std::nullopt;
    auto rest = scope.substr(prefix.size());
    if (rest.empty())
      return detail::cat(detail::in_quotes(scope), " names no pattern");
    return pattern_error(rest, exact);
  };
  auto signal_type = [](std::string_view t) { return signal_type_error(t); };
  if (auto e = typed("signals:emit:", signal_type))
    return *e;
  if (auto e = typed("signals:read:", signal_type))
    return *e;
  if (auto e = typed("directive:", [](std::string_view t) {
        return directive_type_error(t);
      }))
    return *e;
  if (auto e = typed("skills:", [](std::string_view t) -> std::string {
        if (valid_skill_name(t))
          return {};
        return detail::cat(detail::in_quotes(t), " is not a skill name");
      }))
    return *e;
  return detail::cat("unknown permission ", detail::in_quotes(scope),
                     " (expected signals:emit:<pattern>, "
                     "signals:read:<pattern>, directive:<type>, "
                     "skills:<name>, agents:run or webhooks:post)");
}

bool scope_covered(const std::vector<std::string>& granted,
                   std::string_view wanted) {
  for (const auto& g : granted) {
    std::string_view gv{g};
    if (gv == wanted || gv == "*")
      return true;
    for (auto kind : pattern_kinds) {
      if (gv.substr(0, kind.size()) == kind
          && wanted.substr(0, kind.size()) == kind
          && pattern_covers(gv.substr(kind.size()), wanted.substr(kind.size())))
        return true;
    }
  }
  return false;
}

std::vector<std::string> uncovered_scopes(const std::vector<std::string>& granted,
                                          const std::vector<std::string>& wanted) {
  std::vector<std::string> out;
  for (const auto& w : wanted)
    if (!scope_covered(granted, w))
      out.push_back(w);
  return out;
}

// -- secrets -----------------------------------------------------------------------------

namespace {

void collect_secrets(simdjson::dom::element schema, const std::string& prefix,
                     std::vector<std::string>& out) {
  auto props = detail::member(schema, "properties");
  if (!props || !props->is_object())
    return;
  for (auto [key, sub] : simdjson::dom::object(*props)) {
    auto path = prefix.empty() ? std::string{key} : detail::cat(prefix, ".", key);
    bool secret = false;
    if (auto s = detail::member(sub, "secret"); s && s->is_bool())
      secret = bool(*s);
    if (secret)
      out.push_back(path);
    else
      collect_secrets(sub, path, out);
  }
}

} // namespace

std::vector<std::string> secret_fields(std::string_view config_schema) {
  simdjson::dom::parser parser;
  auto root = detail::parse_json(parser, config_schema);
  std::vector<std::string> out;
  if (root)
    collect_secrets(*root, {}, out);
  return out;
}

split_config split_secrets(std::string_view config_schema,
                           std::string_view config) {
  split_config out;
  simdjson::dom::parser parser;
  auto root = detail::parse_json(parser, config);
  // Anything but an object would leave no place for a secret to be told
  // apart: keep nothing rather than risk a secret in the plain part.
  if (!root || !root->is_object())
    return out;
  auto tree = detail::to_node(*root);
  for (const auto& field : secret_fields(config_schema)) {
    auto path = detail::split_path(field);
    if (!path)
      continue;
    if (auto value = detail::take_at(tree, *path))
      out.secrets.emplace(field, value->to_json());
  }
  out.plain = tree.to_json();
  return out;
}

// -- templating ----------------------------------------------------------------------------

namespace {

// The value at `path` of `config`, when there is one.
std::optional<simdjson::dom::element> config_value(simdjson::dom::element config,
                                                   std::string_view path) {
  auto segs = detail::split_path(path);
  if (!segs)
    return std::nullopt;
  auto cur = config;
  for (const auto& seg : *segs) {
    auto next = detail::member(cur, seg);
    if (!next)
      return std::nullopt;
    cur = *next;
  }
  return cur;
}

// The text a placeholder stands for inside a longer string.
std::string as_text(const std::optional<simdjson::dom::element>& v) {
  if (!v)
    return {};
  std::string_view s;
  if (v->get(s) == simdjson::SUCCESS)
    return std::string{s};
  return detail::to_json(*v);
}

// `text` with every config placeholder replaced through `render`.
template <class Render>
std::string replace_config(std::string_view text, Render render) {
  std::string out;
  size_t at = 0;
  for (const auto& p : detail::find_placeholders(text)) {
    if (p.source != "config")
      continue;
    out += text.substr(at, p.offset - at);
    out += render(p.path);
    at = p.offset + p.length;
  }
  out += text.substr(at);
  return out;
}

} // namespace

std::string fill_config(std::string_view text, std::string_view config,
                        bool json_context) {
  simdjson::dom::parser parser;
  auto parsed = detail::parse_json(parser, config);
  std::optional<simdjson::dom::element> root;
  if (parsed && parsed->is_object())
    root = parsed;
  auto lookup = [&](std::string_view path) -> std::optional<simdjson::dom::element> {
    if (!root)
      return std::nullopt;
    return config_value(*root, path);
  };
  if (!json_context)
    return replace_config(text, [&](std::string_view path) {
      return as_text(lookup(path));
    });
  // JSON: walk the string literals; a literal that is exactly one
  // placeholder becomes the value's JSON, others get escaped text.
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '"') {
      out += text[i++];
      continue;
    }
    size_t end = i + 1;
    while (end < text.size() && text[end] != '"')
      end += text[end] == '\\' ? 2 : 1;
    auto body = text.substr(i + 1, std::min(end, text.size()) - i - 1);
    size_t after = end + 1;
    while (after < text.size()
           && (text[after] == ' ' || text[after] == '\n' || text[after] == '\t'
               || text[after] == '\r'))
      ++after;
    bool is_key = after < text.size() && text[after] == ':';
    auto found = detail::find_placeholders(body);
    if (!is_key && found.size() == 1 && found[0].source == "config"
        && found[0].offset == 0 && found[0].length == body.size()) {
      auto v = lookup(found[0].path);
      out += v ? detail::to_json(*v) : std::string{"\"\""};
    } else {
      out += '"';
      out += replace_config(body, [&](std::string_view path) {
        auto quoted = detail::json_quote(as_text(lookup(path)));
        return quoted.substr(1, quoted.size() - 2);
      });
      out += '"';
    }
    i = end + 1;
  }
  return out;
}

} // namespace fp::actors
