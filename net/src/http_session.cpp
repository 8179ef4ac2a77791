#include "server_core.hpp"

#include <array>
#include <charconv>
#include <ctime>

#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>

#include "fp/net/json.hpp"
#include "fp/net/problem.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/log.hpp"

namespace fp::net {

namespace log = runtime::log;
namespace http = beast::http;

namespace {

// Bytes asked for per read; bodies arrive in pieces of this size.
constexpr std::size_t read_size = 16 * 1024;
// After the last response of a connection, how long and how much unread
// input is discarded before closing, so the client reads the response
// instead of a connection reset.
constexpr auto linger_time = std::chrono::milliseconds{1000};
constexpr std::size_t linger_bytes = 1024 * 1024;

constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view last_chunk = "0\r\n\r\n";
constexpr std::string_view crlf = "\r\n";

char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Header values from handlers must not split the header block.
void append_sanitized(std::string& out, std::string_view text) {
  for (char c : text)
    out.push_back(c == '\r' || c == '\n' ? ' ' : c);
}

void append_number(std::string& out, std::size_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n);
  out.append(buf, end);
}

// A stream write gathers at most this many queued chunks and bytes (at
// least one chunk), and a session writes at most this many gathers in a row
// before letting other sessions on its io thread go first. 31 chunks take
// 63 buffers: asio passes at most 64 to one system call.
constexpr std::size_t max_gather = 31;
constexpr std::size_t max_gather_bytes = 64 * 1024;
constexpr int max_direct_rounds = 4;

/// A buffer sequence over an array of buffers.
struct buffer_span {
  const asio::const_buffer* first;
  const asio::const_buffer* last;
  const asio::const_buffer* begin() const noexcept {
    return first;
  }
  const asio::const_buffer* end() const noexcept {
    return last;
  }
};

/// Ends a stream's state: nothing more is written, the on-close callback
/// runs once (here, on the session's strand).
void finish_stream_state(const std::shared_ptr<stream_state>& st) {
  if (!st)
    return;
  std::function<void()> fn;
  {
    std::lock_guard<std::mutex> guard{st->mtx};
    if (st->ended)
      return;
    st->ended = true;
    st->closing = true;
    st->queue.clear();
    st->queued_bytes = 0;
    fn = std::move(st->on_close);
  }
  if (fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      log::error("stream on-close callback threw", {{"error", e.what()}});
    } catch (...) {
      log::error("stream on-close callback threw");
    }
  }
}

/// Posts `fn(session)` onto the session's strand when both the server and
/// the session still exist; otherwise does nothing.
template <class F>
bool post_to_session(const std::weak_ptr<server_core>& weak_core,
                     const std::weak_ptr<http_session>& weak_session, F fn) {
  // Locking the core first keeps its io_context alive while posting.
  auto core = weak_core.lock();
  if (!core)
    return false;
  auto s = weak_session.lock();
  if (!s)
    return false;
  auto ex = s->executor();
  asio::post(ex, [s = std::move(s), fn = std::move(fn)]() mutable { fn(*s); });
  return true;
}

// -- stream write batches ------------------------------------------------------

/// Wake-ups collected by the thread's outermost stream_write_batch.
struct pending_kicks {
  std::weak_ptr<server_core> core;
  std::vector<std::shared_ptr<http_session>> sessions;
};

thread_local pending_kicks* current_kicks = nullptr;

/// Wake-ups a batch hands over per task: the io threads start on the first
/// ones while the producer is still writing to the others.
constexpr std::size_t kicks_per_task = 256;

/// Posts one task onto `core`'s io threads that wakes `sessions`,
/// dispatching onto each one's strand (inline when the strand is idle),
/// instead of one cross-thread post per session.
void post_kicks(const std::weak_ptr<server_core>& weak_core,
                std::vector<std::shared_ptr<http_session>> sessions) {
  auto core = weak_core.lock();
  if (!core || sessions.empty())
    return;
  asio::post(core->ioc, [sessions = std::move(sessions)]() mutable {
    for (auto& s : sessions) {
      auto ex = s->executor();
      asio::dispatch(ex, [s = std::move(s)] { s->stream_pump(); });
    }
  });
}

