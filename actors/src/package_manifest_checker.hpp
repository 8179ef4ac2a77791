#pragma once

// The checking context of package manifests, shared by package_manifest.cpp
// (identity, config schema, dependencies, steps, limits) and
// package_manifest_capabilities.cpp (skills, agents and the rest).

#include <algorithm>
#include <cmath>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fp/actors/package_manifest.hpp"

#include "llm_json.hpp"
#include "package_manifest_internal.hpp"

namespace fp::actors::detail {

using simdjson::dom::element;

// -- the checking context ------------------------------------------------------------

inline std::string key_path(std::string_view path, std::string_view key) {
  return cat(path, ".", key);
}

inline std::string index_path(std::string_view path, size_t i) {
  return cat(path, "[", std::to_string(i), "]");
}

inline bool matches(std::string_view text, const std::regex& re) {
  return std::regex_match(text.begin(), text.end(), re);
}

inline bool valid_package_name(std::string_view name) {
  static const std::regex re{
    R"(^[a-z0-9][a-z0-9-]{0,38}/[a-z0-9][a-z0-9._-]{0,63}$)"};
  return matches(name, re);
}

inline bool valid_skill_name(std::string_view name) {
  static const std::regex re{R"(^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$)"};
  return name.size() <= 100 && matches(name, re);
}

// Agents, subscriptions, tools, schedules and destinations.
inline bool valid_item_name(std::string_view name) {
  static const std::regex re{R"(^[a-z0-9][a-z0-9._-]{0,99}$)"};
  return matches(name, re);
}

inline const char* type_name(element el) {
  switch (el.type()) {
    case simdjson::dom::element_type::ARRAY: return "an array";
    case simdjson::dom::element_type::OBJECT: return "an object";
    case simdjson::dom::element_type::STRING: return "a string";
    case simdjson::dom::element_type::BOOL: return "a boolean";
    case simdjson::dom::element_type::NULL_VALUE: return "null";
    default: return "a number";
  }
}

struct checker {
  std::vector<schema_issue> issues;

  void add(std::string path, std::string message) {
    issues.push_back({std::move(path), std::move(message)});
  }

  void unknown_members(element obj, std::string_view path,
                       std::initializer_list<std::string_view> allowed) {
    for (auto [key, value] : simdjson::dom::object(obj)) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        add(key_path(path, key), "unknown member");
    }
  }

  std::optional<element> typed(element obj, std::string_view path,
                               std::string_view key, bool required,
                               bool (element::*is)() const noexcept,
                               const char* expected) {
    element m;
    if (obj[key].get(m) != simdjson::SUCCESS) {
      if (required)
        add(key_path(path, key), "is required");
      return std::nullopt;
    }
    if (!(m.*is)()) {
      add(key_path(path, key), cat("expected ", expected, ", got ", type_name(m)));
      return std::nullopt;
    }
    return m;
  }

  std::optional<std::string> string(element obj, std::string_view path,
                                    std::string_view key, bool required,
                                    size_t max_len = 4000) {
    auto m = typed(obj, path, key, required, &element::is_string, "a string");
    if (!m)
      return std::nullopt;
    std::string_view s = *m;
    if (required && s.empty()) {
      add(key_path(path, key), "must not be empty");
      return std::nullopt;
    }
    if (s.size() > max_len) {
      add(key_path(path, key),
          cat("must be at most ", std::to_string(max_len), " characters"));
      return std::nullopt;
    }
    return std::string{s};
  }

  // An array of strings; each bad element is reported.
  std::vector<std::pair<std::string, std::string>>
  strings(element obj, std::string_view path, std::string_view key) {
    std::vector<std::pair<std::string, std::string>> out;
    auto m = typed(obj, path, key, false, &element::is_array, "an array");
    if (!m)
      return out;
    auto base = key_path(path, key);
    size_t i = 0;
    for (auto item : simdjson::dom::array(*m)) {
      auto p = index_path(base, i++);
      std::string_view s;
      if (item.get(s) != simdjson::SUCCESS)
        add(p, cat("expected a string, got ", type_name(item)));
      else if (s.empty())
        add(p, "must not be empty");
      else
        out.emplace_back(std::move(p), std::string{s});
    }
    return out;
  }

