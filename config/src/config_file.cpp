#include "config_file.hpp"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <cstdint>
#include <system_error>

#include "messages.hpp"

namespace fp::config::detail {

namespace {

// Config files are for humans; anything bigger is a wrong path.
constexpr std::uintmax_t max_file_size = 1 << 20;

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  return text;
}

// Rejects overlong forms, surrogates and code points beyond U+10FFFF, as
// the standard requires; control characters other than tab are refused too
// because they can only be accidents in a config file.
bool valid_line_text(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t') || c == 0x7f)
        return false;
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > text.size())
      return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

std::string where(std::string_view name, size_t line) {
  return std::string{name} + ":" + std::to_string(line);
}

// Unquotes a value that starts with '"'; returns an error text or "".
std::string unquote(std::string_view raw, std::string& out) {
  out.clear();
  for (size_t i = 1; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '"') {
      if (!trim(raw.substr(i + 1)).empty())
        return "text after the closing quote";
      return {};
    }
    if (c == '\\') {
      if (i + 1 == raw.size())
        return "unterminated quote";
      char next = raw[++i];
      if (next != '"' && next != '\\')
        return "unknown escape \\" + std::string(1, next) +
               " (only \\\" and \\\\ are allowed)";
      out += next;
      continue;
    }
    out += c;
  }
  return "unterminated quote";
}

} // namespace

parsed_file parse_config_text(std::string_view text, std::string_view name) {
  // Editors on some platforms start UTF-8 files with a byte order mark.
  if (text.starts_with("\xef\xbb\xbf"))
    text.remove_prefix(3);
  parsed_file out;
  auto fail = [&](std::string message) {
    out.error = std::move(message);
    return out;
  };
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (!valid_line_text(line))
      return fail("invalid UTF-8 or control character in " + where(name, line_no));
    line = trim(line);
    if (line.empty() || line.front() == '#')
      continue;
    auto eq = line.find('=');
    auto key = trim(line.substr(0, eq == std::string_view::npos ? line.size() : eq));
    if (eq == std::string_view::npos || key.empty())
      return fail("malformed line " + quote(line) + " in " + where(name, line_no) +
                  ": expected key = value");
    file_entry entry{std::string{key}, {}, line_no};
    auto raw = trim(line.substr(eq + 1));
    if (!raw.empty() && raw.front() == '"') {
      if (auto err = unquote(raw, entry.value); !err.empty())
        return fail("malformed value for " + quote(key) + " in " +
                    where(name, line_no) + ": " + err);
    } else {
      entry.value = std::string{raw};
    }
    out.entries.push_back(std::move(entry));
  }
  return out;
}

parsed_file read_config_file(const std::string& path, std::string_view origin) {
  auto fail = [&](const std::string& why) {
    return parsed_file{{},
                       "cannot read config file " + quote(path) + " (from " +
                         std::string{origin} + "): " + why};
  };
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec)
    return fail(ec.message());
  if (std::filesystem::is_directory(status))
    return fail("is a directory");
  auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_file_size)
    return fail("larger than 1 MiB");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail(std::generic_category().message(errno));
  std::string text{std::istreambuf_iterator<char>{in},
                   std::istreambuf_iterator<char>{}};
  if (in.bad())
    return fail("read error");
  return parse_config_text(text, path);
}

} // namespace fp::config::detail
