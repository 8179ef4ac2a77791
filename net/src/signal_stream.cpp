// The SSE stream of a tenant's signals. The handler only resolves the
// resume point and adapts the stream writer to the hub's sink interface;
// fan-out, catch-up and slow-subscriber handling live in the pubsub hub.

#include "fp/net/signal_stream.hpp"

#include <algorithm>
#include <memory>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "fp/actors/pubsub_hub.hpp"
#include "fp/net/auth.hpp"
#include "fp/net/bridge.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/log.hpp"
#include "fp/runtime/type_ids.hpp"
#include "fp/storage/signals.hpp"
#include "route_support.hpp"

namespace fp::net {

namespace {

using runtime::errc;
using runtime::make_error;

constexpr std::size_t max_prefixes = 32;
constexpr std::size_t max_prefix_size = 200;

bool prefix_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool hex_digit(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
         || (c >= 'A' && c <= 'F');
}

/// The hub's view of one SSE stream.
class writer_sink final : public actors::signal_sink {
public:
  explicit writer_sink(stream_writer_ptr writer) : writer_(std::move(writer)) {
    // nop
  }

  bool push(std::shared_ptr<const std::string> chunk) override {
    return writer_->write(std::move(chunk));
  }

  std::size_t queued_bytes() const override {
    return writer_->queued_bytes();
  }

  void close_with(std::shared_ptr<const std::string> last) override {
    if (last)
      writer_->write(std::move(last));
    writer_->close();
  }

  std::shared_ptr<void> open_batch() const override {
    return std::make_shared<stream_write_batch>();
  }

private:
  stream_writer_ptr writer_;
};

std::shared_ptr<const std::string> retry_chunk() {
  static const auto chunk = std::make_shared<const std::string>(
    "retry: " + std::to_string(signal_stream_retry_ms) + "\n\n");
  return chunk;
}

/// Opens the stream and registers it with the hub, resuming after
/// `after_seq` (nullopt: new signals only).
void open_stream(const spine_services& svc, const responder_ptr& res,
                 const principal& who, std::vector<std::string> prefixes,
                 std::optional<int64_t> after_seq) {
  auto hub = svc.pubsub ? svc.pubsub->get_as<actors::pubsub_hub_actor>()
                        : actors::pubsub_hub_actor{};
  if (!hub) {
    res->fail(make_error(errc::unavailable, "the signal stream is not running"));
    return;
  }
  auto writer = res->start_stream({{"Cache-Control", "no-store"},
                                   {"X-Accel-Buffering", "no"}});
  if (!writer)
    return;
  writer->set_overflow_notice(retry_chunk());
  writer->write(std::make_shared<const std::string>(
    "retry: " + std::to_string(signal_stream_retry_ms) + "\n\n: signals of "
    + who.org_slug + "\n\n"));
  actors::subscribe_request req;
  req.slug = who.org_slug;
  req.type_prefixes = std::move(prefixes);
  req.after_seq = after_seq;
  req.sink = std::make_shared<writer_sink>(writer);
  ask<uint64_t>(
    *svc.sys, hub, svc.timeout,
    [writer, hub](uint64_t id) {
      if (id == 0) {
        writer->close();
        return;
      }
      // Runs at once when the stream already ended.
      writer->on_close([hub, id] { caf::anon_send(hub, unsub_atom_v, id); });
    },
    [writer](caf::error&&) {
      writer->write(retry_chunk());
      writer->close();
    },
    subscribe_atom_v, std::move(req));
}

} // namespace

caf::expected<std::vector<std::string>> parse_type_prefixes(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{}
                                           : text.substr(comma + 1);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (!item.empty() && item.back() == '*')
      item.remove_suffix(1);
    if (item.empty())
      continue;
    if (item.size() > max_prefix_size)
      return make_error(errc::invalid_argument, "a type prefix is too long");
    for (char c : item)
      if (!prefix_char(c))
        return make_error(errc::invalid_argument,
                          "type prefixes hold letters, digits, '.', '_' and '-'");
    if (std::find(out.begin(), out.end(), item) == out.end())
      out.emplace_back(item);
    if (out.size() > max_prefixes)
      return make_error(errc::invalid_argument,
                        "at most " + std::to_string(max_prefixes)
                          + " type prefixes");
  }
  return out;
}

bool uuid_text(std::string_view id) noexcept {
  if (id.size() != 36)
    return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !hex_digit(id[i]))
      return false;
  }
  return true;
}

void add_signal_stream_routes(router& r, const spine_services& svc) {
  auto doc = detail::auth_doc(
    "Streams the organization's signals as server-sent events", "signals");
  doc.description
    = "Each event's id is the signal id, its name the signal type, its data "
      "the signal as JSON. Resume with Last-Event-ID (or ?last_event_id=): "
      "no gap, no duplicate. ?types=a.b,c. keeps types with these prefixes. "
      "A comment heartbeat arrives periodically; a client too slow for its "
      "buffer is disconnected with a retry: hint and resumes losing nothing.";
  doc.success_type = "text/event-stream";
  r.add(
    "GET", "/api/v1/signals/stream",
    detail::tenant_route(
      svc.auth, actors::action::tenant_read,
      [svc](const request_context& ctx, const responder_ptr& res,
            principal who) {
        auto prefixes = parse_type_prefixes(ctx.request.query_param("types"));
        if (!prefixes) {
          res->fail(prefixes.error());
          return;
        }
        std::string last_id{ctx.request.header("last-event-id")};
        if (last_id.empty())
          last_id = ctx.request.query_param("last_event_id");
        if (last_id.empty()) {
          open_stream(svc, res, who, std::move(*prefixes), std::nullopt);
          return;
        }
        auto unknown = [] {
          return make_error(errc::bad_request,
                            "Last-Event-ID names no signal of this organization");
        };
        if (!uuid_text(last_id)) {
          res->fail(unknown());
          return;
        }
        run_db<std::optional<int64_t>>(
          *svc.sys, svc.storage_pool, svc.timeout, "signals.stream_resume",
          [slug = who.org_slug, last_id](storage::pg_session& db) {
            return storage::signal_seq(db, slug, last_id);
          },
          [svc, res, who, unknown,
           prefixes = std::move(*prefixes)](std::optional<int64_t>&& seq) mutable {
            if (!seq) {
              res->fail(unknown());
              return;
            }
            open_stream(svc, res, who, std::move(prefixes), *seq);
          },
          detail::fail_to(res), false);
      }),
    std::move(doc));
}

} // namespace fp::net
