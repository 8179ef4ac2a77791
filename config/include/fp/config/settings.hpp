#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace fp::config {

/// Every tunable of the runtime, as plain values. Loaded once at start-up from
/// (lowest to highest precedence) built-in defaults, an optional config file,
/// `FLEETPROMPT_*` environment variables and command-line flags, then
/// validated; nothing reads the environment after that.
struct settings {
  // -- database ---------------------------------------------------------------

  /// `postgresql://...` URL of an existing database. Empty: run the embedded
  /// private cluster inside `data_dir`.
  std::string database_url;
  /// Directory for the embedded cluster and other local state.
  std::string data_dir = ".data";
  /// Loopback port of the embedded cluster; 0 picks a free one on first start
  /// and remembers it in `data_dir`.
  uint16_t embedded_pg_port = 0;
  /// Where the PostgreSQL 15 server binaries live.
  std::string pg_bin_dir = "/usr/lib/postgresql/15/bin";
  /// Unprivileged system user that runs the embedded cluster when the
  /// process runs as root (PostgreSQL refuses to run as root).
  std::string pg_system_user = "fleetprompt";
  /// Storage actor pool: workers (one connection each) and queued requests.
  unsigned db_pool_size = 4;
  unsigned db_queue_limit = 4096;
  std::chrono::milliseconds db_connect_timeout{5000};
  std::chrono::milliseconds db_statement_timeout{30000};
  /// `serve` applies pending public migrations before it starts serving.
  /// Off: the node serves, but /readyz answers 503 until someone migrates.
  bool migrate_on_start = true;

  // -- HTTP -------------------------------------------------------------------

  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  /// Two io threads keep the HTTP event loop off the critical path of one
  /// busy core; measured faster than one on 2-core machines.
  unsigned io_threads = 2;
  std::size_t body_limit = 1024 * 1024;
  unsigned max_connections = 10000;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds shutdown_grace{10000};
  /// Bearer token for `/admin/*` until platform-admin sessions exist.
  std::string admin_token;

  /// The built operator console (`npm run build` in web/): its Vite
  /// manifest and hashed assets. Missing: console pages answer 503.
  std::string web_dir = "web/dist";

  // -- accounts ---------------------------------------------------------------

  /// Session cookies carry `Secure` (set behind TLS termination).
  bool secure_cookies = false;
  /// Lifetime of a login session.
  std::chrono::milliseconds session_ttl{12 * 60 * 60 * 1000};
  /// How long a rotated API key's previous secret stays valid.
  std::chrono::milliseconds api_key_rotation_grace{24 * 60 * 60 * 1000};
  /// How long a verified API key is remembered (api_key_cache); 0: never.
  std::chrono::milliseconds api_key_cache{10000};

  // -- actors -----------------------------------------------------------------

  /// CAF scheduler threads; 0 means one per core.
  unsigned scheduler_threads = 0;
  /// A supervised child may restart `restart_limit` times within
  /// `restart_window`; one more crash stops the process.
  unsigned restart_limit = 5;
  std::chrono::milliseconds restart_window{60000};
  std::chrono::milliseconds restart_backoff_min{50};
  std::chrono::milliseconds restart_backoff_max{5000};

  // -- tenancy ------------------------------------------------------------------

  /// Organizations per batch when tenant migrations are applied to all
  /// tenants, and how many tenants of a batch migrate at once (one
  /// connection each).
  unsigned tenant_migrate_batch = 50;
  unsigned tenant_migrate_concurrency = 4;
  /// A tenant actor unused for this long is stopped (passivated); the next
  /// request for the organization starts it again.
  std::chrono::milliseconds tenant_idle_timeout{10 * 60 * 1000};
  /// A deleted organization's schema is kept this long before the reaper
  /// drops it.
  std::chrono::milliseconds org_purge_grace{7 * 24 * 60 * 60 * 1000};

  // -- signals, SSE, jobs, directives ------------------------------------------

