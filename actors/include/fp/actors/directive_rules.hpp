#pragma once

// The pure rules of directives: the state machine and the policy that
// decides per directive type whether a directive runs at once or waits for
// a human with the right role. No actors, no SQL: unit-tested directly.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fp/actors/tenancy.hpp"

namespace fp::actors {

// -- states -------------------------------------------------------------------------

/// proposed -> (awaiting_approval ->) approved -> executing -> succeeded |
/// failed, and rejected / cancelled before execution.
enum class directive_state : uint8_t {
  proposed,
  awaiting_approval,
  approved,
  executing,
  succeeded,
  failed,
  rejected,
  cancelled,
};

/// "proposed", "awaiting_approval", ...
const char* to_string(directive_state s) noexcept;

std::optional<directive_state> parse_directive_state(std::string_view text) noexcept;

/// True when `from -> to` is a transition of the state machine.
bool can_transition(directive_state from, directive_state to) noexcept;

/// True for succeeded, failed, rejected and cancelled.
bool is_terminal(directive_state s) noexcept;

/// True when a human may approve a directive in `s` (awaiting_approval).
bool can_approve(directive_state s) noexcept;

/// True when a human may reject a directive in `s` (awaiting_approval).
bool can_reject(directive_state s) noexcept;

/// True when a directive in `s` may still be cancelled (before it runs).
bool can_cancel(directive_state s) noexcept;

/// The signal type of entering `s`: "directive.<state>".
std::string directive_signal_type(directive_state s);

// -- policies -----------------------------------------------------------------------

/// How a directive type is decided.
enum class approval_mode : uint8_t {
  /// Approved at proposal and run at once.
  automatic,
  /// Waits in awaiting_approval for a human.
  approval,
};

/// "auto" or "approval".
const char* to_string(approval_mode m) noexcept;

std::optional<approval_mode> parse_approval_mode(std::string_view text) noexcept;

/// The policy of one directive type in one tenant.
struct directive_policy {
  std::string type;
  approval_mode mode = approval_mode::approval;
  /// The least role that may approve or reject.
  role approver = role::admin;
  /// True when no tenant override applies.
  bool is_default = true;
};

/// The platform's default for `type`: signal.emit runs automatically;
/// webhook.post and every other type wait for an admin's approval.
directive_policy default_directive_policy(std::string_view type);

/// The tenant's override of one type, as stored.
struct policy_override {
  std::string mode;
  std::string approver_role;
};

/// The policy of `type`: the override when there is one (an unreadable
/// field falls back to the default's), else the default.
directive_policy resolve_directive_policy(std::string_view type,
                                          const std::optional<policy_override>& row);

/// The state a new directive enters after `proposed` under `policy`.
directive_state initial_decision(const directive_policy& policy) noexcept;

/// True when `who` may approve or reject under `policy`.
bool may_decide(const directive_policy& policy, role who) noexcept;

/// Directive types the platform's executors handle.
const std::vector<std::string>& platform_directive_types();

/// True when an executor for `type` exists.
bool known_directive_type(std::string_view type) noexcept;

} // namespace fp::actors
