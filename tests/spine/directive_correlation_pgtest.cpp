// GET /api/v1/directives?correlation_id=: the directives of one correlation,
// which the console's correlation chain (signal -> execution -> directive)
// lists next to the signals and executions of the same correlation.

#include <catch2/catch.hpp>

#include <string>

#include "support/http_client.hpp"
#include "support/spine_fixture.hpp"

using namespace std::chrono_literals;
using namespace fp;

TEST_CASE("directives: listing filtered by correlation id", "[directives]") {
  auto url = test::migrated_database("dircorr");
  auto db = test::open_session(url);
  auto user_id = test::create_test_user(*db, "dircorr@example.com");
  auto org = test::create_test_org(*db, "dircorr", "Correlations", user_id);
  auto key = test::create_test_key(*db, org.id, user_id, "k", {"write"}).key;
  auto cfg = test::node_settings(url, "error");
  auto node = test::start_node(cfg);
  auto call = [&](const std::string& method, const std::string& target,
                  const std::string& body = {}) {
    return test::call_with_key(node->port(), key, method, target, body);
  };
  auto propose = [&](const std::string& correlation) {
    auto res = call("POST", "/api/v1/directives",
                    R"({"type":"signal.emit","correlation_id":")" + correlation
                      + R"(","params":{"type":"corr.test","payload":{}}})");
    INFO(res.body);
    REQUIRE(res.status == 201);
    return test::json_string(res.body, "id");
  };
  auto a = propose("corr-a");
  auto b = propose("corr-b");
  auto a2 = propose("corr-a");

  auto listed = call("GET", "/api/v1/directives?correlation_id=corr-a");
  INFO(listed.body);
  REQUIRE(listed.status == 200);
  CHECK(listed.body.find(a) != std::string::npos);
  CHECK(listed.body.find(a2) != std::string::npos);
  CHECK(listed.body.find(b) == std::string::npos);

  // With the other filters and the cursor: one per page, still only corr-a.
  auto first = call("GET", "/api/v1/directives?correlation_id=corr-a&limit=1");
  REQUIRE(first.status == 200);
  CHECK(first.body.find(a2) != std::string::npos);
  auto cursor = test::json_string(first.body, "next_cursor");
  REQUIRE_FALSE(cursor.empty());
  auto second = call("GET", "/api/v1/directives?correlation_id=corr-a&limit=1"
                            "&cursor="
                              + cursor);
  REQUIRE(second.status == 200);
  CHECK(second.body.find(a) != std::string::npos);
  CHECK(second.body.find(b) == std::string::npos);

  auto none = call("GET", "/api/v1/directives?correlation_id=corr-none");
  REQUIRE(none.status == 200);
  CHECK(none.body.find("\"directives\":[]") != std::string::npos);

  auto too_long = call("GET", "/api/v1/directives?correlation_id="
                                + std::string(300, 'x'));
  CHECK(too_long.status == 422);
  node->stop();
}