  /// Largest signal payload (bytes of JSON).
  unsigned signal_payload_limit = 64 * 1024;
  /// Most signals in one POST /api/v1/signals batch.
  unsigned signal_batch_limit = 1000;
  /// Group commit: how long the signal bus waits for more emits before it
  /// commits a group, and the most signals one group holds.
  std::chrono::milliseconds signal_linger{2};
  unsigned signal_group_max = 2000;
  /// Comment heartbeat interval of SSE streams.
  std::chrono::milliseconds sse_heartbeat{15000};
  /// Job worker threads (one database connection each).
  unsigned job_workers = 8;
  /// Most jobs claimed at once by a dispatcher.
  unsigned job_batch = 100;
  /// Polling fallback when no NOTIFY wakes the dispatcher.
  std::chrono::milliseconds job_poll_interval{1000};
  /// Lease of a claimed job; heartbeats extend it while the job runs.
  std::chrono::milliseconds job_lease{30000};
  /// Retry backoff bounds (exponential, full jitter).
  std::chrono::milliseconds job_backoff_min{1000};
  std::chrono::milliseconds job_backoff_max{60 * 60 * 1000};
  /// Finished jobs (completed, discarded, cancelled) are pruned after this.
  std::chrono::milliseconds job_retention{7 * 24 * 60 * 60 * 1000};
  /// Time an outbound webhook may take.
  std::chrono::milliseconds webhook_timeout{10000};
  /// Comma-separated CIDR blocks webhooks may reach although they are
  /// private, loopback or link-local (refused by default), e.g.
  /// "127.0.0.0/8,::1/128".
  std::string webhook_allow_networks;

  // -- agents and the LLM client ----------------------------------------------

  /// OpenAI-compatible chat completions server (OpenAI, Ollama, vLLM,
  /// llama.cpp's server): base URL (".../v1") and API key. The provider
  /// "openai" is configured when the key is set or the URL is not the
  /// default.
  std::string openai_base_url = "https://api.openai.com/v1";
  std::string openai_api_key;
  /// Anthropic Messages API: base URL (".../v1") and API key (configured
  /// when the key is set or the URL is not the default).
  std::string anthropic_base_url = "https://api.anthropic.com/v1";
  std::string anthropic_api_key;
  /// Price table: `provider/model=<in>:<out>` per million tokens, entries
  /// separated by ';' ("provider/*" is a provider's default).
  std::string llm_prices = "local/*=0:0";
  /// Connect (and first byte) timeout, longest silence while streaming, and
  /// the whole call including retries.
  std::chrono::milliseconds llm_connect_timeout{10000};
  std::chrono::milliseconds llm_read_timeout{60000};
  std::chrono::milliseconds llm_total_timeout{300000};
  /// HTTP attempts per model call (429, 5xx, timeouts, connection errors).
  unsigned llm_max_attempts = 3;
  /// Consecutive failed calls that open a provider's circuit breaker, and
  /// how long it stays open.
  unsigned llm_breaker_threshold = 5;
  std::chrono::milliseconds llm_breaker_cooldown{30000};
  /// Threads making blocking calls to network providers.
  unsigned llm_threads = 16;
  /// An execution still running after this is stopped as timed_out.
  std::chrono::milliseconds execution_timeout{300000};
  /// Streamed text is written to PostgreSQL and announced at most this often.
  std::chrono::milliseconds execution_stream_flush{50};
  /// Concurrent executions per node (the "agents" job queue's limit).
  unsigned execution_concurrency = 512;

  // -- master keys ----------------------------------------------------------

  /// Key file of the master keys sealing credentials and webhook secrets
  /// (runtime/secret_box.hpp: "<id> <base64 of 32 bytes> [active]" lines).
  /// Neither this nor `master_keys` set: `<data_dir>/master.keys`, created
  /// with one fresh key when missing.
  std::string key_file;
  /// Master keys from the environment: "<id>:<base64>[,<id>:<base64>...]".
  /// Secret: never printed.
  std::string master_keys;
  /// The key id that seals new values; empty: the key file's `active` mark,
  /// else the last key.
  std::string active_key_id;

  // -- logging ----------------------------------------------------------------

  /// trace, debug, info, warn, error.
  std::string log_level = "info";

  // -- where the values came from -----------------------------------------------

  /// Config file that was read, if any.
  std::string config_file;

  /// True when no database URL is configured (the embedded cluster is used).
  bool embedded_database() const noexcept {
    return database_url.empty();
  }
};

} // namespace fp::config
