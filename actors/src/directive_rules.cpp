#include "fp/actors/directive_rules.hpp"

#include <algorithm>

namespace fp::actors {

namespace {

constexpr const char* state_names[] = {
  "proposed", "awaiting_approval", "approved", "executing",
  "succeeded", "failed", "rejected", "cancelled",
};

} // namespace

const char* to_string(directive_state s) noexcept {
  return state_names[static_cast<uint8_t>(s)];
}

std::optional<directive_state> parse_directive_state(std::string_view text) noexcept {
  for (uint8_t i = 0; i < std::size(state_names); ++i)
    if (text == state_names[i])
      return static_cast<directive_state>(i);
  return std::nullopt;
}

bool can_transition(directive_state from, directive_state to) noexcept {
  using s = directive_state;
  switch (from) {
    case s::proposed:
      return to == s::awaiting_approval || to == s::approved
             || to == s::cancelled;
    case s::awaiting_approval:
      return to == s::approved || to == s::rejected || to == s::cancelled;
    case s::approved:
      return to == s::executing || to == s::cancelled;
    case s::executing:
      return to == s::succeeded || to == s::failed;
    default:
      return false;
  }
}

bool is_terminal(directive_state s) noexcept {
  return s == directive_state::succeeded || s == directive_state::failed
         || s == directive_state::rejected || s == directive_state::cancelled;
}

bool can_approve(directive_state s) noexcept {
  return s == directive_state::awaiting_approval;
}

bool can_reject(directive_state s) noexcept {
  return s == directive_state::awaiting_approval;
}

bool can_cancel(directive_state s) noexcept {
  return can_transition(s, directive_state::cancelled);
}

std::string directive_signal_type(directive_state s) {
  return std::string{"directive."} + to_string(s);
}

const char* to_string(approval_mode m) noexcept {
  return m == approval_mode::automatic ? "auto" : "approval";
}

std::optional<approval_mode> parse_approval_mode(std::string_view text) noexcept {
  if (text == "auto")
    return approval_mode::automatic;
  if (text == "approval")
    return approval_mode::approval;
  return std::nullopt;
}

directive_policy default_directive_policy(std::string_view type) {
  directive_policy p;
  p.type = std::string{type};
  // Emitting a signal stays inside the platform; anything reaching the
  // outside world waits for a human until the tenant decides otherwise.
  p.mode = type == "signal.emit" ? approval_mode::automatic
                                 : approval_mode::approval;
  p.approver = role::admin;
  return p;
}

directive_policy resolve_directive_policy(std::string_view type,
                                          const std::optional<policy_override>& row) {
  auto p = default_directive_policy(type);
  if (!row)
    return p;
  p.is_default = false;
  if (auto m = parse_approval_mode(row->mode))
    p.mode = *m;
  if (auto r = parse_role(row->approver_role))
    p.approver = *r;
  return p;
}

directive_state initial_decision(const directive_policy& policy) noexcept {
  return policy.mode == approval_mode::automatic
           ? directive_state::approved
           : directive_state::awaiting_approval;
}

bool may_decide(const directive_policy& policy, role who) noexcept {
  return static_cast<uint8_t>(who) >= static_cast<uint8_t>(policy.approver);
}

const std::vector<std::string>& platform_directive_types() {
  static const std::vector<std::string> types{"signal.emit", "webhook.post"};
  return types;
}

bool known_directive_type(std::string_view type) noexcept {
  const auto& t = platform_directive_types();
  return std::find(t.begin(), t.end(), type) != t.end();
}

} // namespace fp::actors
