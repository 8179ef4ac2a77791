// The OpenAPI 3.1 document, generated from the router's registered routes
// and the route_doc attached to each, so it cannot drift from what is served.

#include <algorithm>
#include <cctype>

#include "fp/net/json.hpp"
#include "fp/net/problem.hpp"
#include "fp/net/system_routes.hpp"

namespace fp::net {

namespace {

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string default_operation_id(const route& r) {
  std::string id = lower(r.method);
  std::string_view p = r.pattern;
  std::size_t pos = 0;
  while (pos < p.size()) {
    auto next = p.find('/', pos + 1);
    auto seg = p.substr(pos + 1, next == std::string_view::npos
                                   ? std::string_view::npos
                                   : next - pos - 1);
    if (!seg.empty()) {
      id += '_';
      if (seg.front() == '{') {
        id += "by_";
        seg = seg.substr(1, seg.size() - 2);
      }
      for (char c : seg)
        id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    }
    if (next == std::string_view::npos)
      break;
    pos = next;
  }
  return id;
}

std::vector<std::string> path_params_of(std::string_view pattern) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = pattern.find('{', pos)) != std::string_view::npos) {
    auto end = pattern.find('}', pos);
    if (end == std::string_view::npos)
      break;
    out.emplace_back(pattern.substr(pos + 1, end - pos - 1));
    pos = end + 1;
  }
  return out;
}

void write_operation(json_writer& w, const route& r) {
  const auto& d = r.doc;
  w.key(lower(r.method)).begin_object();
  if (!d.summary.empty())
    w.member("summary", d.summary);
  if (!d.description.empty())
    w.member("description", d.description);
  w.member("operationId", d.operation_id.empty() ? default_operation_id(r)
                                                 : d.operation_id);
  if (!d.tags.empty()) {
    w.key("tags").begin_array();
    for (const auto& t : d.tags)
      w.value(t);
    w.end_array();
  }
  auto params = path_params_of(r.pattern);
  if (!params.empty()) {
    w.key("parameters").begin_array();
    for (const auto& p : params) {
      w.begin_object()
        .member("name", p)
        .member("in", "path")
        .member("required", true)
        .key("schema")
        .begin_object()
        .member("type", "string")
        .end_object()
        .end_object();
    }
    w.end_array();
  }
  if (!d.request_type.empty()) {
    w.key("requestBody").begin_object().member("required", true);
    w.key("content").begin_object().key(d.request_type).begin_object();
    w.key("schema").begin_object().member("type", "object").end_object();
    w.end_object().end_object().end_object();
  }
  if (d.bearer_auth) {
    w.key("security").begin_array().begin_object();
    w.key("bearerAuth").begin_array().end_array();
    w.end_object().end_array();
  }
  w.key("responses").begin_object();
  w.key(std::to_string(d.success_status)).begin_object();
  w.member("description", d.success_description);
  if (!d.success_type.empty()) {
    w.key("content").begin_object().key(d.success_type).begin_object();
    w.end_object().end_object();
  }
  w.end_object();
  w.key("default").begin_object();
  w.member("description", "An error, as RFC 9457 problem details.");
  w.key("content").begin_object().key(problem_media_type).begin_object();
  w.key("schema")
    .begin_object()
    .member("$ref", "#/components/schemas/Problem")
    .end_object();
  w.end_object().end_object();
  w.end_object();
  w.end_object(); // responses
  w.end_object(); // operation
}

void write_problem_schema(json_writer& w) {
  w.key("Problem").begin_object();
  w.member("type", "object");
  w.key("properties").begin_object();
  auto prop = [&](const char* name, const char* type) {
    w.key(name).begin_object().member("type", type).end_object();
  };
  prop("type", "string");
  prop("title", "string");
  prop("status", "integer");
  prop("detail", "string");
  prop("instance", "string");
  prop("request_id", "string");
  w.end_object();
  w.key("required").begin_array().value("title").value("status").end_array();
  w.end_object();
}

} // namespace

std::string openapi_document(const router& r, std::string_view api_version) {
  // Paths in the order their first route was registered.
  std::vector<const std::string*> patterns;
  for (const auto& rt : r.routes()) {
    if (rt.doc.hidden)
      continue;
    if (std::none_of(patterns.begin(), patterns.end(),
                     [&](auto* p) { return *p == rt.pattern; }))
      patterns.push_back(&rt.pattern);
  }
  bool any_bearer = false;
  std::string out;
  json_writer w{out};
  w.begin_object();
  w.member("openapi", "3.1.0");
  w.key("info")
    .begin_object()
    .member("title", "FleetPrompt API")
    .member("version", api_version)
    .end_object();
  w.key("paths").begin_object();
  for (auto* pattern : patterns) {
    w.key(*pattern).begin_object();
    for (const auto& rt : r.routes()) {
      if (rt.pattern != *pattern || rt.doc.hidden)
        continue;
      any_bearer = any_bearer || rt.doc.bearer_auth;
      write_operation(w, rt);
    }
    w.end_object();
  }
  w.end_object();
  w.key("components").begin_object();
  w.key("schemas").begin_object();
  write_problem_schema(w);
  w.end_object();
  if (any_bearer) {
    w.key("securitySchemes").begin_object();
    w.key("bearerAuth")
      .begin_object()
      .member("type", "http")
      .member("scheme", "bearer")
      .end_object();
    w.end_object();
  }
  w.end_object();
  w.end_object();
  return out;
}

} // namespace fp::net
