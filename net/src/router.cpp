#include "fp/net/router.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace fp::net {

namespace {

// Requests with more segments than this cannot match any sane route.
constexpr std::size_t max_segments = 32;

bool valid_param_name(std::string_view name) noexcept {
  if (name.empty())
    return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

bool valid_method(std::string_view m) noexcept {
  if (m.empty())
    return false;
  for (char c : m)
    if (!(c >= 'A' && c <= 'Z'))
      return false;
  return true;
}

/// Splits "/a/b" into {"a","b"}; "/" into {}. Returns false on too many
/// segments. Empty segments are kept (they never match).
bool split_segments(std::string_view path,
                    std::array<std::string_view, max_segments>& out,
                    std::size_t& count) noexcept {
  count = 0;
  if (path == "/")
    return true;
  std::size_t pos = 1; // skip the leading '/'
  while (true) {
    if (count == max_segments)
      return false;
    auto next = path.find('/', pos);
    out[count++] = path.substr(pos, next == std::string_view::npos
                                      ? std::string_view::npos
                                      : next - pos);
    if (next == std::string_view::npos)
      return true;
    pos = next + 1;
  }
}

// Orders the Allow list: the usual methods first, in their usual order.
int method_rank(std::string_view m) noexcept {
  static constexpr std::string_view order[]
    = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
  for (int i = 0; i < 7; ++i)
    if (order[i] == m)
      return i;
  return 7;
}

} // namespace

void router::add(std::string method, std::string pattern, handler fn,
                 route_doc doc) {
  if (!valid_method(method))
    throw std::invalid_argument("route method must be upper-case letters: "
                                + method);
  if (pattern.empty() || pattern.front() != '/')
    throw std::invalid_argument("route pattern must start with '/': "
                                + pattern);
  if (!fn)
    throw std::invalid_argument("route without handler: " + pattern);
  compiled c;
  std::array<std::string_view, max_segments> parts;
  std::size_t n = 0;
  if (!split_segments(pattern, parts, n))
    throw std::invalid_argument("route pattern has too many segments: "
                                + pattern);
  for (std::size_t i = 0; i < n; ++i) {
    auto part = parts[i];
    if (part.empty())
      throw std::invalid_argument("route pattern has an empty segment: "
                                  + pattern);
    if (part.front() == '{') {
      auto name = part.substr(1, part.size() - 2);
      if (part.back() != '}' || !valid_param_name(name))
        throw std::invalid_argument("bad parameter segment in " + pattern);
      for (const auto& seg : c.segments)
        if (seg.is_param && seg.text == name)
          throw std::invalid_argument("duplicate parameter in " + pattern);
      c.segments.push_back({std::string{name}, true});
    } else {
      if (part.find_first_of("{}%?#") != std::string_view::npos)
        throw std::invalid_argument("bad literal segment in " + pattern);
      c.segments.push_back({std::string{part}, false});
    }
  }
  for (const auto& r : routes_)
    if (r.method == method && r.pattern == pattern)
      throw std::invalid_argument("duplicate route " + method + " " + pattern);
  route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.fn = std::move(fn);
  r.doc = std::move(doc);
  r.index = static_cast<uint32_t>(routes_.size());
  routes_.push_back(std::move(r));
  compiled_.push_back(std::move(c));
}

router::match_result router::match(std::string_view method,
                                   std::string_view raw_path) const {
  match_result result;
  std::array<std::string_view, max_segments> parts;
  std::size_t n = 0;
  if (raw_path.empty() || raw_path.front() != '/'
      || !split_segments(raw_path, parts, n))
    return result; // not_found
  // Decode the segments that need it once, up front.
  std::array<std::string, max_segments> decoded_store;
  std::array<std::string_view, max_segments> decoded;
  for (std::size_t i = 0; i < n; ++i) {
    if (parts[i].find('%') == std::string_view::npos) {
      decoded[i] = parts[i];
    } else {
      if (!percent_decode(parts[i], decoded_store[i])) {
        result.kind = match_result::bad_path;
        return result;
      }
      decoded[i] = decoded_store[i];
    }
  }
  auto segments_match = [&](const compiled& c) {
    if (c.segments.size() != n)
      return false;
    for (std::size_t i = 0; i < n; ++i) {
      if (decoded[i].empty())
        return false;
      if (!c.segments[i].is_param && c.segments[i].text != decoded[i])
        return false;
    }
    return true;
  };
  // True when `a` is more specific than `b`: at the first differing
  // position, a literal beats a parameter.
  auto more_specific = [&](const compiled& a, const compiled& b) {
    for (std::size_t i = 0; i < n; ++i) {
      if (a.segments[i].is_param != b.segments[i].is_param)
        return !a.segments[i].is_param;
    }
    return false;
  };
  const bool is_head = method == "HEAD";
  std::size_t best = routes_.size();      // exact method match
  std::size_t best_get = routes_.size();  // GET match, the fallback for HEAD
  bool any_path_match = false;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const auto& c = compiled_[i];
    if (!segments_match(c))
      continue;
    any_path_match = true;
    const auto& m = routes_[i].method;
    if (m == method) {
      if (best == routes_.size() || more_specific(c, compiled_[best]))
        best = i;
    } else if (is_head && m == "GET") {
      if (best_get == routes_.size() || more_specific(c, compiled_[best_get]))
        best_get = i;
    }
  }
  if (best == routes_.size())
    best = best_get;
  if (best != routes_.size()) {
    result.kind = match_result::found;
    result.matched = &routes_[best];
    const auto& c = compiled_[best];
    for (std::size_t i = 0; i < n; ++i)
      if (c.segments[i].is_param)
        result.params.emplace(c.segments[i].text, std::string{decoded[i]});
    return result;
  }
  if (!any_path_match)
    return result; // not_found
  // 405: every method some route accepts for this path.
  std::vector<std::string_view> methods;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    if (!segments_match(compiled_[i]))
      continue;
    methods.push_back(routes_[i].method);
    if (routes_[i].method == "GET")
      methods.push_back("HEAD");
  }
  std::sort(methods.begin(), methods.end(), [](auto a, auto b) {
    auto ra = method_rank(a), rb = method_rank(b);
    return ra != rb ? ra < rb : a < b;
  });
  methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
  result.kind = match_result::method_not_allowed;
  for (auto m : methods) {
    if (!result.allow.empty())
      result.allow += ", ";
    result.allow += m;
  }
  return result;
}

} // namespace fp::net
