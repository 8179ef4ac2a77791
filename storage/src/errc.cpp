#include "fp/storage/errc.hpp"

#include "fp/runtime/errc.hpp"

#include <caf/atom.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace fp::storage {

namespace {

// Its own category, so a storage error can never be mistaken for a
// runtime::errc with the same numeric value.
constexpr caf::atom_value category = caf::atom("fp_store");

} // namespace

const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::none: return "none";
    case errc::unavailable: return "unavailable";
    case errc::overloaded: return "overloaded";
    case errc::serialization_failure: return "serialization_failure";
    case errc::commit_unknown: return "commit_unknown";
    case errc::unique_violation: return "unique_violation";
    case errc::constraint_violation: return "constraint_violation";
    case errc::statement_timeout: return "statement_timeout";
    case errc::query_failed: return "query_failed";
    case errc::migration_failed: return "migration_failed";
    case errc::migration_tampered: return "migration_tampered";
  }
  return "query_failed";
}

caf::error make_error(errc code, std::string context) {
  return runtime::make_coded_error(category, static_cast<uint8_t>(code),
                                   std::move(context));
}

errc code_of(const caf::error& err) noexcept {
  if (!err || err.category() != category)
    return errc::none;
  return static_cast<errc>(err.code());
}

bool is_storage_error(const caf::error& err) noexcept {
  return err && err.category() == category;
}

} // namespace fp::storage
