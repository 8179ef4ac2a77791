// Text analysis of the local provider: sentences, content words, labels
// and keyword classification. Pure and deterministic.

#include "llm_local.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace fp::actors::llm::local {

namespace {

const std::set<std::string_view> stop_words{
  "a", "about", "above", "after", "again", "all", "also", "am", "an", "and",
  "any", "are", "as", "at", "be", "because", "been", "before", "being",
  "below", "between", "both", "but", "by", "can", "could", "did", "do",
  "does", "doing", "down", "during", "each", "few", "for", "from",
  "further", "had", "has", "have", "having", "he", "her", "here", "hers",
  "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself",
  "just", "me", "more", "most", "my", "no", "nor", "not", "now", "of", "off",
  "on", "once", "only", "or", "other", "our", "ours", "out", "over", "own",
  "same", "she", "should", "so", "some", "such", "than", "that", "the",
  "their", "them", "then", "there", "these", "they", "this", "those",
  "through", "to", "too", "under", "until", "up", "very", "was", "we",
  "were", "what", "when", "where", "which", "while", "who", "whom", "why",
  "will", "with", "would", "you", "your", "yours"};

bool word_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || u >= 0x80;
}

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  auto ws = [](char c) { return std::isspace(static_cast<unsigned char>(c)); };
  while (!s.empty() && ws(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && ws(s.back()))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string> content_words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && !word_char(s[i]))
      ++i;
    size_t start = i;
    while (i < s.size() && word_char(s[i]))
      ++i;
    if (i > start) {
      auto w = lower(s.substr(start, i - start));
      if (!stop_words.count(w))
        out.push_back(std::move(w));
    }
  }
  return out;
}

std::vector<std::string_view> sentences(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  auto push = [&](size_t end) {
    auto s = trim(text.substr(start, end - start));
    if (!s.empty())
      out.push_back(s);
    start = end;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      push(i + 1);
    } else if ((c == '.' || c == '!' || c == '?')
               && (i + 1 == text.size()
                   || std::isspace(static_cast<unsigned char>(text[i + 1])))) {
      push(i + 1);
    }
  }
  push(text.size());
  return out;
}

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos)
      end = text.size();
    out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    auto end = s.find(',', pos);
    if (end == std::string_view::npos)
      end = s.size();
    auto item = trim(s.substr(pos, end - pos));
    while (!item.empty() && (item.back() == '.' || item.back() == ';'))
      item.remove_suffix(1);
    item = trim(item);
    if (!item.empty())
      out.emplace_back(item);
    pos = end + 1;
  }
  return out;
}

size_t number_word(std::string_view w) {
  static const std::map<std::string_view, size_t> words{
    {"one", 1}, {"two", 2}, {"three", 3}, {"four", 4}, {"five", 5},
    {"six", 6}, {"seven", 7}, {"eight", 8}, {"nine", 9}, {"ten", 10}};
  auto i = words.find(w);
  return i == words.end() ? 0 : i->second;
}

} // namespace

size_t count_hits(std::string_view text, std::string_view needle) {
  auto n = lower(trim(needle));
  if (n.empty())
    return 0;
  auto t = lower(text);
  size_t hits = 0;
  for (auto pos = t.find(n); pos != std::string::npos;
       pos = t.find(n, pos + 1)) {
    bool left = pos == 0 || !word_char(t[pos - 1]);
    auto end = pos + n.size();
    bool right = end == t.size() || !word_char(t[end]);
    if (left && right)
      ++hits;
  }
  return hits;
}

