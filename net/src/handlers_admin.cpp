// Plain functions behind the admin endpoints.

#include <ctime>
#include <set>
#include <unordered_map>

#include "fp/net/json.hpp"
#include "fp/net/system_routes.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "json_body.hpp"

namespace fp::net {

namespace {

using runtime::errc;
using runtime::make_error;

std::string rfc3339_ms(int64_t unix_ms) {
  auto secs = static_cast<std::time_t>(unix_ms / 1000);
  auto millis = static_cast<int>(unix_ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  auto n = std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return {buf, static_cast<std::size_t>(n)};
}

void write_node_fields(json_writer& w, const runtime::actor_node& n,
                       int64_t now_ms) {
  w.member("actor_id", n.actor_id)
    .member("kind", n.kind)
    .member("id", n.id)
    .member("parent_id", n.parent_id)
    .member("state", n.state)
    .member("mailbox", n.mailbox)
    .member("restarts", n.restarts)
    .member("uptime_ms", n.started_at_ms > 0 && now_ms > n.started_at_ms
                           ? now_ms - n.started_at_ms
                           : int64_t{0});
  if (n.started_at_ms > 0)
    w.member("started_at", rfc3339_ms(n.started_at_ms));
  else
    w.key("started_at").null();
}

struct tree_writer {
  const std::vector<runtime::actor_node>& nodes;
  std::unordered_map<uint64_t, std::vector<std::size_t>> children;
  std::set<std::size_t> written;
  int64_t now_ms;

  void write(json_writer& w, std::size_t i) {
    // Each node once, even if the directory reports a cycle.
    if (!written.insert(i).second)
      return;
    w.begin_object();
    write_node_fields(w, nodes[i], now_ms);
    w.key("children").begin_array();
    if (auto it = children.find(nodes[i].actor_id); it != children.end())
      for (auto child : it->second)
        write(w, child);
    w.end_array();
    w.end_object();
  }
};

} // namespace

caf::error check_admin(const http_request& req, std::string_view admin_token) {
  if (admin_token.empty())
    return make_error(errc::forbidden,
                      "admin endpoints are disabled: set admin-token");
  auto auth = req.header("authorization");
  constexpr std::string_view scheme = "bearer ";
  if (auth.size() <= scheme.size()
      || !iequals(auth.substr(0, scheme.size()), scheme))
    return make_error(errc::unauthorized,
                      "an admin bearer token is required");
  auto token = auth.substr(scheme.size());
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ')
    token.remove_suffix(1);
  if (!runtime::constant_time_equal(token, admin_token))
    return make_error(errc::unauthorized, "the admin bearer token is wrong");
  return caf::none;
}

http_response actors_response(const std::vector<runtime::actor_node>& nodes,
                              int64_t now_ms) {
  std::string body;
  body.reserve(256 * (nodes.size() + 1));
  json_writer w{body};
  w.begin_object();
  w.member("count", nodes.size());
  w.key("actors").begin_array();
  for (const auto& n : nodes) {
    w.begin_object();
    write_node_fields(w, n, now_ms);
    w.end_object();
  }
  w.end_array();
  tree_writer tree{nodes, {}, {}, now_ms};
  std::set<uint64_t> ids;
  for (const auto& n : nodes)
    ids.insert(n.actor_id);
  std::vector<std::size_t> roots;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto& n = nodes[i];
    if (n.parent_id == 0 || n.parent_id == n.actor_id
        || ids.count(n.parent_id) == 0)
      roots.push_back(i);
    else
      tree.children[n.parent_id].push_back(i);
  }
  w.key("tree").begin_array();
  for (auto i : roots)
    tree.write(w, i);
  // Nodes only reachable through a cycle still show up once.
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (!tree.written.count(i))
      tree.write(w, i);
  w.end_array();
  w.end_object();
  return http_response::json(200, std::move(body));
}

caf::expected<runtime::log::level>
parse_log_level_body(const http_request& req) {
  json_body body;
  simdjson::ondemand::object obj;
  if (auto err = body.parse_object(req, obj, "expected a JSON object like {\"level\":\"debug\"}"))
    return err;
  std::string_view text;
  auto field = obj.find_field_unordered("level");
  if (field.error() == simdjson::NO_SUCH_FIELD)
    return make_error(errc::invalid_argument, "missing member \"level\"");
  if (field.get_string().get(text))
    return make_error(errc::invalid_argument, "\"level\" must be a string");
  runtime::log::level lvl;
  if (!runtime::log::parse_level(text, lvl))
    return make_error(errc::invalid_argument,
                      "\"level\" must be one of trace, debug, info, warn, "
                      "error, off");
  return lvl;
}

http_response log_level_response(runtime::log::level lvl) {
  std::string body;
  json_writer w{body};
  w.begin_object().member("level", runtime::log::to_string(lvl)).end_object();
  return http_response::json(200, std::move(body));
}

} // namespace fp::net
