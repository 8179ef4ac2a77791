#pragma once

// A scripted browser for the console's protocol and access tests: raw
// HTTP/1.1 over loopback that keeps every response header (two Set-Cookie
// lines stay two), a cookie jar, and the headers the Inertia client sends
// (X-Inertia, X-Inertia-Version, X-XSRF-TOKEN from the XSRF-TOKEN cookie).
// Pages and answers are read with Boost.JSON (each test executable compiles
// <boost/json/src.hpp> once).

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "console/console_fixture.hpp"

namespace fp::console_test {

/// One answer with every header line kept (names lower-case).
struct raw_response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::string header(const std::string& name) const {
    for (const auto& [k, v] : headers)
      if (k == name)
        return v;
    return {};
  }
  std::vector<std::string> all(const std::string& name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : headers)
      if (k == name)
        out.push_back(v);
    return out;
  }
  /// The body as JSON (fails the test when it is not JSON).
  boost::json::value json() const {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    INFO(body);
    REQUIRE_FALSE(ec);
    return v;
  }
};

/// One request with `Connection: close`, read to the end.
inline raw_response raw_fetch(uint16_t port, const std::string& method,
                              const std::string& target,
                              const std::vector<std::string>& headers,
                              const std::string& body) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& h : headers)
    req += h + "\r\n";
  if (!body.empty() || method != "GET")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  size_t sent = 0;
  while (sent < req.size()) {
    auto n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    REQUIRE(n > 0);
    sent += static_cast<size_t>(n);
  }
  std::string in;
  char buf[16384];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 15000) <= 0)
      break;
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    in.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  raw_response out;
  auto head_end = in.find("\r\n\r\n");
  INFO(in);
  REQUIRE(head_end != std::string::npos);
  auto head = in.substr(0, head_end);
  out.body = in.substr(head_end + 4);
  auto line_end = head.find("\r\n");
  auto status_line = head.substr(0, line_end);
  out.status = std::stoi(status_line.substr(status_line.find(' ') + 1, 3));
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto next = head.find("\r\n", pos);
    if (next == std::string::npos)
      next = head.size();
    auto line = head.substr(pos, next - pos);
    auto colon = line.find(':');
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ')
      value.erase(0, 1);
    out.headers.emplace_back(test::lower(line.substr(0, colon)), value);
    pos = next + 2;
  }
  if (test::lower(out.header("transfer-encoding")) == "chunked") {
    std::string decoded;
    size_t at = 0;
    while (at < out.body.size()) {
      auto eol = out.body.find("\r\n", at);
      auto len = std::stoul(out.body.substr(at, eol - at), nullptr, 16);
      if (len == 0)
        break;
      decoded += out.body.substr(eol + 2, len);
      at = eol + 2 + len + 2;
    }
    out.body = std::move(decoded);
  }
  return out;
}

/// The page object of a first visit's HTML shell.
inline boost::json::value page_of_shell(const std::string& html) {
  const std::string open = "<script data-page=\"app\" type=\"application/json\">";
  auto at = html.find(open);
  INFO(html.substr(0, 2000));
  REQUIRE(at != std::string::npos);
  at += open.size();
  auto end = html.find("</script>", at);
  REQUIRE(end != std::string::npos);
  boost::system::error_code ec;
  auto v = boost::json::parse(html.substr(at, end - at), ec);
  REQUIRE_FALSE(ec);
  return v;
}

/// A cookie-keeping client that speaks like the Inertia client.
class browser {
public:
  explicit browser(uint16_t port) : port_(port) {
  }

  /// A first visit (no X-Inertia): the HTML shell or a redirect.
  raw_response visit(const std::string& target) {
    return send("GET", target, {}, {});
  }

