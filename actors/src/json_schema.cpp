#include "fp/actors/json_schema.hpp"

#include <cmath>
#include <cstdint>
#include <regex>
#include <set>

#include "fp/runtime/errc.hpp"

#include "llm_json.hpp"

namespace fp::actors {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

const std::set<std::string_view> type_names{
  "object", "array", "string", "number", "integer", "boolean", "null"};

const std::set<std::string_view> annotations{
  "title", "description", "examples", "secret", "$schema", "$id",
  "$comment", "default", "format", "readOnly", "writeOnly", "deprecated"};

// -- helpers ---------------------------------------------------------------------

std::string key_path(const std::string& path, std::string_view key) {
  std::string out = path;
  out += '.';
  out += key;
  return out;
}

std::string index_path(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

bool is_number(element el) {
  auto t = el.type();
  return t == element_type::INT64 || t == element_type::UINT64
         || t == element_type::DOUBLE;
}

double number_of(element el) {
  switch (el.type()) {
    case element_type::INT64: return static_cast<double>(int64_t(el));
    case element_type::UINT64: return static_cast<double>(uint64_t(el));
    case element_type::DOUBLE: return double(el);
    default: return 0;
  }
}

bool is_integer(element el) {
  auto t = el.type();
  if (t == element_type::INT64 || t == element_type::UINT64)
    return true;
  if (t == element_type::DOUBLE) {
    double d = double(el);
    return std::isfinite(d) && std::floor(d) == d;
  }
  return false;
}

bool has_type(element el, std::string_view name) {
  auto t = el.type();
  if (name == "object") return t == element_type::OBJECT;
  if (name == "array") return t == element_type::ARRAY;
  if (name == "string") return t == element_type::STRING;
  if (name == "number") return is_number(el);
  if (name == "integer") return is_integer(el);
  if (name == "boolean") return t == element_type::BOOL;
  if (name == "null") return t == element_type::NULL_VALUE;
  return false;
}

size_t code_points(std::string_view s) {
  size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
      ++n;
  return n;
}

// Structural equality for enum and const (numbers compare by value).
bool json_equal(element a, element b) {
  if (is_number(a) && is_number(b))
    return number_of(a) == number_of(b);
  if (a.type() != b.type())
    return false;
  switch (a.type()) {
    case element_type::STRING:
      return std::string_view(a) == std::string_view(b);
    case element_type::BOOL: return bool(a) == bool(b);
    case element_type::NULL_VALUE: return true;
    case element_type::ARRAY: {
      auto x = simdjson::dom::array(a), y = simdjson::dom::array(b);
      if (x.size() != y.size())
        return false;
      auto i = x.begin(), j = y.begin();
      for (; i != x.end(); ++i, ++j)
        if (!json_equal(*i, *j))
          return false;
      return true;
    }
    case element_type::OBJECT: {
      auto x = simdjson::dom::object(a), y = simdjson::dom::object(b);
      if (x.size() != y.size())
        return false;
      for (auto [k, v] : x) {
        element other;
        if (y[k].get(other) != simdjson::SUCCESS || !json_equal(v, other))
          return false;
      }
      return true;
    }
    default: return false;
  }
}

// -- checking a schema -----------------------------------------------------------

void check_node(element s, const std::string& path,
                std::vector<schema_issue>& out) {
  if (!s.is_object()) {
    // `true`/`false` schemas are not part of the subset.
    out.push_back({path, "a schema must be an object"});
    return;
  }
  auto bad = [&](std::string_view key, std::string what) {
    out.push_back({key_path(path, key), std::move(what)});
  };
  for (auto [key, value] : simdjson::dom::object(s)) {
    if (key == "type") {
      auto check_name = [&](element n) {
        std::string_view name;
        if (n.get(name) != simdjson::SUCCESS)
          bad(key, "type names must be strings");
        else if (!type_names.count(name))
          bad(key, "unknown type '" + std::string{name} + "'");
      };
      if (value.is_array()) {
        if (simdjson::dom::array(value).size() == 0)
          bad(key, "must list at least one type");
        for (auto n : simdjson::dom::array(value))
          check_name(n);
      } else {
        check_name(value);
      }
    } else if (key == "properties") {
      if (!value.is_object()) {
        bad(key, "must be an object of schemas");
        continue;
      }
      for (auto [name, sub] : simdjson::dom::object(value))
        check_node(sub, key_path(key_path(path, "properties"), name), out);
    } else if (key == "required") {
      bool ok = value.is_array();
      if (ok)
        for (auto n : simdjson::dom::array(value))
          ok = ok && n.is_string();
      if (!ok)
        bad(key, "must be an array of property names");
    } else if (key == "additionalProperties") {
      if (!value.is_bool())
        bad(key, "must be a boolean");
    } else if (key == "enum") {
      if (!value.is_array())
        bad(key, "must be an array");
    } else if (key == "const") {
      // Any value.
    } else if (key == "minimum" || key == "maximum"
               || key == "exclusiveMinimum" || key == "exclusiveMaximum") {
      if (!is_number(value))
        bad(key, "must be a number");
    } else if (key == "minLength" || key == "maxLength" || key == "minItems"
               || key == "maxItems") {
      if (!is_integer(value) || number_of(value) < 0)
        bad(key, "must be a non-negative integer");
    } else if (key == "pattern") {
      std::string_view text;
      if (value.get(text) != simdjson::SUCCESS) {
        bad(key, "must be a string");
        continue;
      }
      try {
        std::regex re{std::string{text}, std::regex::ECMAScript};
      } catch (const std::regex_error&) {
        bad(key, "does not compile as a regular expression");
      }
    } else if (key == "items") {
      check_node(value, key_path(path, "items"), out);
    } else if (annotations.count(key)) {
      // Accepted and ignored.
    } else {
      bad(key, "unsupported keyword");
    }
  }
}

// -- validating an instance --------------------------------------------------------

void validate_node(element s, element v, const std::string& path,
                   std::vector<schema_issue>& out) {
  if (!s.is_object())
    return;
  auto issue = [&](std::string what) {
    out.push_back({path, std::move(what)});
  };
  if (auto t = detail::member(s, "type")) {
    bool ok = false;
    std::string names;
    if (t->is_array()) {
      for (auto n : simdjson::dom::array(*t)) {
        std::string_view name;
        if (n.get(name) == simdjson::SUCCESS) {
          ok = ok || has_type(v, name);
          if (!names.empty())
            names += " or ";
          names += name;
        }
      }
    } else {
      std::string_view name;
      if (t->get(name) == simdjson::SUCCESS) {
        ok = has_type(v, name);
        names = name;
      }
    }
    if (!ok) {
      bool vowel = !names.empty()
                   && std::string_view{"aeiou"}.find(names[0])
                        != std::string_view::npos;
      issue(std::string{"expected "} + (vowel ? "an " : "a ") + names);
      return; // Other keywords would only repeat the mismatch.
    }
  }
  if (auto c = detail::member(s, "const"); c && !json_equal(*c, v))
    issue("must be " + detail::to_json(*c));
  if (auto e = detail::member(s, "enum"); e && e->is_array()) {
    bool found = false;
    for (auto option : simdjson::dom::array(*e))
      found = found || json_equal(option, v);
    if (!found)
      issue("must be one of " + detail::to_json(*e));
  }
  if (is_number(v)) {
    double x = number_of(v);
    auto limit = [&](std::string_view key) -> std::optional<double> {
      auto m = detail::member(s, key);
      if (m && is_number(*m))
        return number_of(*m);
      return std::nullopt;
    };
    auto fmt = [](double d) {
      auto txt = std::to_string(d);
      if (std::floor(d) == d && std::fabs(d) < 1e15)
        txt = std::to_string(static_cast<int64_t>(d));
      return txt;
    };
    if (auto m = limit("minimum"); m && x < *m)
      issue("must be at least " + fmt(*m));
    if (auto m = limit("maximum"); m && x > *m)
      issue("must be at most " + fmt(*m));
    if (auto m = limit("exclusiveMinimum"); m && x <= *m)
      issue("must be greater than " + fmt(*m));
    if (auto m = limit("exclusiveMaximum"); m && x >= *m)
      issue("must be less than " + fmt(*m));
  }
  if (v.is_string()) {
    std::string_view text = v;
    auto n = code_points(text);
    auto min = detail::int_member(s, "minLength", -1);
    auto max = detail::int_member(s, "maxLength", -1);
    if (min >= 0 && n < static_cast<size_t>(min))
      issue("must be at least " + std::to_string(min) + " characters long");
    if (max >= 0 && n > static_cast<size_t>(max))
      issue("must be at most " + std::to_string(max) + " characters long");
    std::string_view pattern;
    if (auto p = detail::member(s, "pattern");
        p && p->get(pattern) == simdjson::SUCCESS) {
      try {
        std::regex re{std::string{pattern}, std::regex::ECMAScript};
        if (!std::regex_search(text.begin(), text.end(), re))
          issue("must match the pattern " + std::string{pattern});
      } catch (const std::regex_error&) {
        issue("the schema's pattern does not compile");
      }
    }
  }
  if (v.is_array()) {
    auto arr = simdjson::dom::array(v);
    auto n = arr.size();
    auto min = detail::int_member(s, "minItems", -1);
    auto max = detail::int_member(s, "maxItems", -1);
    if (min >= 0 && n < static_cast<size_t>(min))
      issue("must have at least " + std::to_string(min) + " items");
    if (max >= 0 && n > static_cast<size_t>(max))
      issue("must have at most " + std::to_string(max) + " items");
    if (auto items = detail::member(s, "items")) {
      size_t i = 0;
      for (auto item : arr)
        validate_node(*items, item, index_path(path, i++), out);
    }
  }
  if (v.is_object()) {
    auto obj = simdjson::dom::object(v);
    auto props = detail::member(s, "properties");
    if (auto req = detail::member(s, "required"); req && req->is_array()) {
      for (auto name : simdjson::dom::array(*req)) {
        std::string_view key;
        element ignored;
        if (name.get(key) == simdjson::SUCCESS
            && obj[key].get(ignored) != simdjson::SUCCESS)
          out.push_back({key_path(path, key), "is required"});
      }
    }
    bool closed = false;
    if (auto ap = detail::member(s, "additionalProperties"); ap && ap->is_bool())
      closed = !bool(*ap);
    for (auto [key, value] : obj) {
      element sub;
      bool known = props && props->is_object()
                   && (*props)[key].get(sub) == simdjson::SUCCESS;
      if (known)
        validate_node(sub, value, key_path(path, key), out);
      else if (closed)
        out.push_back({key_path(path, key), "is not allowed"});
    }
  }
}

// -- defaults ------------------------------------------------------------------------

std::string with_defaults(element s, element v) {
  if (!v.is_object() || !s.is_object())
    return detail::to_json(v);
  auto props = detail::member(s, "properties");
  if (!props || !props->is_object())
    return detail::to_json(v);
  auto obj = simdjson::dom::object(v);
  std::string out = "{";
  bool first = true;
  auto add = [&](std::string_view key, const std::string& json) {
    if (!first)
      out += ',';
    first = false;
    out += detail::json_quote(key);
    out += ':';
    out += json;
  };
  for (auto [key, value] : obj) {
    element sub;
    if ((*props)[key].get(sub) == simdjson::SUCCESS)
      add(key, with_defaults(sub, value));
    else
      add(key, detail::to_json(value));
  }
  for (auto [key, sub] : simdjson::dom::object(*props)) {
    element present;
    if (obj[key].get(present) == simdjson::SUCCESS)
      continue;
    if (auto d = detail::member(sub, "default"))
      add(key, with_defaults(sub, *d));
  }
  out += '}';
  return out;
}

} // namespace

std::vector<schema_issue> check_schema(std::string_view schema) {
  simdjson::dom::parser parser;
  auto root = detail::parse_json(parser, schema);
  if (!root)
    return {{"$", "the schema is not JSON"}};
  std::vector<schema_issue> out;
  check_node(*root, "$", out);
  return out;
}

std::vector<schema_issue> validate_json(std::string_view schema,
                                        std::string_view instance) {
  simdjson::dom::parser schema_parser;
  simdjson::dom::parser instance_parser;
  auto s = detail::parse_json(schema_parser, schema);
  if (!s || !s->is_object())
    return {{"$", "the schema is not usable"}};
  auto v = detail::parse_json(instance_parser, instance);
  if (!v)
    return {{"$", "not valid JSON"}};
  std::vector<schema_issue> out;
  validate_node(*s, *v, "$", out);
  return out;
}

caf::expected<std::string> apply_defaults(std::string_view schema,
                                          std::string_view instance) {
  simdjson::dom::parser schema_parser;
  simdjson::dom::parser instance_parser;
  auto s = detail::parse_json(schema_parser, schema);
  if (!s)
    return runtime::make_error(runtime::errc::invalid_argument,
                               "the schema is not JSON");
  auto v = detail::parse_json(instance_parser, instance);
  if (!v)
    return runtime::make_error(runtime::errc::invalid_argument,
                               "the instance is not JSON");
  if (!v->is_object())
    return std::string{instance};
  return with_defaults(*s, *v);
}

std::string describe_issues(const std::vector<schema_issue>& issues,
                            std::size_t max) {
  std::string out;
  size_t n = 0;
  for (const auto& i : issues) {
    if (n == max)
      break;
    if (n++ > 0)
      out += "; ";
    out += i.path;
    out += ": ";
    out += i.message;
  }
  if (issues.size() > max)
    out += "; and " + std::to_string(issues.size() - max) + " more";
  return out;
}

} // namespace fp::actors