  std::optional<int64_t> integer(element obj, std::string_view path,
                                 std::string_view key, int64_t min,
                                 int64_t max) {
    auto m = detail::member(obj, key);
    if (!m)
      return std::nullopt;
    int64_t v = 0;
    double d = 0;
    // 1e3 and 5.0 are integers too (as in JSON Schema).
    bool integral = m->get(v) == simdjson::SUCCESS
                    || (m->get(d) == simdjson::SUCCESS && std::floor(d) == d
                        && std::fabs(d) < 9e18 && (v = static_cast<int64_t>(d), true));
    if (!integral) {
      add(key_path(path, key), cat("expected an integer, got ", type_name(*m)));
      return std::nullopt;
    }
    if (v < min || v > max) {
      add(key_path(path, key), cat("must be between ", std::to_string(min),
                                   " and ", std::to_string(max)));
      return std::nullopt;
    }
    return v;
  }

  // A JSON object member as canonical text.
  std::optional<std::string> object_text(element obj, std::string_view path,
                                         std::string_view key) {
    auto m = typed(obj, path, key, false, &element::is_object, "an object");
    if (!m)
      return std::nullopt;
    return detail::canonical_json(detail::to_json(*m));
  }

  std::optional<simdjson::dom::array>
  array(element obj, std::string_view path, std::string_view key) {
    auto m = typed(obj, path, key, false, &element::is_array, "an array");
    if (!m)
      return std::nullopt;
    return simdjson::dom::array(*m);
  }

  // Runs `each(item, path)` for every object of array `key`.
  template <class F>
  void objects(element obj, std::string_view path, std::string_view key, F each) {
    auto arr = array(obj, path, key);
    if (!arr)
      return;
    auto base = key_path(path, key);
    size_t i = 0;
    for (auto item : *arr) {
      auto p = index_path(base, i++);
      if (!item.is_object())
        add(p, cat("expected an object, got ", type_name(item)));
      else
        each(item, p);
    }
  }

  // A schema member (a JSON object) checked with check_schema.
  std::optional<std::string> schema(element obj, std::string_view path,
                                    std::string_view key) {
    auto text = object_text(obj, path, key);
    if (!text)
      return std::nullopt;
    auto base = key_path(path, key);
    auto found = check_schema(*text);
    for (auto& i : found)
      add(cat(base, std::string_view{i.path}.substr(1)), i.message);
    if (!found.empty())
      return std::nullopt;
    return text;
  }
};

// Records duplicate names of one capability kind.
class name_set {
public:
  name_set(checker& c, const char* what) : c_(c), what_(what) {
  }

  void add(const std::string& name, const std::string& path) {
    if (!names_.insert(name).second)
      c_.add(path, cat("duplicate ", what_, " name ", in_quotes(name)));
  }

  bool contains(std::string_view name) const {
    return names_.count(std::string{name}) > 0;
  }

private:
  checker& c_;
  const char* what_;
  std::set<std::string> names_;
};

inline bool in(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}


// Every string below `el` (object values and array items) with its path.
template <class F>
void each_string(element el, const std::string& path, F& f) {
  if (el.is_string()) {
    f(path, std::string_view(el));
  } else if (el.is_array()) {
    size_t i = 0;
    for (auto item : simdjson::dom::array(el))
      each_string(item, index_path(path, i++), f);
  } else if (el.is_object()) {
    for (auto [key, value] : simdjson::dom::object(el))
      each_string(value, key_path(path, key), f);
  }
}

inline bool is_secret(element property) {
  auto s = detail::member(property, "secret");
  return s && s->is_bool() && bool(*s);
}

/// Checks the capabilities member of `root` into `m` (its permissions and
/// config schema already read; `schema` is the usable config schema).
void check_capabilities(checker& c, element root, const manifest_catalog& catalog,
                        const std::optional<element>& schema,
                        package_manifest& m);

} // namespace fp::actors::detail
