#pragma once

// Subscriptions in the tenant table {{schema}}.subscriptions (see
// migrations/tenant/0002_signals.sql): which signals start which work. A
// pattern is an exact type, `prefix.*` (any type below the prefix) or `*`.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace fp::storage {

class pg_session;

/// A stored subscription.
struct subscription_record {
  std::string id;
  std::string pattern;
  /// "directive": propose a directive of `directive_type`; "agent": start
  /// an execution of agent `agent_id` (an agent's trigger, kept in step
  /// with the agent by storage/agents.hpp).
  std::string handler_kind = "directive";
  std::string directive_type;
  std::string agent_id;
  /// One JSON object (text).
  std::string params = "{}";
  bool enabled = true;
  /// RFC 3339 UTC.
  std::string created_at;
  /// User id of the creator; empty when unknown.
  std::string created_by;
};

/// A validated subscription to create.
struct new_subscription {
  std::string pattern;
  std::string directive_type;
  std::string params = "{}";
  std::string created_by;
};

/// Creates a subscription of tenant `slug` (enabled).
caf::expected<subscription_record>
create_subscription(pg_session& db, std::string_view slug,
                    const new_subscription& sub);

/// All subscriptions of tenant `slug`, oldest first.
caf::expected<std::vector<subscription_record>>
list_subscriptions(pg_session& db, std::string_view slug);

/// Subscription `id`, or nullopt (also for text that is no UUID).
caf::expected<std::optional<subscription_record>>
get_subscription(pg_session& db, std::string_view slug, std::string_view id);

/// Deletes subscription `id`; false when there was none.
caf::expected<bool> delete_subscription(pg_session& db, std::string_view slug,
                                        std::string_view id);

/// Enables or disables subscription `id`; false when there is none.
caf::expected<bool> set_subscription_enabled(pg_session& db,
                                             std::string_view slug,
                                             std::string_view id,
                                             bool enabled);

/// The enabled subscriptions of tenant `slug` whose pattern matches `type`.
caf::expected<std::vector<subscription_record>>
matching_subscriptions(pg_session& db, std::string_view slug,
                       std::string_view type);

/// The enabled subscriptions of tenant `slug` whose pattern matches at
/// least one of `types` (for matching a batch of signals with one query
/// that reads only candidate rows, through the pattern index: with many
/// agents a tenant holds thousands of subscriptions).
caf::expected<std::vector<subscription_record>>
subscriptions_matching_any(pg_session& db, std::string_view slug,
                           const std::vector<std::string>& types);

/// The patterns that can match `type`: "*", `type` itself and `p.*` for
/// every dot-ended prefix `p.` of `type` ("a.b.c" -> *, a.b.c, a.*, a.b.*).
std::vector<std::string> candidate_patterns(std::string_view type);

/// All enabled subscriptions of tenant `slug` (for matching many signals
/// with one query; see `subscription_matches`).
caf::expected<std::vector<subscription_record>>
enabled_subscriptions(pg_session& db, std::string_view slug);

/// True when `pattern` matches `type`: equal, `*`, or `p.*` with `type`
/// starting with "p.".
bool subscription_matches(std::string_view pattern,
                          std::string_view type) noexcept;

} // namespace fp::storage
