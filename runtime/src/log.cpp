#include "fp/runtime/log.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <mutex>

#include <unistd.h>

namespace fp::runtime::log {

namespace {

std::atomic<level> min_level{level::info};

void stdout_sink(std::string_view line, void*) {
  // One write(2) per line keeps lines whole even across processes sharing
  // the descriptor; partial writes are continued.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    auto n = ::write(STDOUT_FILENO, p, left);
    if (n <= 0)
      return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

struct sink_state {
  std::mutex mtx;
  sink_fn fn = stdout_sink;
  void* user = nullptr;
};

sink_state& sink() {
  static sink_state instance;
  return instance;
}

void append_timestamp(std::string& out) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = time_point_cast<seconds>(now);
  auto micros = duration_cast<microseconds>(now - secs).count();
  std::time_t t = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  auto n = std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec,
                         static_cast<long>(micros));
  out.append(buf, static_cast<size_t>(n));
}

} // namespace

bool parse_level(std::string_view text, level& out) noexcept {
  static constexpr std::pair<std::string_view, level> names[] = {
    {"trace", level::trace}, {"debug", level::debug}, {"info", level::info},
    {"warn", level::warn},   {"error", level::error}, {"off", level::off},
  };
  for (auto& [name, lvl] : names) {
    if (name == text) {
      out = lvl;
      return true;
    }
  }
  return false;
}

const char* to_string(level lvl) noexcept {
  switch (lvl) {
    case level::trace: return "trace";
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
    case level::off: return "off";
  }
  return "info";
}

void set_level(level lvl) noexcept {
  min_level.store(lvl, std::memory_order_relaxed);
}

level current_level() noexcept {
  return min_level.load(std::memory_order_relaxed);
}

bool enabled(level lvl) noexcept {
  return lvl != level::off && lvl >= current_level();
}

void set_sink(sink_fn fn, void* user) noexcept {
  auto& s = sink();
  std::lock_guard<std::mutex> guard{s.mtx};
  s.fn = fn ? fn : stdout_sink;
  s.user = fn ? user : nullptr;
}

void append_json_escaped(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

void write(level lvl, std::string_view msg, fields extra) {
  if (!enabled(lvl))
    return;
  std::string line;
  line.reserve(128 + msg.size());
  line += "{\"ts\":\"";
  append_timestamp(line);
  line += "\",\"level\":\"";
  line += to_string(lvl);
  line += "\",\"msg\":\"";
  append_json_escaped(line, msg);
  line += '"';
  for (const auto& f : extra) {
    line += ",\"";
    append_json_escaped(line, f.key);
    line += "\":";
    std::visit(
      [&line](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          line += '"';
          append_json_escaped(line, v);
          line += '"';
        } else if constexpr (std::is_same_v<T, bool>) {
          line += v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          if (std::isfinite(v)) {
            char buf[32];
            auto n = std::snprintf(buf, sizeof(buf), "%.6g", v);
            line.append(buf, static_cast<size_t>(n));
          } else {
            line += "null";
          }
        } else {
          line += std::to_string(v);
        }
      },
      f.value);
  }
  line += "}\n";
  auto& s = sink();
  std::lock_guard<std::mutex> guard{s.mtx};
  s.fn(line, s.user);
}

} // namespace fp::runtime::log
