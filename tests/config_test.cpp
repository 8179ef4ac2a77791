#include <catch2/catch.hpp>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "fp/config/cli.hpp"

using namespace fp::config;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// -- helpers --------------------------------------------------------------------

using env_map = std::map<std::string, std::string>;

env_lookup fake_env(env_map vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string{name});
    if (it == vars.end())
      return std::nullopt;
    return it->second;
  };
}

// A config file under the temp directory, removed again at scope exit.
struct temp_file {
  std::filesystem::path path;

  explicit temp_file(std::string_view content) {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() /
           ("fp_config_test_" + std::to_string(::getpid()) + "_" +
            std::to_string(counter++) + ".conf");
    std::ofstream out(path, std::ios::binary);
    out << content;
  }
  ~temp_file() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;

  std::string str() const {
    return path.string();
  }
};

std::variant<command_line, std::string> parse(const std::vector<std::string>& args,
                                              env_map env = {},
                                              const std::vector<flag_spec>& extra = {}) {
  return parse_command_line(args, extra, fake_env(std::move(env)));
}

command_line ok(const std::vector<std::string>& args, env_map env = {},
                const std::vector<flag_spec>& extra = {}) {
  auto result = parse(args, std::move(env), extra);
  if (auto* err = std::get_if<std::string>(&result))
    FAIL("unexpected error: " << *err);
  return std::get<command_line>(result);
}

// Every error must be exactly one line.
std::string err(const std::vector<std::string>& args, env_map env = {},
                const std::vector<flag_spec>& extra = {}) {
  auto result = parse(args, std::move(env), extra);
  REQUIRE(std::holds_alternative<std::string>(result));
  auto message = std::get<std::string>(result);
  CHECK_FALSE(message.empty());
  CHECK(message.find('\n') == std::string::npos);
  CHECK(message.find('\r') == std::string::npos);
  return message;
}

std::string file_err(std::string_view content) {
  temp_file f{content};
  return err({"--config", f.str()});
}

settings file_ok(std::string_view content) {
  temp_file f{content};
  return ok({"--config", f.str()}).values;
}

} // namespace

// -- defaults and precedence ----------------------------------------------------

TEST_CASE("no arguments, no env and no file yield the built-in defaults", "[config]") {
  auto cli = ok({});
  const settings defaults;
  CHECK(cli.values.database_url.empty());
  CHECK(cli.values.embedded_database());
  CHECK(cli.values.data_dir == defaults.data_dir);
  CHECK(cli.values.listen_host == "127.0.0.1");
  CHECK(cli.values.listen_port == 8080);
  CHECK(cli.values.db_pool_size == defaults.db_pool_size);
  CHECK(cli.values.body_limit == defaults.body_limit);
  CHECK(cli.values.restart_backoff_max == defaults.restart_backoff_max);
  CHECK(cli.values.log_level == "info");
  CHECK(cli.values.config_file.empty());
  CHECK(cli.flags.empty());
  CHECK(cli.positional.empty());
  CHECK_FALSE(cli.help_requested);
  CHECK(validate(defaults).empty());
}

TEST_CASE("precedence is defaults < file < env < flags", "[config][precedence]") {
  temp_file f{"db-pool-size = 8\n"
              "io-threads = 2\n"
              "log-level = debug\n"
              "listen = 0.0.0.0:9000\n"};

  SECTION("file over defaults") {
    auto s = ok({"--config", f.str()}).values;
    CHECK(s.db_pool_size == 8);
    CHECK(s.io_threads == 2);
    CHECK(s.log_level == "debug");
    CHECK(s.listen_host == "0.0.0.0");
    CHECK(s.listen_port == 9000);
    CHECK(s.config_file == f.str());
    CHECK(s.max_connections == settings{}.max_connections);
  }
  SECTION("env over file, flags over env") {
    auto s = ok({"--db-pool-size", "32", "--config", f.str()},
                {{"FLEETPROMPT_DB_POOL_SIZE", "16"}, {"FLEETPROMPT_IO_THREADS", "3"}})
               .values;
    CHECK(s.db_pool_size == 32);
    CHECK(s.io_threads == 3);
    CHECK(s.log_level == "debug");
    CHECK(s.listen_port == 9000);
  }
  SECTION("FLEETPROMPT_CONFIG names the file when --config is absent") {
    auto s = ok({}, {{"FLEETPROMPT_CONFIG", f.str()}}).values;
    CHECK(s.db_pool_size == 8);
    CHECK(s.config_file == f.str());
  }
  SECTION("--config wins over FLEETPROMPT_CONFIG, whose file is never opened") {
    auto s = ok({"--config=" + f.str()},
                {{"FLEETPROMPT_CONFIG", "/nonexistent/fleetprompt.conf"}})
               .values;
    CHECK(s.io_threads == 2);
    CHECK(s.config_file == f.str());
  }
  SECTION("a later flag overrides an earlier one") {
    auto s = ok({"--io-threads", "4", "serve", "--io-threads=5"}).values;
    CHECK(s.io_threads == 5);
  }
  SECTION("an empty environment variable counts as unset") {
    auto s = ok({"--config", f.str()},
                {{"FLEETPROMPT_DB_POOL_SIZE", ""}, {"FLEETPROMPT_LOG_LEVEL", ""}})
               .values;
    CHECK(s.db_pool_size == 8);
    CHECK(s.log_level == "debug");
  }
}

