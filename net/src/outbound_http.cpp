#include "fp/net/outbound_http.hpp"

#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>

#include "fp/runtime/errc.hpp"

namespace fp::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

actors::webhook_response no_response(std::string why, bool retryable) {
  actors::webhook_response r;
  r.error = std::move(why);
  r.retryable = retryable;
  return r;
}

/// Runs the io_context until the started operation completed (it completes
/// with a timeout error when the stream's deadline passes).
void run_once(asio::io_context& ioc) {
  ioc.restart();
  ioc.run();
}

} // namespace

// -- URLs ---------------------------------------------------------------------------

caf::expected<http_url> parse_http_url(std::string_view url) {
  auto bad = [&](const char* why) {
    return runtime::make_error(runtime::errc::invalid_argument,
                               "invalid URL \"" + std::string{url}
                                 + "\": " + why);
  };
  http_url out;
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) {
    out.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return bad("scheme must be http or https");
  }
  if (rest.find('#') != std::string_view::npos)
    return bad("fragments are not allowed");
  auto path_at = rest.find_first_of("/?");
  auto authority = rest.substr(0, path_at);
  out.target = path_at == std::string_view::npos ? "/"
                                                 : std::string{rest.substr(path_at)};
  if (out.target.front() == '?')
    out.target.insert(out.target.begin(), '/');
  if (authority.find('@') != std::string_view::npos)
    return bad("user information is not allowed");
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return bad("unclosed IPv6 literal");
    out.host = std::string{authority.substr(1, close - 1)};
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return bad("unexpected text after the host");
      port = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    out.host = std::string{authority.substr(0, colon)};
    if (colon != std::string_view::npos)
      port = authority.substr(colon + 1);
  }
  if (out.host.empty())
    return bad("missing host");
  for (char c : out.host)
    if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '\\')
      return bad("invalid host");
  if (port.empty()) {
    out.port = out.tls ? "443" : "80";
  } else {
    if (port.size() > 5)
      return bad("invalid port");
    unsigned n = 0;
    for (char c : port) {
      if (c < '0' || c > '9')
        return bad("invalid port");
      n = n * 10 + static_cast<unsigned>(c - '0');
    }
    if (n == 0 || n > 65535)
      return bad("invalid port");
    out.port = std::string{port};
  }
  return out;
}

// -- options ------------------------------------------------------------------------

caf::expected<outbound_http_options>
outbound_options_from(const config::settings& settings) {
  outbound_http_options opts;
  opts.timeout = settings.webhook_timeout;
  auto blocks = runtime::parse_cidr_list(settings.webhook_allow_networks);
  if (!blocks)
    return runtime::make_error(runtime::errc::invalid_argument,
                               "webhook-allow-networks: "
                                 + runtime::context_of(blocks.error()));
  opts.allowed_networks = std::move(*blocks);
  return opts;
}

// -- the client ---------------------------------------------------------------------

struct outbound_http_client::impl {
  outbound_http_options opts;
  ssl::context tls{ssl::context::tls_client};
};

outbound_http_client::outbound_http_client(std::unique_ptr<impl> ptr)
  : impl_(std::move(ptr)) {
  // nop
}

outbound_http_client::~outbound_http_client() = default;

caf::expected<std::shared_ptr<outbound_http_client>>
outbound_http_client::make(outbound_http_options options) {
  try {
    auto p = std::make_unique<impl>();
    p->opts = std::move(options);
    p->tls.set_default_verify_paths();
    p->tls.set_verify_mode(ssl::verify_peer);
    return std::shared_ptr<outbound_http_client>{
      new outbound_http_client(std::move(p))};
  } catch (const std::exception& e) {
    return runtime::make_error(runtime::errc::internal,
                               std::string{"cannot set up TLS: "} + e.what());
  }
}

