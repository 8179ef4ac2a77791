// The pure rules of agents and executions (see agent_rules.hpp).

#include "fp/actors/agent_rules.hpp"

#include <simdjson.h>

#include "fp/actors/signal_rules.hpp"
#include "directives_json.hpp"

namespace fp::actors {

namespace {

constexpr std::size_t max_name_length = 100;

/// A DOM element rendered for a template: strings raw, arrays as comma
/// lists, everything else as minified JSON.
std::string render_value(simdjson::dom::element el) {
  switch (el.type()) {
    case simdjson::dom::element_type::STRING:
      return std::string{std::string_view{el.get_string().value()}};
    case simdjson::dom::element_type::ARRAY: {
      std::string out;
      simdjson::dom::array arr = el.get_array().value();
      for (auto item : arr) {
        if (!out.empty())
          out += ", ";
        out += render_value(item);
      }
      return out;
    }
    case simdjson::dom::element_type::NULL_VALUE:
      return {};
    default:
      return simdjson::minify(el);
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

} // namespace

// -- agents --------------------------------------------------------------------------------

bool is_agent_state(std::string_view state) noexcept {
  return state == "draft" || state == "active" || state == "paused"
         || state == "archived";
}

std::vector<agent_issue> validate_agent(const storage::agent_record& a) {
  std::vector<agent_issue> out;
  auto name = trim(a.name);
  if (name.empty())
    out.push_back({"name", "must not be empty"});
  else if (a.name.size() > max_name_length)
    out.push_back({"name", "must be at most 100 characters"});
  if (a.provider.empty())
    out.push_back({"provider", "must not be empty"});
  if (a.model.empty())
    out.push_back({"model", "must not be empty"});
  if (!is_agent_state(a.state))
    out.push_back({"state", "must be draft, active, paused or archived"});
  for (std::size_t i = 0; i < a.triggers.size(); ++i)
    if (auto err = subscription_pattern_error(a.triggers[i]); !err.empty())
      out.push_back({"triggers[" + std::to_string(i) + "]", err});
  for (std::size_t i = 0; i < a.directive_types.size(); ++i)
    if (auto err = directive_type_error(a.directive_types[i]); !err.empty())
      out.push_back({"directive_types[" + std::to_string(i) + "]", err});
  for (std::size_t i = 0; i < a.skills.size(); ++i)
    if (a.skills[i].empty())
      out.push_back({"skills[" + std::to_string(i) + "]", "must not be empty"});
  if (a.max_tokens <= 0)
    out.push_back({"max_tokens", "must be greater than 0"});
  if (a.max_tool_calls < 0)
    out.push_back({"max_tool_calls", "must not be negative"});
  if (a.daily_budget_micros && *a.daily_budget_micros < 0)
    out.push_back({"daily_budget_micros", "must not be negative"});
  return out;
}

bool agent_transition_allowed(std::string_view from, std::string_view to) noexcept {
  if (!is_agent_state(from) || !is_agent_state(to))
    return false;
  if (from == to)
    return true;
  if (from == "archived")
    return false;
  if (to == "archived")
    return true;
  return (from == "draft" && to == "active") || (from == "active" && to == "paused")
         || (from == "paused" && to == "active");
}

bool agent_runnable(std::string_view state) noexcept {
  return state == "draft" || state == "active";
}

// -- executions ----------------------------------------------------------------------------

bool execution_transition_allowed(std::string_view from, std::string_view to) noexcept {
  if (from == "queued")
    return to == "running" || to == "cancelled" || to == "failed";
  if (from == "running")
    return to == "running" || to == "succeeded" || to == "failed"
           || to == "cancelled" || to == "timed_out";
  return false;
}

// -- permissions ---------------------------------------------------------------------------

int role_rank(std::string_view role) noexcept {
  if (role == "member")
    return 0;
  if (role == "admin" || role.empty())
    return 1;
  if (role == "owner")
    return 2;
  return -1;
}

bool scope_covers(const std::vector<std::string>& granted,
                  std::string_view required) {
  for (const auto& g : granted) {
    std::string_view p{g};
    if (p == required || p == "*")
      return true;
    if (!p.empty() && p.back() == '*') {
      auto prefix = p.substr(0, p.size() - 1);
      if (required.substr(0, prefix.size()) == prefix)
        return true;
    }
  }
  return false;
}

tool_decision decide_tool_call(const storage::agent_record& agent,
                               const tool_request& req) {
  auto deny = [](std::string why) { return tool_decision{false, std::move(why)}; };
  if (req.skill == nullptr)
    return deny("unknown skill '" + req.skill_name + "'");
  const auto& skill = *req.skill;
  bool listed = false;
  for (const auto& s : agent.skills)
    listed = listed || s == skill.name;
  if (!listed)
    return deny("skill '" + skill.name + "' is not among the agent's skills");
  if (skill.kind == "directive") {
    bool typed = false;
    for (const auto& t : agent.directive_types)
      typed = typed || t == req.directive_type;
    if (!typed)
      return deny("directive type '" + req.directive_type
                  + "' is not among the agent's directive types");
  }
  if (!skill.installation_id.empty())
    for (const auto& scope : skill.required_scopes)
      if (!scope_covers(agent.granted_scopes, scope))
        return deny("scope '" + scope + "' required by skill '" + skill.name
                    + "' was not granted");
  if (req.calls_so_far >= agent.max_tool_calls)
    return deny("tool call limit of " + std::to_string(agent.max_tool_calls)
                + " reached");
  if (req.budget_exhausted)
    return deny("budget exhausted");
  if (role_rank(req.initiator_role) < role_rank(skill.min_role))
    return deny("skill '" + skill.name + "' needs the role " + skill.min_role);
  return {true, {}};
}

// -- budgets -------------------------------------------------------------------------------

budget_verdict check_budget(std::string_view agent_name,
                            std::optional<int64_t> agent_limit,
                            int64_t agent_spent,
                            std::optional<int64_t> tenant_limit,
                            int64_t tenant_spent) {
  if (agent_limit && agent_spent >= *agent_limit)
    return {false,
            "daily budget of agent " + std::string{agent_name} + " exhausted: spent "
              + std::to_string(agent_spent) + " of " + std::to_string(*agent_limit),
            "budget_exceeded"};
  if (tenant_limit && tenant_spent >= *tenant_limit)
    return {false,
            "daily budget of the organization exhausted: spent "
              + std::to_string(tenant_spent) + " of " + std::to_string(*tenant_limit),
            "budget_exceeded"};
  return {};
}

budget_verdict check_installation_limits(std::string_view package,
                                         std::optional<int64_t> executions_per_hour,
                                         int64_t executions_last_hour,
                                         std::optional<int64_t> daily_budget,
                                         int64_t spent_today) {
  if (executions_per_hour && executions_last_hour >= *executions_per_hour)
    return {false,
            "package " + std::string{package} + ": "
              + std::to_string(executions_last_hour)
              + " executions in the last hour (limit "
              + std::to_string(*executions_per_hour) + ")",
            "rate_limited"};
  if (daily_budget && spent_today >= *daily_budget)
    return {false,
            "daily budget of package " + std::string{package} + " exhausted: spent "
              + std::to_string(spent_today) + " of " + std::to_string(*daily_budget),
            "budget_exceeded"};
  return {};
}

// -- tool names ----------------------------------------------------------------------------

std::string tool_name_of(std::string_view skill_name) {
  std::string out;
  out.reserve(skill_name.size() + 4);
  for (char c : skill_name) {
    if (c == '.')
      out += "__";
    else
      out += c;
  }
  return out;
}

std::string skill_name_of(std::string_view tool_name) {
  std::string out;
  out.reserve(tool_name.size());
  for (std::size_t i = 0; i < tool_name.size(); ++i) {
    if (tool_name[i] == '_' && i + 1 < tool_name.size() && tool_name[i + 1] == '_') {
      out += '.';
      ++i;
    } else {
      out += tool_name[i];
    }
  }
  return out;
}

// -- inputs and templates ------------------------------------------------------------------

std::string render_input_text(std::string_view input_json) {
  simdjson::dom::parser parser;
  auto doc = parser.parse(input_json.data(), input_json.size());
  if (doc.error() || !doc.value().is_object())
    return std::string{input_json};
  for (const char* key : {"message", "text"}) {
    auto v = doc.value()[key];
    if (!v.error() && v.value().is_string())
      return std::string{std::string_view{v.value().get_string().value()}};
  }
  return std::string{input_json};
}

std::string render_signal_input(std::string_view type,
                                std::string_view actor_kind,
                                std::string_view actor_id,
                                std::string_view payload_json) {
  std::string out = "Signal ";
  out += type;
  out += " from ";
  out += actor_kind;
  if (!actor_id.empty()) {
    out += ' ';
    out += actor_id;
  }
  out += ".\n";
  // Most triggers carry their text in the payload: give it first, then the
  // whole payload for the rest.
  auto text = render_input_text(payload_json);
  if (text != payload_json) {
    out += text;
    out += "\n\n";
  }
  out += "Payload: ";
  out += payload_json;
  return out;
}

std::string render_template(std::string_view tmpl, std::string_view input_json) {
  simdjson::dom::parser parser;
  auto doc = parser.parse(input_json.data(), input_json.size());
  std::string out;
  std::size_t pos = 0;
  while (pos < tmpl.size()) {
    auto open = tmpl.find("{{", pos);
    if (open == std::string_view::npos) {
      out += tmpl.substr(pos);
      break;
    }
    auto close = tmpl.find("}}", open + 2);
    if (close == std::string_view::npos) {
      out += tmpl.substr(pos);
      break;
    }
    out += tmpl.substr(pos, open - pos);
    auto expr = trim(tmpl.substr(open + 2, close - open - 2));
    pos = close + 2;
    if (expr.substr(0, 6) != "input." || doc.error())
      continue;
    auto path = expr.substr(6);
    simdjson::dom::element el = doc.value();
    bool found = true;
    while (found && !path.empty()) {
      auto dot = path.find('.');
      auto key = path.substr(0, dot);
      path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
      if (!el.is_object()) {
        found = false;
        break;
      }
      auto next = el.get_object().value()[key];
      if (next.error())
        found = false;
      else
        el = next.value();
    }
    if (found)
      out += render_value(el);
  }
  return out;
}

} // namespace fp::actors