TEST_CASE("every setting is reachable by flag, env var and file key", "[config]") {
  auto s = ok({"--database-url", "postgres://u:p@db/fp", "--data-dir", "/var/fp",
               "--embedded-pg-port", "5433", "--pg-bin-dir", "/opt/pg/bin",
               "--pg-system-user", "pg", "--db-queue-limit", "100",
               "--db-connect-timeout", "2s", "--db-statement-timeout", "1m",
               "--max-connections", "50", "--header-timeout", "3s",
               "--read-timeout", "4s", "--idle-timeout", "5s", "--request-timeout",
               "6s", "--shutdown-grace", "7s", "--admin-token",
               "0123456789abcdef", "--scheduler-threads", "3", "--restart-limit",
               "9", "--restart-window", "2m", "--restart-backoff-min", "10ms",
               "--restart-backoff-max", "1s"})
             .values;
  CHECK(s.database_url == "postgres://u:p@db/fp");
  CHECK_FALSE(s.embedded_database());
  CHECK(s.data_dir == "/var/fp");
  CHECK(s.embedded_pg_port == 5433);
  CHECK(s.pg_bin_dir == "/opt/pg/bin");
  CHECK(s.pg_system_user == "pg");
  CHECK(s.db_queue_limit == 100);
  CHECK(s.db_connect_timeout == 2s);
  CHECK(s.db_statement_timeout == 1min);
  CHECK(s.max_connections == 50);
  CHECK(s.header_timeout == 3s);
  CHECK(s.read_timeout == 4s);
  CHECK(s.idle_timeout == 5s);
  CHECK(s.request_timeout == 6s);
  CHECK(s.shutdown_grace == 7s);
  CHECK(s.admin_token == "0123456789abcdef");
  CHECK(s.scheduler_threads == 3);
  CHECK(s.restart_limit == 9);
  CHECK(s.restart_window == 2min);
  CHECK(s.restart_backoff_min == 10ms);
  CHECK(s.restart_backoff_max == 1s);

  auto e = ok({}, {{"FLEETPROMPT_EMBEDDED_PG_PORT", "6000"},
                   {"FLEETPROMPT_PG_SYSTEM_USER", "svc"},
                   {"FLEETPROMPT_RESTART_BACKOFF_MAX", "2s"},
                   {"FLEETPROMPT_BODY_LIMIT", "2m"}})
             .values;
  CHECK(e.embedded_pg_port == 6000);
  CHECK(e.pg_system_user == "svc");
  CHECK(e.restart_backoff_max == 2s);
  CHECK(e.body_limit == 2u * 1024 * 1024);

  auto f = file_ok("data-dir = /srv/fp\nrestart-window = 90s\nbody-limit = 64k\n");
  CHECK(f.data_dir == "/srv/fp");
  CHECK(f.restart_window == 90s);
  CHECK(f.body_limit == 64u * 1024);
}

TEST_CASE("tenancy settings have their defaults and ranges", "[config]") {
  const settings d;
  CHECK(d.tenant_migrate_batch == 50);
  CHECK(d.tenant_migrate_concurrency == 4);
  CHECK(d.tenant_idle_timeout == 10min);
  CHECK(d.org_purge_grace == 168h);
  auto s = ok({"--tenant-migrate-batch", "200", "--tenant-migrate-concurrency",
               "8", "--tenant-idle-timeout", "30s"},
              {{"FLEETPROMPT_ORG_PURGE_GRACE", "1h"}})
             .values;
  CHECK(s.tenant_migrate_batch == 200);
  CHECK(s.tenant_migrate_concurrency == 8);
  CHECK(s.tenant_idle_timeout == 30s);
  CHECK(s.org_purge_grace == 1h);
  CHECK(file_ok("tenant-migrate-batch = 7\n").tenant_migrate_batch == 7);
}

// -- value kinds ----------------------------------------------------------------

TEST_CASE("durations accept ms, s, m, h and bare milliseconds", "[config][values]") {
  auto timeout = [](std::string text) {
    return ok({"--request-timeout", text}).values.request_timeout;
  };
  CHECK(timeout("250ms") == 250ms);
  CHECK(timeout("5s") == 5s);
  CHECK(timeout("2m") == 2min);
  CHECK(timeout("1h") == 1h);
  CHECK(timeout("1500") == 1500ms);
  CHECK(timeout("168h") == 168h);

  for (std::string bad : {"", "abc", "5x", "1.5s", "-1s", "+5s", "5 s", " 5s", "s",
                          "5S", "169h", "99999999999999999999999ms"}) {
    INFO("value: " << bad);
    CHECK_THAT(err({"--request-timeout", bad}),
               StartsWith("invalid value") &&
                 Contains("for --request-timeout (from command line): expected a "
                          "duration 1ms..168h"));
  }
}

