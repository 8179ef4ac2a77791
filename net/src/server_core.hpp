#pragma once

// Private to the server translation units: the state shared by the listener
// and the sessions, and the session class itself. Beast and Asio appear only
// here and in http_session.cpp / http_server.cpp.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>

#include "fp/net/http_server.hpp"
#include "fp/net/responder.hpp"
#include "fp/net/router.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/metrics.hpp"

namespace fp::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using steady = std::chrono::steady_clock;

class http_session;

// -- server_core ------------------------------------------------------------------

/// Everything sessions share. Owned through a shared_ptr: responders hold a
/// weak_ptr so an answer arriving after the server is gone is dropped
/// instead of touching a destroyed io_context.
struct server_core {
  server_core(server_options o, std::shared_ptr<const router> r,
              runtime::metrics_registry& m);

  server_options opts;
  std::shared_ptr<const router> routes;
  runtime::metrics_registry& metrics;

  // -- metrics (series resolved once; hot paths keep the references) --------
  runtime::gauge& connections_gauge;
  runtime::counter& rejected_counter;
  /// Duration histogram by route index; the last entry is "unmatched".
  std::vector<runtime::histogram*> durations;

  /// The route index used for requests that matched no route.
  uint32_t unmatched_index() const noexcept {
    return static_cast<uint32_t>(durations.size() - 1);
  }

  /// Counter for (route index, method label index, status), created on
  /// first use.
  runtime::counter& requests_counter(uint32_t route_index,
                                     unsigned method_index, int status);

  // -- live sessions ---------------------------------------------------------
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> live{0};

  uint64_t enroll(const std::shared_ptr<http_session>& s);
  void remove(uint64_t id) noexcept;
  std::vector<std::shared_ptr<http_session>> sessions_snapshot();
  /// Waits until no session is left or `deadline` passes.
  bool wait_drained(steady::time_point deadline);

  std::mutex sessions_mtx;
  std::condition_variable sessions_cv;
  uint64_t next_session_id = 1;
  std::unordered_map<uint64_t, std::weak_ptr<http_session>> sessions;

  std::mutex counters_mtx;
  std::unordered_map<uint64_t, runtime::counter*> counters;

  /// Declared last so it is destroyed first: destroying it destroys pending
  /// handlers and with them sessions, which still use the members above.
  asio::io_context ioc;
};

/// Label of a request method for metrics ("GET" .. "OPTIONS", else "OTHER"),
/// so arbitrary methods cannot blow up the series count.
unsigned method_index(std::string_view method) noexcept;
const char* method_label(unsigned index) noexcept;

// -- request_parser ------------------------------------------------------------

/// Beast's HTTP/1 parser writing straight into an `http_request`: header
/// names are lower-cased once here, and no intermediate Beast message is
/// built.
class request_parser final : public beast::http::basic_parser<true> {
public:
  explicit request_parser(http_request& out) : req_(out) {
    // nop
  }

  bool expect_continue() const noexcept {
    return expect_continue_;
  }

private:
  void on_request_impl(beast::http::verb, beast::string_view method,
                       beast::string_view target, int version,
                       error_code& ec) override;
  void on_response_impl(int, beast::string_view, int, error_code& ec) override;
  void on_field_impl(beast::http::field, beast::string_view name,
                     beast::string_view value, error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         error_code& ec) override;
  std::size_t on_body_impl(beast::string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, beast::string_view,
                            error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                                 error_code& ec) override;
  void on_finish_impl(error_code& ec) override;

  http_request& req_;
  bool expect_continue_ = false;
};

// -- stream_state ----------------------------------------------------------------

/// Shared between a stream_writer (any thread) and its session (strand).
struct stream_state {
  std::mutex mtx;
  std::deque<std::shared_ptr<const std::string>> queue;
  std::size_t queued_bytes = 0;
  std::size_t max_chunks = 0;
  std::size_t max_bytes = 0;
  /// A write is in flight or scheduled (also true until the header is out).
  bool pumping = true;
  /// `close()` was called: finish the queue, then end the stream.
  bool closing = false;
  /// The stream ended; nothing more is written.
  bool ended = false;
  std::function<void()> on_close;
  std::weak_ptr<server_core> core;
  std::weak_ptr<http_session> session;
};

// -- http_session ----------------------------------------------------------------

