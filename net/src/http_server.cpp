#include "fp/net/http_server.hpp"

#include <future>
#include <thread>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "fp/net/problem.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/log.hpp"
#include "server_core.hpp"

namespace fp::net {

namespace log = runtime::log;

// -- server_options ------------------------------------------------------------

server_options server_options::from(const config::settings& s) {
  server_options o;
  o.host = s.listen_host;
  o.port = s.listen_port;
  o.io_threads = s.io_threads;
  o.body_limit = s.body_limit;
  o.max_connections = s.max_connections;
  o.header_timeout = s.header_timeout;
  o.read_timeout = s.read_timeout;
  o.idle_timeout = s.idle_timeout;
  o.request_timeout = s.request_timeout;
  return o;
}

// -- method labels -----------------------------------------------------------------

namespace {

constexpr const char* method_labels[]
  = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"};
constexpr unsigned method_label_count = 8;

} // namespace

unsigned method_index(std::string_view method) noexcept {
  for (unsigned i = 0; i + 1 < method_label_count; ++i)
    if (method == method_labels[i])
      return i;
  return method_label_count - 1;
}

const char* method_label(unsigned index) noexcept {
  return method_labels[index < method_label_count ? index
                                                  : method_label_count - 1];
}

// -- server_core -----------------------------------------------------------------

server_core::server_core(server_options o, std::shared_ptr<const router> r,
                         runtime::metrics_registry& m)
  : opts(std::move(o)),
    routes(std::move(r)),
    metrics(m),
    connections_gauge(m.get_gauge("fp_http_connections",
                                  "Open HTTP client connections.")),
    rejected_counter(m.get_counter(
      "fp_http_connections_rejected_total",
      "HTTP connections refused because the connection cap was reached.")),
    ioc(static_cast<int>(std::max(1u, opts.io_threads))) {
  auto hist = [&](const std::string& route) {
    return &m.get_histogram("fp_http_request_duration_seconds",
                            "HTTP request duration from the first byte to "
                            "the response written.",
                            runtime::default_latency_buckets(), {"route"},
                            {route});
  };
  for (const auto& r : routes->routes())
    durations.push_back(hist(r.pattern));
  durations.push_back(hist("unmatched"));
}

runtime::counter& server_core::requests_counter(uint32_t route_index,
                                                unsigned method_index,
                                                int status) {
  auto key = (uint64_t{route_index} << 32) | (uint64_t{method_index} << 16)
             | static_cast<uint16_t>(status);
  std::lock_guard<std::mutex> guard{counters_mtx};
  auto& slot = counters[key];
  if (!slot) {
    std::string route = route_index < routes->routes().size()
                          ? routes->routes()[route_index].pattern
                          : std::string{"unmatched"};
    slot = &metrics.get_counter("fp_http_requests_total",
                                "HTTP requests answered.",
                                {"method", "route", "status"},
                                {method_label(method_index), std::move(route),
                                 std::to_string(status)});
  }
  return *slot;
}

uint64_t server_core::enroll(const std::shared_ptr<http_session>& s) {
  std::lock_guard<std::mutex> guard{sessions_mtx};
  auto id = next_session_id++;
  sessions.emplace(id, s);
  live.store(sessions.size());
  connections_gauge.set(static_cast<int64_t>(sessions.size()));
  return id;
}

void server_core::remove(uint64_t id) noexcept {
  std::lock_guard<std::mutex> guard{sessions_mtx};
  if (sessions.erase(id) == 0)
    return;
  live.store(sessions.size());
  connections_gauge.set(static_cast<int64_t>(sessions.size()));
  if (sessions.empty())
    sessions_cv.notify_all();
}

std::vector<std::shared_ptr<http_session>> server_core::sessions_snapshot() {
  std::vector<std::shared_ptr<http_session>> out;
  std::lock_guard<std::mutex> guard{sessions_mtx};
  out.reserve(sessions.size());
  for (auto& [id, weak] : sessions)
    if (auto s = weak.lock())
      out.push_back(std::move(s));
  return out;
}

bool server_core::wait_drained(steady::time_point deadline) {
  std::unique_lock<std::mutex> guard{sessions_mtx};
  return sessions_cv.wait_until(guard, deadline,
                                [this] { return sessions.empty(); });
}

// -- rejecting over the connection cap -------------------------------------------------

namespace {

/// Answers 503 to a connection above the cap and closes it: the response
/// is written at once (before reading the request), then unread input is
/// drained briefly so the client sees the answer, not a reset.
class rejection : public std::enable_shared_from_this<rejection> {
public:
  rejection(tcp::socket&& socket, const server_options& opts)
    : socket_(std::move(socket)), timer_(socket_.get_executor()) {
    auto id = runtime::new_request_id();
    auto trace = runtime::continue_trace({}).to_traceparent();
    problem_details details;
    details.status = 503;
    details.detail = "the server is at its connection limit; retry later";
    details.request_id = id;
    auto p = to_response(details);
    p.set_header("Retry-After", "1");
    head_info info;
    info.server = opts.server_name;
    info.request_id = id;
    info.traceparent = trace;
    info.content_length = p.body.size();
    info.keep_alive = false;
    serialize_head(msg_, p, info);
    msg_ += p.body;
  }