/// Wakes `st`'s session: now, or at the end of the thread's batch.
bool kick_session(const std::shared_ptr<stream_state>& st) {
  auto* batch = current_kicks;
  if (!batch)
    return post_to_session(st->core, st->session,
                           [](http_session& s) { s.stream_pump(); });
  if (st->core.owner_before(batch->core) || batch->core.owner_before(st->core)) {
    // Another server (tests run several): flush what belongs to the first.
    if (!batch->sessions.empty())
      post_kicks(batch->core, std::move(batch->sessions));
    batch->sessions.clear();
    batch->core = st->core;
  }
  if (st->core.expired())
    return false;
  auto s = st->session.lock();
  if (!s)
    return false;
  batch->sessions.push_back(std::move(s));
  if (batch->sessions.size() >= kicks_per_task) {
    post_kicks(batch->core, std::move(batch->sessions));
    batch->sessions.clear();
    batch->sessions.reserve(kicks_per_task);
  }
  return true;
}

} // namespace

stream_write_batch::stream_write_batch() : outer_(current_kicks == nullptr) {
  if (outer_)
    current_kicks = new pending_kicks;
}

stream_write_batch::~stream_write_batch() {
  if (!outer_)
    return;
  std::unique_ptr<pending_kicks> batch{current_kicks};
  current_kicks = nullptr;
  try {
    post_kicks(batch->core, std::move(batch->sessions));
  } catch (...) {
    // Out of memory: the sessions' streams stall until their next write or
    // heartbeat wakes them; nothing else can be done in a destructor.
  }
}

namespace {

// -- stream writer -------------------------------------------------------------

class session_stream_writer final : public stream_writer {
public:
  explicit session_stream_writer(std::shared_ptr<stream_state> st)
    : st_(std::move(st)) {
    // nop
  }

  ~session_stream_writer() override {
    // A producer that forgot to close must not leave the client hanging.
    close();
  }

  bool write(std::shared_ptr<const std::string> chunk) override {
    if (!chunk)
      return !closed();
    bool kick = false;
    bool overflow = false;
    bool refused = false;
    {
      std::lock_guard<std::mutex> guard{st_->mtx};
      if (st_->ended || st_->closing)
        return false;
      if (chunk->empty())
        return true; // an empty chunk would end a chunked body
      if (st_->queue.size() + 1 > st_->max_chunks
          || st_->queued_bytes + chunk->size() > st_->max_bytes) {
        // A slow consumer is cut off rather than buffered without bound.
        st_->closing = true;
        st_->queue.clear();
        st_->queued_bytes = 0;
        if (overflow_notice_) {
          // Ends gracefully after the notice (and any write in flight).
          refused = true;
          st_->queued_bytes = overflow_notice_->size();
          st_->queue.push_back(std::move(overflow_notice_));
          overflow_notice_.reset();
          if (!st_->pumping) {
            st_->pumping = true;
            kick = true;
          }
        } else {
          overflow = true;
        }
      } else {
        st_->queued_bytes += chunk->size();
        st_->queue.push_back(std::move(chunk));
        if (!st_->pumping) {
          st_->pumping = true;
          kick = true;
        }
      }
    }
    if (overflow) {
      if (!post_to_session(st_->core, st_->session,
                           [](http_session& s) { s.stream_abort(); }))
        finish_stream_state(st_);
      return false;
    }
    if (kick && !kick_session(st_))
      finish_stream_state(st_);
    return !refused;
  }

  void close() override {
    bool kick = false;
    {
      std::lock_guard<std::mutex> guard{st_->mtx};
      if (st_->ended || st_->closing)
        return;
      st_->closing = true;
      if (!st_->pumping) {
        st_->pumping = true;
        kick = true;
      }
    }
    if (kick && !post_to_session(st_->core, st_->session,
                                 [](http_session& s) { s.stream_pump(); }))
      finish_stream_state(st_);
  }

  bool closed() const noexcept override {
    std::lock_guard<std::mutex> guard{st_->mtx};
    return st_->ended || st_->closing;
  }

  std::size_t queued_bytes() const noexcept override {
    std::lock_guard<std::mutex> guard{st_->mtx};
    return st_->queued_bytes;
  }

  void set_overflow_notice(std::shared_ptr<const std::string> chunk) override {
    std::lock_guard<std::mutex> guard{st_->mtx};
    overflow_notice_ = std::move(chunk);
  }

  void on_close(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> guard{st_->mtx};
      if (!st_->ended) {
        st_->on_close = std::move(fn);
        return;
      }
    }
    if (fn)
      fn();
  }

private:
  std::shared_ptr<stream_state> st_;
  /// Sent instead of the queue when a write overflows (guarded by st_->mtx).
  std::shared_ptr<const std::string> overflow_notice_;
};

