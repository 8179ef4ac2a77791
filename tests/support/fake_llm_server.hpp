#pragma once

// A real loopback HTTP/1.1 server that plays scripted model answers, for
// tests of anything that calls "openai" or "anthropic" over the network.
//
// Usage:
//
//   fp::test::fake_llm_server server;                 // 127.0.0.1:<free port>
//   server.script_openai(fake_llm_server::openai_text({"Hel", "lo"}));
//   server.script_anthropic(fake_llm_server::anthropic_text({"Hi"}));
//   settings.openai_base_url = server.base_url();     // "http://127.0.0.1:N/v1"
//   settings.anthropic_base_url = server.base_url();
//   ... run the code under test ...
//   auto reqs = server.requests();                    // path, headers, body
//
// Each path ("/v1/chat/completions", "/v1/messages", or any other) has a
// queue of scripted responses, served in order, one per request. When a
// queue is empty the path's fallback (set with `always`) answers; without
// one the server answers 500 with an OpenAI-style error body. A response
// is a status, headers and body pieces, each sent after its own delay
// (chunked transfer when there is more than one piece or a stall, unless
// `chunked` says otherwise), so slow streams, stalls and timeouts are easy
// to stage:
// `hang` sends nothing at all (the client's connect/first-byte timeout
// fires), `stall` sends the head and the pieces and then keeps the
// connection open without ending the body (read timeouts, cancellation).
// Builders for the common answers: `json`, `sse`, `openai_text`,
// `openai_tool_call`, `openai_error`, `anthropic_text`, `anthropic_tool_use`.
//
// The server runs on its own threads (one per connection, keep-alive
// honoured); the destructor stops it and closes every open connection.
// Header-only; needs Boost.Beast.

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "fake_llm_answers.hpp"

namespace fp::test {

class fake_llm_server : public fake_llm_answers {
public:
  // -- the server ----------------------------------------------------------------

  fake_llm_server() : acceptor_(ioc_) {
    namespace asio = boost::asio;
    asio::ip::tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), 0};
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  ~fake_llm_server() {
    stop();
  }

  fake_llm_server(const fake_llm_server&) = delete;
  fake_llm_server& operator=(const fake_llm_server&) = delete;

  uint16_t port() const {
    return port_;
  }

  /// "http://127.0.0.1:<port>/v1": the base URL of both providers.
  std::string base_url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/v1";
  }

  /// Queues `r` as the next answer on `path`.
  void script(const std::string& path, fake_response r) {
    std::lock_guard<std::mutex> guard{mtx_};
    scripts_[path].push_back(std::move(r));
  }

  void script_openai(fake_response r) {
    script("/v1/chat/completions", std::move(r));
  }

  void script_anthropic(fake_response r) {
    script("/v1/messages", std::move(r));
  }

  /// Answers every request on `path` with `r` once its queue is empty.
  void always(const std::string& path, fake_response r) {
    std::lock_guard<std::mutex> guard{mtx_};
    fallbacks_[path] = std::move(r);
  }

  /// Every request received so far, in arrival order.
  std::vector<fake_request> requests() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return requests_;
  }

  /// Number of requests received on `path`.
  size_t request_count(const std::string& path) const {
    std::lock_guard<std::mutex> guard{mtx_};
    size_t n = 0;
    for (const auto& r : requests_)
      n += r.path == path;
    return n;
  }

  /// Waits until `n` requests arrived (or `timeout` passed).
  bool wait_for_requests(size_t n, ms timeout = ms{5000}) const {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, timeout, [&] { return requests_.size() >= n; });
  }

  /// Connections currently open (a cancelled client has closed its own).
  size_t open_connections() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return open_fds_.size();
  }

  /// Stops accepting, closes every connection and joins the threads.
  void stop() {
    if (stopping_.exchange(true))
      return;
    // Wake the blocking accept with a connection of our own.
    try {
      boost::asio::io_context ioc;
      boost::asio::ip::tcp::socket s{ioc};
      s.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
    } catch (...) {
    }
    if (accept_thread_.joinable())
      accept_thread_.join();
    boost::system::error_code ignored;
    acceptor_.close(ignored); // Later connections are refused.
    {
      std::lock_guard<std::mutex> guard{mtx_};
      for (int fd : open_fds_)
        ::shutdown(fd, SHUT_RDWR);
    }
    cv_.notify_all();
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      threads.swap(conn_threads_);
    }
    for (auto& t : threads)
      if (t.joinable())
        t.join();
  }