  /// An Inertia navigation; `extra` headers are added (partial reloads).
  raw_response inertia(const std::string& target,
                       std::vector<std::string> extra = {}) {
    extra.push_back("X-Inertia: true");
    extra.push_back("X-Inertia-Version: " + version());
    extra.push_back("Accept: text/html, application/xhtml+xml");
    return send("GET", target, std::move(extra), {});
  }

  /// An Inertia form submission (JSON body) from the page `referer`.
  raw_response submit(const std::string& method, const std::string& target,
                      const std::string& json, const std::string& referer = {}) {
    std::vector<std::string> h{"X-Inertia: true", "X-Inertia-Version: " + version(),
                               "Content-Type: application/json"};
    if (!referer.empty())
      h.push_back("Referer: http://127.0.0.1:" + std::to_string(port_) + referer);
    return send(method, target, std::move(h), json);
  }

  /// An API call with this browser's cookies (and XSRF header).
  raw_response api(const std::string& method, const std::string& target,
                   const std::string& json = {}) {
    std::vector<std::string> h;
    if (!json.empty())
      h.push_back("Content-Type: application/json");
    return send(method, target, std::move(h), json);
  }

  /// Logs in through the console's form; the answer of POST /login.
  raw_response log_in(const std::string& email,
                      const std::string& pass = password) {
    return submit("POST", "/login",
                  R"({"email":")" + email + R"(","password":")" + pass + R"("})",
                  "/login");
  }

  /// The asset version, learned from a first visit of /login.
  std::string version() {
    if (version_.empty()) {
      auto res = send("GET", "/login", {}, {});
      REQUIRE(res.status == 200);
      auto page = page_of_shell(res.body);
      version_ = std::string{page.at("version").as_string()};
    }
    return version_;
  }

  std::optional<std::string> cookie(const std::string& name) const {
    auto i = jar_.find(name);
    if (i == jar_.end())
      return std::nullopt;
    return i->second;
  }

  void set_cookie(const std::string& name, const std::string& value) {
    jar_[name] = value;
  }

  raw_response send(const std::string& method, const std::string& target,
                    std::vector<std::string> headers, const std::string& body) {
    if (!jar_.empty()) {
      std::string c = "Cookie: ";
      bool first = true;
      for (const auto& [k, v] : jar_) {
        if (!first)
          c += "; ";
        first = false;
        c += k + "=" + v;
      }
      headers.push_back(c);
    }
    if (auto x = cookie("XSRF-TOKEN"); x && method != "GET")
      headers.push_back("X-XSRF-TOKEN: " + *x);
    auto res = raw_fetch(port_, method, target, headers, body);
    for (const auto& line : res.all("set-cookie"))
      take_cookie(line);
    return res;
  }

private:
  void take_cookie(const std::string& line) {
    auto eq = line.find('=');
    if (eq == std::string::npos)
      return;
    auto name = line.substr(0, eq);
    auto semi = line.find(';', eq);
    auto value = line.substr(eq + 1, semi == std::string::npos ? std::string::npos
                                                                : semi - eq - 1);
    auto attrs = test::lower(semi == std::string::npos ? std::string{} : line.substr(semi));
    if (value.empty() || attrs.find("max-age=0") != std::string::npos
        || attrs.find("expires=thu, 01 jan 1970") != std::string::npos)
      jar_.erase(name);
    else
      jar_[name] = value;
  }

  uint16_t port_;
  std::string version_;
  std::map<std::string, std::string> jar_;
};

/// The member `key` of a JSON object (null when absent).
inline boost::json::value member(const boost::json::value& v, const std::string& key) {
  if (!v.is_object())
    return nullptr;
  auto* found = v.as_object().if_contains(key);
  return found ? *found : boost::json::value{};
}

/// A path without the scheme and host of an absolute Location.
inline std::string location_path(const std::string& location) {
  auto scheme = location.find("://");
  if (scheme == std::string::npos)
    return location;
  auto slash = location.find('/', scheme + 3);
  return slash == std::string::npos ? "/" : location.substr(slash);
}

} // namespace fp::console_test
