// The overview pages in a real browser (tests/js/browser/overview.mjs).

#include "console/console_fixture.hpp"

FP_BROWSER_TEST("overview")
