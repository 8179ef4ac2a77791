#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <thread>

#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/log.hpp"
#include "fp/runtime/metrics.hpp"

using namespace fp::runtime;

TEST_CASE("uuid v7 ids are well-formed and strictly increasing", "[ids]") {
  std::string prev;
  for (int i = 0; i < 5000; ++i) {
    auto id = new_uuid_v7();
    REQUIRE(id.size() == 36);
    CHECK(id[14] == '7');
    CHECK((id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b'));
    REQUIRE(id > prev);
    prev = id;
  }
}

TEST_CASE("request ids are accepted only from a safe alphabet", "[ids]") {
  CHECK(valid_request_id("abc-123_x.y:z"));
  CHECK_FALSE(valid_request_id(""));
  CHECK_FALSE(valid_request_id("has space"));
  CHECK_FALSE(valid_request_id("quote\""));
  CHECK_FALSE(valid_request_id(std::string(129, 'a')));
  CHECK(new_request_id().size() == 16);
  CHECK(new_request_id() != new_request_id());
}

TEST_CASE("traceparent is parsed per W3C trace context", "[ids][trace]") {
  auto tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto parsed = parse_traceparent(tp);
  REQUIRE(parsed);
  CHECK(parsed->trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(parsed->parent_id == "00f067aa0ba902b7");
  CHECK(parsed->flags == 1);
  // Malformed: uppercase, all-zero ids, version ff, wrong length.
  CHECK_FALSE(parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  CHECK_FALSE(parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  CHECK_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
  CHECK_FALSE(parse_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  CHECK_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"));
  // A future version may carry more fields.
  CHECK(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
}

TEST_CASE("continue_trace keeps the caller's trace and adds our span", "[trace]") {
  auto ctx = continue_trace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  CHECK(ctx.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(ctx.parent_id == "00f067aa0ba902b7");
  CHECK(ctx.span_id.size() == 16);
  CHECK(ctx.span_id != ctx.parent_id);
  CHECK(ctx.to_traceparent()
        == "00-4bf92f3577b34da6a3ce929d0e0e4736-" + ctx.span_id + "-01");
  auto fresh = continue_trace("garbage");
  CHECK(fresh.trace_id.size() == 32);
  CHECK(fresh.parent_id.empty());
  CHECK(parse_traceparent(fresh.to_traceparent()));
}

TEST_CASE("sha256 and constant-time comparison", "[crypto]") {
  CHECK(sha256_hex("abc")
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(constant_time_equal("secret", "secret"));
  CHECK_FALSE(constant_time_equal("secret", "secreT"));
  CHECK_FALSE(constant_time_equal("secret", "secret2"));
}

TEST_CASE("errc survives the trip through caf::error", "[errc]") {
  auto err = make_error(errc::not_found, "no such widget");
  CHECK(code_of(err) == errc::not_found);
  CHECK(context_of(err) == "no such widget");
  CHECK(code_of(caf::error{}) == errc::none);
  CHECK(code_of(make_error(errc::conflict)) == errc::conflict);
  CHECK(context_of(make_error(errc::conflict)).empty());
  CHECK(std::string{to_string(errc::overloaded)} == "overloaded");
}

namespace {

struct captured_lines {
  std::string text;
};

void capture(std::string_view line, void* user) {
  static_cast<captured_lines*>(user)->text.append(line);
}

} // namespace

TEST_CASE("log lines are single JSON objects with escaped fields", "[log]") {
  captured_lines lines;
  log::set_sink(capture, &lines);
  log::set_level(log::level::info);
  log::debug("hidden");
  log::info("hello \"world\"\n", {{"request_id", "r1"}, {"n", 42}, {"ok", true}});
  log::set_sink(nullptr, nullptr);
  CHECK(lines.text.find("hidden") == std::string::npos);
  CHECK(lines.text.find(R"("msg":"hello \"world\"\n")") != std::string::npos);
  CHECK(lines.text.find(R"("request_id":"r1")") != std::string::npos);
  CHECK(lines.text.find(R"("n":42)") != std::string::npos);
  CHECK(lines.text.find(R"("ok":true)") != std::string::npos);
  CHECK(lines.text.back() == '\n');
  CHECK(std::count(lines.text.begin(), lines.text.end(), '\n') == 1);
  log::level lvl;
  CHECK(log::parse_level("warn", lvl));
  CHECK(lvl == log::level::warn);
  CHECK_FALSE(log::parse_level("loud", lvl));
}

TEST_CASE("metrics render in the Prometheus text format", "[metrics]") {
  metrics_registry reg;
  auto& c = reg.get_counter("fp_test_total", "Things counted.", {"route", "status"},
                            {"/a\"b", "200"});
  c.inc();
  c.inc(2);
  CHECK(&reg.get_counter("fp_test_total", "", {"route", "status"}, {"/a\"b", "200"}) == &c);
  reg.get_gauge("fp_test_gauge", "A level.").set(-5);
  auto& h = reg.get_histogram("fp_test_seconds", "Durations.", {0.1, 1.0});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  reg.add_collector([](std::string& out) { out += "fp_collected 7\n"; });
  auto text = reg.render();
  CHECK(text.find("# TYPE fp_test_total counter") != std::string::npos);
  CHECK(text.find("fp_test_total{route=\"/a\\\"b\",status=\"200\"} 3") != std::string::npos);
  CHECK(text.find("fp_test_gauge -5") != std::string::npos);
  CHECK(text.find("fp_test_seconds_bucket{le=\"0.1\"} 1") != std::string::npos);
  CHECK(text.find("fp_test_seconds_bucket{le=\"1\"} 2") != std::string::npos);
  CHECK(text.find("fp_test_seconds_bucket{le=\"+Inf\"} 3") != std::string::npos);
  CHECK(text.find("fp_test_seconds_count 3") != std::string::npos);
  CHECK(text.find("fp_test_seconds_sum 5.5") != std::string::npos);
  CHECK(text.find("fp_collected 7") != std::string::npos);
  CHECK_THROWS(reg.get_gauge("fp_test_total", ""));
}

TEST_CASE("metrics are safe to update from many threads", "[metrics]") {
  metrics_registry reg;
  auto& c = reg.get_counter("fp_mt_total", "n");
  auto& h = reg.get_histogram("fp_mt_seconds", "n", default_latency_buckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(0.001);
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(c.value() == 40000);
  CHECK(h.count() == 40000);
}

#include "fp/runtime/crypto.hpp"

TEST_CASE("base64 encodings follow RFC 4648 test vectors", "[crypto]") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK(base64url_decode("-_8") == std::optional<std::string>{"\xfb\xff"});
  CHECK(base64url_decode("Zm9vYmE=") == std::optional<std::string>{"fooba"});
  CHECK_FALSE(base64url_decode("Zm9v!"));
  CHECK_FALSE(base64url_decode("Z"));
}

TEST_CASE("passwords hash with scrypt and verify in constant time", "[crypto]") {
  scrypt_params cheap{10, 8, 1};
  auto h = hash_password("correct horse", cheap);
  CHECK(h.rfind("scrypt$10$8$1$", 0) == 0);
  CHECK(verify_password("correct horse", h));
  CHECK_FALSE(verify_password("correct horsE", h));
  CHECK_FALSE(verify_password("correct horse", h + "x"));
  CHECK_FALSE(verify_password("correct horse", "scrypt$99$8$1$AAAA$AAAA"));
  CHECK_FALSE(verify_password("x", "plain"));
  // A fresh salt each time: equal passwords, different hashes.
  CHECK(hash_password("correct horse", cheap) != h);
}

TEST_CASE("secret tokens and HMAC", "[crypto]") {
  auto t = new_secret_token(32);
  CHECK(t.size() == 43);
  CHECK(new_secret_token(32) != t);
  CHECK(new_secret_token(4).size() >= 22);
  // RFC 4231 test case 2.
  CHECK(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?").data(), 32)
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
