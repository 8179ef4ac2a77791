// `kill -9` of a real `fleetprompt serve` while 1,000 directive jobs (each
// emitting a result signal: the recorded side effect) are running; after a
// restart every job completes and every side effect happened exactly once.

#include <catch2/catch.hpp>

#ifdef FP_FLEETPROMPT_BIN

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "fp/actors/orgs.hpp"
#include "fp/storage/api_keys.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/migrations.hpp"
#include "fp/storage/subscriptions.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/spine_fixture.hpp"

using namespace std::chrono_literals;
using namespace fp;

namespace {

/// A `fleetprompt serve` child process; SIGKILLed when still running at
/// destruction (a failed test must not leave it behind).
class server_process {
public:
  explicit server_process(const std::string& url) {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      // Short leases: jobs of the killed process come back quickly.
      ::execl(FP_FLEETPROMPT_BIN, "fleetprompt", "serve", "--database-url",
              url.c_str(), "--listen", "127.0.0.1:0", "--job-lease", "2s",
              "--job-poll-interval", "200ms", "--log-level", "error",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    // The server prints "FleetPrompt is serving at http://HOST:PORT".
    std::string text;
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (text.find('\n') == std::string::npos
           && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0)
        continue;
      char buf[512];
      auto n = ::read(out[0], buf, sizeof(buf));
      if (n <= 0)
        break;
      text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    auto line = text.substr(0, text.find('\n'));
    auto colon = line.rfind(':');
    INFO("server said: " << text);
    REQUIRE(line.find("serving at") != std::string::npos);
    REQUIRE(colon != std::string::npos);
    port_ = static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
  }

  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  ~server_process() {
    if (pid_ > 0)
      kill_now();
  }

  uint16_t port() const noexcept {
    return port_;
  }

  /// SIGKILL and reap; true when the process died of the signal.
  bool kill_now() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }

  /// SIGTERM and reap; the exit code.
  int stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

} // namespace

TEST_CASE("crash: kill -9 during 1,000 directive jobs; after restart each "
          "side effect happened exactly once",
          "[crash]") {
  constexpr int total = 1000;
  auto url = test::migrated_database("crash");
  auto conn = test::open_session(url);
  auto& db = *conn;
  auto user_id = test::create_test_user(db, "crash@example.com");
  auto org = test::create_test_org(db, "crash", "Crash", user_id);
  auto key = test::create_test_key(db, org.id, user_id, "load", {"write"});
  storage::new_subscription sub;
  sub.pattern = "crash.test";
  sub.directive_type = "signal.emit";
  sub.params = R"({"type":"crash.result","payload":{"effect":true}})";
  auto made = storage::create_subscription(db, "crash", sub);
  if (!made)
    FAIL("subscription: " << caf::to_string(made.error()));

  auto count = [&](const std::string& sql) {
    return test::scalar(db, sql, {});
  };
  const std::string executed
    = "SELECT count(*) FROM public.jobs WHERE kind = 'directive.execute' AND "
      "state = 'completed'";

  int64_t done_at_kill = 0;
  {
    server_process first{url};
    // Hold the work back while the signals are accepted, so that the kill
    // lands early in it: directives cannot be written while this lock is
    // held (signals and jobs can).
    auto blocker = storage::connect(url, 10s);
    REQUIRE(blocker);
    REQUIRE((*blocker)->exec("BEGIN"));
    REQUIRE((*blocker)->exec("LOCK TABLE \"org_crash\".directives IN SHARE MODE"));
    // All 1,000 are accepted (committed) before the kill.
    for (int batch = 0; batch < total / 100; ++batch) {
      std::string body = "[";
      for (int i = 0; i < 100; ++i) {
        if (i > 0)
          body += ',';
        body += R"({"type":"crash.test","payload":{"n":)"
                + std::to_string(batch * 100 + i) + "}}";
      }
      body += ']';
      auto res = test::fetch(first.port(), "POST", "/api/v1/signals",
                             {"Authorization: Bearer " + key.key,
                              "Content-Type: application/json"},
                             body);
      REQUIRE(res);
      INFO(res->body);
      REQUIRE(res->status / 100 == 2);
    }
    REQUIRE(count("SELECT count(*) FROM \"org_crash\".signals WHERE type = "
                  "'crash.test'")
            == total);
    REQUIRE(count(executed) == 0);
    REQUIRE((*blocker)->exec("ROLLBACK"));
    // Kill while the work is under way: some side effects done, not all.
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (count(executed) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(5ms);
    REQUIRE(first.kill_now());
    done_at_kill = count(executed);
  }
  INFO("directive jobs completed at the kill: " << done_at_kill);
  REQUIRE(done_at_kill > 0);
  REQUIRE(done_at_kill < total);

  server_process second{url};
  auto settled = [&] {
    return count("SELECT count(*) FROM \"org_crash\".directives WHERE state = "
                 "'succeeded'")
             == total
           && count("SELECT count(*) FROM public.jobs WHERE state IN "
                    "('available', 'running')")
                == 0;
  };
  auto deadline = std::chrono::steady_clock::now() + 90s;
  while (!settled() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(200ms);
  INFO("rescued or retried jobs: "
       << count("SELECT count(*) FROM public.jobs WHERE attempt > 1"));
  CHECK(settled());

  // Every directive ran to success exactly once per signal ...
  CHECK(count("SELECT count(*) FROM \"org_crash\".directives") == total);
  CHECK(count("SELECT count(*) FROM \"org_crash\".directives WHERE state = "
              "'succeeded'")
        == total);
  CHECK(count("SELECT count(DISTINCT causation_id) FROM "
              "\"org_crash\".directives")
        == total);
  // ... and its side effect (the result signal) happened exactly once.
  CHECK(count("SELECT count(*) FROM \"org_crash\".signals WHERE type = "
              "'crash.result'")
        == total);
  CHECK(count("SELECT count(DISTINCT dedupe_key) FROM \"org_crash\".signals "
              "WHERE type = 'crash.result'")
        == total);
  CHECK(count("SELECT count(*) FROM \"org_crash\".signals r JOIN "
              "\"org_crash\".directives d ON r.dedupe_key = 'directive:' || "
              "d.id::text WHERE r.type = 'crash.result'")
        == total);
  // No job is left behind or dead-lettered.
  CHECK(count("SELECT count(*) FROM public.jobs WHERE state IN ('available', "
              "'running', 'discarded')")
        == 0);
  CHECK(count("SELECT count(*) FROM public.jobs WHERE kind = 'signal.handle' "
              "AND state = 'completed'")
        == total);
  CHECK(count(executed) == total);
  CHECK(second.stop() == 0);
}

#endif
