#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "fp/config/settings.hpp"
#include "fp/net/router.hpp"
#include "fp/runtime/metrics.hpp"

namespace fp::net {

/// Limits and timeouts of the HTTP server.
struct server_options {
  std::string host = "127.0.0.1";
  /// 0 picks an ephemeral port (see `http_server::port`).
  uint16_t port = 0;
  unsigned io_threads = 1;
  /// Largest accepted request body (413 beyond, then the connection closes).
  std::size_t body_limit = 1024 * 1024;
  /// Largest accepted request header block (431 beyond).
  std::size_t header_limit = 16 * 1024;
  /// Connections above this are answered 503 and closed.
  unsigned max_connections = 10000;
  /// From the first byte of a request until its header is complete
  /// (slowloris protection); also how long a new connection may stay silent.
  std::chrono::milliseconds header_timeout{10000};
  /// Reading a body, and writing any response.
  std::chrono::milliseconds read_timeout{30000};
  /// A keep-alive connection waiting for its next request.
  std::chrono::milliseconds idle_timeout{60000};
  /// A handler that has not answered by then gets 504.
  std::chrono::milliseconds request_timeout{30000};
  /// Streams: most chunks, and most bytes, queued for one slow client.
  std::size_t stream_queue_chunks = 256;
  std::size_t stream_queue_bytes = 1024 * 1024;
  /// Value of the `Server` header.
  std::string server_name = "fleetprompt";

  /// The HTTP part of the process settings.
  static server_options from(const config::settings& s);
};

/// The Beast HTTP/1.1 server: io threads, acceptor and sessions. Requests are
/// routed by an immutable router; handlers answer through a responder.
/// Every response carries `X-Request-Id`, `traceparent`, `Date` and `Server`.
class http_server {
public:
  /// Binds, listens and starts `opts.io_threads` io threads. `metrics` must
  /// outlive the server and every responder it handed out.
  static caf::expected<std::unique_ptr<http_server>>
  start(server_options opts, std::shared_ptr<const router> routes,
        runtime::metrics_registry& metrics);

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Stops with the configured grace of zero when not stopped before.
  ~http_server();

  /// The bound port (the real one when `opts.port` was 0).
  uint16_t port() const noexcept;

  /// Number of open client connections.
  std::size_t connections() const noexcept;

  /// Stops accepting, closes idle keep-alive connections and streams, lets
  /// in-flight requests finish until `grace` has passed, then closes what
  /// is left and joins the io threads. Idempotent; blocks the caller, so it
  /// must not be called from a handler (an io thread).
  void stop(std::chrono::milliseconds grace);

  struct impl;

private:
  explicit http_server(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace fp::net
