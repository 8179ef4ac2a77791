#pragma once

// A raw SSE client for tests: one connection over a plain socket, chunked
// decoding and event parsing, nothing else, so a test sees exactly what the
// server sent.

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "http_client.hpp"

namespace fp::test {

using namespace std::chrono_literals;

struct sse_event {
  std::string id;
  std::string event;
  std::string data;
  std::string comment;
  int retry = -1;

  bool is_signal() const {
    return !id.empty();
  }
};

/// One SSE connection over a raw socket: chunked decoding and event
/// parsing, nothing else, so the test sees exactly what the server sent.
class sse_client {
  using ms = std::chrono::milliseconds;
  using steady = std::chrono::steady_clock;

public:
  /// Connects and sends the request; `rcvbuf` > 0 shrinks the socket's
  /// receive buffer (a subscriber that stalls with little buffering).
  sse_client(uint16_t port, const std::string& target,
             const std::vector<std::string>& headers, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    if (rcvbuf > 0)
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    auto req = test::request_text("GET", target, headers);
    REQUIRE(::send(fd_, req.data(), req.size(), MSG_NOSIGNAL)
            == static_cast<ssize_t>(req.size()));
  }

  sse_client(const sse_client&) = delete;
  sse_client& operator=(const sse_client&) = delete;

  ~sse_client() {
    close();
  }

  void close() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

  /// Reads the response head; returns the status (0 on timeout).
  int head(std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = steady::now() + timeout;
    while (status_ == 0) {
      auto end = raw_.find("\r\n\r\n");
      if (end != std::string::npos) {
        auto head = raw_.substr(0, end);
        raw_.erase(0, end + 4);
        status_ = std::stoi(head.substr(9, 3));
        head_text_ = test::lower(head);
        chunked_ = head_text_.find("transfer-encoding: chunked") != std::string::npos;
        break;
      }
      if (!read_more(deadline))
        return 0;
    }
    return status_;
  }

  /// The response head, lower-cased.
  const std::string& head_text() const {
    return head_text_;
  }

  /// The body read so far (for non-stream answers such as a 404).
  std::string body() {
    decode();
    return body_;
  }

  /// The next event or comment; nullopt on timeout or end of stream.
  std::optional<sse_event> next(std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = steady::now() + timeout;
    for (;;) {
      decode();
      auto end = body_.find("\n\n", body_pos_);
      if (end != std::string::npos) {
        auto block = body_.substr(body_pos_, end - body_pos_);
        body_pos_ = end + 2;
        // Consumed text is dropped in bulk, not per event (that would be
        // quadratic on a long backlog).
        if (body_pos_ > 65536) {
          body_.erase(0, body_pos_);
          body_pos_ = 0;
        }
        return parse(block);
      }
      if (ended_ || !read_more(deadline))
        return std::nullopt;
    }
  }

  /// The next named event (comments and retry hints skipped).
  std::optional<sse_event> next_event(std::chrono::milliseconds timeout = 10000ms) {
    auto deadline = steady::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
      if (left <= 0ms)
        return std::nullopt;
      auto ev = next(left);
      if (!ev)
        return std::nullopt;
      if (!ev->event.empty())
        return ev;
    }
  }
  /// The next `n` signal events (comments skipped); fewer on timeout/end.
  std::vector<sse_event> signals(std::size_t n, std::chrono::milliseconds timeout = 10000ms) {
    std::vector<sse_event> out;
    auto deadline = steady::now() + timeout;
    while (out.size() < n) {
      auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
      if (left <= 0ms)
        break;
      auto ev = next(left);
      if (!ev)
        break;
      if (ev->is_signal())
        out.push_back(std::move(*ev));
    }
    return out;
  }

  /// True once the server ended the stream (last chunk or connection end).
  bool ended() {
    decode();
    return ended_;
  }

private:
  bool read_more(steady::time_point deadline) {
    if (eof_)
      return false;
    // A deadline already past still takes what is there now.
    auto left = std::max(std::chrono::duration_cast<ms>(deadline - steady::now()), 0ms);
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return false;
    char buf[65536];
    auto n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      eof_ = true;
      ended_ = true;
      decode();
      return false;
    }
    raw_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  void decode() {
    if (status_ == 0)
      return;
    if (!chunked_) {
      body_ += raw_;
      raw_.clear();
      return;
    }
    std::size_t at = 0;
    for (;;) {
      auto eol = raw_.find("\r\n", at);
      if (eol == std::string::npos)
        break;
      auto size = std::stoul(raw_.substr(at, eol - at), nullptr, 16);
      if (raw_.size() < eol + 2 + size + 2)
        break;
      if (size == 0) {
        ended_ = true;
        at = raw_.size();
        break;
      }
      body_.append(raw_, eol + 2, size);
      at = eol + 2 + size + 2;
    }
    raw_.erase(0, at);
  }

  static sse_event parse(const std::string& block) {
    sse_event ev;
    std::size_t at = 0;
    while (at <= block.size()) {
      auto nl = block.find('\n', at);
      auto line = block.substr(at, nl == std::string::npos ? std::string::npos
                                                            : nl - at);
      if (line.rfind("id: ", 0) == 0)
        ev.id = line.substr(4);
      else if (line.rfind("event: ", 0) == 0)
        ev.event = line.substr(7);
      else if (line.rfind("data: ", 0) == 0)
        ev.data = line.substr(6);
      else if (line.rfind("retry: ", 0) == 0)
        ev.retry = std::stoi(line.substr(7));
      else if (line.rfind(":", 0) == 0)
        ev.comment = line.substr(1);
      if (nl == std::string::npos)
        break;
      at = nl + 1;
    }
    return ev;
  }

  int fd_ = -1;
  int status_ = 0;
  bool chunked_ = false;
  bool eof_ = false;
  bool ended_ = false;
  std::string head_text_;
  std::string raw_;
  std::string body_;
  std::size_t body_pos_ = 0;
};
} // namespace fp::test
