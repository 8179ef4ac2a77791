#pragma once

// A tiny blocking HTTP/1.1 client over loopback for the HTTP tests: raw
// sockets, so malformed and slow requests can be sent too.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fp::test {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

struct response {
  int status = 0;
  std::string version;
  std::map<std::string, std::string> headers; // lower-case names
  std::string body;

  std::string header(const std::string& name) const {
    auto i = headers.find(name);
    return i != headers.end() ? i->second : std::string{};
  }
  bool has(const std::string& name) const {
    return headers.count(name) > 0;
  }
};

inline std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class client {
public:
  explicit client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0)
      throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd_);
      fd_ = -1;
      throw std::runtime_error("connect failed: "
                               + std::string{std::strerror(errno)});
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }

  client(const client&) = delete;
  client& operator=(const client&) = delete;

  ~client() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  /// Sends all of `data`; false when the peer is gone.
  bool send(std::string_view data) {
    while (!data.empty()) {
      auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Reads whatever arrives within `timeout` into the buffer; false on EOF
  /// or error (the peer closed), true otherwise (also on timeout).
  bool fill(ms timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0)
      return true;
    char buf[16384];
    auto n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  /// Reads one response (Content-Length or chunked body; for HEAD requests
  /// pass `head`). nullopt on timeout or close before a full response.
  std::optional<response> read_response(ms timeout = 5000ms,
                                        bool head = false) {
    auto deadline = steady::now() + timeout;
    auto wait_for = [&](auto&& ready) {
      while (!ready()) {
        auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
        if (left <= 0ms || eof_)
          return ready();
        fill(std::min(left, 100ms));
      }
      return true;
    };
    std::size_t end = 0;
    if (!wait_for([&] {
          end = buf_.find("\r\n\r\n");
          return end != std::string::npos;
        }))
      return std::nullopt;
    response res;
    auto head_text = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    auto line_end = head_text.find("\r\n");
    auto status_line = head_text.substr(0, line_end);
    res.version = status_line.substr(0, status_line.find(' '));
    res.status = std::stoi(status_line.substr(status_line.find(' ') + 1, 3));
    std::size_t pos = line_end == std::string::npos ? head_text.size()
                                                    : line_end + 2;
    while (pos < head_text.size()) {
      auto next = head_text.find("\r\n", pos);
      if (next == std::string::npos)
        next = head_text.size();
      auto line = head_text.substr(pos, next - pos);
      auto colon = line.find(':');
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.erase(0, 1);
      res.headers[lower(line.substr(0, colon))] = value;
      pos = next + 2;
    }
    if (head || res.status == 204 || res.status == 304 || res.status < 200)
      return res;
    if (lower(res.header("transfer-encoding")) == "chunked")
      return read_chunks(res, deadline) ? std::optional{res} : std::nullopt;
    if (res.has("content-length")) {
      auto len = std::stoul(res.header("content-length"));
      if (!wait_for([&] { return buf_.size() >= len; }))
        return std::nullopt;
      res.body = buf_.substr(0, len);
      buf_.erase(0, len);
      return res;
    }
    // Body until close.
    wait_for([&] { return eof_; });
    res.body = std::move(buf_);
    buf_.clear();
    return res;
  }

  /// Reads one chunk of a chunked body; nullopt on timeout, "" for the last.
  std::optional<std::string> read_chunk(ms timeout = 5000ms) {
    auto deadline = steady::now() + timeout;
    while (true) {
      auto eol = buf_.find("\r\n");
      if (eol != std::string::npos) {
        auto size = std::stoul(buf_.substr(0, eol), nullptr, 16);
        if (buf_.size() >= eol + 2 + size + 2) {
          auto data = buf_.substr(eol + 2, size);
          buf_.erase(0, eol + 2 + size + 2);
          return data;
        }
      }
      auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
      if (left <= 0ms || eof_)
        return std::nullopt;
      fill(std::min(left, 100ms));
    }
  }

  /// True when the peer closes the connection within `timeout`.
  bool wait_closed(ms timeout) {
    auto deadline = steady::now() + timeout;
    while (!eof_) {
      auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
      if (left <= 0ms)
        return false;
      fill(std::min(left, 100ms));
    }
    return true;
  }

  bool eof() const noexcept {
    return eof_;
  }

private:
  bool read_chunks(response& res, steady::time_point deadline) {
    while (true) {
      auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
      auto chunk = read_chunk(std::max(left, 1ms));
      if (!chunk)
        return false;
      if (chunk->empty())
        return true;
      res.body += *chunk;
    }
  }

  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

inline std::string request_text(const std::string& method, const std::string& target,
                         const std::vector<std::string>& headers = {},
                         const std::string& body = {}) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: test\r\n";
  for (const auto& h : headers)
    out += h + "\r\n";
  if (!body.empty() || method == "POST")
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n";
  out += body;
  return out;
}

/// One request on a fresh connection.
inline std::optional<response> fetch(uint16_t port, const std::string& method,
                              const std::string& target,
                              const std::vector<std::string>& headers = {},
                              const std::string& body = {}) {
  client c{port};
  c.send(request_text(method, target, headers, body));
  return c.read_response(5000ms, method == "HEAD");
}

/// The string member `name` of a flat JSON text (test bodies only).
inline std::string json_string(const std::string& body, const std::string& name) {
  auto key = "\"" + name + "\":\"";
  auto at = body.find(key);
  if (at == std::string::npos)
    return {};
  at += key.size();
  return body.substr(at, body.find('"', at) - at);
}

} // namespace fp::test