TEST_CASE("durations must be positive except the restart backoffs", "[config][values]") {
  for (auto key : {"header-timeout", "read-timeout", "idle-timeout", "request-timeout",
                   "shutdown-grace", "db-connect-timeout", "db-statement-timeout",
                   "restart-window"}) {
    INFO(key);
    CHECK_THAT(err({std::string{"--"} + key + "=0"}),
               StartsWith(std::string{"invalid value \"0\" for --"} + key));
    CHECK_THAT(err({std::string{"--"} + key + "=0ms"}),
               Contains("expected a duration 1ms..168h"));
  }
  auto s = ok({"--restart-backoff-min", "0", "--restart-backoff-max", "0s"}).values;
  CHECK(s.restart_backoff_min == 0ms);
  CHECK(s.restart_backoff_max == 0ms);
  CHECK_THAT(err({"--restart-backoff-min", "x"}),
             Contains("expected a duration 0..168h"));
}

TEST_CASE("sizes accept bytes and binary suffixes within 1KiB..1GiB", "[config][values]") {
  auto limit = [](std::string text) {
    return ok({"--body-limit", text}).values.body_limit;
  };
  CHECK(limit("1024") == 1024u);
  CHECK(limit("65536") == 65536u);
  CHECK(limit("64k") == 64u * 1024);
  CHECK(limit("64K") == 64u * 1024);
  CHECK(limit("64KiB") == 64u * 1024);
  CHECK(limit("64kb") == 64u * 1024);
  CHECK(limit("1m") == 1024u * 1024);
  CHECK(limit("1MiB") == 1024u * 1024);
  CHECK(limit("3M") == 3u * 1024 * 1024);
  CHECK(limit("1g") == 1024u * 1024 * 1024);
  CHECK(limit("1GiB") == 1024u * 1024 * 1024);

  for (std::string bad : {"512", "1023", "0", "2g", "1025m", "1t", "64 k", "k", "",
                          "1.5m", "-1k", "99999999999999999999g"}) {
    INFO("value: " << bad);
    CHECK_THAT(err({"--body-limit", bad}),
               Contains("for --body-limit (from command line): expected a size "
                        "1KiB..1GiB"));
  }
}

TEST_CASE("listen accepts HOST:PORT and bracketed IPv6", "[config][values]") {
  auto listen = [](std::string text) { return ok({"--listen", text}).values; };
  auto v4 = listen("0.0.0.0:80");
  CHECK(v4.listen_host == "0.0.0.0");
  CHECK(v4.listen_port == 80);
  auto name = listen("my-host.internal:65535");
  CHECK(name.listen_host == "my-host.internal");
  CHECK(name.listen_port == 65535);
  auto ephemeral = listen("localhost:0");
  CHECK(ephemeral.listen_host == "localhost");
  CHECK(ephemeral.listen_port == 0);
  auto v6 = listen("[::1]:9000");
  CHECK(v6.listen_host == "::1");
  CHECK(v6.listen_port == 9000);
  auto any6 = listen("[::]:8443");
  CHECK(any6.listen_host == "::");
  CHECK(any6.listen_port == 8443);
  auto zoned = listen("[fe80::1%eth0]:80");
  CHECK(zoned.listen_host == "fe80::1%eth0");

  for (std::string bad : {"8080", "host", ":8080", "host:", "host:65536", "host:-1",
                          "host:80x", "::1:8080", "[::1]", "[::1]8080", "[::1]:",
                          "[::1:80", "[localhost]:80", "bad host:80", "[zz::1]:80",
                          "a:b:c"}) {
    INFO("value: " << bad);
    CHECK_THAT(err({"--listen", bad}),
               Contains("for --listen (from command line): expected HOST:PORT or "
                        "[IPV6]:PORT with port 0..65535"));
  }
}

