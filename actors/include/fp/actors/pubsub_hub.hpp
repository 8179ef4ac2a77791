#pragma once

// The pubsub hub: fans committed signals out to live subscribers (SSE
// streams). A listener on the `fp_signals` NOTIFY channel tells the hub which
// tenant has new signals; the hub fetches them once, formats each SSE event
// once and shares that buffer among all of the tenant's subscribers.
// Subscribers resuming from an older position are served from a small ring
// of recent events or, further back, from PostgreSQL, page by page, and then
// join the live feed without a gap or a duplicate.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "fp/runtime/actor_directory.hpp"
#include "fp/runtime/actor_slot.hpp"
#include "fp/runtime/interfaces.hpp"
#include "fp/runtime/metrics.hpp"
#include "fp/runtime/type_ids.hpp"
#include "fp/storage/signals.hpp"

namespace fp::actors {

/// Where the hub writes one subscriber's stream (net adapts an SSE stream
/// writer to it). Every call comes from the hub's thread and must not block.
class signal_sink {
public:
  virtual ~signal_sink();

  /// Queues `chunk` for sending. False when the sink cannot take it (its
  /// bounded buffer is full, or it is closed): the hub then drops the
  /// subscriber and ends the stream with a `retry:` hint.
  virtual bool push(std::shared_ptr<const std::string> chunk) = 0;

  /// Bytes queued and not yet sent; the hub paces catch-up by it (0 when
  /// nothing waits).
  virtual std::size_t queued_bytes() const = 0;

  /// Ends the stream after `last` (may be null) and what is queued before
  /// it. Idempotent.
  virtual void close_with(std::shared_ptr<const std::string> last) = 0;

  /// Opens a scope, held by the hub while it pushes one event to many
  /// sinks, at whose end sinks of this kind hand their writes to their
  /// threads together instead of one by one. Null when there is nothing to
  /// gain.
  virtual std::shared_ptr<void> open_batch() const {
    return nullptr;
  }
};

using signal_sink_ptr = std::shared_ptr<signal_sink>;

/// Renders one signal as the JSON object clients see (the REST form), on a
/// single line.
using signal_formatter = std::function<std::string(const storage::signal_record&)>;

/// One subscription.
struct subscribe_request {
  /// The tenant: the caller's bound organization, never a request parameter.
  std::string slug;
  /// Only types starting with one of these; empty: every type.
  std::vector<std::string> type_prefixes;
  /// Deliver signals with seq > this; nullopt: only signals committed from
  /// now on.
  std::optional<int64_t> after_seq;
  signal_sink_ptr sink;
};

/// The hub:
///   describe                      -> own status
///   (subscribe, subscribe_request) -> subscriber id
///   (unsub, id)                   -> drops a subscriber (its stream closed)
///   (notify, "<slug>:<seq>")      -> from the listener: new signals
///   wake                          -> from the listener: re-read every feed
///                                    (its connection was lost meanwhile)
///   tick                          -> internal: heartbeat
///   (check, id)                   -> internal: continue a catch-up
using pubsub_hub_actor = caf::typed_actor<
  runtime::describe_sig,
  caf::replies_to<subscribe_atom, subscribe_request>::with<uint64_t>,
  caf::reacts_to<unsub_atom, uint64_t>, caf::reacts_to<notify_atom, std::string>,
  caf::reacts_to<wake_atom>, caf::reacts_to<tick_atom>,
  caf::reacts_to<check_atom, uint64_t>>;

/// What the hub needs.
struct pubsub_options {
  /// The storage pool (through its slot, so restarts are followed).
  runtime::actor_slot_ptr storage_pool;
  /// Connection string of the listener's own connection.
  std::string conninfo;
  std::chrono::milliseconds connect_timeout{5000};
  /// Where the listener is enrolled (kind "pubsub_listener"); may be null.
  runtime::actor_directory* directory = nullptr;
  /// Where the hub's metrics go (fp_sse_*); may be null. Must outlive it.
  runtime::metrics_registry* metrics = nullptr;
  /// Renders a signal's JSON; when empty a minimal built-in form is used.
  signal_formatter format;
  /// A comment line goes to every subscriber this often.
  std::chrono::milliseconds heartbeat{15000};
  /// Reconnect delay suggested to a dropped subscriber (`retry:`).
  std::chrono::milliseconds retry_hint{2000};
  /// Recent events kept per tenant for resuming subscribers.
  std::size_t ring_size = 1024;
  /// Signals per fetch from PostgreSQL (live feed and catch-up pages).
  int page_size = 256;
  /// A catching-up subscriber gets its events in bursts of at most this
  /// many events and bytes (at least one event), each once its buffer is
  /// empty, so catch-up never overflows the buffer that cuts off slow
  /// readers of the live feed.
  std::size_t burst_events = 128;
  std::size_t burst_bytes = 256 * 1024;
  /// Live events go out joined into chunks of up to this many bytes.
  std::size_t slice_bytes = 64 * 1024;
  /// How often a catching-up subscriber's buffer is checked for room.
  std::chrono::milliseconds burst_poll{5};
};

/// The SSE frame of one signal: `id: <id>\nevent: <type>\ndata: <json>\n\n`.
std::string sse_frame(const storage::signal_record& rec,
                      const signal_formatter& format);

/// True when `type` starts with one of `prefixes` (or `prefixes` is empty).
bool type_matches(std::string_view type,
                  const std::vector<std::string>& prefixes) noexcept;

/// Parses a `fp_signals` payload "<slug>:<seq>"; false when malformed.
bool parse_signal_notice(std::string_view payload, std::string& slug,
                         int64_t& seq);

/// Spawns the hub (kind "pubsub_hub") and its listener, a detached actor
/// linked to it.
pubsub_hub_actor spawn_pubsub_hub(caf::local_actor* parent,
                                  pubsub_options opts);

} // namespace fp::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fp::actors::subscribe_request)
