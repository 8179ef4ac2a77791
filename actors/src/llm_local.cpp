// The "local" provider: behaviour chosen by the request (structured output,
// tool rules, or extractive text); see llm_local.hpp.

#include "llm_local.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>

#include "llm_json.hpp"

namespace fp::actors::llm::local {

namespace {

using simdjson::dom::element;

constexpr std::string_view default_model = "local-extractive";
constexpr std::string_view text_prefix = "[local deterministic model] ";

struct prompt_context {
  std::string system;
  std::string user;
  size_t sentences = 3;
  std::vector<std::string> labels;
};

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

prompt_context context_of(const request& req) {
  prompt_context ctx;
  for (const auto& m : req.messages) {
    if (m.role == "system") {
      if (!ctx.system.empty())
        ctx.system += '\n';
      ctx.system += m.content;
    } else if (m.role == "user") {
      ctx.user = m.content;
    }
  }
  ctx.sentences = sentence_limit(ctx.system,
                                 sentence_limit(ctx.user, 3));
  ctx.labels = labels_in(ctx.system);
  if (ctx.labels.empty())
    ctx.labels = labels_in(ctx.user);
  return ctx;
}

int64_t tokens_of(size_t chars) {
  return static_cast<int64_t>((chars + 3) / 4);
}

// -- structured output ---------------------------------------------------------

std::string fill(element schema, std::string_view name,
                 const prompt_context& ctx);

std::string_view first_type(element schema) {
  auto t = detail::member(schema, "type");
  if (!t)
    return detail::member(schema, "properties") ? "object" : "";
  std::string_view name;
  if (t->is_array()) {
    for (auto n : simdjson::dom::array(*t))
      if (n.get(name) == simdjson::SUCCESS && name != "null")
        return name;
    return "null";
  }
  if (t->get(name) != simdjson::SUCCESS)
    return "";
  return name;
}

std::string fill_object(element schema, const prompt_context& ctx) {
  std::string out = "{";
  auto props = detail::member(schema, "properties");
  bool first = true;
  auto add = [&](std::string_view key, element sub) {
    if (!first)
      out += ',';
    first = false;
    out += detail::json_quote(key);
    out += ':';
    out += fill(sub, key, ctx);
  };
  if (props && props->is_object())
    for (auto [key, sub] : simdjson::dom::object(*props))
      add(key, sub);
  // Required names the schema does not describe are present too.
  if (auto req = detail::member(schema, "required"); req && req->is_array()) {
    simdjson::dom::parser empty_parser;
    auto empty = detail::parse_json(empty_parser, "{}");
    for (auto n : simdjson::dom::array(*req)) {
      std::string_view key;
      if (n.get(key) != simdjson::SUCCESS)
        continue;
      if (props && props->is_object() && detail::member(*props, key))
        continue;
      add(key, *empty);
    }
  }
  out += '}';
  return out;
}

std::string fill(element schema, std::string_view name,
                 const prompt_context& ctx) {
  static const std::set<std::string> summary_names{"summary", "text",
                                                   "answer", "description"};
  static const std::set<std::string> label_names{"label", "category",
                                                 "class", "intent"};
  static const std::set<std::string> score_names{"confidence", "score"};
  auto key = lower(name);
  auto type = first_type(schema);
  // An untyped property (e.g. only named in `required`) is typed by its name.
  if (type.empty() && !detail::member(schema, "enum")) {
    if (summary_names.count(key) || label_names.count(key))
      type = "string";
    else if (score_names.count(key))
      type = "number";
  }
  if (auto c = detail::member(schema, "const"))
    return detail::to_json(*c);
  auto enum_values = detail::member(schema, "enum");
  if (type == "string" || (type.empty() && enum_values)) {
    if (enum_values && enum_values->is_array()) {
      std::vector<std::string> labels;
      for (auto v : simdjson::dom::array(*enum_values))
        if (v.is_string())
          labels.emplace_back(std::string_view(v));
      if (!labels.empty())
        return detail::json_quote(
          classify(ctx.user, ctx.system, labels).label);
      return detail::to_json(*simdjson::dom::array(*enum_values).begin());
    }
    if (summary_names.count(key))
      return detail::json_quote(extractive_summary(ctx.user, ctx.sentences));
    if (label_names.count(key))
      return detail::json_quote(
        classify(ctx.user, ctx.system, ctx.labels).label);
  }
  if ((type == "number" || type == "integer") && score_names.count(key)) {
    auto c = classify(ctx.user, ctx.system, ctx.labels).confidence;
    if (type == "integer")
      return c >= 0.5 ? "1" : "0";
    auto txt = std::to_string(c);
    return txt;
  }
  if (auto d = detail::member(schema, "default"))
    return detail::to_json(*d);
  if (type == "object")
    return fill_object(schema, ctx);
  if (type == "number" || type == "integer") {
    if (auto m = detail::member(schema, "minimum"))
      return detail::to_json(*m);
    return "0";
  }
  if (type == "string") {
    auto min = detail::int_member(schema, "minLength", 0);
    return detail::json_quote(std::string(static_cast<size_t>(min), 'x'));
  }
  if (type == "boolean")
    return "false";
  if (type == "array")
    return "[]";
  if (type == "null")
    return "null";
  return "{}";
}

// -- tool rules -----------------------------------------------------------------

const tool_spec* find_tool(const request& req, std::string_view name) {
  std::string mapped;
  for (char c : name) {
    if (c == '.')
      mapped += "__";
    else
      mapped += c;
  }
  for (const auto& t : req.tools)
    if (t.name == name || t.name == mapped)
      return &t;
  return nullptr;
}

std::string tool_arguments(const tool_spec& tool, const prompt_context& ctx) {
  simdjson::dom::parser parser;
  auto schema = detail::parse_json(parser, tool.parameters);
  if (!schema || !schema->is_object())
    return "{}";
  auto args = fill(*schema, "", ctx);
  // The whole user text travels in a `text` property, when there is one.
  auto props = detail::member(*schema, "properties");
  if (props && detail::member(*props, "text") && args.size() >= 2) {
    simdjson::dom::parser p2;
    auto obj = detail::parse_json(p2, args);
    if (obj && obj->is_object()) {
      std::string out = "{";
      for (auto [k, v] : simdjson::dom::object(*obj)) {
        if (out.size() > 1)
          out += ',';
        out += detail::json_quote(k);
        out += ':';
        out += k == "text" ? detail::json_quote(ctx.user) : detail::to_json(v);
      }
      out += '}';
      return out;
    }
  }
  return args;
}

std::vector<tool_call> tool_calls_of(const request& req,
                                     const prompt_context& ctx) {
  static const std::regex when_rule{
    R"(\bwhen\s+(.+?)\s+call\s+([A-Za-z0-9_.:-]+))", std::regex::icase};
  static const std::regex always_rule{R"(\balways\s+call\s+([A-Za-z0-9_.:-]+))",
                                      std::regex::icase};
  std::vector<tool_call> out;
  auto add = [&](std::string name) {
    while (!name.empty() && (name.back() == '.' || name.back() == ':'))
      name.pop_back();
    auto tool = find_tool(req, name);
    if (!tool)
      return;
    tool_call call;
    call.id = "local_call_" + std::to_string(out.size() + 1);
    call.name = tool->name;
    call.arguments = tool_arguments(*tool, ctx);
    out.push_back(std::move(call));
  };
  size_t pos = 0;
  const auto& sys = ctx.system;
  while (pos <= sys.size()) {
    auto end = sys.find('\n', pos);
    if (end == std::string::npos)
      end = sys.size();
    std::string line = sys.substr(pos, end - pos);
    pos = end + 1;
    std::smatch m;
    if (std::regex_search(line, m, always_rule)) {
      add(m[1].str());
    } else if (std::regex_search(line, m, when_rule)) {
      auto kws = m[1].str();
      bool hit = false;
      size_t k = 0;
      while (k <= kws.size() && !hit) {
        auto bar = kws.find('|', k);
        if (bar == std::string::npos)
          bar = kws.size();
        auto kw = kws.substr(k, bar - k);
        kw.erase(std::remove(kw.begin(), kw.end(), '"'), kw.end());
        kw.erase(std::remove(kw.begin(), kw.end(), '\''), kw.end());
        auto l = lower(kw);
        auto b = l.find_first_not_of(" \t");
        auto e = l.find_last_not_of(" \t");
        if (b != std::string::npos
            && lower(ctx.user).find(l.substr(b, e - b + 1))
                 != std::string::npos)
          hit = true;
        k = bar + 1;
      }
      if (hit)
        add(m[2].str());
    }
  }
  return out;
}

// -- streaming -----------------------------------------------------------------

bool stream_words(std::string_view text, const stream_sink& sink,
                  const cancel_token& cancel) {
  size_t i = 0;
  while (i < text.size()) {
    if (cancel.is_cancelled())
      return false;
    auto end = text.find(' ', i);
    end = end == std::string_view::npos ? text.size() : end + 1;
    if (sink.on_text)
      sink.on_text(text.substr(i, end - i));
    i = end;
  }
  return !cancel.is_cancelled();
}

} // namespace

caf::expected<response> complete(const request& req, const stream_sink& sink,
                                 const cancel_token& cancel) {
  if (cancel.is_cancelled())
    return make_error(errc::cancelled, "the call was cancelled");
  auto ctx = context_of(req);
  response res;
  res.provider = "local";
  res.model = req.model.empty() ? std::string{default_model} : req.model;
  res.attempts = 0;
  res.finish_reason = "stop";
  size_t in_chars = 0;
  bool has_tool_result = false;
  std::map<std::string, std::string> call_names;
  for (const auto& m : req.messages) {
    in_chars += m.content.size();
    for (const auto& c : m.tool_calls) {
      in_chars += c.arguments.size() + c.name.size();
      call_names[c.id] = c.name;
    }
    has_tool_result = has_tool_result || m.role == "tool";
  }
  if (!req.response_schema.empty()) {
    simdjson::dom::parser parser;
    auto schema = detail::parse_json(parser, req.response_schema);
    if (!schema)
      return make_error(errc::bad_response, "the response schema is not JSON");
    res.text = fill(*schema, "", ctx);
  } else if (!req.tools.empty() && !has_tool_result
             && !(res.tool_calls = tool_calls_of(req, ctx)).empty()) {
    res.finish_reason = "tool_calls";
  } else {
    res.text = std::string{text_prefix}
               + extractive_summary(ctx.user, ctx.sentences);
    for (const auto& m : req.messages) {
      if (m.role != "tool")
        continue;
      auto name = call_names[m.tool_call_id];
      res.text += "\n[tool ";
      res.text += name.empty() ? m.tool_call_id : name;
      res.text += m.is_error ? " error] " : "] ";
      res.text += m.content;
    }
  }
  if (!stream_words(res.text, sink, cancel))
    return make_error(errc::cancelled, "the call was cancelled");
  size_t out_chars = res.text.size();
  for (const auto& c : res.tool_calls) {
    out_chars += c.name.size() + c.arguments.size();
    if (sink.on_tool_call)
      sink.on_tool_call(c);
  }
  res.tokens.input_tokens = tokens_of(in_chars);
  res.tokens.output_tokens = tokens_of(out_chars);
  res.tokens.reported = true;
  return res;
}

} // namespace fp::actors::llm::local
