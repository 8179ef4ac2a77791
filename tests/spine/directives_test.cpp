// Unit tests of the directive rules, the webhook address guard, URL
// parsing and Standard Webhooks signing.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "fp/actors/directive_rules.hpp"
#include "fp/net/outbound_http.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/network_guard.hpp"
#include "fp/runtime/webhook_signature.hpp"

using namespace fp;
using actors::directive_state;

TEST_CASE("directive states parse and print", "[directives]") {
  for (auto s : {directive_state::proposed, directive_state::awaiting_approval,
                 directive_state::approved, directive_state::executing,
                 directive_state::succeeded, directive_state::failed,
                 directive_state::rejected, directive_state::cancelled}) {
    auto back = actors::parse_directive_state(actors::to_string(s));
    REQUIRE(back);
    CHECK(*back == s);
  }
  CHECK_FALSE(actors::parse_directive_state("done"));
  CHECK(actors::directive_signal_type(directive_state::awaiting_approval)
        == "directive.awaiting_approval");
}

TEST_CASE("the directive state machine allows only its transitions",
          "[directives]") {
  using s = directive_state;
  CHECK(actors::can_transition(s::proposed, s::approved));
  CHECK(actors::can_transition(s::proposed, s::awaiting_approval));
  CHECK(actors::can_transition(s::awaiting_approval, s::approved));
  CHECK(actors::can_transition(s::awaiting_approval, s::rejected));
  CHECK(actors::can_transition(s::approved, s::executing));
  CHECK(actors::can_transition(s::executing, s::succeeded));
  CHECK(actors::can_transition(s::executing, s::failed));
  CHECK_FALSE(actors::can_transition(s::proposed, s::executing));
  CHECK_FALSE(actors::can_transition(s::awaiting_approval, s::executing));
  CHECK_FALSE(actors::can_transition(s::approved, s::rejected));
  CHECK_FALSE(actors::can_transition(s::executing, s::cancelled));
  for (auto t : {s::succeeded, s::failed, s::rejected, s::cancelled}) {
    CHECK(actors::is_terminal(t));
    for (auto to : {s::proposed, s::approved, s::executing, s::succeeded,
                    s::failed, s::cancelled})
      CHECK_FALSE(actors::can_transition(t, to));
  }
  CHECK(actors::can_approve(s::awaiting_approval));
  CHECK_FALSE(actors::can_approve(s::approved));
  CHECK_FALSE(actors::can_approve(s::proposed));
  CHECK(actors::can_reject(s::awaiting_approval));
  CHECK_FALSE(actors::can_reject(s::succeeded));
  CHECK(actors::can_cancel(s::proposed));
  CHECK(actors::can_cancel(s::awaiting_approval));
  CHECK(actors::can_cancel(s::approved));
  CHECK_FALSE(actors::can_cancel(s::executing));
  CHECK_FALSE(actors::can_cancel(s::succeeded));
}

TEST_CASE("directive policies default per type and yield to tenant rows",
          "[directives]") {
  using actors::approval_mode;
  using actors::role;
  auto emit = actors::resolve_directive_policy("signal.emit", std::nullopt);
  CHECK(emit.mode == approval_mode::automatic);
  CHECK(emit.is_default);
  CHECK(actors::initial_decision(emit) == directive_state::approved);
  auto hook = actors::resolve_directive_policy("webhook.post", std::nullopt);
  CHECK(hook.mode == approval_mode::approval);
  CHECK(hook.approver == role::admin);
  CHECK(actors::initial_decision(hook) == directive_state::awaiting_approval);
  CHECK_FALSE(actors::may_decide(hook, role::member));
  CHECK(actors::may_decide(hook, role::admin));
  CHECK(actors::may_decide(hook, role::owner));

  auto relaxed = actors::resolve_directive_policy(
    "webhook.post", actors::policy_override{"auto", "member"});
  CHECK_FALSE(relaxed.is_default);
  CHECK(relaxed.mode == approval_mode::automatic);
  auto strict = actors::resolve_directive_policy(
    "signal.emit", actors::policy_override{"approval", "owner"});
  CHECK(strict.mode == approval_mode::approval);
  CHECK(strict.approver == role::owner);
  CHECK_FALSE(actors::may_decide(strict, role::admin));

  CHECK(actors::known_directive_type("signal.emit"));
  CHECK(actors::known_directive_type("webhook.post"));
  CHECK_FALSE(actors::known_directive_type("email.send"));
  CHECK(actors::parse_approval_mode("auto"));
  CHECK_FALSE(actors::parse_approval_mode("sometimes"));
}