/// One client connection. Every member function runs on the connection's
/// strand; other threads reach it only through `asio::post`.
class http_session : public std::enable_shared_from_this<http_session> {
public:
  http_session(tcp::socket&& socket, server_core& core,
               std::weak_ptr<server_core> weak_core);
  ~http_session();

  /// Enrolls the session and starts reading (posted onto the strand).
  void start();

  /// The server is stopping: close when idle, otherwise finish the request
  /// in flight and close after its response.
  void on_server_stop();

  /// Closes the connection now.
  void force_close();

  /// A responder's answer for request number `seq`.
  void on_response(uint64_t seq, http_response res);

  /// A responder started a stream for request number `seq`.
  void on_stream_start(uint64_t seq, std::shared_ptr<stream_state> st,
                       header_list headers);

  /// A stream writer queued data or asked to close: write what is queued.
  void stream_pump();

  /// A stream writer overflowed: end the stream and the connection.
  void stream_abort();

  asio::any_io_executor executor() {
    return socket_.get_executor();
  }

private:
  enum class phase : uint8_t {
    idle,      // waiting for the first byte of a request
    header,    // reading the header
    body,      // reading the body
    handling,  // the handler has the request
    writing,   // writing a response
    streaming, // writing a stream
    closing,   // sent the last response, draining before close
    closed,
  };

  // Reading and parsing.
  void do_read_request();
  void do_read_some();
  void on_read(error_code ec, std::size_t n);
  void parse_buffered();
  void on_parse_error(error_code ec);
  void begin_exchange();

  // Dispatching and answering.
  void dispatch();
  void write_response(http_response res);
  void on_write(error_code ec, std::size_t n);
  void record(int status);
  std::string_view req_method_label() const noexcept;

  // Streams.
  void on_stream_header_written(error_code ec);
  void stream_write_next();
  void on_stream_write(error_code ec, std::size_t n);
  void do_stream_read();
  void end_stream(bool graceful);

  // Deadlines: one timer per session; the deadline moves with the phase.
  void set_deadline(std::chrono::milliseconds d);
  void clear_deadline() noexcept;
  void arm_timer(steady::time_point at);
  void on_timer(error_code ec, uint64_t gen);
  void on_deadline();

  // Closing.
  void graceful_close();
  void do_drain();
  void close_now();

  tcp::socket socket_;
  asio::steady_timer timer_;
  server_core& core_;
  std::weak_ptr<server_core> weak_core_;
  uint64_t id_ = 0;
  std::string remote_;

  phase phase_ = phase::idle;
  bool first_request_ = true;
  bool stop_requested_ = false;
  steady::time_point deadline_ = steady::time_point::max();
  uint64_t timer_gen_ = 0;
  std::size_t drained_ = 0;

  beast::flat_buffer buffer_;
  http_request req_;
  std::optional<request_parser> parser_;
  bool continue_sent_ = false;

  // The request being answered.
  uint64_t seq_ = 0;
  steady::time_point started_;
  std::string request_id_;
  runtime::trace_context trace_;
  std::string traceparent_;
  std::string path_;
  std::string_view route_name_; // into the router, or "unmatched"
  uint32_t route_index_ = 0;
  unsigned method_index_ = 0;
  bool head_ = false;
  bool keep_alive_ = false;
  unsigned version_ = 11;

  // The response being written (kept alive until the write completes).
  std::string head_buf_;
  std::string body_buf_;
  int status_ = 0;

  // The stream, when streaming.
  std::shared_ptr<stream_state> stream_;
  std::shared_ptr<const std::string> stream_chunk_;
  char chunk_head_[24];
  std::size_t chunk_head_len_ = 0;
  bool chunked_ = false;
  char read_sink_[512];
};

// -- responses -------------------------------------------------------------------

/// The current `Date` header value (cached per second and thread).
std::string_view http_date();

/// What the server adds to every response head.
struct head_info {
  std::string_view server;
  std::string_view request_id;
  std::string_view traceparent;
  /// Content-Length to send; none for streams and bodyless statuses.
  std::optional<std::size_t> content_length;
  bool keep_alive = false;
  unsigned version = 11;
};

/// Writes status line and headers of `res` (not its body) into `out`.
void serialize_head(std::string& out, const http_response& res,
                    const head_info& info);

} // namespace fp::net