// -- responder -------------------------------------------------------------------

class session_responder final : public responder {
public:
  session_responder(request_context ctx, std::weak_ptr<server_core> core,
                    std::weak_ptr<http_session> session, uint64_t seq,
                    std::size_t max_chunks, std::size_t max_bytes)
    : responder(std::move(ctx)),
      core_(std::move(core)),
      session_(std::move(session)),
      seq_(seq),
      max_chunks_(max_chunks),
      max_bytes_(max_bytes) {
    // nop
  }

  ~session_responder() override {
    if (answered())
      return;
    // A handler lost the request (dropped every reference without
    // answering): answer now instead of letting the client wait for the
    // request timeout.
    try {
      send(from_error(runtime::make_error(
                        runtime::errc::internal,
                        "the handler dropped the request without answering"),
                      ctx_));
    } catch (...) {
      // nothing left to do; the request timeout answers
    }
  }

protected:
  void deliver(http_response res) override {
    post_to_session(core_, session_,
                    [seq = seq_, res = std::move(res)](http_session& s) mutable {
                      s.on_response(seq, std::move(res));
                    });
  }

  stream_writer_ptr open_stream(header_list headers) override {
    auto st = std::make_shared<stream_state>();
    st->max_chunks = max_chunks_;
    st->max_bytes = max_bytes_;
    st->core = core_;
    st->session = session_;
    auto writer = std::make_shared<session_stream_writer>(st);
    if (!post_to_session(core_, session_,
                         [seq = seq_, st, headers = std::move(headers)](
                           http_session& s) mutable {
                           s.on_stream_start(seq, std::move(st),
                                             std::move(headers));
                         }))
      finish_stream_state(st);
    return writer;
  }

private:
  std::weak_ptr<server_core> core_;
  std::weak_ptr<http_session> session_;
  uint64_t seq_;
  std::size_t max_chunks_;
  std::size_t max_bytes_;
};

} // namespace

// -- helpers shared with the listener ----------------------------------------------

std::string_view http_date() {
  thread_local std::time_t cached_second = 0;
  thread_local char buf[32];
  thread_local std::size_t len = 0;
  auto now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    len = std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return {buf, len};
}

void serialize_head(std::string& out, const http_response& res,
                    const head_info& info) {
  out.clear();
  out.append("HTTP/1.1 ");
  append_number(out, static_cast<std::size_t>(res.status));
  out.push_back(' ');
  out.append(reason_phrase(res.status));
  out.append("\r\nServer: ");
  out.append(info.server);
  out.append("\r\nDate: ");
  out.append(http_date());
  out.append(crlf);
  if (!res.content_type.empty()) {
    out.append("Content-Type: ");
    append_sanitized(out, res.content_type);
    out.append(crlf);
  }
  if (info.content_length) {
    out.append("Content-Length: ");
    append_number(out, *info.content_length);
    out.append(crlf);
  }
  if (!info.request_id.empty()) {
    out.append("X-Request-Id: ");
    out.append(info.request_id);
    out.append(crlf);
  }
  if (!info.traceparent.empty()) {
    out.append("traceparent: ");
    out.append(info.traceparent);
    out.append(crlf);
  }
  for (const auto& h : res.headers) {
    append_sanitized(out, h.name);
    out.append(": ");
    append_sanitized(out, h.value);
    out.append(crlf);
  }
  if (!info.keep_alive)
    out.append("Connection: close\r\n");
  else if (info.version == 10)
    out.append("Connection: keep-alive\r\n");
  out.append(crlf);
}

// -- request_parser ----------------------------------------------------------------

void request_parser::on_request_impl(http::verb, beast::string_view method,
                                     beast::string_view target, int version,
                                     error_code&) {
  req_.method.assign(method.data(), method.size());
  req_.target.assign(target.data(), target.size());
  req_.version = static_cast<unsigned>(version);
}

void request_parser::on_response_impl(int, beast::string_view, int,
                                      error_code& ec) {
  ec = http::error::bad_version; // never called for a request parser
}

void request_parser::on_field_impl(http::field, beast::string_view name,
                                   beast::string_view value, error_code&) {
  auto& h = req_.headers.emplace_back();
  h.name.resize(name.size());
  for (std::size_t i = 0; i < name.size(); ++i)
    h.name[i] = ascii_lower(name[i]);
  h.value.assign(value.data(), value.size());
  if (h.name == "expect" && iequals(h.value, "100-continue"))
    expect_continue_ = true;
}

