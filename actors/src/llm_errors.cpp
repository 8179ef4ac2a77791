#include "fp/actors/llm.hpp"

#include <cctype>

#include "fp/runtime/errc.hpp"

#include <caf/atom.hpp>

namespace fp::actors::llm {

namespace {

// Its own category: an llm error never reads as a runtime::errc.
constexpr caf::atom_value category = caf::atom("fp_llm");

} // namespace

// -- errors --------------------------------------------------------------------------

const char* to_string(errc e) noexcept {
  switch (e) {
    case errc::none: return "none";
    case errc::timeout: return "timeout";
    case errc::rate_limited: return "rate_limited";
    case errc::provider_error: return "provider_error";
    case errc::bad_response: return "bad_response";
    case errc::schema_mismatch: return "schema_mismatch";
    case errc::cancelled: return "cancelled";
    case errc::circuit_open: return "circuit_open";
    case errc::not_configured: return "not_configured";
    case errc::unavailable: return "unavailable";
  }
  return "provider_error";
}

caf::error make_error(errc e, std::string context) {
  return runtime::make_coded_error(category, static_cast<uint8_t>(e),
                                   std::move(context));
}

errc code_of(const caf::error& err) noexcept {
  if (!err || err.category() != category)
    return errc::none;
  return static_cast<errc>(err.code());
}

// -- http_head -----------------------------------------------------------------------

std::string http_head::header(std::string_view name) const {
  auto same = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size())
      return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(a[i]))
          != std::tolower(static_cast<unsigned char>(b[i])))
        return false;
    return true;
  };
  for (const auto& [k, v] : headers)
    if (same(k, name))
      return v;
  return {};
}

} // namespace fp::actors::llm
