#include "fp/actors/job_registry.hpp"

#include <caf/atom.hpp>
#include <caf/error.hpp>

#include "fp/runtime/errc.hpp"
#include "fp/storage/errc.hpp"

namespace fp::actors {

namespace {

/// Error category of job outcomes; its only code is "permanent".
constexpr caf::atom_value job_category = caf::atom("fp_job");
constexpr uint8_t permanent_code = 1;

} // namespace

caf::error permanent_failure(std::string reason) {
  if (reason.empty())
    reason = "permanent failure";
  return runtime::make_coded_error(job_category, permanent_code,
                                   std::move(reason));
}

bool is_permanent_failure(const caf::error& err) noexcept {
  return err && err.category() == job_category && err.code() == permanent_code;
}

std::string describe_job_error(const caf::error& err) {
  if (!err)
    return {};
  auto ctx = runtime::context_of(err);
  if (err.category() == job_category)
    return ctx;
  std::string code;
  if (err.category() == caf::atom("fp"))
    code = runtime::to_string(runtime::code_of(err));
  else if (storage::is_storage_error(err))
    code = storage::to_string(storage::code_of(err));
  if (code.empty())
    return caf::to_string(err);
  return ctx.empty() ? code : code + ": " + ctx;
}

void job_registry::add(std::string kind, job_handler fn) {
  handlers_[std::move(kind)] = entry{std::move(fn), false};
}

void job_registry::add_pure(std::string kind, job_handler fn) {
  handlers_[std::move(kind)] = entry{std::move(fn), true};
}

void job_registry::add_async(std::string kind, async_job_handler fn) {
  entry e;
  e.start = std::move(fn);
  handlers_[std::move(kind)] = std::move(e);
}

const job_handler* job_registry::find(std::string_view kind) const {
  auto* e = find_entry(kind);
  return e && e->fn ? &e->fn : nullptr;
}

const job_registry::entry* job_registry::find_entry(std::string_view kind) const {
  auto it = handlers_.find(kind);
  if (it == handlers_.end() || (!it->second.fn && !it->second.start))
    return nullptr;
  return &it->second;
}

std::vector<std::string> job_registry::kinds() const {
  std::vector<std::string> out;
  out.reserve(handlers_.size());
  for (auto& [kind, e] : handlers_)
    out.push_back(kind);
  return out;
}

void add_platform_job_handlers(job_registry& registry) {
  registry.add_pure(std::string{noop_job_kind},
                    [](job_context&) -> caf::error { return caf::none; });
}

} // namespace fp::actors
