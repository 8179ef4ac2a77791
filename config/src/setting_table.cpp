#include "setting_table.hpp"

#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>

#include "value_parsers.hpp"

namespace fp::config::detail {

namespace {

using std::chrono::milliseconds;

// Longest accepted duration. Far beyond any sane timeout, yet small enough
// that adding it to a steady_clock time point can never overflow.
constexpr milliseconds max_duration = std::chrono::hours{168};

constexpr uint64_t min_body = uint64_t{1} << 10;
constexpr uint64_t max_body = uint64_t{1} << 30;

constexpr size_t min_admin_token = 16;

// -- factories --------------------------------------------------------------------

template <class T>
setting_def integer_setting(std::string_view key, std::string_view help,
                            setting_group group, T settings::*field, uint64_t lo,
                            uint64_t hi, std::string_view hint = "N") {
  auto expected =
    "expected an integer " + std::to_string(lo) + ".." + std::to_string(hi);
  auto in_range = [lo, hi](uint64_t v) { return v >= lo && v <= hi; };
  setting_def def;
  def.key = key;
  def.hint = hint;
  def.help = help;
  def.range = std::to_string(lo) + ".." + std::to_string(hi);
  def.group = group;
  def.assign = [=](settings& s, std::string_view text) -> std::string {
    auto v = parse_uint(text);
    if (!v || !in_range(*v))
      return expected;
    s.*field = static_cast<T>(*v);
    return {};
  };
  def.check = [=](const settings& s) -> std::string {
    return in_range(static_cast<uint64_t>(s.*field)) ? std::string{} : expected;
  };
  def.show = [=](const settings& s) { return std::to_string(s.*field); };
  return def;
}

// Backoffs may be zero (restart at once); every other duration must be
// positive because a zero timeout would fire immediately.
setting_def duration_setting(std::string_view key, std::string_view help,
                             setting_group group, milliseconds settings::*field,
                             bool zero_ok = false) {
  auto lo = milliseconds{zero_ok ? 0 : 1};
  auto range = std::string{zero_ok ? "0" : "1ms"} + ".." +
               format_duration(max_duration);
  auto expected = "expected a duration " + range +
                  " such as 250ms, 5s, 2m or 1h (bare number = milliseconds)";
  auto in_range = [lo](milliseconds v) { return v >= lo && v <= max_duration; };
  setting_def def;
  def.key = key;
  def.hint = "DURATION";
  def.help = help;
  def.range = range;
  def.group = group;
  def.assign = [=](settings& s, std::string_view text) -> std::string {
    auto v = parse_duration(text);
    if (!v || !in_range(*v))
      return expected;
    s.*field = *v;
    return {};
  };
  def.check = [=](const settings& s) -> std::string {
    return in_range(s.*field) ? std::string{} : expected;
  };
  def.show = [=](const settings& s) { return format_duration(s.*field); };
  return def;
}

using string_rule = bool (*)(std::string_view);

setting_def string_setting(std::string_view key, std::string_view hint,
                           std::string_view help, setting_group group,
                           std::string settings::*field, string_rule rule,
                           std::string expected, bool secret = false) {
  setting_def def;
  def.key = key;
  def.hint = hint;
  def.help = help;
  def.group = group;
  def.secret = secret;
  def.assign = [=](settings& s, std::string_view text) -> std::string {
    if (!rule(text))
      return expected;
    s.*field = std::string{text};
    return {};
  };
  def.check = [=](const settings& s) -> std::string {
    return rule(s.*field) ? std::string{} : expected;
  };
  def.show = [=](const settings& s) { return s.*field; };
  return def;
}

// -- string rules -----------------------------------------------------------------

bool any_text(std::string_view) {
  return true;
}

bool http_url(std::string_view text) {
  return text.starts_with("http://") || text.starts_with("https://");
}

bool non_empty(std::string_view text) {
  return !text.empty();
}

bool postgres_url(std::string_view text) {
  return text.empty() || text.starts_with("postgresql://") ||
         text.starts_with("postgres://");
}

// Syntax only (digits, hex, ':', '.', '/', ','; each item has a prefix
// length); the webhook guard parses the blocks when it starts.
bool cidr_list(std::string_view text) {
  if (text.empty())
    return true;
  bool has_slash = false;
  for (char c : text) {
    if (c == ',') {
      if (!has_slash)
        return false;
      has_slash = false;
      continue;
    }
    if (c == '/')
      has_slash = true;
    else if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.')
      return false;
  }
  return has_slash;
}

bool admin_token(std::string_view text) {
  return text.empty() || text.size() >= min_admin_token;
}

bool key_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool key_id(std::string_view text) {
  if (text.empty() || text.size() > 32)
    return false;
  for (char c : text)
    if (!key_id_char(c))
      return false;
  return true;
}

bool optional_key_id(std::string_view text) {
  return text.empty() || key_id(text);
}

// Syntax only: "<id>:<base64 of 32 bytes>" items, comma-separated (43
// base64 characters plus optional padding); the key ring decodes them.
bool master_key_list(std::string_view text) {
  if (text.empty())
    return true;
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ')
      s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
      s.remove_suffix(1);
    return s;
  };
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{}
                                           : text.substr(comma + 1);
    auto colon = item.find(':');
    if (colon == std::string_view::npos || !key_id(item.substr(0, colon)))
      return false;
    auto key = item.substr(colon + 1);
    while (!key.empty() && key.back() == '=')
      key.remove_suffix(1);
    if (key.size() != 43)
      return false;
    for (char c : key)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' &&
          c != '-' && c != '_')
        return false;
  }
  return true;
}

