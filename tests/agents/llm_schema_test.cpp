// The JSON Schema subset: checking schemas, validating instances, defaults.

#include <catch2/catch.hpp>

#include "fp/actors/json_schema.hpp"
#include "fp/runtime/errc.hpp"

using namespace fp;
using actors::check_schema;
using actors::validate_json;

namespace {

bool has_issue(const std::vector<actors::schema_issue>& issues,
               const std::string& path, const std::string& fragment = {}) {
  for (const auto& i : issues)
    if (i.path == path
        && (fragment.empty() || i.message.find(fragment) != std::string::npos))
      return true;
  return false;
}

constexpr auto person = R"({
  "type": "object",
  "title": "person",
  "properties": {
    "name": {"type": "string", "minLength": 2, "maxLength": 5},
    "age": {"type": "integer", "minimum": 0, "exclusiveMaximum": 150},
    "mood": {"enum": ["happy", "sad"]},
    "emails": {"type": "array", "items": {"type": "string", "pattern": "@"},
               "maxItems": 2},
    "address": {"type": "object", "required": ["city"],
                "properties": {"city": {"type": "string"},
                               "zip": {"type": ["string", "null"],
                                       "default": null}}},
    "kind": {"const": "human"},
    "vip": {"type": "boolean", "default": false}
  },
  "required": ["name", "age"],
  "additionalProperties": false
})";

} // namespace

TEST_CASE("usable schemas have no issues", "[llm][schema]") {
  CHECK(check_schema(person).empty());
  CHECK(check_schema(R"({"type":"object","$schema":"x","$id":"y",
    "description":"d","examples":[1],"properties":{"k":{"secret":true}}})")
          .empty());
  CHECK(check_schema(R"({})").empty());
}

TEST_CASE("unusable schemas are described", "[llm][schema]") {
  CHECK(has_issue(check_schema("{"), "$", "not JSON"));
  CHECK(has_issue(check_schema("[]"), "$", "object"));
  CHECK(has_issue(check_schema(R"({"type":"strin"})"), "$.type",
                  "unknown type"));
  CHECK(has_issue(check_schema(R"({"$ref":"#/x"})"), "$.$ref", "unsupported"));
  CHECK(has_issue(check_schema(R"({"oneOf":[]})"), "$.oneOf", "unsupported"));
  CHECK(has_issue(check_schema(R"({"minLength":-1})"), "$.minLength"));
  CHECK(has_issue(check_schema(R"({"pattern":"(("})"), "$.pattern",
                  "compile"));
  CHECK(has_issue(check_schema(R"({"required":"a"})"), "$.required"));
  CHECK(has_issue(check_schema(R"({"additionalProperties":{}})"),
                  "$.additionalProperties"));
  CHECK(has_issue(
    check_schema(R"({"properties":{"a":{"type":"object","items":5}}})"),
    "$.properties.a.items"));
  CHECK(has_issue(check_schema(R"({"maximum":"3"})"), "$.maximum"));
}

TEST_CASE("valid instances pass", "[llm][schema]") {
  CHECK(validate_json(person, R"({"name":"ann","age":30})").empty());
  CHECK(validate_json(person, R"({"name":"ann","age":30.0,"mood":"sad",
    "emails":["a@b"],"address":{"city":"x","zip":null},"kind":"human"})")
          .empty());
  CHECK(validate_json(R"({"type":"number"})", "3").empty());
  CHECK(validate_json(R"({"type":"number"})", "3.5").empty());
  CHECK(validate_json(R"({"type":["string","null"]})", "null").empty());
}

TEST_CASE("every problem of an instance is reported", "[llm][schema]") {
  auto issues = validate_json(person, R"({"name":"a","age":150,
    "mood":"angry","emails":["x","y@z","w"],"address":{},"kind":"robot",
    "extra":1})");
  CHECK(has_issue(issues, "$.name", "at least 2"));
  CHECK(has_issue(issues, "$.age", "less than 150"));
  CHECK(has_issue(issues, "$.mood", "one of"));
  CHECK(has_issue(issues, "$.emails", "at most 2 items"));
  CHECK(has_issue(issues, "$.emails[0]", "pattern"));
  CHECK(has_issue(issues, "$.emails[2]", "pattern"));
  CHECK(has_issue(issues, "$.address.city", "required"));
  CHECK(has_issue(issues, "$.kind", "must be"));
  CHECK(has_issue(issues, "$.extra", "not allowed"));
  CHECK(issues.size() == 9);
}

TEST_CASE("types, integers and lengths in code points", "[llm][schema]") {
  CHECK(has_issue(validate_json(person, R"({"age":1})"), "$.name",
                  "required"));
  CHECK(has_issue(validate_json(person, R"({"name":"ann","age":1.5})"),
                  "$.age", "expected an integer"));
  CHECK(has_issue(validate_json(person, R"({"name":7,"age":1})"), "$.name",
                  "expected a string"));
  CHECK(has_issue(validate_json(person, "[]"), "$", "expected an object"));
  // "ééééé" is 5 code points but 10 bytes.
  CHECK(validate_json(person, R"({"name":"ééééé","age":1})").empty());
  CHECK(has_issue(validate_json(person, R"({"name":"éééééé","age":1})"),
                  "$.name", "at most 5"));
  CHECK(has_issue(validate_json(person, "{nope"), "$", "not valid JSON"));
  CHECK(has_issue(validate_json("{", "{}"), "$", "not usable"));
  CHECK(has_issue(validate_json(R"({"minimum":2})", "1"), "$",
                  "at least 2"));
}

TEST_CASE("defaults fill missing properties recursively", "[llm][schema]") {
  auto out = actors::apply_defaults(person,
                                    R"({"name":"ann","address":{"city":"x"}})");
  REQUIRE(out);
  CHECK(*out
        == R"({"name":"ann","address":{"city":"x","zip":null},"vip":false})");
  auto same = actors::apply_defaults(person, "[1, 2]");
  REQUIRE(same);
  CHECK(*same == "[1, 2]");
  auto bad = actors::apply_defaults(person, "{");
  REQUIRE(!bad);
  CHECK(runtime::code_of(bad.error()) == runtime::errc::invalid_argument);
}

TEST_CASE("issues are described briefly", "[llm][schema]") {
  std::vector<actors::schema_issue> issues{
    {"$.a", "expected a string"}, {"$.b", "is required"}, {"$.c", "x"}};
  CHECK(actors::describe_issues(issues)
        == "$.a: expected a string; $.b: is required; $.c: x");
  CHECK(actors::describe_issues(issues, 2)
        == "$.a: expected a string; $.b: is required; and 1 more");
}
