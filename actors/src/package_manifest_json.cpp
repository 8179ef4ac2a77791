#include "package_manifest_internal.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

#include "llm_json.hpp"

namespace fp::actors::detail {

namespace {

// -- canonical JSON ------------------------------------------------------------------

// A recursive descent over text simdjson has already accepted: only the
// layout changes, so numbers keep the digits they were written with.
class canonicalizer {
public:
  canonicalizer(std::string_view text, std::vector<std::string>* duplicates)
    : s_(text), duplicates_(duplicates) {
  }

  std::string run() {
    std::string out;
    value("$", out);
    return out;
  }

private:
  void skip_ws() {
    while (i_ < s_.size()
           && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r'
               || s_[i_] == '\t'))
      ++i_;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  uint32_t hex4() {
    uint32_t v = 0;
    for (int k = 0; k < 4 && i_ < s_.size(); ++k, ++i_) {
      char c = s_[i_];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
    }
    return v;
  }

  // The decoded content of the string starting at s_[i_] == '"'.
  std::string string_value() {
    std::string out;
    ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      char e = s_[i_++];
      switch (e) {
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          auto cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && i_ + 1 < s_.size()
              && s_[i_] == '\\' && s_[i_ + 1] == 'u') {
            i_ += 2;
            auto low = hex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: out += e; // '"', '\\', '/'
      }
    }
    ++i_; // closing quote
    return out;
  }

  void value(const std::string& path, std::string& out) {
    skip_ws();
    char c = s_[i_];
    if (c == '{') {
      ++i_;
      std::vector<std::pair<std::string, std::string>> members;
      skip_ws();
      if (s_[i_] == '}') {
        ++i_;
      } else {
        for (;;) {
          skip_ws();
          auto key = string_value();
          skip_ws();
          ++i_; // ':'
          std::string v;
          value(path + "." + key, v);
          members.emplace_back(std::move(key), std::move(v));
          skip_ws();
          if (s_[i_++] == '}')
            break;
        }
      }
      std::stable_sort(members.begin(), members.end(),
                       [](const auto& a, const auto& b) {
                         return a.first < b.first;
                       });
      out += '{';
      for (size_t k = 0; k < members.size(); ++k) {
        if (k > 0) {
          if (members[k].first == members[k - 1].first && duplicates_)
            duplicates_->push_back(path + "." + members[k].first);
          out += ',';
        }
        out += json_quote(members[k].first);
        out += ':';
        out += members[k].second;
      }
      out += '}';
    } else if (c == '[') {
      ++i_;
      out += '[';
      skip_ws();
      if (s_[i_] == ']') {
        ++i_;
      } else {
        for (size_t n = 0;; ++n) {
          if (n > 0)
            out += ',';
          value(path + "[" + std::to_string(n) + "]", out);
          skip_ws();
          if (s_[i_++] == ']')
            break;
        }
      }
      out += ']';
    } else if (c == '"') {
      out += json_quote(string_value());
    } else {
      auto start = i_;
      while (i_ < s_.size()
             && (std::isalnum(static_cast<unsigned char>(s_[i_]))
                 || s_[i_] == '-' || s_[i_] == '+' || s_[i_] == '.'))
        ++i_;
      out += s_.substr(start, i_ - start);
    }
  }

  std::string_view s_;
  std::vector<std::string>* duplicates_;
  size_t i_ = 0;
};

} // namespace

std::string canonical_json(std::string_view json,
                           std::vector<std::string>* duplicates) {
  return canonicalizer{json, duplicates}.run();
}

// -- a mutable JSON tree -------------------------------------------------------------

json_node* json_node::find(std::string_view key) {
  for (auto& [k, v] : members)
    if (k == key)
      return &v;
  return nullptr;
}

bool json_node::erase(std::string_view key) {
  auto i = std::find_if(members.begin(), members.end(),
                        [key](const auto& m) { return m.first == key; });
  if (i == members.end())
    return false;
  members.erase(i);
  return true;
}

