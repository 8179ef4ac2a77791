// The pure parts of the pubsub hub: SSE framing, type filters and the
// NOTIFY payload.

#include <charconv>

#include "fp/actors/pubsub_hub.hpp"
#include "fp/runtime/log.hpp"

namespace fp::actors {

signal_sink::~signal_sink() {
  // nop
}

namespace {

/// Used when no formatter was injected: enough for a client to act on.
std::string minimal_json(const storage::signal_record& rec) {
  std::string out = "{\"id\":\"";
  runtime::log::append_json_escaped(out, rec.id);
  out += "\",\"seq\":";
  out += std::to_string(rec.seq);
  out += ",\"type\":\"";
  runtime::log::append_json_escaped(out, rec.type);
  out += "\",\"payload\":";
  out += rec.payload.empty() ? std::string_view{"{}"} : std::string_view{rec.payload};
  out += '}';
  return out;
}

/// SSE fields end at a line break: a stray one in a field would split it.
void append_field(std::string& out, std::string_view text) {
  for (char c : text)
    if (c != '\n' && c != '\r')
      out += c;
}

} // namespace

std::string sse_frame(const storage::signal_record& rec,
                      const signal_formatter& format) {
  auto json = format ? format(rec) : minimal_json(rec);
  std::string out;
  out.reserve(json.size() + rec.id.size() + rec.type.size() + 24);
  out += "id: ";
  append_field(out, rec.id);
  out += "\nevent: ";
  append_field(out, rec.type);
  out += "\ndata: ";
  append_field(out, json);
  out += "\n\n";
  return out;
}

bool type_matches(std::string_view type,
                  const std::vector<std::string>& prefixes) noexcept {
  if (prefixes.empty())
    return true;
  for (auto& p : prefixes)
    if (type.substr(0, p.size()) == p)
      return true;
  return false;
}

bool parse_signal_notice(std::string_view payload, std::string& slug,
                         int64_t& seq) {
  auto colon = payload.rfind(':');
  if (colon == std::string_view::npos || colon == 0
      || colon + 1 == payload.size())
    return false;
  auto digits = payload.substr(colon + 1);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(),
                                   value);
  if (ec != std::errc{} || ptr != digits.data() + digits.size() || value < 0)
    return false;
  slug.assign(payload.substr(0, colon));
  seq = value;
  return true;
}

} // namespace fp::actors
