// Small JSON helpers of the agent engine (simdjson DOM) and job arguments.

#include <simdjson.h>

#include "agent_engine_internal.hpp"
#include "directives_json.hpp"
#include "fp/runtime/errc.hpp"

namespace fp::actors::detail {

namespace {

simdjson::simdjson_result<simdjson::dom::element>
parse(simdjson::dom::parser& parser, std::string_view json) {
  return parser.parse(json.data(), json.size());
}

} // namespace

std::string json_string_at(std::string_view json, std::string_view key) {
  simdjson::dom::parser parser;
  auto doc = parse(parser, json);
  if (doc.error() || !doc.value().is_object())
    return {};
  auto v = doc.value()[key];
  if (v.error() || !v.value().is_string())
    return {};
  return std::string{std::string_view{v.value().get_string().value()}};
}

std::string json_raw_at(std::string_view json, std::string_view key) {
  simdjson::dom::parser parser;
  auto doc = parse(parser, json);
  if (doc.error() || !doc.value().is_object())
    return {};
  auto v = doc.value()[key];
  if (v.error())
    return {};
  return simdjson::minify(v.value());
}

std::string json_merge(std::string_view base, std::string_view over) {
  std::vector<std::pair<std::string, std::string>> members;
  auto collect = [&members](std::string_view text) {
    simdjson::dom::parser parser;
    auto doc = parse(parser, text);
    if (doc.error() || !doc.value().is_object())
      return;
    simdjson::dom::object obj = doc.value().get_object().value();
    for (auto field : obj) {
      std::string key{field.key};
      auto value = simdjson::minify(field.value);
      bool replaced = false;
      for (auto& m : members)
        if (m.first == key) {
          m.second = value;
          replaced = true;
        }
      if (!replaced)
        members.emplace_back(std::move(key), std::move(value));
    }
  };
  collect(base);
  collect(over);
  std::string out = "{";
  for (auto& [k, v] : members) {
    if (out.size() > 1)
      out += ',';
    out += json_quote(k);
    out += ':';
    out += v;
  }
  out += '}';
  return out;
}

bool is_json(std::string_view text) {
  simdjson::dom::parser parser;
  return !parse(parser, text).error();
}

caf::expected<run_args> parse_run_args(const std::string& args) {
  simdjson::dom::parser parser;
  auto doc = parse(parser, args);
  if (doc.error() || !doc.value().is_object())
    return runtime::make_error(runtime::errc::invalid_argument,
                               "agent.execute args are not a JSON object");
  auto str = [&doc](const char* key) -> std::string {
    auto v = doc.value()[key];
    if (v.error() || !v.value().is_string())
      return {};
    return std::string{std::string_view{v.value().get_string().value()}};
  };
  run_args out;
  out.org_id = str("org_id");
  out.slug = str("org_slug");
  out.execution_id = str("execution_id");
  out.reply_message_id = str("reply_message_id");
  out.agent_id = str("agent_id");
  out.signal_id = str("signal_id");
  out.correlation_id = str("correlation_id");
  out.trigger_key = str("trigger_key");
  out.replay_of = str("replay_of");
  out.replay_of_key = str("replay_of_key");
  if (out.slug.empty())
    return runtime::make_error(runtime::errc::invalid_argument,
                               "agent.execute args lack org_slug");
  if (out.execution_id.empty() && (out.agent_id.empty() || out.signal_id.empty()))
    return runtime::make_error(runtime::errc::invalid_argument,
                               "agent.execute args need execution_id, or "
                               "agent_id and signal_id");
  return out;
}

} // namespace fp::actors::detail
