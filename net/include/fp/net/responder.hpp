#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "fp/net/http_types.hpp"

namespace fp::net {

/// A server-sent-events body: a bounded queue of shared immutable chunks
/// written one at a time. Thread-safe. A consumer that falls behind by more
/// than the queue limit is disconnected rather than slowing the producer.
class stream_writer {
public:
  virtual ~stream_writer();

  /// Queues `chunk` (bytes sent as they are, e.g. "data: x\n\n"). Returns
  /// false, and closes the stream, when the queue limit would be exceeded;
  /// returns false when the stream is already closed.
  virtual bool write(std::shared_ptr<const std::string> chunk) = 0;

  /// Ends the stream after the queued chunks are sent. Idempotent.
  virtual void close() = 0;

  /// True once the stream ended or is ending (by either side).
  virtual bool closed() const noexcept = 0;

  /// Bytes queued and not yet handed to the socket (0 when none wait).
  /// Producers that replay a backlog pace themselves by it.
  virtual std::size_t queued_bytes() const noexcept {
    return 0;
  }

  /// When set, a `write` that would exceed the queue limit drops the queued
  /// chunks and ends the stream gracefully after sending `chunk` (e.g. an
  /// SSE `retry:` hint), instead of cutting the connection at once. The
  /// notice is sent past the limit; `write` still returns false.
  virtual void set_overflow_notice(std::shared_ptr<const std::string> chunk) {
    (void) chunk;
  }

  /// Sets the callback run once when the stream ends for any reason (client
  /// gone, queue overflow, `close()`, server stop). It runs on an io thread
  /// and must not block; it runs at once when the stream already ended.
  virtual void on_close(std::function<void()> fn) = 0;
};

using stream_writer_ptr = std::shared_ptr<stream_writer>;

/// While one is alive on a thread, stream writes made on that thread that
/// need their connection woken do not post one wake-up each: they go to the
/// io threads in tasks of a few hundred, the last at the scope's end. For
/// producers writing one event to many streams at once (SSE
/// fan-out). Scopes nest; only the outermost one flushes.
class stream_write_batch {
public:
  stream_write_batch();
  ~stream_write_batch();

  stream_write_batch(const stream_write_batch&) = delete;
  stream_write_batch& operator=(const stream_write_batch&) = delete;

private:
  bool outer_;
};

/// The one-shot answer channel of one request. Handlers may keep it and
/// answer later from any thread (typically from an actor's response
/// callback); the answer is posted onto the connection's strand. Answers for
/// a client that went away, or after the request timed out, are dropped.
class responder {
public:
  responder(const responder&) = delete;
  responder& operator=(const responder&) = delete;
  virtual ~responder();

  /// The request being answered.
  const request_context& context() const noexcept {
    return ctx_;
  }

  /// Sends `res`. Thread-safe; only the first answer (response or stream)
  /// counts. Returns false when an answer was already given.
  bool send(http_response res);

  /// Sends the problem+json for `err` (see `from_error`).
  bool fail(const caf::error& err);

  /// Starts a `text/event-stream` response with `headers` added. Returns
  /// nullptr when an answer was already given or streaming is unsupported.
  stream_writer_ptr start_stream(header_list headers = {});

  /// True once `send` or `start_stream` was called.
  bool answered() const noexcept {
    return answered_.load(std::memory_order_acquire);
  }

protected:
  explicit responder(request_context ctx);

  /// Delivers the (first) response.
  virtual void deliver(http_response res) = 0;

  /// Opens the stream for the (first) `start_stream` call.
  virtual stream_writer_ptr open_stream(header_list headers) = 0;

  request_context ctx_;

private:
  std::atomic<bool> answered_{false};
};

using responder_ptr = std::shared_ptr<responder>;

/// A responder that hands its response to `fn` on the answering thread (no
/// server involved): for unit tests of handlers and for handlers that
/// compose other handlers. Streams are not supported.
responder_ptr make_capturing_responder(request_context ctx,
                                       std::function<void(http_response)> fn);

} // namespace fp::net