void request_parser::on_header_impl(error_code&) {
  // nop
}

void request_parser::on_body_init_impl(
  const boost::optional<std::uint64_t>& length, error_code&) {
  // The parser already rejected lengths above the body limit.
  if (length)
    req_.body.reserve(static_cast<std::size_t>(*length));
}

std::size_t request_parser::on_body_impl(beast::string_view body,
                                         error_code&) {
  req_.body.append(body.data(), body.size());
  return body.size();
}

void request_parser::on_chunk_header_impl(std::uint64_t, beast::string_view,
                                          error_code&) {
  // nop
}

std::size_t request_parser::on_chunk_body_impl(std::uint64_t,
                                               beast::string_view body,
                                               error_code&) {
  req_.body.append(body.data(), body.size());
  return body.size();
}

void request_parser::on_finish_impl(error_code&) {
  // nop
}

// -- http_session: lifetime ----------------------------------------------------------

http_session::http_session(tcp::socket&& socket, server_core& core,
                           std::weak_ptr<server_core> weak_core)
  : socket_(std::move(socket)),
    timer_(socket_.get_executor()),
    core_(core),
    weak_core_(std::move(weak_core)) {
  error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  if (!ec) {
    remote_ = ep.address().to_string();
    remote_ += ':';
    remote_ += std::to_string(ep.port());
  }
  socket_.set_option(tcp::no_delay{true}, ec);
}

http_session::~http_session() {
  if (id_ != 0)
    core_.remove(id_);
  finish_stream_state(stream_);
}

void http_session::start() {
  id_ = core_.enroll(shared_from_this());
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (self->core_.stopping.load()) {
      self->close_now();
      return;
    }
    // A new connection that stays silent is held to the header timeout.
    self->deadline_ = steady::now() + self->core_.opts.header_timeout;
    self->arm_timer(self->deadline_);
    self->do_read_request();
  });
}

void http_session::on_server_stop() {
  stop_requested_ = true;
  switch (phase_) {
    case phase::idle:
      close_now();
      break;
    case phase::streaming:
      end_stream(false);
      break;
    case phase::closing:
    case phase::closed:
      break;
    default:
      // Finish the request in flight; its response closes the connection.
      keep_alive_ = false;
      break;
  }
}

void http_session::force_close() {
  close_now();
}

// -- http_session: reading -----------------------------------------------------------

void http_session::do_read_request() {
  if (stop_requested_ || core_.stopping.load()) {
    close_now();
    return;
  }
  phase_ = phase::idle;
  req_ = http_request{};
  req_.remote_address = remote_;
  parser_.emplace(req_);
  parser_->eager(true);
  parser_->body_limit(core_.opts.body_limit);
  parser_->header_limit(static_cast<std::uint32_t>(core_.opts.header_limit));
  continue_sent_ = false;
  if (buffer_.size() > 0) {
    // A pipelined request is already here.
    phase_ = phase::header;
    started_ = steady::now();
    set_deadline(core_.opts.header_timeout);
    parse_buffered();
    return;
  }
  set_deadline(first_request_ ? core_.opts.header_timeout
                              : core_.opts.idle_timeout);
  do_read_some();
}

void http_session::do_read_some() {
  socket_.async_read_some(buffer_.prepare(read_size),
                          [self = shared_from_this()](error_code ec,
                                                      std::size_t n) {
                            self->on_read(ec, n);
                          });
}

void http_session::on_read(error_code ec, std::size_t n) {
  if (phase_ == phase::closed)
    return;
  if (ec) {
    // EOF between requests is the normal end of a keep-alive connection;
    // EOF inside a request leaves nothing to answer.
    close_now();
    return;
  }
  buffer_.commit(n);
  if (phase_ == phase::idle) {
    phase_ = phase::header;
    started_ = steady::now();
    set_deadline(core_.opts.header_timeout);
  }
  parse_buffered();
}