TEST_CASE("ports and integers are checked against their ranges", "[config][values]") {
  CHECK(ok({"--embedded-pg-port", "0"}).values.embedded_pg_port == 0);
  CHECK(ok({"--embedded-pg-port", "65535"}).values.embedded_pg_port == 65535);
  CHECK_THAT(err({"--embedded-pg-port", "65536"}),
             Contains("expected an integer 0..65535"));

  CHECK(ok({"--db-pool-size", "1"}).values.db_pool_size == 1);
  CHECK(ok({"--db-pool-size", "256"}).values.db_pool_size == 256);
  CHECK(ok({"--db-pool-size", "007"}).values.db_pool_size == 7);
  CHECK(ok({"--scheduler-threads", "0"}).values.scheduler_threads == 0);
  CHECK(ok({"--restart-limit", "0"}).values.restart_limit == 0);
  CHECK(ok({"--db-queue-limit", "1000000"}).values.db_queue_limit == 1000000);

  struct bad_case {
    std::string key, value, expected;
  };
  for (auto& c : std::vector<bad_case>{
         {"db-pool-size", "0", "1..256"},
         {"db-pool-size", "257", "1..256"},
         {"db-pool-size", "-1", "1..256"},
         {"db-pool-size", "+4", "1..256"},
         {"db-pool-size", " 4", "1..256"},
         {"db-pool-size", "4.0", "1..256"},
         {"db-pool-size", "18446744073709551617", "1..256"},
         {"db-queue-limit", "0", "1..1000000"},
         {"db-queue-limit", "1000001", "1..1000000"},
         {"io-threads", "0", "1..64"},
         {"io-threads", "65", "1..64"},
         {"max-connections", "0", "1..1000000"},
         {"scheduler-threads", "257", "0..256"},
         {"restart-limit", "1001", "0..1000"},
       }) {
    INFO(c.key << " = " << c.value);
    CHECK(err({"--" + c.key, c.value}) ==
          "invalid value \"" + c.value + "\" for --" + c.key +
            " (from command line): expected an integer " + c.expected);
  }
}

TEST_CASE("string settings: URL prefix, token length, log levels, non-empty paths",
          "[config][values]") {
  CHECK(ok({"--database-url", "postgresql://localhost/fp"}).values.database_url ==
        "postgresql://localhost/fp");
  CHECK(ok({"--database-url="}).values.embedded_database());

  // Secrets are never echoed: a URL may carry a password.
  auto url = err({"--database-url", "mysql://root:hunter2@db"});
  CHECK(url == "invalid value for --database-url (from command line): expected a "
               "URL starting with postgresql:// or postgres://");
  CHECK(url.find("hunter2") == std::string::npos);

  auto token = err({}, {{"FLEETPROMPT_ADMIN_TOKEN", "short-secret"}});
  CHECK(token == "invalid value for --admin-token (from FLEETPROMPT_ADMIN_TOKEN): "
                 "expected at least 16 characters");
  CHECK(token.find("short-secret") == std::string::npos);
  CHECK(ok({"--admin-token", std::string(16, 'x')}).values.admin_token.size() == 16);

  for (std::string level : {"trace", "debug", "info", "warn", "error", "off"})
    CHECK(ok({"--log-level", level}).values.log_level == level);
  CHECK(ok({}, {{"FLEETPROMPT_LOG_LEVEL", "WARN"}}).values.log_level == "warn");
  CHECK(err({"--log-level", "verbose"}) ==
        "invalid value \"verbose\" for --log-level (from command line): expected "
        "one of trace, debug, info, warn, error, off");

  for (auto key : {"data-dir", "pg-bin-dir", "pg-system-user"}) {
    INFO(key);
    CHECK_THAT(err({std::string{"--"} + key + "="}),
               StartsWith(std::string{"invalid value \"\" for --"} + key +
                          " (from command line)"));
  }
}

// -- error messages name the key and the source ---------------------------------

TEST_CASE("errors name the key and where the value came from", "[config][errors]") {
  CHECK(err({}, {{"FLEETPROMPT_DB_POOL_SIZE", "abc"}}) ==
        "invalid value \"abc\" for --db-pool-size (from FLEETPROMPT_DB_POOL_SIZE): "
        "expected an integer 1..256");
  CHECK(err({"--db-pool-size", "abc"}) ==
        "invalid value \"abc\" for --db-pool-size (from command line): expected an "
        "integer 1..256");

  temp_file f{"# pool\n\ndb-pool-size = abc\n"};
  CHECK(err({"--config", f.str()}) ==
        "invalid value \"abc\" for --db-pool-size (from " + f.str() +
          ":3): expected an integer 1..256");

  // A bad value from a lower layer is an error even when a higher one
  // overrides it: the file or environment is wrong either way.
  CHECK_THAT(err({"--db-pool-size", "4"}, {{"FLEETPROMPT_DB_POOL_SIZE", "0"}}),
             Contains("(from FLEETPROMPT_DB_POOL_SIZE)"));

  // Control characters in a value are escaped so the message stays one line.
  CHECK(err({"--log-level", "a\nb\"c"}) ==
        "invalid value \"a\\nb\\\"c\" for --log-level (from command line): "
        "expected one of trace, debug, info, warn, error, off");
}

// -- config file ----------------------------------------------------------------

