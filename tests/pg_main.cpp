// Catch2 runner of the *_pgtest executables: starts one PostgreSQL cluster
// (or uses FLEETPROMPT_TEST_DATABASE_URL) for all test cases, runs them,
// then stops the cluster.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

#include "fp/runtime/log.hpp"
#include "pg_cluster.hpp"

int main(int argc, char** argv) {
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv); rc != 0)
    return rc;
  const auto& cfg = session.configData();
  if (cfg.showHelp || cfg.listTests || cfg.listTags || cfg.listReporters
      || cfg.listTestNamesOnly)
    return session.run(); // no database needed to list
  // Keep test output readable; warnings and errors still show.
  fp::runtime::log::set_level(fp::runtime::log::level::warn);
  if (auto err = fp::test::start_cluster(); !err.empty()) {
    const char* ci = std::getenv("CI");
    if (ci && std::string{ci} == "true") {
      std::cerr << "FATAL: PostgreSQL tests cannot run: " << err << "\n";
      return 2;
    }
    std::cerr << "\n*** WARNING: SKIPPING ALL PostgreSQL TESTS of " << argv[0]
              << " ***\n*** " << err
              << "\n*** (set CI=true to make this a failure)\n\n";
    return 0;
  }
  int rc = session.run();
  fp::test::stop_cluster();
  return rc;
}
