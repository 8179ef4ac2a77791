// SSE fan-out benchmark client (see bench/spine.sh): opens N subscribers on
// GET /api/v1/signals/stream, emits one signal every INTERVAL through
// POST /api/v1/signals on its own keep-alive connection, and measures how
// long each event takes to reach each subscriber. The payload carries the
// emit time (microseconds since the epoch, CLOCK_REALTIME) and a sequence
// number, so receipt - emit is on the same host clock, and gaps or
// duplicates per subscriber are counted. The server's resident memory is
// read from /proc/<pid>/status before the subscribers connect, once they
// are all streaming, and at its peak while events flow.
//
// One thread drives every subscriber socket through epoll; a second thread
// emits. Prints one "name value" line per figure.
//
// Usage: spine_sse_fanout HOST PORT API_KEY SERVER_PID [SUBSCRIBERS]
//          [SECONDS] [INTERVAL_MS]

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <sstream>
#include <limits>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "spine_sse_fanout: %s (%s)\n", what.c_str(),
               std::strerror(errno));
  std::exit(1);
}

int64_t now_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000 + ts.tv_nsec / 1000;
}

/// VmRSS of `pid` in KiB (0 when unreadable).
long rss_kib(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::atol(line.c_str() + 6);
  return 0;
}

/// User + system CPU seconds used so far by `pid` ("self" for this one).
double cpu_seconds(const std::string& pid) {
  std::ifstream in{"/proc/" + pid + "/stat"};
  std::string stat{std::istreambuf_iterator<char>{in}, {}};
  auto close = stat.rfind(')'); // the command name may hold spaces
  if (close == std::string::npos)
    return 0;
  std::istringstream fields{stat.substr(close + 2)};
  std::string skip;
  for (int i = 3; i < 14; ++i) // fields 3..13: state .. cmajflt
    fields >> skip;
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

sockaddr_in make_addr(const char* host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
    die(std::string{"bad IPv4 address "} + host);
  return addr;
}

// -- one subscriber ------------------------------------------------------------

enum class phase { connecting, headers, streaming, closed };

struct subscriber {
  int fd = -1;
  phase state = phase::closed;
  bool chunked = false;
  // Chunked transfer decoding: bytes left in the current chunk, or -1 while
  // a chunk-size line is being read.
  long chunk_left = -1;
  std::string raw;  // undecoded bytes (headers, chunk-size lines)
  std::string body; // decoded SSE text not yet split into events
  int64_t next_k = 0;
  int64_t received = 0;
  int attempts = 0;
};

struct totals {
  std::vector<uint32_t> latencies_us;
  int64_t events = 0;
  int64_t gaps = 0;
  int64_t duplicates = 0;
  int64_t closed_while_streaming = 0;
  int64_t refused = 0;
};

/// Handles complete SSE events at the front of `s.body`.
void consume_events(subscriber& s, int64_t received_at, totals& t) {
  static constexpr std::string_view marker = "\"emit_us\":";
  static constexpr std::string_view k_marker = "\"k\":";
  size_t start = 0;
  for (;;) {
    auto end = s.body.find("\n\n", start);
    if (end == std::string::npos)
      break;
    std::string_view event{s.body.data() + start, end - start};
    start = end + 2;
    auto at = event.find(marker);
    if (at == std::string_view::npos)
      continue; // a comment (heartbeat) or another event
    int64_t emitted = std::atoll(event.data() + at + marker.size());
    auto k_at = event.find(k_marker);
    int64_t k = k_at == std::string_view::npos
                  ? s.next_k
                  : std::atoll(event.data() + k_at + k_marker.size());
    if (k < s.next_k) {
      ++t.duplicates;
      continue;
    }
    if (k > s.next_k)
      t.gaps += k - s.next_k;
    s.next_k = k + 1;
    ++s.received;
    ++t.events;
    auto lat = std::max<int64_t>(0, received_at - emitted);
    t.latencies_us.push_back(static_cast<uint32_t>(
      std::min<int64_t>(lat, std::numeric_limits<uint32_t>::max())));
  }
  s.body.erase(0, start);
}

/// Moves the bytes of `s.raw` into `s.body`, decoding chunked framing.
/// Returns false when the stream is malformed.
bool decode(subscriber& s) {
  if (!s.chunked) {
    s.body.append(s.raw);
    s.raw.clear();
    return true;
  }
  size_t pos = 0;
  while (pos < s.raw.size()) {
    if (s.chunk_left < 0) {
      auto eol = s.raw.find("\r\n", pos);
      if (eol == std::string::npos)
        break;
      if (eol == pos) { // the CRLF that ends a chunk's data
        pos += 2;
        continue;
      }
      s.chunk_left = std::strtol(s.raw.c_str() + pos, nullptr, 16);
      pos = eol + 2;
      if (s.chunk_left == 0)
        return false; // last chunk: the server ended the stream
      continue;
    }
    auto n = std::min<size_t>(static_cast<size_t>(s.chunk_left),
                              s.raw.size() - pos);
    s.body.append(s.raw, pos, n);
    pos += n;
    s.chunk_left -= static_cast<long>(n);
    if (s.chunk_left == 0)
      s.chunk_left = -1;
  }
  s.raw.erase(0, pos);
  return true;
}

// -- the emitter -----------------------------------------------------------------

struct emitter_result {
  int64_t emitted = 0;
  int64_t failed = 0;
  int64_t late = 0; // POSTs that started more than one interval late
  long rss_peak_kib = 0;
};

/// Reads one HTTP response (Content-Length or chunked body) from a blocking
/// socket; returns its status or 0 on a broken connection.
int read_response(int fd, std::string& buf) {
  for (;;) {
    auto head_end = buf.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      int status = std::atoi(buf.c_str() + 9);
      std::string head = buf.substr(0, head_end);
      for (auto& c : head)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t body_len = 0;
      auto cl = head.find("content-length:");
      if (cl != std::string::npos) {
        body_len = std::strtoul(head.c_str() + cl + 15, nullptr, 10);
        if (buf.size() >= head_end + 4 + body_len) {
          buf.erase(0, head_end + 4 + body_len);
          return status;
        }
      } else if (head.find("transfer-encoding: chunked") != std::string::npos) {
        auto last = buf.find("\r\n0\r\n\r\n", head_end);
        if (last != std::string::npos) {
          buf.erase(0, last + 7);
          return status;
        }
      } else {
        buf.erase(0, head_end + 4);
        return status;
      }
    }
    char tmp[16384];
    auto n = ::read(fd, tmp, sizeof tmp);
    if (n <= 0)
      return 0;
    buf.append(tmp, static_cast<size_t>(n));
  }
}

