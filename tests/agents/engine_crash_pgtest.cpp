// `kill -9` of a real `fleetprompt serve` in the middle of an execution
// (streaming from a slow model): after a restart the rescued job runs the
// execution again (attempt 2, an `interrupted` log event) to a final
// state — never `running` forever.

#include <catch2/catch.hpp>

#ifdef FP_FLEETPROMPT_BIN

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "agents/engine_support.hpp"
#include "support/fake_llm_server.hpp"

using namespace std::chrono_literals;
using namespace fp;

namespace {

/// A `fleetprompt serve` child; SIGKILLed if still running at destruction.
class serve_process {
public:
  serve_process(const std::string& url, const std::string& openai_url) {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      ::execl(FP_FLEETPROMPT_BIN, "fleetprompt", "serve", "--database-url",
              url.c_str(), "--listen", "127.0.0.1:0", "--job-lease", "2s",
              "--job-poll-interval", "200ms", "--log-level", "error",
              "--openai-base-url", openai_url.c_str(), "--openai-api-key", "sk-x",
              "--llm-max-attempts", "1", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    // Wait for "FleetPrompt is serving at ..." so the node is up.
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
    INFO("server said: " << text);
    REQUIRE(text.find("serving at") != std::string::npos);
  }

  serve_process(const serve_process&) = delete;
  serve_process& operator=(const serve_process&) = delete;

  ~serve_process() {
    if (pid_ > 0)
      kill_now();
  }

  void kill_now() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  void stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

private:
  pid_t pid_ = -1;
};

} // namespace

TEST_CASE("engine: kill -9 mid-execution; after a restart the execution "
          "finishes",
          "[engine][crash]") {
  test::fake_llm_server fake;
  // The first attempt streams for a long time; the second answers at once.
  std::vector<std::string> words(300, "slow ");
  fake.script_openai(test::fake_llm_server::openai_text(words, true, 100ms));
  fake.script_openai(test::fake_llm_server::openai_text({"Recovered."}));
  test::engine_fixture f{"engcrash"};
  storage::agent_record a;
  a.name = "crashy";
  a.provider = "openai";
  a.model = "fake-model";
  a.state = "active";
  auto agent = f.add_agent(a);
  auto id = f.queue(agent, R"({"message":"go"})");
  {
    serve_process first{f.url, fake.base_url()};
    REQUIRE(test::eventually([&] {
      return f.count("SELECT count(*) FROM \"org_eng\".execution_events WHERE execution_id = "
                     "$1 AND kind = 'delta'",
                     {id})
             > 0;
    }));
    CHECK(f.status_of(id) == "running");
    first.kill_now();
  }
  CHECK(f.status_of(id) == "running");
  serve_process second{f.url, fake.base_url()};
  REQUIRE(f.await_finished(id, 30s) == "succeeded");
  CHECK(f.text_of("SELECT attempt::text FROM \"org_eng\".executions WHERE id = $1", {id})
        == "2");
  CHECK(f.text_of("SELECT output->>'text' FROM \"org_eng\".executions WHERE id = $1", {id})
        == "Recovered.");
  CHECK(f.count("SELECT count(*) FROM \"org_eng\".execution_events WHERE execution_id = $1 "
                "AND kind = 'log' AND data->>'code' = 'interrupted'",
                {id})
        == 1);
  // One started signal (the first attempt), one completed.
  CHECK(f.count("SELECT count(*) FROM \"org_eng\".signals WHERE type = "
                "'agent.execution.started' AND payload->>'execution_id' = $1",
                {id})
        == 1);
  CHECK(f.count("SELECT count(*) FROM \"org_eng\".signals WHERE type = "
                "'agent.execution.completed' AND payload->>'execution_id' = $1",
                {id})
        == 1);
  second.stop();
}

#endif
