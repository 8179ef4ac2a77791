#pragma once

// Signals in the tenant table {{schema}}.signals (see
// migrations/tenant/0002_signals.sql): immutable, deduplicated facts. `seq`
// orders a tenant's signals in commit order (inserts take the tenant's emit
// lock), so "everything after seq N" never skips a late commit: SSE resume
// and cursors rely on it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace fp::storage {

class pg_session;

/// NOTIFY channel announcing committed signals; payload "<slug>:<max seq>".
inline constexpr std::string_view signals_channel = "fp_signals";

/// Who emitted a signal: taken from the authenticated caller, never from a
/// request body.
struct signal_actor {
  /// "human", "agent", "system" or "integration".
  std::string kind;
  std::string id;
  std::string display;
};

/// A validated signal about to be inserted.
struct new_signal {
  /// UUIDv7, assigned by the emitter.
  std::string id;
  std::string type;
  /// One JSON object (text).
  std::string payload = "{}";
  signal_actor actor;
  /// Empty: none. Unique per tenant.
  std::string dedupe_key;
  /// Empty: the signal's own id.
  std::string correlation_id;
  /// Empty: none (SQL NULL).
  std::string causation_id;
  /// RFC 3339; empty: the time of insertion.
  std::string occurred_at;
};

/// A stored signal.
struct signal_record {
  std::string id;
  int64_t seq = 0;
  std::string type;
  std::string payload;
  signal_actor actor;
  std::string dedupe_key;
  std::string correlation_id;
  std::string causation_id;
  /// RFC 3339 UTC with microseconds.
  std::string occurred_at;
  std::string recorded_at;
};

// -- writing ------------------------------------------------------------------

/// The outcome of inserting one `new_signal`.
struct inserted_signal {
  /// The stored row: the new one, or the original one for a duplicate.
  signal_record record;
  /// False when the dedupe key matched an existing signal (or an earlier
  /// item of the same batch).
  bool created = false;
};

/// Inserts `items` (already validated) into tenant `slug`'s signals in the
/// caller's transaction, in one statement. It first takes the tenant's emit
/// lock (a transaction-scoped advisory lock held until COMMIT), so seq
/// numbers are assigned in commit order. A dedupe key that already exists
/// yields the original signal (`created` false) and no row; repeated keys
/// inside `items` resolve to the first of them. When anything was inserted,
/// `pg_notify(signals_channel, "<slug>:<max seq>")` is queued for COMMIT.
/// Results are in the order of `items`.
caf::expected<std::vector<inserted_signal>>
insert_signals(pg_session& db, std::string_view slug,
               const std::vector<new_signal>& items);

// -- reading ------------------------------------------------------------------

/// Filters of `list_signals`; empty members do not filter.
struct signal_filter {
  /// Types starting with this text (plain prefix: "forum.post." or
  /// "forum.post.created").
  std::string type_prefix;
  std::string actor_id;
  std::string actor_kind;
  std::string correlation_id;
  /// occurred_at >= since, occurred_at < until (RFC 3339).
  std::string since;
  std::string until;
  /// Only signals with seq < before_seq (the cursor); 0: from the newest.
  int64_t before_seq = 0;
  /// 1 .. max_signal_page.
  int limit = 50;
};

/// Most signals `list_signals` returns at once.
inline constexpr int max_signal_page = 500;

/// One page of signals, newest first.
struct signal_page {
  std::vector<signal_record> records;
  /// The `before_seq` of the next page; 0 when this page is the last.
  int64_t next_before_seq = 0;
};

/// Signals of tenant `slug` matching `filter`, newest (highest seq) first.
caf::expected<signal_page> list_signals(pg_session& db, std::string_view slug,
                                        const signal_filter& filter);

/// Signal `id` of tenant `slug`, or nullopt (also for text that is no
/// UUID).
caf::expected<std::optional<signal_record>>
get_signal(pg_session& db, std::string_view slug, std::string_view id);

// -- following ------------------------------------------------------------------

/// Signals of tenant `slug` with seq > `after_seq`, ascending, at most
/// `limit`; only types starting with one of `type_prefixes` when that is
/// not empty. For SSE catch-up and the pubsub hub.
caf::expected<std::vector<signal_record>>
signals_after(pg_session& db, std::string_view slug, int64_t after_seq,
              int limit, const std::vector<std::string>& type_prefixes = {});

/// The seq of signal `id` of tenant `slug`, or nullopt when there is none.
caf::expected<std::optional<int64_t>>
signal_seq(pg_session& db, std::string_view slug, std::string_view id);

/// The highest seq of tenant `slug` (0 when it has no signals).
caf::expected<int64_t> last_signal_seq(pg_session& db, std::string_view slug);

} // namespace fp::storage