int connect_blocking(const sockaddr_in& addr) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    die("socket");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    die("emitter connect");
  return fd;
}

void run_emitter(const sockaddr_in& addr, const std::string& key,
                 int server_pid, std::chrono::milliseconds interval,
                 int64_t count, std::atomic<bool>& done,
                 emitter_result& out) {
  int fd = connect_blocking(addr);
  std::string buf;
  auto next = steady::now();
  auto next_rss = steady::now();
  for (int64_t k = 0; k < count; ++k) {
    std::this_thread::sleep_until(next);
    if (steady::now() - next > interval)
      ++out.late;
    next += interval;
    auto body = "{\"type\":\"bench.sse\",\"payload\":{\"k\":" + std::to_string(k)
                + ",\"emit_us\":" + std::to_string(now_us()) + "}}";
    auto req = "POST /api/v1/signals HTTP/1.1\r\nHost: bench\r\n"
               "Authorization: Bearer " + key + "\r\n"
               "Content-Type: application/json\r\nContent-Length: "
               + std::to_string(body.size()) + "\r\n\r\n" + body;
    if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size()))
      die("emitter write");
    int status = read_response(fd, buf);
    if (status == 0) {
      ::close(fd);
      fd = connect_blocking(addr);
      buf.clear();
      ++out.failed;
    } else if (status < 200 || status >= 300) {
      ++out.failed;
    }
    ++out.emitted;
    if (steady::now() >= next_rss) {
      out.rss_peak_kib = std::max(out.rss_peak_kib, rss_kib(server_pid));
      next_rss = steady::now() + std::chrono::milliseconds{250};
    }
  }
  out.rss_peak_kib = std::max(out.rss_peak_kib, rss_kib(server_pid));
  ::close(fd);
  done = true;
}