constexpr std::array<std::string_view, 6> log_levels{"trace", "debug", "info",
                                                     "warn",  "error", "off"};

std::string lowercase(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool known_log_level(std::string_view text) {
  for (auto level : log_levels)
    if (text == level)
      return true;
  return false;
}

setting_def boolean_setting(std::string_view key, std::string_view help,
                            setting_group group, bool settings::*field) {
  static const std::string expected = "expected true or false";
  setting_def def;
  def.key = key;
  def.hint = "BOOL";
  def.help = help;
  def.group = group;
  def.assign = [field](settings& s, std::string_view text) -> std::string {
    auto v = lowercase(text);
    if (v == "true" || v == "1" || v == "yes" || v == "on")
      s.*field = true;
    else if (v == "false" || v == "0" || v == "no" || v == "off")
      s.*field = false;
    else
      return expected;
    return {};
  };
  def.check = [](const settings&) { return std::string{}; };
  def.show = [field](const settings& s) {
    return std::string{s.*field ? "true" : "false"};
  };
  return def;
}

// -- special settings -------------------------------------------------------------

setting_def listen_setting() {
  static const std::string expected =
    "expected HOST:PORT or [IPV6]:PORT with port 0..65535";
  setting_def def;
  def.key = "listen";
  def.hint = "HOST:PORT";
  def.help = "Address the HTTP server binds; [::1]:PORT for IPv6, port 0 picks "
             "a free one.";
  def.group = setting_group::http;
  def.assign = [](settings& s, std::string_view text) -> std::string {
    auto hp = parse_listen(text);
    if (!hp)
      return expected;
    s.listen_host = std::move(hp->host);
    s.listen_port = hp->port;
    return {};
  };
  def.check = [](const settings& s) -> std::string {
    return valid_listen_host(s.listen_host) ? std::string{} : expected;
  };
  def.show = [](const settings& s) {
    return format_listen(s.listen_host, s.listen_port);
  };
  return def;
}

setting_def body_limit_setting() {
  static const std::string expected =
    "expected a size 1KiB..1GiB such as 65536, 64k, 64KiB, 1m or 1g";
  auto in_range = [](uint64_t v) { return v >= min_body && v <= max_body; };
  setting_def def;
  def.key = "body-limit";
  def.hint = "SIZE";
  def.help = "Largest accepted request body, in bytes or with a k/m/g suffix "
             "(powers of 1024).";
  def.range = format_size(min_body) + ".." + format_size(max_body);
  def.group = setting_group::http;
  def.assign = [=](settings& s, std::string_view text) -> std::string {
    auto v = parse_size(text);
    if (!v || !in_range(*v))
      return expected;
    s.body_limit = static_cast<std::size_t>(*v);
    return {};
  };
  def.check = [=](const settings& s) -> std::string {
    return in_range(s.body_limit) ? std::string{} : expected;
  };
  def.show = [](const settings& s) { return format_size(s.body_limit); };
  return def;
}

setting_def log_level_setting() {
  static const std::string expected =
    "expected one of trace, debug, info, warn, error, off";
  setting_def def;
  def.key = "log-level";
  def.hint = "LEVEL";
  def.help = "Least severe log level written: trace, debug, info, warn, error "
             "or off.";
  def.group = setting_group::logging;
  // Case-insensitive because environment variables are often written in
  // capitals; stored lower-case, the form the logger parses.
  def.assign = [](settings& s, std::string_view text) -> std::string {
    auto level = lowercase(text);
    if (!known_log_level(level))
      return expected;
    s.log_level = std::move(level);
    return {};
  };
  def.check = [](const settings& s) -> std::string {
    return known_log_level(s.log_level) ? std::string{} : expected;
  };
  def.show = [](const settings& s) { return s.log_level; };
  return def;
}

// -- the table --------------------------------------------------------------------

std::vector<setting_def> make_table() {
  using g = setting_group;
  using s = settings;
  std::vector<setting_def> t;
  t.push_back(string_setting(
    config_key, "FILE",
    "Config file of `key = value` lines; overridden by the environment and "
    "flags.",
    g::general, &s::config_file, non_empty, "expected a file path"));

  // -- database
  t.push_back(string_setting(
    "database-url", "URL",
    "PostgreSQL URL of an existing database; empty runs the embedded cluster "
    "in --data-dir.",
    g::database, &s::database_url, postgres_url,
    "expected a URL starting with postgresql:// or postgres://", true));
  t.push_back(string_setting(
    "data-dir", "DIR", "Directory for the embedded cluster and other local state.",
    g::database, &s::data_dir, non_empty, "expected a directory path"));
  t.push_back(integer_setting(
    "embedded-pg-port",
    "Loopback port of the embedded cluster; 0 picks a free one once and "
    "remembers it.",
    g::database, &s::embedded_pg_port, 0, 65535, "PORT"));
  t.push_back(string_setting(
    "pg-bin-dir", "DIR",
    "Directory with the PostgreSQL 15 server binaries (initdb, pg_ctl, "
    "postgres).",
    g::database, &s::pg_bin_dir, non_empty, "expected a directory path"));
  t.push_back(string_setting(
    "pg-system-user", "USER",
    "Unprivileged system user that runs the embedded cluster when started as "
    "root.",
    g::database, &s::pg_system_user, non_empty, "expected a user name"));
  t.push_back(integer_setting(
    "db-pool-size", "Storage workers, one database connection each.",
    g::database, &s::db_pool_size, 1, 256));
  t.push_back(integer_setting(
    "db-queue-limit",
    "Storage requests that may wait for a worker before more are refused.",
    g::database, &s::db_queue_limit, 1, 1000000));
  t.push_back(duration_setting("db-connect-timeout",
                               "Time allowed to open a database connection.",
                               g::database, &s::db_connect_timeout));
  t.push_back(duration_setting("db-statement-timeout",
                               "Longest a single SQL statement may run.",
                               g::database, &s::db_statement_timeout));
  t.push_back(boolean_setting(
    "migrate-on-start",
    "Apply pending public migrations when serve starts (true/false).",
    g::database, &s::migrate_on_start));

  // -- HTTP
  t.push_back(listen_setting());
  t.push_back(integer_setting("io-threads",
                              "Threads running the HTTP event loop.", g::http,
                              &s::io_threads, 1, 64));
  t.push_back(body_limit_setting());
  t.push_back(integer_setting("max-connections",
                              "Most client connections open at once.", g::http,
                              &s::max_connections, 1, 1000000));
  t.push_back(duration_setting("header-timeout",
                               "Time a client has to send the request headers.",
                               g::http, &s::header_timeout));
  t.push_back(duration_setting("read-timeout",
                               "Time a client has to send the request body.",
                               g::http, &s::read_timeout));
  t.push_back(duration_setting(
    "idle-timeout", "How long an idle keep-alive connection stays open.",
    g::http, &s::idle_timeout));
  t.push_back(duration_setting("request-timeout",
                               "Longest time one request may take to handle.",
                               g::http, &s::request_timeout));
  t.push_back(duration_setting(
    "shutdown-grace", "Time in-flight requests get to finish on shutdown.",
    g::http, &s::shutdown_grace));
  t.push_back(string_setting(
    "admin-token", "TOKEN",
    "Bearer token for /admin/* (at least 16 characters when set).", g::http,
    &s::admin_token, admin_token,
    "expected at least " + std::to_string(min_admin_token) + " characters",
    true));
  t.push_back(string_setting(
    "web-dir", "DIR",
    "Built console assets (web/dist: index manifest and hashed files); "
    "relative paths start at the working directory.",
    g::http, &s::web_dir, any_text, "expected a directory path"));
  t.push_back(boolean_setting(
    "secure-cookies",
    "Mark session cookies Secure (behind HTTPS) (true/false).", g::http,
    &s::secure_cookies));
  t.push_back(duration_setting("session-ttl",
                               "Lifetime of a login session.", g::http,
                               &s::session_ttl));
  t.push_back(duration_setting(
    "api-key-rotation-grace",
    "How long a rotated API key's previous secret stays valid.", g::http,
    &s::api_key_rotation_grace, true));
  t.push_back(duration_setting(
    "api-key-cache",
    "How long a node remembers a verified API key (0: never).",
    g::http, &s::api_key_cache, true));

  // -- actors
  t.push_back(integer_setting("scheduler-threads",
                              "Actor scheduler threads; 0 means one per core.",
                              g::actors, &s::scheduler_threads, 0, 256));
  t.push_back(integer_setting(
    "restart-limit",
    "Restarts a supervised child may make within --restart-window; one more "
    "crash stops the process.",
    g::actors, &s::restart_limit, 0, 1000));
  t.push_back(duration_setting("restart-window",
                               "Window over which --restart-limit is counted.",
                               g::actors, &s::restart_window));
  t.push_back(duration_setting(
    "restart-backoff-min", "First delay before restarting a crashed child.",
    g::actors, &s::restart_backoff_min, true));
  t.push_back(duration_setting(
    "restart-backoff-max", "Longest delay before restarting a crashed child.",
    g::actors, &s::restart_backoff_max, true));
  t.push_back(integer_setting(
    "tenant-migrate-batch",
    "Organizations per batch when tenant migrations run across all tenants.",
    g::actors, &s::tenant_migrate_batch, 1, 10000));
  t.push_back(integer_setting(
    "tenant-migrate-concurrency",
    "Tenants of a batch migrated at once (one database connection each).",
    g::actors, &s::tenant_migrate_concurrency, 1, 64));
  t.push_back(duration_setting(
    "tenant-idle-timeout",
    "An organization's actor unused this long is stopped until next use.",
    g::actors, &s::tenant_idle_timeout));
  t.push_back(duration_setting(
    "org-purge-grace",
    "How long a deleted organization's schema is kept before it is dropped.",
    g::actors, &s::org_purge_grace));

  // -- signals, SSE, jobs, directives
  t.push_back(integer_setting("signal-payload-limit",
                              "Largest signal payload in bytes of JSON.",
                              g::actors, &s::signal_payload_limit, 2,
                              16 * 1024 * 1024));
  t.push_back(integer_setting("signal-batch-limit",
                              "Most signals in one POST /api/v1/signals.",
                              g::actors, &s::signal_batch_limit, 1, 100000));
  t.push_back(duration_setting(
    "signal-linger",
    "Group commit: how long the signal bus waits for more signals.",
    g::actors, &s::signal_linger, true));
  t.push_back(integer_setting("signal-group-max",
                              "Group commit: most signals in one commit.",
                              g::actors, &s::signal_group_max, 1, 100000));
  t.push_back(duration_setting("sse-heartbeat",
                               "Interval of SSE comment heartbeats.",
                               g::actors, &s::sse_heartbeat));
  t.push_back(integer_setting(
    "job-workers", "Job worker threads (one database connection each).",
    g::actors, &s::job_workers, 1, 256));
  t.push_back(integer_setting("job-batch",
                              "Most jobs a dispatcher claims at once.",
                              g::actors, &s::job_batch, 1, 10000));
  t.push_back(duration_setting(
    "job-poll-interval", "Polling fallback when no NOTIFY wakes the jobs.",
    g::actors, &s::job_poll_interval));
  t.push_back(duration_setting(
    "job-lease", "Lease of a running job; heartbeats extend it.", g::actors,
    &s::job_lease));
  t.push_back(duration_setting(
    "job-backoff-min",
    "Ceiling of the first retry delay (random below it, doubling per attempt).",
    g::actors, &s::job_backoff_min, true));
  t.push_back(duration_setting("job-backoff-max",
                               "Longest retry delay of a failed job.",
                               g::actors, &s::job_backoff_max, true));
  t.push_back(duration_setting(
    "job-retention", "Finished jobs are pruned after this long.", g::actors,
    &s::job_retention));
  t.push_back(duration_setting("webhook-timeout",
                               "Time an outbound webhook may take.", g::actors,
                               &s::webhook_timeout));
  t.push_back(string_setting(
    "webhook-allow-networks", "CIDRS",
    "Private, loopback or link-local blocks webhooks may reach anyway "
    "(comma-separated CIDR, e.g. 127.0.0.0/8).",
    g::actors, &s::webhook_allow_networks, cidr_list,
    "expected comma-separated CIDR blocks such as 10.0.0.0/8"));
  t.push_back(string_setting(
    "openai-base-url", "URL",
    "OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp), e.g. "
    "http://127.0.0.1:11434/v1.",
    g::actors, &s::openai_base_url, http_url,
    "expected an http:// or https:// URL"));
  t.push_back(string_setting("openai-api-key", "KEY",
                             "API key of the OpenAI-compatible server.",
                             g::actors, &s::openai_api_key, any_text, "", true));
  t.push_back(string_setting("anthropic-base-url", "URL",
                             "Anthropic Messages API base URL.", g::actors,
                             &s::anthropic_base_url, http_url,
                             "expected an http:// or https:// URL"));
  t.push_back(string_setting("anthropic-api-key", "KEY",
                             "API key of the Anthropic Messages API.",
                             g::actors, &s::anthropic_api_key, any_text, "",
                             true));
  t.push_back(string_setting(
    "llm-prices", "TABLE",
    "Model prices: provider/model=<in>:<out> per million tokens, ';'-separated.",
    g::actors, &s::llm_prices, non_empty, "expected a price table"));
  t.push_back(duration_setting("llm-connect-timeout",
                               "Time to connect to a model provider.",
                               g::actors, &s::llm_connect_timeout));
  t.push_back(duration_setting(
    "llm-read-timeout", "Longest silence while a model answer streams.",
    g::actors, &s::llm_read_timeout));
  t.push_back(duration_setting("llm-total-timeout",
                               "Longest model call, retries included.",
                               g::actors, &s::llm_total_timeout));
  t.push_back(integer_setting("llm-max-attempts",
                              "HTTP attempts per model call.", g::actors,
                              &s::llm_max_attempts, 1, 20));
  t.push_back(integer_setting(
    "llm-breaker-threshold",
    "Consecutive failed calls that open a provider's circuit breaker.",
    g::actors, &s::llm_breaker_threshold, 1, 1000));
  t.push_back(duration_setting("llm-breaker-cooldown",
                               "How long an open circuit breaker stays open.",
                               g::actors, &s::llm_breaker_cooldown));
  t.push_back(integer_setting("llm-threads",
                              "Threads making calls to network model providers.",
                              g::actors, &s::llm_threads, 1, 1024));
  t.push_back(duration_setting("execution-timeout",
                               "Longest time one execution may run.", g::actors,
                               &s::execution_timeout));
  t.push_back(duration_setting(
    "execution-stream-flush",
    "How often streamed text is written and announced.", g::actors,
    &s::execution_stream_flush));
  t.push_back(integer_setting("execution-concurrency",
                              "Concurrent executions per node.", g::actors,
                              &s::execution_concurrency, 1, 100000));

  // -- master keys
  t.push_back(string_setting(
    "key-file", "FILE",
    "Master key file (<id> <base64 32 bytes> [active] lines, mode 0600); "
    "with no keys configured, <data-dir>/master.keys is created.",
    g::keys, &s::key_file, any_text, "expected a file path"));
  t.push_back(string_setting(
    "master-keys", "KEYS",
    "Master keys as <id>:<base64 32 bytes>, comma-separated (the last seals "
    "new values); combined with --key-file when both are set.",
    g::keys, &s::master_keys, master_key_list,
    "expected <id>:<base64 of 32 bytes>[,...] with ids of 1..32 characters "
    "A-Z a-z 0-9 _ -",
    true));
  t.push_back(string_setting(
    "active-key-id", "ID",
    "Id of the master key that seals new values; empty: the key file's "
    "active mark, else the last key.",
    g::keys, &s::active_key_id, optional_key_id,
    "expected a key id of 1..32 characters A-Z a-z 0-9 _ -"));

  // -- logging
  t.push_back(log_level_setting());
  return t;
}

} // namespace

const std::vector<setting_def>& setting_table() {
  static const std::vector<setting_def> table = make_table();
  return table;
}

const setting_def* find_setting(std::string_view key) {
  for (auto& def : setting_table())
    if (def.key == key)
      return &def;
  return nullptr;
}

std::vector<std::string_view> setting_keys() {
  std::vector<std::string_view> keys;
  for (auto& def : setting_table())
    keys.push_back(def.key);
  return keys;
}

std::string env_var_name(std::string_view key) {
  std::string name = "FLEETPROMPT_";
  for (char c : key) {
    if (c == '-')
      c = '_';
    else if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
    name.push_back(c);
  }
  return name;
}

} // namespace fp::config::detail
