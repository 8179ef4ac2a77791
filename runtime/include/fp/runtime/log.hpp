#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace fp::runtime::log {

enum class level : uint8_t { trace, debug, info, warn, error, off };

/// Parses "trace" .. "error" / "off"; false on anything else.
bool parse_level(std::string_view text, level& out) noexcept;
const char* to_string(level lvl) noexcept;

/// One structured field of a log line. Strings are JSON-escaped on output.
struct field {
  std::string_view key;
  std::variant<std::string_view, int64_t, double, bool> value;

  field(std::string_view k, std::string_view v) : key(k), value(v) {}
  field(std::string_view k, const std::string& v)
    : key(k), value(std::string_view{v}) {}
  field(std::string_view k, const char* v)
    : key(k), value(std::string_view{v}) {}
  field(std::string_view k, bool v) : key(k), value(v) {}
  field(std::string_view k, double v) : key(k), value(v) {}
  template <class Int>
    requires(std::is_integral_v<Int> && !std::is_same_v<Int, bool>)
  field(std::string_view k, Int v) : key(k), value(static_cast<int64_t>(v)) {}
};

using fields = std::initializer_list<field>;

/// Sets the minimum level written (process-wide; thread-safe).
void set_level(level lvl) noexcept;
level current_level() noexcept;
bool enabled(level lvl) noexcept;

/// Redirects output (default: stdout). Tests point it at a string sink.
/// The sink receives whole lines, newline included, one call per line.
using sink_fn = void (*)(std::string_view line, void* user);
void set_sink(sink_fn fn, void* user) noexcept;

/// Writes one JSON line: {"ts":..., "level":..., "msg":..., <fields>...}.
/// Each line is written with a single call, so lines from many threads never
/// interleave.
void write(level lvl, std::string_view msg, fields extra = {});

inline void trace(std::string_view msg, fields f = {}) { write(level::trace, msg, f); }
inline void debug(std::string_view msg, fields f = {}) { write(level::debug, msg, f); }
inline void info(std::string_view msg, fields f = {}) { write(level::info, msg, f); }
inline void warn(std::string_view msg, fields f = {}) { write(level::warn, msg, f); }
inline void error(std::string_view msg, fields f = {}) { write(level::error, msg, f); }

/// Appends `text` to `out` as the inside of a JSON string (no quotes).
void append_json_escaped(std::string& out, std::string_view text);

} // namespace fp::runtime::log
