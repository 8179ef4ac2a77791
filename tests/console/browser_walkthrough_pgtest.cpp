// The cross-area walkthrough in a real browser (tests/js/browser/walkthrough.mjs).

#include "console/console_fixture.hpp"

FP_BROWSER_TEST("walkthrough")