  void start() {
    error_code ec;
    socket_.set_option(tcp::no_delay{true}, ec);
    timer_.expires_after(std::chrono::seconds{2});
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec)
        self->close();
    });
    asio::async_write(socket_, asio::buffer(msg_),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        if (ec) {
                          self->close();
                          return;
                        }
                        error_code ignored;
                        self->socket_.shutdown(tcp::socket::shutdown_send,
                                               ignored);
                        self->drain();
                      });
  }

private:
  void drain() {
    socket_.async_read_some(asio::buffer(sink_),
                            [self = shared_from_this()](error_code ec,
                                                        std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > 64 * 1024)
                                self->close();
                              else
                                self->drain();
                            });
  }

  void close() {
    error_code ec;
    socket_.close(ec);
    timer_.cancel();
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  std::string msg_;
  char sink_[512];
  std::size_t drained_ = 0;
};

// -- listener -------------------------------------------------------------------------

class listener : public std::enable_shared_from_this<listener> {
public:
  listener(server_core& core, std::weak_ptr<server_core> weak)
    : core_(core),
      weak_(std::move(weak)),
      acceptor_(asio::make_strand(core.ioc)),
      retry_(acceptor_.get_executor()) {
    // nop
  }

  caf::error listen(const std::string& host, uint16_t port) {
    error_code ec;
    tcp::resolver resolver{core_.ioc};
    auto results = resolver.resolve(host, std::to_string(port),
                                    tcp::resolver::passive
                                      | tcp::resolver::numeric_service,
                                    ec);
    if (ec || results.empty())
      return runtime::make_error(runtime::errc::unavailable,
                                 "cannot resolve listen host " + host + ": "
                                   + ec.message());
    auto ep = results.begin()->endpoint();
    auto fail = [&](const char* what) {
      return runtime::make_error(runtime::errc::unavailable,
                                 std::string{"cannot "} + what + " "
                                   + host + ":" + std::to_string(port) + ": "
                                   + ec.message());
    };
    acceptor_.open(ep.protocol(), ec);
    if (ec)
      return fail("open a socket for");
    acceptor_.set_option(asio::socket_base::reuse_address{true}, ec);
    acceptor_.bind(ep, ec);
    if (ec)
      return fail("bind");
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return fail("listen on");
    port_ = acceptor_.local_endpoint(ec).port();
    return caf::none;
  }

  uint16_t port() const noexcept {
    return port_;
  }

  void do_accept() {
    acceptor_.async_accept(asio::make_strand(core_.ioc),
                           [self = shared_from_this()](error_code ec,
                                                       tcp::socket socket) {
                             self->on_accept(ec, std::move(socket));
                           });
  }