void http_session::parse_buffered() {
  while (buffer_.size() > 0) {
    error_code ec;
    auto used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more)
      break;
    if (ec) {
      on_parse_error(ec);
      return;
    }
    if (phase_ == phase::header && parser_->is_header_done()) {
      phase_ = phase::body;
      set_deadline(core_.opts.read_timeout);
    }
    if (parser_->is_done()) {
      dispatch();
      return;
    }
    if (used == 0)
      break;
  }
  if (phase_ == phase::body && !continue_sent_ && parser_->expect_continue()
      && req_.version >= 11) {
    // The client waits for our go-ahead before sending the body.
    continue_sent_ = true;
    asio::async_write(socket_, asio::buffer(continue_response),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        if (self->phase_ == phase::closed)
                          return;
                        if (ec)
                          self->close_now();
                        else
                          self->do_read_some();
                      });
    return;
  }
  do_read_some();
}

void http_session::begin_exchange() {
  ++seq_;
  first_request_ = false;
  version_ = req_.version;
  head_ = req_.method == "HEAD";
  method_index_ = method_index(req_.method);
  trace_ = runtime::continue_trace(req_.header("traceparent"));
  traceparent_ = trace_.to_traceparent();
  // Our span id is random and has the request-id format already: using it
  // saves a second trip to the random generator per request.
  request_id_ = accept_request_id(req_.header("x-request-id"), trace_.span_id);
  route_index_ = core_.unmatched_index();
  route_name_ = "unmatched";
  path_.clear();
}

void http_session::on_parse_error(error_code ec) {
  phase_ = phase::handling;
  begin_exchange();
  keep_alive_ = false;
  problem_details p;
  p.request_id = request_id_;
  if (std::string query; split_target(req_.target, path_, query))
    p.instance = path_;
  if (ec == http::error::body_limit) {
    p.status = 413;
    p.detail = "the request body exceeds the limit of "
               + std::to_string(core_.opts.body_limit) + " bytes";
  } else if (ec == http::error::header_limit) {
    p.status = 431;
    p.detail = "the request header exceeds the limit of "
               + std::to_string(core_.opts.header_limit) + " bytes";
  } else {
    p.status = 400;
    p.detail = "malformed HTTP request: " + ec.message();
  }
  write_response(to_response(p));
}

// -- http_session: dispatching ---------------------------------------------------------

void http_session::dispatch() {
  phase_ = phase::handling;
  begin_exchange();
  keep_alive_ = parser_->keep_alive() && !stop_requested_
                && !core_.stopping.load();
  std::string_view raw_path = req_.target;
  raw_path = raw_path.substr(0, raw_path.find('?'));
  raw_path = raw_path.substr(0, raw_path.find('#'));
  if (!split_target(req_.target, req_.path, req_.query)) {
    // Absolute-form or asterisk targets: nothing here to serve, and the
    // client may not be speaking to an origin server at all.
    keep_alive_ = false;
    problem_details p;
    p.status = 400;
    p.detail = "the request-target must be an absolute path";
    p.request_id = request_id_;
    write_response(to_response(p));
    return;
  }
  path_ = req_.path;
  auto m = core_.routes->match(req_.method, raw_path);
  if (m.kind != router::match_result::found) {
    request_context ctx;
    ctx.request = std::move(req_);
    ctx.request_id = request_id_;
    ctx.route.assign(route_name_);
    http_response res;
    switch (m.kind) {
      case router::match_result::method_not_allowed:
        res = problem(ctx, 405, {},
                      ctx.request.method + " is not allowed on "
                        + ctx.request.path);
        res.set_header("Allow", std::move(m.allow));
        break;
      case router::match_result::bad_path:
        res = problem(ctx, 400, {}, "malformed percent-escape in the path");
        break;
      default:
        res = problem(ctx, 404, {},
                      "no route for " + ctx.request.method + " "
                        + ctx.request.path);
        break;
    }
    write_response(std::move(res));
    return;
  }
  const route& target = *m.matched;
  route_index_ = target.index;
  route_name_ = target.pattern;
  if (auto err = check_request_body(req_, target.doc.request_type)) {
    // 415/400 for bodies the route cannot take, before any handler runs.
    request_context ctx;
    ctx.request = std::move(req_);
    ctx.request_id = request_id_;
    ctx.route.assign(route_name_);
    write_response(from_error(err, ctx));
    return;
  }
  request_context ctx;
  ctx.request = std::move(req_);
  ctx.params = std::move(m.params);
  ctx.request_id = request_id_;
  ctx.trace = trace_;
  ctx.route = target.pattern;
  auto res = std::make_shared<session_responder>(
    std::move(ctx), weak_core_, weak_from_this(), seq_,
    core_.opts.stream_queue_chunks, core_.opts.stream_queue_bytes);
  set_deadline(core_.opts.request_timeout);
  try {
    target.fn(res->context(), res);
  } catch (const std::exception& e) {
    res->fail(runtime::make_error(runtime::errc::internal,
                                  std::string{"handler threw: "} + e.what()));
  } catch (...) {
    res->fail(runtime::make_error(runtime::errc::internal,
                                  "handler threw a non-exception"));
  }
}