namespace {

template <class Stream>
actors::webhook_response exchange(asio::io_context& ioc, Stream& stream,
                                  const http_url& url,
                                  const actors::webhook_request& req,
                                  const outbound_http_options& opts,
                                  clock_type::time_point deadline) {
  beast::get_lowest_layer(stream).expires_at(deadline);
  http::request<http::string_body> msg{http::verb::post, url.target, 11};
  bool default_port = url.port == (url.tls ? "443" : "80");
  auto host = url.host.find(':') != std::string::npos ? "[" + url.host + "]"
                                                      : url.host;
  msg.set(http::field::host, default_port ? host : host + ":" + url.port);
  msg.set(http::field::user_agent, opts.user_agent);
  msg.set(http::field::connection, "close");
  for (auto& [k, v] : req.headers)
    msg.set(k, v);
  msg.body() = req.body;
  msg.prepare_payload();
  beast::error_code ec;
  http::async_write(stream, msg,
                    [&](beast::error_code e, std::size_t) { ec = e; });
  run_once(ioc);
  if (ec)
    return no_response("sending the request failed: " + ec.message(), true);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(opts.max_response_body);
  http::async_read(stream, buffer, parser,
                   [&](beast::error_code e, std::size_t) { ec = e; });
  run_once(ioc);
  if (ec && !(ec == http::error::body_limit && parser.is_header_done()))
    return no_response(ec == beast::error::timeout
                         ? std::string{"the response timed out"}
                         : "reading the response failed: " + ec.message(),
                       true);
  actors::webhook_response out;
  out.status = static_cast<int>(parser.get().result_int());
  out.body = std::move(parser.get().body());
  return out;
}

} // namespace

actors::webhook_response
outbound_http_client::post(const actors::webhook_request& req) const {
  auto url = parse_http_url(req.url);
  if (!url)
    return no_response(runtime::context_of(url.error()), false);
  const auto& opts = impl_->opts;
  auto deadline = clock_type::now() + opts.timeout;
  try {
    asio::io_context ioc;
    // Resolve once; the addresses checked here are the ones connected to.
    tcp::resolver resolver{ioc};
    tcp::resolver::results_type endpoints;
    beast::error_code ec;
    bool resolved = false;
    asio::steady_timer resolve_timer{ioc, deadline};
    resolver.async_resolve(url->host, url->port,
                           [&](beast::error_code e, tcp::resolver::results_type r) {
                             ec = e;
                             endpoints = std::move(r);
                             resolved = true;
                             resolve_timer.cancel();
                           });
    resolve_timer.async_wait([&](beast::error_code e) {
      if (!e && !resolved)
        resolver.cancel();
    });
    run_once(ioc);
    if (ec == asio::error::operation_aborted)
      return no_response("resolving " + url->host + " timed out", true);
    if (ec)
      return no_response("cannot resolve " + url->host + ": " + ec.message(),
                         true);
    if (endpoints.empty())
      return no_response("cannot resolve " + url->host, true);
    for (const auto& ep : endpoints) {
      auto addr = runtime::parse_ip(ep.endpoint().address().to_string());
      if (!addr)
        return no_response("unparsable address for " + url->host, false);
      if (auto why = runtime::refusal_reason(*addr, opts.allowed_networks);
          !why.empty())
        return no_response("refused: " + url->host + " resolves to " + why,
                           false);
    }
    beast::tcp_stream tcp_stream{ioc};
    tcp_stream.expires_at(deadline);
    tcp_stream.async_connect(endpoints,
                             [&](beast::error_code e, const tcp::endpoint&) {
                               ec = e;
                             });
    run_once(ioc);
    if (ec == beast::error::timeout)
      return no_response("connecting to " + url->host + " timed out", true);
    if (ec)
      return no_response("cannot connect to " + url->host + ": " + ec.message(),
                         true);
    if (!url->tls)
      return exchange(ioc, tcp_stream, *url, req, opts, deadline);
    beast::ssl_stream<beast::tcp_stream> tls_stream{std::move(tcp_stream),
                                                    impl_->tls};
    beast::get_lowest_layer(tls_stream).expires_at(deadline);
    auto* native = tls_stream.native_handle();
    // SNI and hostname verification (skipped for IP literals, which carry
    // no name to match).
    if (!runtime::parse_ip(url->host)) {
      SSL_set_tlsext_host_name(native, url->host.c_str());
      SSL_set1_host(native, url->host.c_str());
    } else {
      auto* param = SSL_get0_param(native);
      X509_VERIFY_PARAM_set1_ip_asc(param, url->host.c_str());
    }
    tls_stream.async_handshake(ssl::stream_base::client,
                               [&](beast::error_code e) { ec = e; });
    run_once(ioc);
    if (ec == beast::error::timeout)
      return no_response("TLS handshake with " + url->host + " timed out",
                         true);
    if (ec)
      return no_response("TLS handshake with " + url->host
                           + " failed: " + ec.message(),
                         true);
    return exchange(ioc, tls_stream, *url, req, opts, deadline);
  } catch (const std::exception& e) {
    return no_response(std::string{"outbound request failed: "} + e.what(),
                       true);
  }
}

actors::webhook_poster
make_webhook_poster(std::shared_ptr<outbound_http_client> client) {
  return [client](const actors::webhook_request& req) {
    return client->post(req);
  };
}

} // namespace fp::net
