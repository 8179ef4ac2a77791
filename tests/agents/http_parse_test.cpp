// The pure parts of the agent routes: stream resume ids.

#include <catch2/catch.hpp>

#include "fp/net/agent_routes.hpp"

using namespace fp::net;

TEST_CASE("chat stream ids", "[agents][http]") {
  auto p = parse_chat_event_id("3:17");
  REQUIRE(p);
  CHECK(p->seq == 3);
  CHECK(p->offset == 17);
  auto start = parse_chat_event_id("1:0");
  REQUIRE(start);
  CHECK(start->offset == 0);
  for (auto bad : {"", "3", ":4", "3:", "0:1", "-1:2", "3:x", "3:4:5", "a:b",
                   "3:-1", " 3:4"})
    CHECK_FALSE(parse_chat_event_id(bad));
}

TEST_CASE("execution stream ids", "[agents][http]") {
  CHECK(parse_execution_event_id("0") == 0);
  CHECK(parse_execution_event_id("42") == 42);
  for (auto bad : {"", "-1", "4x", "x", "1.5", " 1"})
    CHECK_FALSE(parse_execution_event_id(bad));
}
