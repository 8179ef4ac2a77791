#include "fp/net/llm_transport.hpp"

#include <limits>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/ssl.h>

#include "fp/net/outbound_http.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/network_guard.hpp"

namespace fp::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace llm = actors::llm;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often a running call looks at its cancel token.
constexpr milliseconds cancel_poll{50};

/// Runs `ioc` until `done`, closing the connection (through `close`) when
/// the call is cancelled or `deadline` passes; the pending operation then
/// completes with an error and the loop ends.
class op_runner {
public:
  op_runner(asio::io_context& ioc, const llm::cancel_token& cancel,
            std::function<void()> close)
    : ioc_(ioc), cancel_(cancel), close_(std::move(close)) {
  }

  /// Waits for the operation started just before; returns the reason it
  /// was stopped (none, timeout, cancelled).
  llm::errc wait(const bool& done, clock_type::time_point deadline) {
    llm::errc stopped = llm::errc::none;
    while (!done) {
      ioc_.restart();
      ioc_.run_for(cancel_poll);
      if (done || stopped != llm::errc::none)
        continue;
      if (cancel_.is_cancelled()) {
        stopped = llm::errc::cancelled;
        close_();
      } else if (clock_type::now() >= deadline) {
        stopped = llm::errc::timeout;
        close_();
      }
    }
    return stopped;
  }

private:
  asio::io_context& ioc_;
  const llm::cancel_token& cancel_;
  std::function<void()> close_;
};

caf::error stopped_error(llm::errc why, const std::string& what) {
  if (why == llm::errc::cancelled)
    return llm::make_error(llm::errc::cancelled, "the call was cancelled");
  return llm::make_error(llm::errc::timeout, what + " timed out");
}