double percentile_ms(std::vector<uint32_t>& v, double q) {
  if (v.empty())
    return -1;
  auto i = static_cast<size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(i), v.end());
  return v[i] / 1000.0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: spine_sse_fanout HOST PORT API_KEY SERVER_PID "
                         "[SUBSCRIBERS] [SECONDS] [INTERVAL_MS]\n");
    return 2;
  }
  const auto addr = make_addr(argv[1], std::atoi(argv[2]));
  const std::string key = argv[3];
  const int server_pid = std::atoi(argv[4]);
  const int n = argc > 5 ? std::atoi(argv[5]) : 10000;
  const double seconds = argc > 6 ? std::atof(argv[6]) : 10;
  const std::chrono::milliseconds interval{argc > 7 ? std::atoi(argv[7]) : 10};
  const int64_t to_emit
    = static_cast<int64_t>(seconds * 1000 / static_cast<double>(interval.count()));

  const std::string request
    = "GET /api/v1/signals/stream?types=bench.sse HTTP/1.1\r\nHost: bench\r\n"
      "Authorization: Bearer " + key + "\r\nAccept: text/event-stream\r\n\r\n";

  int ep = epoll_create1(0);
  if (ep < 0)
    die("epoll_create1");
  std::vector<subscriber> subs(static_cast<size_t>(n));
  totals t;
  t.latencies_us.reserve(static_cast<size_t>(n) * static_cast<size_t>(to_emit));

  const long rss_before = rss_kib(server_pid);

  auto start_connect = [&](size_t i) {
    auto& s = subs[i];
    s = subscriber{.attempts = s.attempts + 1};
    s.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (s.fd < 0)
      die("socket (raise ulimit -n)");
    int rc = ::connect(s.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    if (rc != 0 && errno != EINPROGRESS)
      die("connect");
    s.state = phase::connecting;
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = i;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev) != 0)
      die("epoll_ctl");
  };
  auto close_sub = [&](size_t i) {
    auto& s = subs[i];
    if (s.fd >= 0) {
      epoll_ctl(ep, EPOLL_CTL_DEL, s.fd, nullptr);
      ::close(s.fd);
    }
    s.fd = -1;
    s.state = phase::closed;
  };

  // Handles readiness of subscriber i: completes the connect and sends the
  // request, then reads headers and events.
  std::vector<char> rbuf(1 << 16);
  int pending = 0;
  int streaming = 0;
  auto on_event = [&](size_t i, uint32_t events) {
    auto& s = subs[i];
    if (s.state == phase::connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
        ++t.refused;
        close_sub(i);
        --pending;
        if (s.attempts < 5)
          start_connect(i), ++pending;
        return;
      }
      if (::write(s.fd, request.data(), request.size())
          != static_cast<ssize_t>(request.size()))
        die("write request");
      s.state = phase::headers;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.u64 = i;
      epoll_ctl(ep, EPOLL_CTL_MOD, s.fd, &ev);
      return;
    }
    for (;;) {
      auto got = ::read(s.fd, rbuf.data(), rbuf.size());
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      if (got <= 0) {
        if (s.state == phase::streaming) {
          ++t.closed_while_streaming;
          --streaming;
        } else {
          ++t.refused;
          --pending;
        }
        close_sub(i);
        return;
      }
      auto received_at = now_us();
      s.raw.append(rbuf.data(), static_cast<size_t>(got));
      if (s.state == phase::headers) {
        auto head_end = s.raw.find("\r\n\r\n");
        if (head_end == std::string::npos)
          continue;
        if (s.raw.compare(0, 12, "HTTP/1.1 200") != 0) {
          std::fprintf(stderr, "spine_sse_fanout: subscriber refused: %s\n",
                       s.raw.substr(0, s.raw.find("\r\n")).c_str());
          ++t.refused;
          --pending;
          close_sub(i);
          return;
        }
        std::string head = s.raw.substr(0, head_end);
        for (auto& c : head)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        s.chunked = head.find("transfer-encoding: chunked") != std::string::npos;
        s.raw.erase(0, head_end + 4);
        s.state = phase::streaming;
        --pending;
        ++streaming;
      }
      if (!decode(s)) {
        ++t.closed_while_streaming;
        --streaming;
        close_sub(i);
        return;
      }
      consume_events(s, received_at, t);
    }
  };

  std::vector<epoll_event> evs(4096);
  auto poll_once = [&](int timeout_ms) {
    int got = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), timeout_ms);
    for (int j = 0; j < got; ++j)
      on_event(evs[static_cast<size_t>(j)].data.u64, evs[static_cast<size_t>(j)].events);
  };

  // -- connect every subscriber, at most 256 handshakes in flight ------------------
  auto t0 = steady::now();
  size_t next_sub = 0;
  while (streaming < n) {
    while (next_sub < subs.size() && pending < 256) {
      start_connect(next_sub++);
      ++pending;
    }
    if (next_sub == subs.size() && pending == 0)
      break; // some were refused for good
    poll_once(100);
    if (steady::now() - t0 > std::chrono::seconds{120}) {
      std::fprintf(stderr, "spine_sse_fanout: only %d of %d subscribers after 120 s\n",
                   streaming, n);
      break;
    }
  }
  const double connect_s = std::chrono::duration<double>(steady::now() - t0).count();
  // Let the server settle (first heartbeats, buffers) before reading memory.
  auto settle = steady::now() + std::chrono::seconds{1};
  while (steady::now() < settle)
    poll_once(50);
  const long rss_connected = rss_kib(server_pid);
  const int connected = streaming;

  // -- emit and receive ------------------------------------------------------------
  std::atomic<bool> done{false};
  emitter_result er;
  const auto server_pid_s = std::to_string(server_pid);
  const double server_cpu0 = cpu_seconds(server_pid_s);
  const double client_cpu0 = cpu_seconds("self");
  const auto stream_t0 = steady::now();
  std::thread emitter{[&] {
    run_emitter(addr, key, server_pid, interval, to_emit, done, er);
  }};
  while (!done.load())
    poll_once(20);
  // Drain: wait until every live subscriber has the last event, at most 5 s.
  auto drain_until = steady::now() + std::chrono::seconds{5};
  for (;;) {
    bool all = true;
    for (auto& s : subs)
      if (s.state == phase::streaming && s.next_k < er.emitted) {
        all = false;
        break;
      }
    if (all || steady::now() > drain_until)
      break;
    poll_once(20);
  }
  emitter.join();
  const double stream_s = std::chrono::duration<double>(steady::now() - stream_t0).count();
  const double server_cpu = (cpu_seconds(server_pid_s) - server_cpu0) / stream_s;
  const double client_cpu = (cpu_seconds("self") - client_cpu0) / stream_s;
  int64_t missing = 0;
  for (auto& s : subs)
    if (s.state == phase::streaming)
      missing += std::max<int64_t>(0, er.emitted - s.next_k);

  const int64_t expected = er.emitted * connected;
  const double per_sub_kib
    = connected > 0 ? static_cast<double>(std::max(rss_connected, er.rss_peak_kib) - rss_before)
                        / connected
                    : 0;
  std::printf("subscribers %d\n", connected);
  std::printf("connect_seconds %.2f\n", connect_s);
  std::printf("emitted %lld\n", static_cast<long long>(er.emitted));
  std::printf("emit_failed %lld\n", static_cast<long long>(er.failed));
  std::printf("emit_late %lld\n", static_cast<long long>(er.late));
  std::printf("deliveries_expected %lld\n", static_cast<long long>(expected));
  std::printf("deliveries %lld\n", static_cast<long long>(t.events));
  std::printf("missing_at_end %lld\n", static_cast<long long>(missing));
  std::printf("gaps %lld\n", static_cast<long long>(t.gaps));
  std::printf("duplicates %lld\n", static_cast<long long>(t.duplicates));
  std::printf("disconnected %lld\n", static_cast<long long>(t.closed_while_streaming));
  std::printf("refused %lld\n", static_cast<long long>(t.refused));
  std::printf("p50_ms %.2f\n", percentile_ms(t.latencies_us, 0.50));
  std::printf("p99_ms %.2f\n", percentile_ms(t.latencies_us, 0.99));
  std::printf("p999_ms %.2f\n", percentile_ms(t.latencies_us, 0.999));
  std::printf("max_ms %.2f\n", percentile_ms(t.latencies_us, 1.0));
  // Cores busy while streaming (1.0 = one core all the time).
  std::printf("server_cores %.2f\n", server_cpu);
  std::printf("client_cores %.2f\n", client_cpu);
  std::printf("rss_before_kib %ld\n", rss_before);
  std::printf("rss_connected_kib %ld\n", rss_connected);
  std::printf("rss_peak_kib %ld\n", er.rss_peak_kib);
  std::printf("kib_per_subscriber %.1f\n", per_sub_kib);
  for (size_t i = 0; i < subs.size(); ++i)
    close_sub(i);
  ::close(ep);
  return 0;
}