TEST_CASE("config file syntax: comments, blanks, quotes, whitespace", "[config][file]") {
  auto s = file_ok("\xef\xbb\xbf# leading BOM and a comment\n"
                   "\n"
                   "   # indented comment\n"
                   "  data-dir   =   /srv/fp data  \n"
                   "pg-system-user=\"svc\"\r\n"
                   "pg-bin-dir = \"  /opt/pg \\\"15\\\" \\\\bin  \"\n"
                   "admin-token = \"0123456789abcdef#not-a-comment\"\n"
                   "database-url = \"\"\n"
                   "log-level = warn");
  CHECK(s.data_dir == "/srv/fp data");
  CHECK(s.pg_system_user == "svc");
  CHECK(s.pg_bin_dir == "  /opt/pg \"15\" \\bin  ");
  CHECK(s.admin_token == "0123456789abcdef#not-a-comment");
  CHECK(s.database_url.empty());
  CHECK(s.log_level == "warn");

  CHECK(file_ok("").db_pool_size == settings{}.db_pool_size);
  CHECK(file_ok("\n\n# only comments\n").io_threads == settings{}.io_threads);
  CHECK(file_ok("data-dir = a=b").data_dir == "a=b");
}

TEST_CASE("config file errors carry file:line", "[config][file][errors]") {
  {
    temp_file f{"listen = 127.0.0.1:1\n\nlisen = 0.0.0.0:80\n"};
    CHECK_THAT(err({"--config", f.str()}),
               StartsWith("unknown setting \"lisen\" in " + f.str() + ":3") &&
                 Contains("did you mean \"listen\"?"));
  }
  {
    temp_file f{"db_pool_size = 4\n"};
    CHECK_THAT(err({"--config", f.str()}),
               StartsWith("unknown setting \"db_pool_size\" in " + f.str() + ":1") &&
                 Contains("did you mean \"db-pool-size\"?"));
  }
  {
    temp_file f{"# x\nlisten 127.0.0.1:80\n"};
    CHECK(err({"--config", f.str()}) == "malformed line \"listen 127.0.0.1:80\" in " +
                                          f.str() + ":2: expected key = value");
  }
  {
    temp_file f{" = 5\n"};
    CHECK_THAT(err({"--config", f.str()}),
               StartsWith("malformed line \"= 5\" in " + f.str() + ":1"));
  }
  CHECK_THAT(file_err("data-dir = \"/srv\n"),
             StartsWith("malformed value for \"data-dir\" in") &&
               Contains(":1: unterminated quote"));
  CHECK_THAT(file_err("a-b = 1\ndata-dir = \"/srv\\n\"\n"),
             StartsWith("unknown setting \"a-b\""));
  CHECK_THAT(file_err("data-dir = \"/srv\\n\"\n"),
             StartsWith("malformed value for \"data-dir\"") &&
               Contains(":1: unknown escape \\n"));
  CHECK_THAT(file_err("data-dir = \"/srv\" trailing\n"),
             Contains(":1: text after the closing quote"));
  CHECK_THAT(file_err("data-dir = \"/srv\\\"\n"), Contains(":1: unterminated quote"));
  CHECK_THAT(file_err("io-threads = 2\nio-threads = 3\n"),
             StartsWith("duplicate setting \"io-threads\" in") &&
               Contains(":2 (first set on line 1)"));
  CHECK_THAT(file_err("config = other.conf\n"),
             StartsWith("setting \"config\" is not allowed in") &&
               Contains(":1 (use --config or FLEETPROMPT_CONFIG)"));
  CHECK_THAT(file_err("data-dir = /srv/\xff\xfe\n"),
             StartsWith("invalid UTF-8 or control character in") && Contains(":1"));
  CHECK_THAT(file_err("data-dir = \xc0\xaf\n"), Contains("invalid UTF-8"));
  CHECK_THAT(file_err("# ok\ndata-dir = a\x01z\n"), Contains(":2"));
  // Multi-byte UTF-8 is fine.
  CHECK(file_ok("data-dir = /srv/d\xc3\xa4ta/\xe2\x82\xac\n").data_dir ==
        "/srv/d\xc3\xa4ta/\xe2\x82\xac");
  // `#` starts a comment only at the start of a line.
  CHECK_THAT(file_err("io-threads = 2 # two\n"),
             StartsWith("invalid value \"2 # two\" for --io-threads"));
}

TEST_CASE("a config file that cannot be read is an error naming its source",
          "[config][file][errors]") {
  CHECK(err({"--config", "/nonexistent/fp.conf"}) ==
        "cannot read config file \"/nonexistent/fp.conf\" (from --config): No such "
        "file or directory");
  CHECK(err({}, {{"FLEETPROMPT_CONFIG", "/nonexistent/fp.conf"}}) ==
        "cannot read config file \"/nonexistent/fp.conf\" (from FLEETPROMPT_CONFIG): "
        "No such file or directory");
  auto dir = std::filesystem::temp_directory_path().string();
  CHECK(err({"--config", dir}) ==
        "cannot read config file \"" + dir + "\" (from --config): is a directory");
  CHECK_THAT(err({"--config="}), StartsWith("invalid value \"\" for --config"));
}

// -- flags ----------------------------------------------------------------------

