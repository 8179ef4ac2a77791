// The agents pages in a real browser (tests/js/browser/agents.mjs).

#include "console/console_fixture.hpp"

FP_BROWSER_TEST("agents")
