#pragma once

// Shared by the registry tests: a node with two organizations (see
// agents/http_support.hpp) plus a platform admin's session, `publish` keys
// for both organizations, and small manifests built in place.

#include <map>
#include <string>
#include <vector>

#include "agents/http_support.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/users.hpp"

namespace fp::registry_test {

using namespace fp::http_test;

/// A manifest with `name`, `version` and `description`; `deps` become its
/// dependencies; `extra` (JSON members, without braces) is appended.
inline std::string manifest(const std::string& name, const std::string& version,
                            const std::string& description = "A test package",
                            const std::map<std::string, std::string>& deps = {},
                            const std::string& extra = {}) {
  std::string out = R"({"name":")" + name + R"(","version":")" + version
                    + R"(","description":")" + description + "\"";
  if (!deps.empty()) {
    out += R"(,"dependencies":{)";
    bool first = true;
    for (auto& [pkg, range] : deps) {
      if (!first)
        out += ",";
      first = false;
      out += "\"" + pkg + "\":\"" + range + "\"";
    }
    out += "}";
  }
  if (!extra.empty())
    out += "," + extra;
  out += "}";
  return out;
}

/// The (percent-encoded) query value of `text`.
inline std::string query_value(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

/// The registry test node: `f` with acme and beta, the owner's session
/// (no platform admin) and a platform admin's session.
struct registry_fixture {
  fixture f;
  std::vector<std::string> owner;
  std::vector<std::string> admin;
  /// "Authorization: Bearer ..." of ["publish"] keys of acme and beta.
  std::string acme_publish;
  std::string beta_publish;

  explicit registry_fixture(const std::string& prefix) : f{prefix} {
    auto made = storage::create_user(*f.db, "root@example.com",
                                     "correct horse", true);
    REQUIRE(made);
    owner = test::log_in(f.port, "owner@example.com");
    admin = test::log_in(f.port, "root@example.com");
    acme_publish = key_of("acme", R"(["publish"])");
    beta_publish = key_of("beta", R"(["publish"])");
  }

  /// An API key of organization `slug` with `scopes` (JSON array).
  std::string key_of(const std::string& slug, const std::string& scopes) {
    REQUIRE(call(f.port, "POST", "/api/v1/session/org", owner,
                 R"({"org":")" + slug + R"("})")
              .status
            == 200);
    return f.make_key(owner, scopes);
  }

  /// A request with the headers of a session.
  test::response as(const std::vector<std::string>& session,
                    const std::string& method, const std::string& target,
                    const std::string& body = {}) {
    return call(f.port, method, target, session, body);
  }

  /// A request with one `Authorization` header.
  test::response with(const std::string& auth, const std::string& method,
                      const std::string& target, const std::string& body = {}) {
    return f.req(auth, method, target, body);
  }

  /// Publishes `body` as the platform admin; the answer.
  test::response publish(const std::string& body) {
    return as(admin, "POST", "/api/v1/packages", body);
  }

  /// Publishes and requires 201.
  void published(const std::string& body) {
    auto res = publish(body);
    INFO(res.body);
    REQUIRE(res.status == 201);
  }
};

inline bool is_problem(const test::response& res) {
  return res.header("content-type").find("application/problem+json")
         != std::string::npos;
}

/// The strings of array member `key` of `e`.
inline std::vector<std::string> strings(simdjson::dom::element e,
                                        std::string_view key) {
  std::vector<std::string> out;
  simdjson::dom::array arr;
  if (e[key].get_array().get(arr))
    return out;
  for (auto item : arr) {
    std::string_view s;
    if (!item.get_string().get(s))
      out.emplace_back(s);
  }
  return out;
}

} // namespace fp::registry_test