private:
  using tcp = boost::asio::ip::tcp;

  void accept_loop() {
    while (!stopping_) {
      auto sock = std::make_shared<tcp::socket>(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(*sock, ec);
      if (stopping_ || ec)
        break;
      std::lock_guard<std::mutex> guard{mtx_};
      open_fds_.insert(sock->native_handle());
      conn_threads_.emplace_back([this, sock] { serve(sock); });
    }
  }

  // Sleeps `d` in small steps; false when the server stops meanwhile.
  bool pause(ms d) {
    auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      if (stopping_)
        return false;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        until - std::chrono::steady_clock::now(), ms{5}));
    }
    return !stopping_;
  }

  // Holds the connection until the client closes it or the server stops.
  void hold(tcp::socket& sock) {
    while (!stopping_) {
      pollfd p{sock.native_handle(), POLLIN, 0};
      if (::poll(&p, 1, 10) > 0) {
        char c;
        if (::recv(sock.native_handle(), &c, 1, MSG_PEEK) <= 0)
          return;
        std::this_thread::sleep_for(ms{10});
      }
    }
  }

  fake_response next_response(const std::string& path) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& q = scripts_[path];
    if (!q.empty()) {
      auto r = std::move(q.front());
      q.pop_front();
      return r;
    }
    if (auto i = fallbacks_.find(path); i != fallbacks_.end())
      return i->second;
    return json(500, R"({"error":{"message":"no scripted response for )"
                       + path + R"(","type":"server_error"}})");
  }

  void serve(std::shared_ptr<tcp::socket> sock) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      boost::system::error_code ec;
      http::read(*sock, buffer, req, ec);
      if (ec || stopping_)
        break;
      fake_request rec;
      rec.method = std::string{req.method_string()};
      rec.path = std::string{req.target()};
      for (const auto& f : req) {
        std::string name{f.name_string()};
        for (auto& c : name)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        rec.headers[name] = std::string{f.value()};
      }
      rec.body = req.body();
      auto path = rec.path;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        requests_.push_back(std::move(rec));
      }
      cv_.notify_all();
      auto res = next_response(path);
      if (!play(*sock, res) || !req.keep_alive())
        break;
    }
    boost::system::error_code ignored;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      open_fds_.erase(sock->native_handle());
    }
    sock->shutdown(tcp::socket::shutdown_both, ignored);
    sock->close(ignored);
  }

  // Sends `r`; false when the connection must end.
  bool play(tcp::socket& sock, const fake_response& r) {
    if (r.hang) {
      hold(sock);
      return false;
    }
    if (!pause(r.head_delay))
      return false;
    bool chunked = r.chunked.value_or(r.pieces.size() > 1 || r.stall);
    std::string head = "HTTP/1.1 " + std::to_string(r.status) + " "
                       + reason(r.status) + "\r\n";
    for (const auto& [k, v] : r.headers)
      head += k + ": " + v + "\r\n";
    if (chunked) {
      head += "transfer-encoding: chunked\r\n";
    } else {
      size_t total = 0;
      for (const auto& p : r.pieces)
        total += p.bytes.size();
      head += "content-length: " + std::to_string(total) + "\r\n";
    }
    head += "\r\n";
    boost::system::error_code ec;
    boost::asio::write(sock, boost::asio::buffer(head), ec);
    if (ec)
      return false;
    for (const auto& p : r.pieces) {
      if (!pause(p.delay))
        return false;
      if (p.bytes.empty())
        continue;
      std::string out;
      if (chunked) {
        char size[32];
        std::snprintf(size, sizeof(size), "%zx\r\n", p.bytes.size());
        out = size + p.bytes + "\r\n";
      } else {
        out = p.bytes;
      }
      boost::asio::write(sock, boost::asio::buffer(out), ec);
      if (ec)
        return false;
    }
    if (r.stall) {
      hold(sock);
      return false;
    }
    if (chunked)
      boost::asio::write(sock, boost::asio::buffer(std::string{"0\r\n\r\n"}),
                         ec);
    return !ec;
  }

  static std::string reason(int status) {
    switch (status) {
      case 200: return "OK";
      case 400: return "Bad Request";
      case 401: return "Unauthorized";
      case 429: return "Too Many Requests";
      case 500: return "Internal Server Error";
      case 502: return "Bad Gateway";
      case 503: return "Service Unavailable";
      default: return "Status";
    }
  }

  boost::asio::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  mutable std::mutex mtx_;
  mutable std::condition_variable cv_;
  std::map<std::string, std::deque<fake_response>> scripts_;
  std::map<std::string, fake_response> fallbacks_;
  std::vector<fake_request> requests_;
  std::vector<std::thread> conn_threads_;
  std::set<int> open_fds_;
};

} // namespace fp::test
