#pragma once

// A local webhook receiver for tests: a tiny HTTP/1.1 server on 127.0.0.1
// that records every request (target, lower-cased headers, body) and
// answers a fixed status with an empty body.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.hpp"

namespace fp::test {

/// One request as the receiver saw it.
struct received_hook {
  std::string target;
  std::map<std::string, std::string> headers; // lower-case names
  std::string body;
};

/// A tiny HTTP/1.1 server on 127.0.0.1 that records every request and
/// answers `status` with an empty body.
class hook_receiver {
public:
  explicit hook_receiver(int status = 200) : status_(status) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread{[this] { loop(); }};
  }

  ~hook_receiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  uint16_t port() const {
    return port_;
  }

  /// "http://127.0.0.1:<port><path>".
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  std::vector<received_hook> hooks() {
    std::lock_guard<std::mutex> guard{mtx_};
    return hooks_;
  }

private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)
        continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0)
        continue;
      serve(c);
      ::close(c);
    }
  }

  void serve(int c) {
    std::string buf;
    char chunk[4096];
    std::size_t head_end = std::string::npos;
    std::size_t need = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0)
        continue;
      auto n = ::recv(c, chunk, sizeof(chunk), 0);
      if (n <= 0)
        break;
      buf.append(chunk, static_cast<std::size_t>(n));
      if (head_end == std::string::npos) {
        head_end = buf.find("\r\n\r\n");
        if (head_end == std::string::npos)
          continue;
        auto lower = test::lower(buf.substr(0, head_end));
        auto cl = lower.find("content-length:");
        need = cl == std::string::npos
                 ? 0
                 : std::stoul(lower.substr(cl + 15, lower.find("\r\n", cl) - cl - 15));
      }
      if (buf.size() >= head_end + 4 + need)
        break;
    }
    if (head_end == std::string::npos)
      return;
    received_hook h;
    auto head = buf.substr(0, head_end);
    auto line_end = head.find("\r\n");
    auto first = head.substr(0, line_end);
    auto sp1 = first.find(' ');
    h.target = first.substr(sp1 + 1, first.rfind(' ') - sp1 - 1);
    std::size_t pos = line_end + 2;
    while (pos < head.size()) {
      auto end = head.find("\r\n", pos);
      if (end == std::string::npos)
        end = head.size();
      auto line = head.substr(pos, end - pos);
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ')
          value.erase(0, 1);
        h.headers[test::lower(line.substr(0, colon))] = value;
      }
      pos = end + 2;
    }
    h.body = buf.substr(head_end + 4, need);
    {
      std::lock_guard<std::mutex> guard{mtx_};
      hooks_.push_back(std::move(h));
    }
    auto answer = "HTTP/1.1 " + std::to_string(status_)
                  + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    ::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
  }

  int status_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mtx_;
  std::vector<received_hook> hooks_;
};

} // namespace fp::test
