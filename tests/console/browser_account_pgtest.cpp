// The account pages in a real browser (tests/js/browser/account.mjs).

#include "console/console_fixture.hpp"

FP_BROWSER_TEST("account")
