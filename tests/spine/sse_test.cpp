// The pure parts of the signal stream: SSE framing, type filters, the
// NOTIFY payload and request parsing.

#include <catch2/catch.hpp>

#include "fp/actors/pubsub_hub.hpp"
#include "fp/net/signal_stream.hpp"

using namespace fp;

TEST_CASE("sse: notices, filters and frames", "[sse]") {
  std::string slug;
  int64_t seq = 0;
  CHECK(actors::parse_signal_notice("acme:42", slug, seq));
  CHECK(slug == "acme");
  CHECK(seq == 42);
  CHECK_FALSE(actors::parse_signal_notice("acme", slug, seq));
  CHECK_FALSE(actors::parse_signal_notice("acme:", slug, seq));
  CHECK_FALSE(actors::parse_signal_notice(":1", slug, seq));
  CHECK_FALSE(actors::parse_signal_notice("acme:1x", slug, seq));
  CHECK(actors::type_matches("order.created", {}));
  CHECK(actors::type_matches("order.created", {"invoice.", "order."}));
  CHECK_FALSE(actors::type_matches("orders.x", {"order."}));
  auto p = net::parse_type_prefixes(" order.* ,invoice.paid,,order.");
  REQUIRE(p);
  CHECK(*p == std::vector<std::string>{"order.", "invoice.paid"});
  CHECK_FALSE(net::parse_type_prefixes("a\"b"));
  CHECK(net::uuid_text("0190c0de-0000-7000-8000-000000000000"));
  CHECK_FALSE(net::uuid_text("0190c0de-0000-7000-8000-00000000000"));
  storage::signal_record rec;
  rec.id = "i";
  rec.type = "t.x";
  auto frame = actors::sse_frame(rec, [](const storage::signal_record&) {
    return std::string{"{\"a\":\n1}"};
  });
  CHECK(frame == "id: i\nevent: t.x\ndata: {\"a\":1}\n\n");
}