  /// Closes the acceptor on its strand; blocks until done (or 2 s).
  void close() {
    std::promise<void> done;
    auto fut = done.get_future();
    asio::post(acceptor_.get_executor(), [this, &done] {
      error_code ec;
      acceptor_.close(ec);
      retry_.cancel();
      done.set_value();
    });
    fut.wait_for(std::chrono::seconds{2});
  }

private:
  void on_accept(error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open())
      return;
    if (ec) {
      if (ec == asio::error::operation_aborted)
        return;
      log::warn("accept failed", {{"error", ec.message()}});
      // Out of descriptors and similar: back off instead of spinning.
      retry_.expires_after(std::chrono::milliseconds{50});
      retry_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec && self->acceptor_.is_open())
          self->do_accept();
      });
      return;
    }
    if (core_.stopping.load()) {
      error_code ignored;
      socket.close(ignored);
    } else if (core_.live.load() >= core_.opts.max_connections) {
      core_.rejected_counter.inc();
      std::make_shared<rejection>(std::move(socket), core_.opts)->start();
    } else {
      std::make_shared<http_session>(std::move(socket), core_, weak_)->start();
    }
    do_accept();
  }

  server_core& core_;
  std::weak_ptr<server_core> weak_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  uint16_t port_ = 0;
};

void run_io(asio::io_context& ioc) {
  // An exception escaping a handler must not end the io thread.
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      log::error("exception escaped an io handler", {{"error", e.what()}});
    } catch (...) {
      log::error("exception escaped an io handler");
    }
  }
}

} // namespace

// -- http_server ------------------------------------------------------------------------

struct http_server::impl {
  std::shared_ptr<server_core> core;
  std::shared_ptr<listener> acceptor;
  std::vector<std::thread> threads;
  std::mutex stop_mtx;
  bool stopped = false;

  void stop(std::chrono::milliseconds grace);
};

caf::expected<std::unique_ptr<http_server>>
http_server::start(server_options opts, std::shared_ptr<const router> routes,
                   runtime::metrics_registry& metrics) {
  if (!routes)
    return runtime::make_error(runtime::errc::invalid_argument,
                               "http_server needs a router");
  auto st = std::make_unique<impl>();
  auto host = opts.host;
  auto port = opts.port;
  auto threads = std::max(1u, opts.io_threads);
  st->core = std::make_shared<server_core>(std::move(opts), std::move(routes),
                                           metrics);
  st->acceptor = std::make_shared<listener>(*st->core, st->core);
  if (auto err = st->acceptor->listen(host, port))
    return err;
  st->acceptor->do_accept();
  for (unsigned i = 0; i < threads; ++i)
    st->threads.emplace_back([core = st->core] { run_io(core->ioc); });
  log::info("http server listening",
            {{"host", host},
             {"port", st->acceptor->port()},
             {"io_threads", threads}});
  return std::unique_ptr<http_server>{new http_server(std::move(st))};
}

http_server::http_server(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
  // nop
}

http_server::~http_server() {
  if (impl_)
    impl_->stop(std::chrono::milliseconds{0});
}

uint16_t http_server::port() const noexcept {
  return impl_->acceptor->port();
}

std::size_t http_server::connections() const noexcept {
  return impl_->core->live.load();
}

void http_server::stop(std::chrono::milliseconds grace) {
  impl_->stop(grace);
}

void http_server::impl::stop(std::chrono::milliseconds grace) {
  std::lock_guard<std::mutex> guard{stop_mtx};
  if (stopped)
    return;
  stopped = true;
  auto deadline = steady::now() + grace;
  core->stopping.store(true);
  acceptor->close();
  auto notify = [this](auto fn) {
    for (auto& s : core->sessions_snapshot()) {
      auto ex = s->executor();
      asio::post(ex, [s, fn] { (s.get()->*fn)(); });
    }
  };
  // Idle connections close now; busy ones close after their response.
  notify(&http_session::on_server_stop);
  auto drained = core->wait_drained(deadline);
  auto left = core->live.load();
  if (!drained) {
    notify(&http_session::force_close);
    core->wait_drained(steady::now() + std::chrono::seconds{2});
  }
  core->ioc.stop();
  for (auto& t : threads)
    if (t.joinable())
      t.join();
  threads.clear();
  log::info("http server stopped",
            {{"drained", drained}, {"closed_at_deadline", drained ? 0 : left}});
}

} // namespace fp::net