void http_session::on_response(uint64_t seq, http_response res) {
  if (phase_ != phase::handling || seq != seq_)
    return; // timed out already, or the connection moved on
  write_response(std::move(res));
}

// -- http_session: writing ---------------------------------------------------------------

void http_session::write_response(http_response res) {
  phase_ = phase::writing;
  status_ = res.status;
  bool bodyless = res.status == 204 || res.status == 304 || res.status < 200;
  head_info info;
  info.server = core_.opts.server_name;
  info.request_id = request_id_;
  info.traceparent = traceparent_;
  info.keep_alive = keep_alive_;
  info.version = version_;
  if (!bodyless)
    info.content_length = res.body.size();
  serialize_head(head_buf_, res, info);
  body_buf_ = std::move(res.body);
  std::array<asio::const_buffer, 2> bufs{
    asio::buffer(head_buf_),
    (head_ || bodyless) ? asio::const_buffer{} : asio::buffer(body_buf_)};
  set_deadline(core_.opts.read_timeout);
  asio::async_write(socket_, bufs,
                    [self = shared_from_this()](error_code ec, std::size_t n) {
                      self->on_write(ec, n);
                    });
}

void http_session::on_write(error_code ec, std::size_t) {
  if (phase_ == phase::closed)
    return;
  record(status_);
  // Keep small bodies' capacity for the next response, drop large ones.
  if (body_buf_.capacity() > 64 * 1024)
    std::string{}.swap(body_buf_);
  else
    body_buf_.clear();
  if (ec) {
    close_now();
    return;
  }
  if (!keep_alive_ || stop_requested_) {
    graceful_close();
    return;
  }
  do_read_request();
}

void http_session::record(int status) {
  auto elapsed = std::chrono::duration<double>(steady::now() - started_);
  core_.requests_counter(route_index_, method_index_, status).inc();
  core_.durations[route_index_]->observe(elapsed.count());
  auto lvl = status >= 500 ? (status == 503 || status == 504 ? log::level::warn
                                                             : log::level::error)
                           : log::level::debug;
  if (!log::enabled(lvl))
    return;
  log::write(lvl, "http request",
             {{"method", req_method_label()},
              {"route", route_name_},
              {"path", path_},
              {"status", status},
              {"duration_ms", elapsed.count() * 1000.0},
              {"request_id", request_id_},
              {"trace_id", std::string_view{trace_.trace_id}},
              {"remote", remote_}});
}

std::string_view http_session::req_method_label() const noexcept {
  return method_label(method_index_);
}

// -- http_session: streams -----------------------------------------------------------------

void http_session::on_stream_start(uint64_t seq, std::shared_ptr<stream_state> st,
                                   header_list headers) {
  if (phase_ != phase::handling || seq != seq_) {
    finish_stream_state(st);
    return;
  }
  stream_ = std::move(st);
  phase_ = phase::streaming;
  status_ = 200;
  chunked_ = version_ >= 11 && !head_;
  if (!chunked_)
    keep_alive_ = false;
  http_response res;
  res.status = 200;
  res.content_type = "text/event-stream";
  res.headers = std::move(headers);
  // A handler may ask for stricter caching (e.g. no-store).
  if (res.header("Cache-Control").empty())
    res.set_header("Cache-Control", "no-cache");
  // Reverse proxies must pass events through at once.
  res.set_header("X-Accel-Buffering", "no");
  if (chunked_)
    res.set_header("Transfer-Encoding", "chunked");
  head_info info;
  info.server = core_.opts.server_name;
  info.request_id = request_id_;
  info.traceparent = traceparent_;
  info.keep_alive = keep_alive_;
  info.version = version_;
  serialize_head(head_buf_, res, info);
  record(200);
  set_deadline(core_.opts.read_timeout);
  asio::async_write(socket_, asio::buffer(head_buf_),
                    [self = shared_from_this()](error_code ec, std::size_t) {
                      self->on_stream_header_written(ec);
                    });
}

