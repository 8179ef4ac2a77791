#pragma once

// The built-in "local" provider: deterministic answers computed from the
// prompt (extractive summaries, keyword classification, tool rules,
// structured output filled from a schema). No network, no weights.

#include <string>
#include <string_view>
#include <vector>

#include "fp/actors/llm.hpp"

namespace fp::actors::llm::local {

/// Runs `req` on the local provider, streaming its text word by word.
caf::expected<response> complete(const request& req, const stream_sink& sink,
                                 const cancel_token& cancel);

// -- text analysis (llm_local_text.cpp) ------------------------------------------------

/// The best `n` sentences of `text` by content-word frequency, in their
/// original order, joined by one space.
std::string extractive_summary(std::string_view text, size_t n);

/// N of "at most N sentences" in `prompt`, else `fallback`.
size_t sentence_limit(std::string_view prompt, size_t fallback = 3);

/// Labels named in `prompt`: a line `Labels: a, b, c` or a JSON array after
/// `Labels:`. Empty when there is none.
std::vector<std::string> labels_in(std::string_view prompt);

struct classification {
  std::string label;
  double confidence = 0.5;
};

/// Picks among `labels` for `text`: keywords are each label's name plus the
/// words of a `<label>: kw1, kw2` line in `rules`; most hits wins, ties go
/// to the first label; no hits → "other" when it is a label, else the
/// first. Labels empty: the labels of the rule lines, else "other".
classification classify(std::string_view text, std::string_view rules,
                        std::vector<std::string> labels);

/// Case-insensitive count of `needle` in `text` at word boundaries.
size_t count_hits(std::string_view text, std::string_view needle);

} // namespace fp::actors::llm::local
