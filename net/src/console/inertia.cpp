// The Inertia protocol (https://inertiajs.com/the-protocol) as the console
// speaks it.

#include "inertia.hpp"

#include "fp/net/json.hpp"

namespace fp::net::console {

namespace {

std::set<std::string, std::less<>> split_names(std::string_view list) {
  std::set<std::string, std::less<>> out;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (!item.empty())
      out.emplace(item);
    if (comma == std::string_view::npos)
      break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

void no_store(http_response& res) {
  res.set_header("Cache-Control", "no-store");
  res.set_header("Vary", "X-Inertia");
}

} // namespace

bool is_inertia(const http_request& req) noexcept {
  return iequals(req.header("x-inertia"), "true");
}

bool stale_version(const http_request& req, std::string_view current) noexcept {
  if (!is_inertia(req) || (req.method != "GET" && req.method != "HEAD"))
    return false;
  if (!req.has_header("x-inertia-version"))
    return false;
  return req.header("x-inertia-version") != current;
}

bool partial_request::wants(std::string_view name, bool lazy) const {
  if (except.count(name) > 0)
    return false;
  if (!only.empty())
    return only.count(name) > 0;
  return !lazy;
}

std::optional<partial_request> partial_props(const http_request& req,
                                             std::string_view component) {
  auto named = req.header("x-inertia-partial-component");
  if (!is_inertia(req) || named.empty() || named != component)
    return std::nullopt;
  partial_request out;
  out.only = split_names(req.header("x-inertia-partial-data"));
  out.except = split_names(req.header("x-inertia-partial-except"));
  return out;
}

std::string script_safe_json(std::string_view json) {
  std::string out;
  out.reserve(json.size() + 16);
  for (char c : json) {
    switch (c) {
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string page_object(std::string_view component, std::string_view props_json,
                        std::string_view url, std::string_view version) {
  std::string out;
  json_writer w{out};
  w.begin_object()
    .member("component", component)
    .key("props")
    .raw(props_json)
    .member("url", url)
    .member("version", version)
    .member("encryptHistory", false)
    .member("clearHistory", false)
    .end_object();
  return out;
}

std::string html_shell(std::string_view page_json, std::string_view entry_js,
                       const std::vector<std::string>& css) {
  std::string out;
  out.reserve(page_json.size() + 1024);
  out += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<title>FleetPrompt</title>\n"
         // No favicon request: the console fetches nothing it does not serve.
         "<link rel=\"icon\" href=\"data:,\">\n";
  for (const auto& sheet : css)
    out += "<link rel=\"stylesheet\" href=\"/assets/" + sheet + "\">\n";
  if (!entry_js.empty())
    out += "<script type=\"module\" src=\"/assets/" + std::string{entry_js}
           + "\"></script>\n";
  out += "</head>\n<body>\n<script data-page=\"app\" type=\"application/json\">";
  out += script_safe_json(page_json);
  out += "</script>\n<div id=\"app\"></div>\n</body>\n</html>\n";
  return out;
}

http_response page_response(const http_request& req, int status,
                            std::string page_json, std::string_view entry_js,
                            const std::vector<std::string>& css) {
  http_response res;
  res.status = status;
  if (is_inertia(req)) {
    res.content_type = "application/json";
    res.body = std::move(page_json);
    res.set_header("X-Inertia", "true");
  } else {
    res.content_type = "text/html; charset=utf-8";
    res.body = html_shell(page_json, entry_js, css);
  }
  no_store(res);
  return res;
}

http_response location_response(std::string_view location) {
  http_response res;
  res.status = 409;
  res.set_header("X-Inertia-Location", std::string{location});
  no_store(res);
  return res;
}

http_response see_other(std::string_view location) {
  http_response res;
  res.status = 303;
  res.set_header("Location", std::string{location});
  no_store(res);
  return res;
}

} // namespace fp::net::console