void http_session::on_stream_header_written(error_code ec) {
  if (phase_ != phase::streaming)
    return;
  if (ec) {
    end_stream(false);
    return;
  }
  if (head_) {
    end_stream(true);
    return;
  }
  clear_deadline();
  // Stream writes go out directly while the socket has room (see
  // stream_write_next); a full socket must answer would_block.
  socket_.non_blocking(true, ec);
  if (ec) {
    end_stream(false);
    return;
  }
  // Reading detects a client that went away while we only write.
  do_stream_read();
  stream_write_next();
}

void http_session::stream_pump() {
  if (phase_ != phase::streaming || stream_chunk_)
    return; // a write is in flight; its completion continues
  stream_write_next();
}

void http_session::stream_abort() {
  if (phase_ == phase::streaming)
    end_stream(false);
}

void http_session::stream_write_next() {
  // Everything queued goes out in one system call per round, written at
  // once while the socket takes it; only a socket that is full falls back to an asynchronous write
  // (with the write deadline) of the rest. A subscriber that fell behind
  // thus catches up with few large writes instead of one per chunk.
  for (int round = 0; round < max_direct_rounds; ++round) {
    std::array<std::shared_ptr<const std::string>, max_gather> chunks;
    std::size_t count = 0;
    std::size_t bytes = 0;
    bool finish = false;
    {
      std::lock_guard<std::mutex> guard{stream_->mtx};
      if (stream_->ended)
        return;
      auto& q = stream_->queue;
      while (!q.empty() && count < max_gather
             && (count == 0 || bytes + q.front()->size() <= max_gather_bytes)) {
        bytes += q.front()->size();
        chunks[count++] = std::move(q.front());
        q.pop_front();
      }
      stream_->queued_bytes -= bytes;
      if (count == 0) {
        if (stream_->closing) {
          finish = true;
        } else {
          stream_->pumping = false;
          return;
        }
      }
    }
    if (finish) {
      if (!chunked_) {
        end_stream(true);
        return;
      }
      set_deadline(core_.opts.read_timeout);
      stream_chunk_ = std::make_shared<const std::string>(last_chunk);
      asio::async_write(socket_, asio::buffer(*stream_chunk_),
                        [self = shared_from_this()](error_code ec, std::size_t) {
                          if (self->phase_ != phase::streaming)
                            return;
                          self->stream_chunk_.reset();
                          self->end_stream(!ec);
                        });
      return;
    }
    // Each queued chunk stays one HTTP chunk; the CRLF ending one chunk
    // shares a buffer with the next one's size line.
    std::array<asio::const_buffer, 2 * max_gather + 1> bufs;
    std::array<std::array<char, 24>, max_gather> heads;
    std::size_t nbufs = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (chunked_) {
        char* out = heads[i].data();
        if (i > 0) {
          *out++ = '\r';
          *out++ = '\n';
        }
        out = std::to_chars(out, out + 16, chunks[i]->size(), 16).ptr;
        *out++ = '\r';
        *out++ = '\n';
        bufs[nbufs++] = asio::buffer(heads[i].data(),
                                     static_cast<std::size_t>(out - heads[i].data()));
      }
      bufs[nbufs++] = asio::buffer(*chunks[i]);
    }
    if (chunked_)
      bufs[nbufs++] = asio::buffer(crlf);
    // The socket is non-blocking while streaming: a full socket answers
    // would_block (or takes part) instead of stalling the io thread.
    error_code ec;
    auto sent = socket_.write_some(buffer_span{bufs.data(), bufs.data() + nbufs}, ec);
    std::size_t total = 0;
    for (std::size_t i = 0; i < nbufs; ++i)
      total += bufs[i].size();
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
      end_stream(false);
      return;
    }
    if (sent < total) {
      // The rest waits for room: copied, so the queue's buffers go now.
      head_buf_.clear();
      for (std::size_t i = 0; i < nbufs; ++i) {
        auto skip = std::min(sent, bufs[i].size());
        sent -= skip;
        head_buf_.append(static_cast<const char*>(bufs[i].data()) + skip,
                         bufs[i].size() - skip);
      }
      stream_chunk_ = std::make_shared<const std::string>();
      set_deadline(core_.opts.read_timeout);
      asio::async_write(socket_, asio::buffer(head_buf_),
                        [self = shared_from_this()](error_code ec,
                                                    std::size_t n) {
                          self->on_stream_write(ec, n);
                        });
      return;
    }
  }
  // Others share this io thread: go on in a later turn.
  asio::post(executor(), [self = shared_from_this()] { self->stream_pump(); });
}