template <class Stream>
caf::error exchange(Stream& stream, op_runner& run, const http_url& url,
                    const llm::http_call& call, clock_type::time_point start,
                    const std::function<void(const llm::http_head&)>& on_head,
                    const std::function<bool(std::string_view)>& on_body) {
  http::request<http::string_body> msg{http::verb::post, url.target, 11};
  bool default_port = url.port == (url.tls ? "443" : "80");
  auto host = url.host.find(':') != std::string::npos ? "[" + url.host + "]"
                                                      : url.host;
  msg.set(http::field::host, default_port ? host : host + ":" + url.port);
  msg.set(http::field::user_agent, "FleetPrompt-LLM/1");
  msg.set(http::field::connection, "close");
  for (const auto& [k, v] : call.headers)
    msg.set(k, v);
  msg.body() = call.body;
  msg.prepare_payload();
  beast::error_code ec;
  bool done = false;
  auto first_byte_deadline = start + call.connect_timeout;
  http::async_write(stream, msg, [&](beast::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  if (auto why = run.wait(done, first_byte_deadline); why != llm::errc::none)
    return stopped_error(why, "sending the request to " + url.host);
  if (ec)
    return llm::make_error(llm::errc::unavailable,
                           "sending the request to " + url.host
                             + " failed: " + ec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit((std::numeric_limits<std::uint64_t>::max)());
  done = false;
  http::async_read_header(stream, buffer, parser,
                          [&](beast::error_code e, std::size_t) {
                            ec = e;
                            done = true;
                          });
  if (auto why = run.wait(done, first_byte_deadline); why != llm::errc::none)
    return stopped_error(why, "waiting for an answer from " + url.host);
  if (ec)
    return llm::make_error(llm::errc::unavailable,
                           "reading the answer of " + url.host
                             + " failed: " + ec.message());
  llm::http_head head;
  head.status = static_cast<int>(parser.get().result_int());
  for (const auto& field : parser.get())
    head.headers.emplace_back(std::string{field.name_string()},
                              std::string{field.value()});
  if (on_head)
    on_head(head);
  char piece[16384];
  while (!parser.is_done()) {
    parser.get().body().data = piece;
    parser.get().body().size = sizeof(piece);
    done = false;
    http::async_read_some(stream, buffer, parser,
                          [&](beast::error_code e, std::size_t) {
                            ec = e;
                            done = true;
                          });
    auto why = run.wait(done, clock_type::now() + call.read_timeout);
    auto n = sizeof(piece) - parser.get().body().size;
    if (why != llm::errc::none)
      return stopped_error(why, "reading the answer of " + url.host);
    if (n > 0 && on_body && !on_body(std::string_view{piece, n}))
      return {};
    if (ec == http::error::need_buffer)
      ec = {};
    if (ec == http::error::end_of_stream && parser.is_done())
      break;
    if (ec)
      return llm::make_error(llm::errc::unavailable,
                             "the answer of " + url.host
                               + " broke off: " + ec.message());
  }
  return {};
}

class beast_transport final : public llm::http_transport {
public:
  beast_transport() : tls_(ssl::context::tls_client) {
    tls_.set_default_verify_paths();
    tls_.set_verify_mode(ssl::verify_peer);
  }

  caf::error post(const llm::http_call& call, const llm::cancel_token& cancel,
                  const std::function<void(const llm::http_head&)>& on_head,
                  const std::function<bool(std::string_view)>& on_body)
    override {
    auto url = parse_http_url(call.url);
    if (!url)
      return llm::make_error(llm::errc::not_configured,
                             "bad provider URL: "
                               + runtime::context_of(url.error()));
    try {
      return run(*url, call, cancel, on_head, on_body);
    } catch (const std::exception& e) {
      return llm::make_error(llm::errc::unavailable,
                             std::string{"the model call failed: "}
                               + e.what());
    }
  }

private:
  caf::error run(const http_url& url, const llm::http_call& call,
                 const llm::cancel_token& cancel,
                 const std::function<void(const llm::http_head&)>& on_head,
                 const std::function<bool(std::string_view)>& on_body) {
    auto start = clock_type::now();
    auto connect_deadline = start + call.connect_timeout;
    asio::io_context ioc;
    tcp::resolver resolver{ioc};
    tcp::socket socket{ioc};
    op_runner runner{ioc, cancel, [&] {
                       resolver.cancel();
                       beast::error_code ignored;
                       socket.close(ignored);
                     }};
    beast::error_code ec;
    bool done = false;
    tcp::resolver::results_type endpoints;
    resolver.async_resolve(url.host, url.port,
                           [&](beast::error_code e,
                               tcp::resolver::results_type r) {
                             ec = e;
                             endpoints = std::move(r);
                             done = true;
                           });
    if (auto why = runner.wait(done, connect_deadline);
        why != llm::errc::none)
      return stopped_error(why, "resolving " + url.host);
    if (ec)
      return llm::make_error(llm::errc::unavailable,
                             "cannot resolve " + url.host + ": "
                               + ec.message());
    done = false;
    asio::async_connect(socket, endpoints,
                        [&](beast::error_code e, const tcp::endpoint&) {
                          ec = e;
                          done = true;
                        });
    if (auto why = runner.wait(done, connect_deadline);
        why != llm::errc::none)
      return stopped_error(why, "connecting to " + url.host);
    if (ec)
      return llm::make_error(llm::errc::unavailable,
                             "cannot connect to " + url.host + ": "
                               + ec.message());
    if (!url.tls)
      return exchange(socket, runner, url, call, start, on_head, on_body);
    ssl::stream<tcp::socket&> tls{socket, tls_};
    auto* native = tls.native_handle();
    // SNI and host name verification (IP literals carry no name).
    if (!runtime::parse_ip(url.host)) {
      SSL_set_tlsext_host_name(native, url.host.c_str());
      SSL_set1_host(native, url.host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(native), url.host.c_str());
    }
    done = false;
    tls.async_handshake(ssl::stream_base::client, [&](beast::error_code e) {
      ec = e;
      done = true;
    });
    if (auto why = runner.wait(done, connect_deadline);
        why != llm::errc::none)
      return stopped_error(why, "the TLS handshake with " + url.host);
    if (ec)
      return llm::make_error(llm::errc::unavailable,
                             "the TLS handshake with " + url.host
                               + " failed: " + ec.message());
    return exchange(tls, runner, url, call, start, on_head, on_body);
  }

  ssl::context tls_;
};

} // namespace

std::shared_ptr<llm::http_transport> make_llm_transport() {
  try {
    return std::make_shared<beast_transport>();
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string{"cannot set up TLS for LLM calls: "}
                             + e.what());
  }
}

caf::expected<llm::client_options>
llm_options_from(const config::settings& s) {
  llm::client_options opts;
  auto prices = llm::price_table::parse(s.llm_prices);
  if (!prices)
    return runtime::make_error(runtime::errc::invalid_argument,
                               "llm-prices: "
                                 + runtime::context_of(prices.error()));
  opts.prices = std::move(*prices);
  config::settings defaults;
  if (!s.openai_api_key.empty() || s.openai_base_url != defaults.openai_base_url)
    opts.providers["openai"] = {"openai", s.openai_base_url, s.openai_api_key};
  if (!s.anthropic_api_key.empty()
      || s.anthropic_base_url != defaults.anthropic_base_url)
    opts.providers["anthropic"] = {"anthropic", s.anthropic_base_url,
                                   s.anthropic_api_key};
  opts.connect_timeout = s.llm_connect_timeout;
  opts.read_timeout = s.llm_read_timeout;
  opts.total_timeout = s.llm_total_timeout;
  opts.max_attempts = static_cast<int>(std::max(1u, s.llm_max_attempts));
  opts.breaker_threshold = static_cast<int>(std::max(1u, s.llm_breaker_threshold));
  opts.breaker_cooldown = s.llm_breaker_cooldown;
  return opts;
}

caf::expected<std::shared_ptr<llm::client>>
try_make_llm_client(const config::settings& settings) {
  auto opts = llm_options_from(settings);
  if (!opts)
    return std::move(opts.error());
  try {
    return std::make_shared<llm::client>(std::move(*opts),
                                         make_llm_transport());
  } catch (const std::exception& e) {
    return runtime::make_error(runtime::errc::internal, e.what());
  }
}

std::shared_ptr<llm::client>
make_llm_client(const config::settings& settings) {
  auto c = try_make_llm_client(settings);
  if (!c)
    throw std::invalid_argument(runtime::context_of(c.error()));
  return std::move(*c);
}

} // namespace fp::net