TEST_CASE("unknown flags are errors, with a suggestion when close", "[config][flags]") {
  CHECK(err({"--lisen", "0.0.0.0:80"}) ==
        "unknown flag \"--lisen\"; did you mean \"--listen\"?");
  CHECK(err({"--frobnicate"}) == "unknown flag \"--frobnicate\"");
  CHECK(err({"-x"}) == "unknown flag \"-x\"");
  CHECK(err({"--statuss"}, {}, {{"status", false, ""}}) ==
        "unknown flag \"--statuss\"; did you mean \"--status\"?");
  // A command's flag is unknown to a command that does not declare it.
  CHECK_THAT(err({"migrate", "--status"}), StartsWith("unknown flag \"--status\""));
}

TEST_CASE("flags needing a value", "[config][flags]") {
  CHECK(err({"serve", "--listen"}) == "--listen needs a value");
  CHECK(err({"--listen", "--io-threads", "2"}) == "--listen needs a value");
  CHECK(err({"--email"}, {}, {{"email", true, ""}}) == "--email needs a value");
  // `=` passes values that look like flags.
  CHECK(ok({"--admin-token=--0123456789abcdef"}).values.admin_token ==
        "--0123456789abcdef");
  // A single-dash value is taken as a value.
  CHECK_THAT(err({"--io-threads", "-1"}), Contains("expected an integer 1..64"));
}

TEST_CASE("command flags: values and switches", "[config][flags]") {
  std::vector<flag_spec> extra{{"email", true, "E-mail address."},
                               {"status", false, "Show status."},
                               {"force", false, "Do it anyway."}};
  auto cli = ok({"user", "--email", "a@example.com", "create", "--status",
                 "--io-threads=2"},
                {}, extra);
  CHECK(cli.flags.size() == 2);
  CHECK(cli.flags.at("email") == "a@example.com");
  CHECK(cli.flags.at("status") == "");
  CHECK(cli.flags.count("force") == 0);
  CHECK(cli.values.io_threads == 2);
  CHECK(cli.positional == std::vector<std::string>{"user", "create"});

  CHECK(ok({"--email=b@example.com", "--email", "c@example.com"}, {}, extra)
          .flags.at("email") == "c@example.com");
  CHECK(ok({"--email="}, {}, extra).flags.at("email").empty());
  CHECK(err({"--status=yes"}, {}, extra) == "--status does not take a value");
  CHECK(err({"--force="}, {}, extra) == "--force does not take a value");

  // Setting keys win over a command flag of the same name.
  auto shadow = ok({"--listen", "1.2.3.4:5"}, {}, {{"listen", false, ""}});
  CHECK(shadow.flags.empty());
  CHECK(shadow.values.listen_port == 5);
}

TEST_CASE("positionals interleave with flags and a bare -- ends flags", "[config][flags]") {
  auto cli = ok({"--db-pool-size", "8", "user", "--listen=[::1]:81", "create", "-",
                 "--log-level", "error", "extra"});
  CHECK(cli.positional == std::vector<std::string>{"user", "create", "-", "extra"});
  CHECK(cli.values.db_pool_size == 8);
  CHECK(cli.values.listen_host == "::1");
  CHECK(cli.values.listen_port == 81);
  CHECK(cli.values.log_level == "error");

  auto rest = ok({"run", "--", "--listen", "-h", "x"});
  CHECK(rest.positional == std::vector<std::string>{"run", "--listen", "-h", "x"});
  CHECK_FALSE(rest.help_requested);
  CHECK(rest.values.listen_port == 8080);
}

// -- help -----------------------------------------------------------------------

TEST_CASE("-h and --help anywhere succeed even with bad or missing values",
          "[config][help]") {
  CHECK(ok({"-h"}).help_requested);
  CHECK(ok({"serve", "--help"}).help_requested);
  auto cli = ok({"migrate", "--db-pool-size", "abc", "--bogus", "-h", "--listen"},
                {{"FLEETPROMPT_IO_THREADS", "0"}, {"FLEETPROMPT_LOG_LEVEL", "debug"},
                 {"FLEETPROMPT_CONFIG", "/nonexistent/fp.conf"}});
  CHECK(cli.help_requested);
  CHECK(cli.positional == std::vector<std::string>{"migrate"});
  // What could be loaded still is.
  CHECK(cli.values.log_level == "debug");
  CHECK(cli.values.db_pool_size == settings{}.db_pool_size);
  // `--listen --help` is a forgotten value, and help still wins.
  CHECK(ok({"--listen", "--help"}).help_requested);
  CHECK(err({"--help=yes"}) == "--help does not take a value");
}

