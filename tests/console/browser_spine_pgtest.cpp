// The spine pages in a real browser (tests/js/browser/spine.mjs). Before the
// script runs, two jobs of `acme` are enqueued with a kind no handler knows:
// the dispatcher discards them at their first attempt, so the dead-letter
// page has something to retry and to cancel.

#include "console/console_fixture.hpp"

#include "fp/storage/jobs.hpp"

TEST_CASE("browser: spine", "[console][browser]") {
  fp::console_test::fixture f{"console_spine"};
  auto org_id = fp::test::text(*f.db, "SELECT id::text FROM public.organizations "
                                      "WHERE slug = 'acme'");
  for (int i = 0; i < 2; ++i) {
    fp::storage::job_spec spec;
    spec.queue = "directives";
    spec.kind = "spine.dead_letter_probe";
    spec.tenant = org_id;
    spec.args = R"({"probe":)" + std::to_string(i) + "}";
    spec.max_attempts = 1;
    auto job = fp::storage::enqueue_job(*f.db, spec);
    INFO((job ? "" : caf::to_string(job.error())));
    REQUIRE(job);
  }
  CHECK(fp::console_test::run_browser_script(f, "spine") == 0);
}