std::string extractive_summary(std::string_view text, size_t n) {
  auto all = sentences(text);
  if (n == 0)
    n = 1;
  if (all.size() <= n) {
    std::string out;
    for (auto s : all) {
      if (!out.empty())
        out += ' ';
      out += s;
    }
    return out;
  }
  std::map<std::string, size_t> freq;
  for (const auto& w : content_words(text))
    ++freq[w];
  std::vector<std::pair<size_t, size_t>> scored; // (score, index)
  for (size_t i = 0; i < all.size(); ++i) {
    size_t score = 0;
    for (const auto& w : content_words(all[i]))
      score += freq[w];
    scored.emplace_back(score, i);
  }
  // Highest score first; equal scores keep the earlier sentence.
  std::stable_sort(scored.begin(), scored.end(),
                   [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<size_t> keep;
  for (size_t i = 0; i < n; ++i)
    keep.push_back(scored[i].second);
  std::sort(keep.begin(), keep.end());
  std::string out;
  for (auto i : keep) {
    if (!out.empty())
      out += ' ';
    out += all[i];
  }
  return out;
}

size_t sentence_limit(std::string_view prompt, size_t fallback) {
  auto t = lower(prompt);
  for (auto pos = t.find("at most "); pos != std::string::npos;
       pos = t.find("at most ", pos + 1)) {
    size_t i = pos + 8;
    size_t start = i;
    while (i < t.size() && word_char(t[i]))
      ++i;
    auto word = std::string_view{t}.substr(start, i - start);
    size_t n = 0;
    if (!word.empty()
        && std::all_of(word.begin(), word.end(),
                       [](char c) { return std::isdigit(
                                      static_cast<unsigned char>(c)); }))
      n = static_cast<size_t>(std::stoul(std::string{word.substr(0, 6)}));
    else
      n = number_word(word);
    while (i < t.size() && t[i] == ' ')
      ++i;
    if (n > 0 && t.compare(i, 8, "sentence") == 0)
      return n;
  }
  return fallback;
}

std::vector<std::string> labels_in(std::string_view prompt) {
  for (auto line : lines(prompt)) {
    auto l = lower(line);
    auto pos = l.find("labels:");
    if (pos == std::string::npos)
      continue;
    auto rest = trim(line.substr(pos + 7));
    if (!rest.empty() && rest.front() == '[') {
      // A JSON array of strings: take every quoted item.
      std::vector<std::string> out;
      size_t i = 1;
      while (i < rest.size() && rest[i] != ']') {
        if (rest[i] == '"') {
          std::string item;
          ++i;
          while (i < rest.size() && rest[i] != '"') {
            if (rest[i] == '\\' && i + 1 < rest.size())
              ++i;
            item += rest[i++];
          }
          out.push_back(std::move(item));
        }
        ++i;
      }
      return out;
    }
    return split_list(rest);
  }
  return {};
}

classification classify(std::string_view text, std::string_view rules,
                        std::vector<std::string> labels) {
  // Rule lines `<label>: kw1, kw2` of the rules text.
  std::vector<std::pair<std::string, std::vector<std::string>>> rule_lines;
  for (auto line : lines(rules)) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
      continue;
    auto name = trim(line.substr(0, colon));
    if (name.empty() || lower(name) == "labels"
        || name.find(' ') != std::string_view::npos)
      continue;
    rule_lines.emplace_back(std::string{name},
                            split_list(line.substr(colon + 1)));
  }
  if (labels.empty())
    for (const auto& [name, kws] : rule_lines)
      labels.push_back(name);
  if (labels.empty())
    return {"other", 0.5};
  // The `Labels:` line names every label: do not count it as evidence.
  std::string body;
  for (auto line : lines(text)) {
    auto at = lower(line).find("labels:");
    body += at == std::string::npos ? line : line.substr(0, at);
    body += '\n';
  }
  size_t best = 0;
  size_t best_hits = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    auto hits = count_hits(body, labels[i]);
    for (const auto& [name, kws] : rule_lines)
      if (lower(name) == lower(labels[i]))
        for (const auto& kw : kws)
          hits += count_hits(body, kw);
    if (hits > best_hits) {
      best = i;
      best_hits = hits;
    }
  }
  if (best_hits == 0) {
    for (const auto& l : labels)
      if (lower(l) == "other")
        return {l, 0.5};
    return {labels.front(), 0.5};
  }
  auto h = static_cast<double>(best_hits);
  return {labels[best], h / (h + 1)};
}

} // namespace fp::actors::llm::local