TEST_CASE("settings_help lists every setting in aligned columns", "[config][help]") {
  auto help = settings_help();
  for (auto key : {"config", "database-url", "data-dir", "embedded-pg-port",
                   "pg-bin-dir", "pg-system-user", "db-pool-size", "db-queue-limit",
                   "db-connect-timeout", "db-statement-timeout", "listen",
                   "io-threads", "body-limit", "max-connections", "header-timeout",
                   "read-timeout", "idle-timeout", "request-timeout",
                   "shutdown-grace", "admin-token", "scheduler-threads",
                   "restart-limit", "restart-window", "restart-backoff-min",
                   "restart-backoff-max", "log-level", "migrate-on-start"}) {
    INFO(key);
    CHECK_THAT(help, Contains(std::string{"--"} + key + " "));
    std::string env = "FLEETPROMPT_";
    for (char c : std::string{key})
      env += c == '-' ? '_' : static_cast<char>(std::toupper(c));
    CHECK_THAT(help, Contains(env));
  }
  CHECK_THAT(help, Contains("--listen HOST:PORT"));
  CHECK_THAT(help, Contains("default: 127.0.0.1:8080"));
  CHECK_THAT(help, Contains("default: 1MiB"));
  CHECK_THAT(help, Contains("default: 5s"));
  CHECK_THAT(help, Contains("default: 50ms"));
  CHECK_THAT(help, Contains("default: /usr/lib/postgresql/15/bin"));
  CHECK_THAT(help, Contains("default: (none)"));
  CHECK_THAT(help, Contains("--restart-backoff-min DURATION"));
  // Ranges come from the same table that enforces them.
  CHECK_THAT(help, Contains("one database connection each. Range: 1..256."));
  CHECK_THAT(help, Contains("Range: 1KiB..1GiB."));
  CHECK_THAT(help, Contains("Range: 0..168h."));

  // Every setting row starts its env var and default at the same columns.
  std::istringstream lines{help};
  std::string line;
  std::set<size_t> env_columns, default_columns;
  size_t rows = 0;
  while (std::getline(lines, line)) {
    if (!line.starts_with("  --"))
      continue;
    ++rows;
    env_columns.insert(line.find("FLEETPROMPT_"));
    default_columns.insert(line.find("default: "));
  }
  // 27 base + 3 accounts (secure-cookies, session-ttl,
  // api-key-rotation-grace) + 4 tenancy + 14 signal/SSE/job/webhook settings
  // + 3 master keys (key-file, master-keys, active-key-id).
  CHECK(rows == 68);
  CHECK(env_columns.size() == 1);
  CHECK(default_columns.size() == 1);
  CHECK(*env_columns.begin() != std::string::npos);
}

TEST_CASE("flags_help aligns a command's flags", "[config][help]") {
  auto help = flags_help({{"status", false, "Show status."},
                          {"email", true, "E-mail address."}});
  CHECK(help == "  --status       Show status.\n"
                "  --email VALUE  E-mail address.\n");
  CHECK(flags_help({}).empty());
}

// -- validate -------------------------------------------------------------------

TEST_CASE("validate checks cross-field and per-field rules", "[config][validate]") {
  settings s;
  CHECK(validate(s).empty());

  s.restart_backoff_min = 10s;
  s.restart_backoff_max = 1s;
  CHECK(validate(s) ==
        "--restart-backoff-min (10s) must not exceed --restart-backoff-max (1s)");
  s.restart_backoff_max = 10s;
  CHECK(validate(s).empty());

  for (auto field : {&settings::read_timeout, &settings::idle_timeout,
                     &settings::header_timeout}) {
    settings t;
    t.*field = 0ms;
    CHECK_THAT(validate(t),
               StartsWith("invalid value \"0ms\" for --") &&
                 Contains("timeout: expected a duration 1ms..168h"));
  }

  settings u;
  u.io_threads = 0;
  CHECK(validate(u) == "invalid value \"0\" for --io-threads: expected an integer 1..64");
  settings v;
  v.listen_host = "";
  CHECK_THAT(validate(v), StartsWith("invalid value \":8080\" for --listen:"));
  settings w;
  w.admin_token = "short";
  CHECK(validate(w) ==
        "invalid value for --admin-token: expected at least 16 characters");
  settings x;
  x.log_level = "loud";
  CHECK_THAT(validate(x), StartsWith("invalid value \"loud\" for --log-level"));
  settings y;
  y.body_limit = 100;
  CHECK_THAT(validate(y), StartsWith("invalid value \"100\" for --body-limit"));
}

TEST_CASE("cross-field errors during loading name each value's source",
          "[config][validate][errors]") {
  temp_file f{"restart-backoff-max = 2s\n"};
  CHECK(err({"--config", f.str()}, {{"FLEETPROMPT_RESTART_BACKOFF_MIN", "3s"}}) ==
        "--restart-backoff-min (3s, from FLEETPROMPT_RESTART_BACKOFF_MIN) must not "
        "exceed --restart-backoff-max (2s, from " +
          f.str() + ":1)");
  CHECK(err({"--restart-backoff-min", "1m"}) ==
        "--restart-backoff-min (1m, from command line) must not exceed "
        "--restart-backoff-max (5s, built-in default)");
  CHECK(ok({"--restart-backoff-min", "1m", "--restart-backoff-max", "1h"})
          .values.restart_backoff_max == 1h);
}

