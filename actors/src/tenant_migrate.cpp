// Tenant migrations across every active tenant, in batches with a few
// connections at once.

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "fp/actors/orgs.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/tenant_migrations.hpp"

namespace fp::actors {

namespace log = runtime::log;

caf::expected<tenant_migrate_report>
migrate_all_tenants(const std::string& conninfo,
                    const std::vector<storage::migration>& known,
                    const tenant_migrate_options& opts) {
  auto lister = storage::connect(conninfo, opts.connect_timeout);
  if (!lister)
    return std::move(lister.error());
  const unsigned workers = std::max(1u, opts.concurrency);
  std::vector<std::unique_ptr<storage::pg_session>> sessions;
  for (unsigned i = 0; i < workers; ++i) {
    auto s = storage::connect(conninfo, opts.connect_timeout);
    if (!s)
      return std::move(s.error());
    sessions.push_back(std::move(*s));
  }
  tenant_migrate_report report;
  std::mutex mtx; // guards report and on_tenant
  std::string after;
  const int batch = static_cast<int>(std::max(1u, opts.batch));
  bool stop = false;
  while (!stop) {
    // Keyset paging by slug: tenants created during the run are picked up
    // when they sort later; earlier ones got the migrations from the saga.
    auto page = storage::active_orgs_after(**lister, after, batch);
    if (!page)
      return std::move(page.error());
    if (page->empty())
      break;
    after = page->back().slug;
    if (opts.stop_after > 0
        && report.tenants + page->size() >= opts.stop_after) {
      page->resize(opts.stop_after - report.tenants);
      stop = true;
    }
    std::atomic<std::size_t> next{0};
    auto work = [&](storage::pg_session& session) {
      for (auto i = next++; i < page->size(); i = next++) {
        const auto& org = (*page)[i];
        caf::error err;
        int applied = 0;
        if (auto why = slug_error(org.slug); !why.empty()) {
          err = runtime::make_error(runtime::errc::internal, why);
        } else {
          auto n = storage::apply_tenant_migrations(
            session, org.id, quoted_tenant_schema(org.slug), known);
          if (n)
            applied = *n;
          else
            err = std::move(n.error());
        }
        std::lock_guard<std::mutex> guard{mtx};
        ++report.tenants;
        if (err) {
          report.failed.push_back(org.slug + ": " + runtime::context_of(err));
          log::warn("tenant migration failed",
                    {{"slug", org.slug}, {"error", runtime::context_of(err)}});
        } else if (applied > 0) {
          ++report.migrated;
          report.applied += static_cast<unsigned>(applied);
        }
        if (opts.on_tenant)
          opts.on_tenant(org.slug, applied, err);
      }
    };
    std::vector<std::thread> threads;
    for (unsigned w = 1; w < workers; ++w)
      threads.emplace_back(work, std::ref(*sessions[w]));
    work(*sessions[0]);
    for (auto& t : threads)
      t.join();
  }
  return report;
}

} // namespace fp::actors