TEST_CASE("CIDR blocks parse and match", "[directives]") {
  auto b = runtime::parse_cidr("10.0.0.0/8");
  REQUIRE(b);
  CHECK(runtime::contains(*b, *runtime::parse_ip("10.200.3.4")));
  CHECK_FALSE(runtime::contains(*b, *runtime::parse_ip("11.0.0.1")));
  auto v6 = runtime::parse_cidr("fe80::/10");
  REQUIRE(v6);
  CHECK(runtime::contains(*v6, *runtime::parse_ip("fe80::1")));
  CHECK(runtime::contains(*v6, *runtime::parse_ip("febf::1")));
  CHECK_FALSE(runtime::contains(*v6, *runtime::parse_ip("fec0::1")));
  CHECK_FALSE(runtime::contains(*b, *runtime::parse_ip("::ffff:11.0.0.1")));
  CHECK(runtime::contains(*b, *runtime::parse_ip("::ffff:10.0.0.1")));
  auto host = runtime::parse_cidr("127.0.0.1");
  REQUIRE(host);
  CHECK(host->prefix == 32);

  CHECK_FALSE(runtime::parse_cidr("10.0.0.1/8"));
  CHECK_FALSE(runtime::parse_cidr("10.0.0.0/33"));
  CHECK_FALSE(runtime::parse_cidr("10.0.0/8"));
  CHECK_FALSE(runtime::parse_cidr("example.com/8"));
  CHECK_FALSE(runtime::parse_cidr("10.0.0.0/"));

  auto list = runtime::parse_cidr_list(" 127.0.0.0/8, ::1/128 ");
  REQUIRE(list);
  CHECK(list->size() == 2);
  auto empty = runtime::parse_cidr_list("");
  REQUIRE(empty);
  CHECK(empty->empty());
  auto bad = runtime::parse_cidr_list("127.0.0.0/8,nonsense");
  REQUIRE_FALSE(bad);
  CHECK_THAT(runtime::context_of(bad.error()),
             Catch::Contains("nonsense"));
  CHECK_FALSE(runtime::parse_cidr_list("127.0.0.0/8,"));
}

TEST_CASE("reserved addresses are refused unless allowed", "[directives]") {
  for (auto text :
       {"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
        "100.64.0.1", "127.0.0.1", "169.254.169.254", "0.0.0.0", "224.0.0.1",
        "255.255.255.255", "::1", "::", "fc00::1", "fd12::1", "fe80::1",
        "ff02::1", "::ffff:127.0.0.1"}) {
    INFO(text);
    auto a = runtime::parse_ip(text);
    REQUIRE(a);
    CHECK(runtime::is_restricted(*a));
    CHECK_FALSE(runtime::refusal_reason(*a, {}).empty());
  }
  for (auto text : {"93.184.216.34", "172.32.0.1", "8.8.8.8",
                    "2606:4700::1111", "100.128.0.1"}) {
    INFO(text);
    auto a = runtime::parse_ip(text);
    REQUIRE(a);
    CHECK_FALSE(runtime::is_restricted(*a));
  }
  auto allowed = runtime::parse_cidr_list("127.0.0.0/8");
  REQUIRE(allowed);
  CHECK(runtime::refusal_reason(*runtime::parse_ip("127.0.0.1"), *allowed).empty());
  CHECK_FALSE(
    runtime::refusal_reason(*runtime::parse_ip("::1"), *allowed).empty());
  CHECK_FALSE(
    runtime::refusal_reason(*runtime::parse_ip("10.0.0.1"), *allowed).empty());
}