// -- process environment --------------------------------------------------------

TEST_CASE("process_env reads the real environment", "[config][env]") {
  auto env = process_env();
  ::setenv("FP_CONFIG_TEST_VAR", "hello", 1);
  CHECK(env("FP_CONFIG_TEST_VAR") == std::optional<std::string>{"hello"});
  ::unsetenv("FP_CONFIG_TEST_VAR");
  CHECK_FALSE(env("FP_CONFIG_TEST_VAR").has_value());
  // Not NUL-terminated views must work too.
  std::string padded = "FP_CONFIG_TEST_VARX";
  ::setenv("FP_CONFIG_TEST_VAR", "x", 1);
  CHECK(env(std::string_view{padded}.substr(0, padded.size() - 1)) ==
        std::optional<std::string>{"x"});
  ::unsetenv("FP_CONFIG_TEST_VAR");

  // An empty env_lookup behaves like an empty environment.
  auto parsed = parse_command_line({"--io-threads", "2"}, {}, env_lookup{});
  REQUIRE(std::holds_alternative<command_line>(parsed));
  CHECK(std::get<command_line>(parsed).values.io_threads == 2);
}

TEST_CASE("exceptions from the env lookup do not escape", "[config][env]") {
  env_lookup throwing = [](std::string_view) -> std::optional<std::string> {
    throw std::runtime_error("boom");
  };
  auto parsed = parse_command_line({}, {}, throwing);
  REQUIRE(std::holds_alternative<std::string>(parsed));
  CHECK(std::get<std::string>(parsed) == "cannot load settings: boom");
}

TEST_CASE("migrate-on-start is a boolean setting", "[config][bool]") {
  using namespace fp::config;
  auto no_env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  auto on = parse_command_line({"--migrate-on-start", "off"}, {}, no_env);
  REQUIRE(std::holds_alternative<command_line>(on));
  CHECK_FALSE(std::get<command_line>(on).values.migrate_on_start);
  auto yes = parse_command_line({"--migrate-on-start=TRUE"}, {}, no_env);
  REQUIRE(std::holds_alternative<command_line>(yes));
  CHECK(std::get<command_line>(yes).values.migrate_on_start);
  auto bad = parse_command_line({"--migrate-on-start", "maybe"}, {}, no_env);
  REQUIRE(std::holds_alternative<std::string>(bad));
  CHECK(std::get<std::string>(bad).find("--migrate-on-start") != std::string::npos);
}

TEST_CASE("master key settings come from the environment, keys never echoed",
          "[config][keys]") {
  // 32 bytes of base64: 43 characters plus padding.
  const std::string key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  auto s = ok({}, {{"FLEETPROMPT_KEY_FILE", "/etc/fleetprompt/master.keys"},
                   {"FLEETPROMPT_MASTER_KEYS", "k1:" + key + ", k2:" + key},
                   {"FLEETPROMPT_ACTIVE_KEY_ID", "k1"}})
             .values;
  CHECK(s.key_file == "/etc/fleetprompt/master.keys");
  CHECK(s.master_keys == "k1:" + key + ", k2:" + key);
  CHECK(s.active_key_id == "k1");
  CHECK(settings{}.key_file.empty());

  auto bad = err({}, {{"FLEETPROMPT_MASTER_KEYS", "k1:" + key.substr(0, 30)}});
  CHECK_THAT(bad, Contains("--master-keys"));
  CHECK(bad.find(key.substr(0, 30)) == std::string::npos);
  CHECK_THAT(err({"--active-key-id", "bad id"}), Contains("--active-key-id"));

  settings t;
  t.master_keys = "no-colon-" + key;
  auto msg = validate(t);
  CHECK_THAT(msg, StartsWith("invalid value for --master-keys"));
  CHECK(msg.find(key) == std::string::npos);
  CHECK_THAT(settings_help(), Contains("FLEETPROMPT_MASTER_KEYS"));
  CHECK_THAT(settings_help(), Contains("Master keys:"));
}

TEST_CASE("active-key-id must name one of the master keys", "[config][keys]") {
  const std::string key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  settings s;
  s.master_keys = "k1:" + key + ", k2:" + key;
  s.active_key_id = "k2";
  CHECK(validate(s).empty());
  s.active_key_id = "k3";
  auto msg = validate(s);
  CHECK(msg == "--active-key-id (k3) names no key of --master-keys");
  // With a key file the ring checks the id when it reads the file.
  s.key_file = "/etc/fleetprompt/master.keys";
  CHECK(validate(s).empty());
  auto e = err({"--active-key-id", "k9"}, {{"FLEETPROMPT_MASTER_KEYS", "k1:" + key}});
  CHECK_THAT(e, StartsWith("--active-key-id (k9") &&
                  Contains("names no key of --master-keys"));
  CHECK(e.find(key) == std::string::npos);
}
