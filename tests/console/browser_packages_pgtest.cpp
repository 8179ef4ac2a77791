// The packages pages in a real browser (tests/js/browser/packages.mjs).

#include "console/console_fixture.hpp"

FP_BROWSER_TEST("packages")
