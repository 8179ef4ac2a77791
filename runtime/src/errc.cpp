#include "fp/runtime/errc.hpp"

#include <caf/atom.hpp>
#include <caf/message.hpp>
#include <caf/make_message.hpp>

namespace fp::runtime {

namespace {

constexpr caf::atom_value category = caf::atom("fp");

} // namespace

const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::none: return "none";
    case errc::invalid_argument: return "invalid_argument";
    case errc::bad_request: return "bad_request";
    case errc::unauthorized: return "unauthorized";
    case errc::forbidden: return "forbidden";
    case errc::not_found: return "not_found";
    case errc::conflict: return "conflict";
    case errc::payload_too_large: return "payload_too_large";
    case errc::unsupported_media: return "unsupported_media";
    case errc::rate_limited: return "rate_limited";
    case errc::unavailable: return "unavailable";
    case errc::overloaded: return "overloaded";
    case errc::timeout: return "timeout";
    case errc::internal: return "internal";
  }
  return "internal";
}

caf::error make_coded_error(caf::atom_value category, uint8_t code,
                            std::string context) {
  if (context.empty())
    return caf::error{code, category};
  return caf::error{code, category, caf::make_message(std::move(context))};
}

caf::error make_error(errc code, std::string context) {
  return make_coded_error(category, static_cast<uint8_t>(code),
                          std::move(context));
}

errc code_of(const caf::error& err) noexcept {
  if (!err)
    return errc::none;
  if (err.category() != category)
    return errc::internal;
  return static_cast<errc>(err.code());
}

std::string context_of(const caf::error& err) {
  if (!err)
    return {};
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return {};
}

} // namespace fp::runtime