void http_session::on_stream_write(error_code ec, std::size_t) {
  if (phase_ != phase::streaming)
    return;
  stream_chunk_.reset();
  if (ec) {
    end_stream(false);
    return;
  }
  clear_deadline();
  // A large remainder must not stay allocated for the stream's lifetime.
  if (head_buf_.capacity() > max_gather_bytes)
    std::string{}.swap(head_buf_);
  stream_write_next();
}

void http_session::do_stream_read() {
  socket_.async_read_some(
    asio::buffer(read_sink_),
    [self = shared_from_this()](error_code ec, std::size_t n) {
      if (self->phase_ == phase::streaming) {
        if (ec)
          self->end_stream(false); // the client went away
        else
          self->do_stream_read(); // clients do not talk on a stream
      } else if (self->phase_ == phase::closing) {
        // This read now serves as the linger drain.
        self->drained_ += n;
        if (ec || self->drained_ > linger_bytes)
          self->close_now();
        else
          self->do_stream_read();
      }
    });
}

void http_session::end_stream(bool graceful) {
  auto st = std::move(stream_);
  stream_chunk_.reset();
  if (graceful) {
    // The pending stream read keeps draining until the client closes.
    phase_ = phase::closing;
    drained_ = 0;
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec)
      close_now();
    else
      set_deadline(linger_time);
  } else {
    close_now();
  }
  finish_stream_state(st);
}

// -- http_session: deadlines ---------------------------------------------------------------

void http_session::set_deadline(std::chrono::milliseconds d) {
  deadline_ = steady::now() + d;
  // Only an earlier deadline needs the timer moved; a later one is picked
  // up when the timer fires.
  if (deadline_ < timer_.expiry())
    arm_timer(deadline_);
}

void http_session::clear_deadline() noexcept {
  deadline_ = steady::time_point::max();
}

void http_session::arm_timer(steady::time_point at) {
  timer_.expires_at(at);
  timer_.async_wait([self = shared_from_this(), gen = ++timer_gen_](
                      error_code ec) { self->on_timer(ec, gen); });
}

void http_session::on_timer(error_code, uint64_t gen) {
  // Superseded waits (the timer was moved) and closed sessions do nothing.
  if (gen != timer_gen_ || phase_ == phase::closed)
    return;
  auto now = steady::now();
  if (deadline_ <= now) {
    deadline_ = steady::time_point::max();
    on_deadline();
    if (phase_ == phase::closed)
      return;
  }
  arm_timer(deadline_ == steady::time_point::max()
              ? now + std::chrono::hours{1}
              : deadline_);
}

void http_session::on_deadline() {
  switch (phase_) {
    case phase::handling: {
      // The handler did not answer in time: answer for it; a late answer
      // is dropped because the sequence number moves on.
      auto timeout = core_.opts.request_timeout;
      ++seq_;
      problem_details p;
      p.status = 504;
      p.detail = "the request was not answered within "
                 + std::to_string(timeout.count()) + " ms";
      p.instance = path_;
      p.request_id = request_id_;
      log::warn("request timed out", {{"request_id", request_id_},
                                       {"route", route_name_}});
      write_response(to_response(p));
      break;
    }
    case phase::streaming:
      end_stream(false); // a write is stuck: the client stopped reading
      break;
    case phase::idle:
    case phase::header:
    case phase::body:
    case phase::writing:
    case phase::closing:
      close_now(); // slow or silent client
      break;
    case phase::closed:
      break;
  }
}

// -- http_session: closing --------------------------------------------------------------------

void http_session::graceful_close() {
  phase_ = phase::closing;
  drained_ = 0;
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) {
    close_now();
    return;
  }
  set_deadline(linger_time);
  do_drain();
}

void http_session::do_drain() {
  socket_.async_read_some(asio::buffer(read_sink_),
                          [self = shared_from_this()](error_code ec,
                                                      std::size_t n) {
                            if (self->phase_ != phase::closing)
                              return;
                            self->drained_ += n;
                            if (ec || self->drained_ > linger_bytes)
                              self->close_now();
                            else
                              self->do_drain();
                          });
}

void http_session::close_now() {
  if (phase_ == phase::closed)
    return;
  phase_ = phase::closed;
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  timer_.cancel();
  if (id_ != 0) {
    core_.remove(id_);
    id_ = 0;
  }
  auto st = std::move(stream_);
  finish_stream_state(st);
}

} // namespace fp::net
