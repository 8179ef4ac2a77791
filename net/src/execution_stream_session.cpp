// The parts every agent SSE stream shares.

#include "execution_stream_session.hpp"

#include <caf/all.hpp>

#include "fp/net/bridge.hpp"
#include "fp/net/signal_stream.hpp"

namespace fp::net {

namespace stream_detail {

std::shared_ptr<const std::string> heartbeat_chunk() {
  static const auto chunk = std::make_shared<const std::string>(": keep-alive\n\n");
  return chunk;
}

std::shared_ptr<const std::string> retry_chunk() {
  static const auto chunk = std::make_shared<const std::string>(
    "retry: " + std::to_string(signal_stream_retry_ms) + "\n\n");
  return chunk;
}

void append_event(std::string& out, std::string_view id, std::string_view name,
                  std::string_view data) {
  if (!id.empty())
    out.append("id: ").append(id).append("\n");
  out.append("event: ").append(name).append("\ndata: ").append(data).append(
    "\n\n");
}

void attach(const spine_services& spine, const stream_writer_ptr& writer,
            std::string key, std::shared_ptr<feed_session> session) {
  auto hub = spine.execution_streams
               ? spine.execution_streams->get_as<execution_stream_actor>()
               : execution_stream_actor{};
  stream_watch_request req{std::move(key), session};
  ask<uint64_t>(
    *spine.sys, hub, spine.timeout,
    [writer, hub, session](uint64_t id) {
      if (id == 0) {
        writer->close();
        return;
      }
      // Runs at once when the stream already ended.
      writer->on_close([hub, id] { caf::anon_send(hub, unsub_atom_v, id); });
      session->wake();
    },
    [writer](caf::error&&) {
      writer->write(retry_chunk());
      writer->close();
    },
    subscribe_atom_v, std::move(req));
}

stream_writer_ptr start(const responder_ptr& res, const std::string& what) {
  auto writer = res->start_stream({{"Cache-Control", "no-store"},
                                   {"X-Accel-Buffering", "no"}});
  if (!writer)
    return nullptr;
  writer->set_overflow_notice(retry_chunk());
  writer->write(std::make_shared<const std::string>(
    "retry: " + std::to_string(signal_stream_retry_ms) + "\n\n: " + what
    + "\n\n"));
  return writer;
}

} // namespace stream_detail

std::size_t complete_utf8_prefix(std::string_view text) noexcept {
  auto n = text.size();
  // Look back at most 3 bytes for the lead byte of a trailing sequence.
  for (std::size_t back = 1; back <= 4 && back <= n; ++back) {
    auto c = static_cast<unsigned char>(text[n - back]);
    if ((c & 0xC0) == 0x80)
      continue; // continuation byte
    std::size_t need = c < 0x80           ? 1
                       : (c & 0xE0) == 0xC0 ? 2
                       : (c & 0xF0) == 0xE0 ? 3
                       : (c & 0xF8) == 0xF0 ? 4
                                            : 1;
    return back >= need ? n : n - back;
  }
  return n;
}

} // namespace fp::net
