#include "fp/net/http_types.hpp"

#include <algorithm>

#include "fp/runtime/ids.hpp"

namespace fp::net {

namespace {

constexpr char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

template <class List>
auto find_header(List& headers, std::string_view name) noexcept {
  return std::find_if(headers.begin(), headers.end(), [name](const auto& h) {
    return iequals(h.name, name);
  });
}

} // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i]))
      return false;
  return true;
}

// -- http_request ---------------------------------------------------------------

std::string_view http_request::header(std::string_view name) const noexcept {
  auto i = find_header(headers, name);
  return i != headers.end() ? std::string_view{i->value} : std::string_view{};
}

bool http_request::has_header(std::string_view name) const noexcept {
  return find_header(headers, name) != headers.end();
}

std::string http_request::query_param(std::string_view name) const {
  std::string_view rest = query;
  std::string out;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{}
                                         : rest.substr(amp + 1);
    auto eq = pair.find('=');
    std::string key;
    if (!percent_decode(pair.substr(0, eq), key, true) || key != name)
      continue;
    if (eq == std::string_view::npos)
      return {};
    if (!percent_decode(pair.substr(eq + 1), out, true))
      return {};
    return out;
  }
  return {};
}

// -- http_response --------------------------------------------------------------

void http_response::set_header(std::string_view name, std::string value) {
  if (auto i = find_header(headers, name); i != headers.end())
    i->value = std::move(value);
  else
    headers.push_back({std::string{name}, std::move(value)});
}

std::string_view http_response::header(std::string_view name) const noexcept {
  auto i = find_header(headers, name);
  return i != headers.end() ? std::string_view{i->value} : std::string_view{};
}

http_response http_response::json(int status, std::string body) {
  http_response res;
  res.status = status;
  res.content_type = "application/json";
  res.body = std::move(body);
  return res;
}

http_response http_response::text(int status, std::string body,
                                  std::string content_type) {
  http_response res;
  res.status = status;
  res.content_type = std::move(content_type);
  res.body = std::move(body);
  return res;
}

// -- request_context ------------------------------------------------------------

std::string_view request_context::param(std::string_view name) const noexcept {
  auto i = params.find(name);
  return i != params.end() ? std::string_view{i->second} : std::string_view{};
}

// -- free functions -------------------------------------------------------------

std::string accept_request_id(std::string_view incoming,
                              std::string_view generated) {
  if (runtime::valid_request_id(incoming))
    return std::string{incoming};
  if (!generated.empty())
    return std::string{generated};
  return runtime::new_request_id();
}

const char* reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

bool percent_decode(std::string_view in, std::string& out,
                    bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size())
        return false; // fewer than two hex digits follow
      int hi = runtime::hex_digit_value(in[i + 1]);
      int lo = runtime::hex_digit_value(in[i + 2]);
      if (hi < 0 || lo < 0)
        return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

bool split_target(std::string_view target, std::string& path,
                  std::string& query) {
  if (target.empty() || target.front() != '/')
    return false;
  auto q = target.find('?');
  auto raw_path = target.substr(0, q);
  // Fragments are never sent by conforming clients; treat them as part of
  // nothing rather than of the path.
  if (auto h = raw_path.find('#'); h != std::string_view::npos)
    raw_path = raw_path.substr(0, h);
  if (q == std::string_view::npos)
    query.clear();
  else
    query.assign(target.substr(q + 1));
  if (raw_path.find('%') == std::string_view::npos) {
    path.assign(raw_path);
    return true;
  }
  return percent_decode(raw_path, path);
}

} // namespace fp::net