TEST_CASE("webhook URLs parse", "[directives]") {
  auto u = net::parse_http_url("https://example.com/hooks?x=1");
  REQUIRE(u);
  CHECK(u->tls);
  CHECK(u->host == "example.com");
  CHECK(u->port == "443");
  CHECK(u->target == "/hooks?x=1");
  auto v = net::parse_http_url("http://[::1]:8080");
  REQUIRE(v);
  CHECK_FALSE(v->tls);
  CHECK(v->host == "::1");
  CHECK(v->port == "8080");
  CHECK(v->target == "/");
  CHECK_FALSE(net::parse_http_url("ftp://example.com/"));
  CHECK_FALSE(net::parse_http_url("https://user@example.com/"));
  CHECK_FALSE(net::parse_http_url("https://example.com:99999/"));
  CHECK_FALSE(net::parse_http_url("https:///path"));
}

TEST_CASE("webhook signatures match the Standard Webhooks test vector",
          "[directives]") {
  // The specification's published example (also reproduced independently
  // with `openssl dgst -sha256 -mac HMAC`).
  auto key = runtime::webhook_secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  REQUIRE(key);
  CHECK(runtime::webhook_signature(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                   1614265330, R"({"test": 2432232314})")
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  // The prefix is optional; a malformed secret is refused.
  CHECK(runtime::webhook_secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == key);
  CHECK_FALSE(runtime::webhook_secret_key("whsec_not*base64"));
  CHECK_FALSE(runtime::webhook_secret_key("whsec_"));
  CHECK(runtime::base64_decode("aGk=") == std::string{"hi"});
  CHECK(runtime::base64_decode("aGVsbG8h") == std::string{"hello!"});
  CHECK_FALSE(runtime::base64_decode("abc"));
}

namespace {

/// A loopback socket that listens but never answers (the kernel completes
/// TCP handshakes from its backlog).
struct silent_listener {
  int fd = -1;
  uint16_t port = 0;
  silent_listener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(fd, 8) == 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~silent_listener() {
    ::close(fd);
  }
};

net::outbound_http_options loopback_options(bool allow) {
  net::outbound_http_options opts;
  opts.timeout = std::chrono::milliseconds{400};
  if (allow)
    opts.allowed_networks = *runtime::parse_cidr_list("127.0.0.0/8,::1/128");
  return opts;
}

actors::webhook_request hook_to(std::string url) {
  actors::webhook_request req;
  req.url = std::move(url);
  req.body = "{}";
  return req;
}

} // namespace

TEST_CASE("the outbound client refuses reserved addresses before connecting",
          "[directives]") {
  auto client = net::outbound_http_client::make(loopback_options(false));
  REQUIRE(client);
  for (auto url : {"http://127.0.0.1:9/x", "http://localhost:9/x",
                   "https://[::1]:9/", "http://169.254.169.254/latest"}) {
    INFO(url);
    auto r = (*client)->post(hook_to(url));
    CHECK(r.status == 0);
    CHECK_FALSE(r.retryable);
    CHECK_THAT(r.error, Catch::Contains("refused"));
  }
  auto bad = (*client)->post(hook_to("gopher://example.com/"));
  CHECK(bad.status == 0);
  CHECK_FALSE(bad.retryable);
}

TEST_CASE("the outbound client reports connect errors and timeouts as "
          "retryable",
          "[directives]") {
  auto client = net::outbound_http_client::make(loopback_options(true));
  REQUIRE(client);
  silent_listener silent;
  int closed_port = 0;
  {
    silent_listener probe;
    closed_port = probe.port;
  }
  auto refused = (*client)->post(
    hook_to("http://127.0.0.1:" + std::to_string(closed_port) + "/"));
  CHECK(refused.status == 0);
  CHECK(refused.retryable);
  CHECK_THAT(refused.error, Catch::Contains("cannot connect"));

  auto start = std::chrono::steady_clock::now();
  auto slow = (*client)->post(
    hook_to("http://127.0.0.1:" + std::to_string(silent.port) + "/"));
  CHECK(slow.status == 0);
  CHECK(slow.retryable);
  CHECK_THAT(slow.error, Catch::Contains("timed out"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds{3});

  auto tls = (*client)->post(
    hook_to("https://127.0.0.1:" + std::to_string(silent.port) + "/"));
  CHECK(tls.status == 0);
  CHECK(tls.retryable);
  CHECK_THAT(tls.error, Catch::Contains("TLS handshake"));
}