void json_node::set(std::string_view key, json_node value) {
  if (auto* old = find(key))
    *old = std::move(value);
  else
    members.emplace_back(std::string{key}, std::move(value));
}

std::string json_node::to_json() const {
  if (!is_object)
    return raw;
  std::string out{"{"};
  for (size_t k = 0; k < members.size(); ++k) {
    if (k > 0)
      out += ',';
    out += json_quote(members[k].first);
    out += ':';
    out += members[k].second.to_json();
  }
  out += '}';
  return out;
}

json_node to_node(simdjson::dom::element el) {
  json_node out;
  if (!el.is_object()) {
    out.raw = detail::to_json(el);
    return out;
  }
  out.is_object = true;
  for (auto [key, value] : simdjson::dom::object(el))
    out.set(key, to_node(value));
  return out;
}

std::optional<std::vector<std::string>> split_path(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    auto dot = path.find('.', start);
    auto seg = path.substr(start, dot == std::string_view::npos
                                    ? std::string_view::npos
                                    : dot - start);
    if (seg.empty())
      return std::nullopt;
    out.emplace_back(seg);
    if (dot == std::string_view::npos)
      return out;
    start = dot + 1;
  }
}

json_node* node_at(json_node& root, const std::vector<std::string>& path) {
  json_node* cur = &root;
  for (const auto& seg : path) {
    if (!cur->is_object)
      return nullptr;
    cur = cur->find(seg);
    if (!cur)
      return nullptr;
  }
  return cur;
}

std::optional<json_node> take_at(json_node& root,
                                 const std::vector<std::string>& path) {
  if (path.empty())
    return std::nullopt;
  std::vector<std::string> parent_path(path.begin(), path.end() - 1);
  auto* parent = node_at(root, parent_path);
  if (!parent || !parent->is_object)
    return std::nullopt;
  auto* node = parent->find(path.back());
  if (!node)
    return std::nullopt;
  auto out = std::move(*node);
  parent->erase(path.back());
  return out;
}

bool put_at(json_node& root, const std::vector<std::string>& path,
            json_node value) {
  if (path.empty())
    return false;
  json_node* cur = &root;
  for (size_t k = 0; k + 1 < path.size(); ++k) {
    if (!cur->is_object)
      return false;
    auto* next = cur->find(path[k]);
    if (!next) {
      json_node obj;
      obj.is_object = true;
      cur->set(path[k], std::move(obj));
      next = cur->find(path[k]);
    }
    cur = next;
  }
  if (!cur->is_object)
    return false;
  cur->set(path.back(), std::move(value));
  return true;
}

// -- placeholders --------------------------------------------------------------------

std::vector<placeholder> find_placeholders(std::string_view text) {
  static const std::regex re{
    R"(\{\{\s*(config|secrets)\.([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)\s*\}\})"};
  std::vector<placeholder> out;
  if (text.find("{{") == std::string_view::npos)
    return out;
  auto begin = std::cregex_iterator(text.data(), text.data() + text.size(), re);
  for (auto i = begin; i != std::cregex_iterator{}; ++i) {
    placeholder p;
    p.source = (*i)[1].str();
    p.path = (*i)[2].str();
    p.offset = static_cast<size_t>(i->position(0));
    p.length = static_cast<size_t>(i->length(0));
    out.push_back(std::move(p));
  }
  return out;
}

std::optional<simdjson::dom::element>
schema_property(simdjson::dom::element schema, std::string_view path) {
  auto segs = split_path(path);
  if (!segs)
    return std::nullopt;
  auto cur = schema;
  for (const auto& seg : *segs) {
    auto props = member(cur, "properties");
    if (!props)
      return std::nullopt;
    auto next = member(*props, seg);
    if (!next)
      return std::nullopt;
    cur = *next;
  }
  return cur;
}

} // namespace fp::actors::detail
