// Credentials and webhook destination secrets sealed with the key ring, in
// a real PostgreSQL database: CRUD, what is at rest, deliveries still
// signed, and `fleetprompt keys list|rotate` re-sealing every value.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fp/runtime/crypto.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/log.hpp"
#include "fp/runtime/secret_box.hpp"
#include "fp/runtime/webhook_signature.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/credentials.hpp"
#include "fp/storage/directives.hpp"
#include "support/pg_cluster.hpp"
#include "support/hook_receiver.hpp"
#include "support/spine_fixture.hpp"

using namespace std::chrono_literals;
using namespace fp;

namespace {

// -- helpers ----------------------------------------------------------------------------

runtime::key_ring_ptr fresh_ring(const std::string& id = "k1") {
  std::string raw(32, '\0');
  runtime::random_bytes(raw.data(), raw.size());
  auto ring = runtime::key_ring::make({{id, raw}});
  REQUIRE(ring);
  return *ring;
}

/// "whsec_" + base64 of 24 fresh bytes: a value that must never leak.
std::string canary_secret() {
  std::string raw(24, '\0');
  runtime::random_bytes(raw.data(), raw.size());
  return "whsec_" + runtime::base64_encode(raw);
}

/// Inserts an installation row (credentials reference one); its id.
std::string insert_installation(storage::pg_session& db, const std::string& slug,
                                const std::string& package = "acme/demo") {
  auto id = runtime::new_uuid_v7();
  auto r = db.exec("INSERT INTO " + storage::quoted_tenant_schema(slug)
                     + ".installations (id, package, version, state) VALUES "
                       "($1, $2, '1.0.0', 'installed')",
                   {id, package});
  if (!r)
    FAIL("insert installation: " << caf::to_string(r.error()));
  return id;
}

std::string message_of(const caf::error& err) {
  return runtime::context_of(err) + " " + caf::to_string(err);
}

/// A scratch database with one user and the organizations `slugs`.
struct keys_db {
  std::string url;
  std::unique_ptr<storage::pg_session> db;
  std::string user_id;
  std::map<std::string, std::string> org_ids;

  keys_db(std::string_view prefix, std::vector<std::string> slugs) {
    url = test::migrated_database(prefix);
    db = test::open_session(url);
    user_id = test::create_test_user(*db, "keys@example.com");
    for (auto& slug : slugs)
      org_ids[slug] = test::create_test_org(*db, slug, slug, user_id).id;
  }

  std::string text(const std::string& sql, storage::sql_params params = {}) {
    return test::text(*db, sql, std::move(params));
  }

  int64_t count(const std::string& sql, storage::sql_params params = {}) {
    return test::scalar(*db, sql, std::move(params));
  }
};

/// Runs `fleetprompt <args>` with its output in a file; exit code and output.
struct cli_result {
  int code = -1;
  std::string out;
};

cli_result run_cli(const std::string& args) {
  auto out_file = (std::filesystem::temp_directory_path()
                   / ("fp-keys-cli-" + runtime::new_request_id()))
                    .string();
  auto cmd = std::string{FP_FLEETPROMPT_BIN} + " " + args
             + " --log-level warn > '" + out_file + "' 2>&1";
  int status = std::system(cmd.c_str());
  cli_result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in{out_file};
  r.out.assign(std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{});
  std::remove(out_file.c_str());
  return r;
}

/// A fresh directory removed at scope exit.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path()
           / ("fp-keys-" + runtime::new_request_id());
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

using test::hook_receiver;
using test::received_hook;

/// Collects the node's log lines.
struct log_capture {
  std::mutex mtx;
  std::string text;

  log_capture() {
    runtime::log::set_sink(&log_capture::sink, this);
  }
  ~log_capture() {
    runtime::log::set_sink(nullptr, nullptr);
    runtime::log::set_level(runtime::log::level::warn);
  }
  static void sink(std::string_view line, void* self) {
    auto* c = static_cast<log_capture*>(self);
    std::lock_guard<std::mutex> guard{c->mtx};
    c->text.append(line);
  }
  std::string lines() {
    std::lock_guard<std::mutex> guard{mtx};
    return text;
  }
};

} // namespace

// -- credentials ------------------------------------------------------------------------

TEST_CASE("keys: credentials round trip and are sealed at rest", "[keys][pg]") {
  keys_db t{"keyscred", {"kc", "kd"}};
  auto ring = fresh_ring();
  auto& db = *t.db;
  auto inst = insert_installation(db, "kc");
  auto secret = canary_secret();

  auto put = storage::put_credential(db, "kc", *ring, inst, "webhook_secret",
                                     secret);
  REQUIRE(put);
  CHECK(put->field == "webhook_secret");
  CHECK(put->key_id == "k1");
  CHECK(put->fingerprint == ring->fingerprint(secret));
  CHECK(put->updated_at.size() == 24);
  REQUIRE(storage::put_credential(db, "kc", *ring, inst, "api_token", "tok-1"));

  // At rest: only ciphertext under the key that sealed it.
  auto stored = t.text("SELECT ciphertext FROM \"org_kc\".credentials WHERE "
                       "field = 'webhook_secret'");
  CHECK(stored.rfind("fpenc1:k1:", 0) == 0);
  CHECK(stored.find(secret) == std::string::npos);
  CHECK(stored.find(secret.substr(6)) == std::string::npos);
  CHECK(t.count("SELECT count(*) FROM \"org_kc\".credentials WHERE key_id = "
                "'k1' AND ciphertext LIKE 'fpenc1:k1:%'")
        == 2);

  auto got = storage::get_credential(db, "kc", *ring, inst, "webhook_secret");
  REQUIRE(got);
  REQUIRE(*got);
  CHECK(**got == secret);
  auto none = storage::get_credential(db, "kc", *ring, inst, "absent");
  REQUIRE(none);
  CHECK_FALSE(*none);
  auto other_inst = storage::get_credential(db, "kc", *ring,
                                            runtime::new_uuid_v7(), "api_token");
  REQUIRE(other_inst);
  CHECK_FALSE(*other_inst);

  // Replacing a value re-seals it; the fingerprint follows the value.
  auto replaced = storage::put_credential(db, "kc", *ring, inst, "api_token",
                                          "tok-2");
  REQUIRE(replaced);
  CHECK(replaced->fingerprint == ring->fingerprint("tok-2"));
  CHECK(replaced->fingerprint != ring->fingerprint("tok-1"));
  auto tok = storage::get_credential(db, "kc", *ring, inst, "api_token");
  REQUIRE(tok);
  CHECK(**tok == "tok-2");

  auto listed = storage::list_credentials(db, "kc", inst);
  REQUIRE(listed);
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].field == "api_token");
  CHECK((*listed)[1].field == "webhook_secret");
  CHECK((*listed)[1].fingerprint == put->fingerprint);
  CHECK((*listed)[1].key_id == "k1");

  SECTION("a ciphertext moved to another field does not open") {
    REQUIRE(db.exec("UPDATE \"org_kc\".credentials SET ciphertext = $1 WHERE "
                    "field = 'api_token'",
                    {stored}));
    auto moved = storage::get_credential(db, "kc", *ring, inst, "api_token");
    REQUIRE_FALSE(moved);
    CHECK(message_of(moved.error()).find(secret) == std::string::npos);
  }
  SECTION("a ciphertext copied to another tenant does not open") {
    auto inst_d = insert_installation(db, "kd");
    REQUIRE(storage::put_credential(db, "kd", *ring, inst_d, "webhook_secret",
                                    "other"));
    REQUIRE(db.exec("UPDATE \"org_kd\".credentials SET ciphertext = $1",
                    {stored}));
    CHECK_FALSE(storage::get_credential(db, "kd", *ring, inst_d,
                                        "webhook_secret"));
  }
  SECTION("a tampered ciphertext is refused without the value") {
    auto tampered = stored;
    tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'A' ? 'B' : 'A';
    REQUIRE(db.exec("UPDATE \"org_kc\".credentials SET ciphertext = $1 WHERE "
                    "field = 'webhook_secret'",
                    {tampered}));
    auto bad = storage::get_credential(db, "kc", *ring, inst, "webhook_secret");
    REQUIRE_FALSE(bad);
    CHECK(message_of(bad.error()).find("webhook_secret") != std::string::npos);
    CHECK(message_of(bad.error()).find(secret) == std::string::npos);
  }
  SECTION("another ring does not open it") {
    auto foreign = fresh_ring("k9");
    auto bad = storage::get_credential(db, "kc", *foreign, inst, "webhook_secret");
    REQUIRE_FALSE(bad);
    CHECK(message_of(bad.error()).find("k1") != std::string::npos);
  }
  SECTION("delete removes every credential of the installation") {
    auto deleted = storage::delete_credentials(db, "kc", inst);
    REQUIRE(deleted);
    CHECK(*deleted == 2);
    auto empty = storage::list_credentials(db, "kc", inst);
    REQUIRE(empty);
    CHECK(empty->empty());
    CHECK(t.count("SELECT count(*) FROM \"org_kc\".credentials") == 0);
  }
  SECTION("counts by key") {
    auto counts = storage::count_sealed(db, "kc");
    REQUIRE(counts);
    REQUIRE(counts->size() == 1);
    CHECK((*counts)[0].key_id == "k1");
    CHECK((*counts)[0].credentials == 2);
    CHECK((*counts)[0].webhook_secrets == 0);
  }
}

// -- webhook destinations ---------------------------------------------------------------

TEST_CASE("keys: webhook destination secrets are sealed, old plaintext rows "
          "still open",
          "[keys][pg]") {
  keys_db t{"keyshook", {"kw"}};
  auto ring = fresh_ring();
  auto& db = *t.db;
  auto secret = canary_secret();
  auto inst = insert_installation(db, "kw");

  auto made = storage::create_webhook_destination(
    db, "kw", ring.get(), "https://hooks.example.com/a", "given", secret, inst);
  REQUIRE(made);
  CHECK(made->secret == secret);
  CHECK(made->installation_id == inst);
  auto at_rest = t.text("SELECT secret FROM \"org_kw\".webhook_destinations "
                        "WHERE id = $1",
                        {made->id});
  CHECK(at_rest.rfind("fpenc1:k1:", 0) == 0);
  CHECK(at_rest.find(secret.substr(6)) == std::string::npos);
  CHECK(t.text("SELECT installation_id::text FROM \"org_kw\".webhook_destinations "
               "WHERE id = $1",
               {made->id})
        == inst);

  auto found = storage::find_webhook_destination(db, "kw", ring.get(), made->id);
  REQUIRE(found);
  REQUIRE(*found);
  CHECK((*found)->secret == secret);
  CHECK((*found)->installation_id == inst);
  auto matched = storage::match_webhook_destination(
    db, "kw", ring.get(), "https://hooks.example.com/a/b?c=1");
  REQUIRE(matched);
  REQUIRE(*matched);
  CHECK((*matched)->id == made->id);
  CHECK((*matched)->secret == secret);
  auto listed = storage::list_webhook_destinations(db, "kw");
  REQUIRE(listed);
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().secret.empty());

  // A fresh secret when none is given; a malformed one is refused without
  // echoing it.
  auto fresh = storage::create_webhook_destination(
    db, "kw", ring.get(), "https://hooks.example.com/fresh", "");
  REQUIRE(fresh);
  CHECK(fresh->secret.rfind("whsec_", 0) == 0);
  CHECK(fresh->installation_id.empty());
  CHECK(runtime::webhook_secret_key(fresh->secret));
  auto bad = storage::create_webhook_destination(
    db, "kw", ring.get(), "https://hooks.example.com/bad", "", "plain-canary");
  REQUIRE_FALSE(bad);
  CHECK(runtime::code_of(bad.error()) == runtime::errc::invalid_argument);
  CHECK(message_of(bad.error()).find("plain-canary") == std::string::npos);

  // Without a ring a sealed secret is an error naming the destination.
  auto no_ring = storage::find_webhook_destination(db, "kw", nullptr, made->id);
  REQUIRE_FALSE(no_ring);
  CHECK(message_of(no_ring.error()).find(made->id) != std::string::npos);
  CHECK(message_of(no_ring.error()).find(secret) == std::string::npos);
  // A sealed secret moved to another row does not open.
  REQUIRE(db.exec("UPDATE \"org_kw\".webhook_destinations SET secret = $1 "
                  "WHERE id = $2",
                  {at_rest, fresh->id}));
  CHECK_FALSE(storage::find_webhook_destination(db, "kw", ring.get(), fresh->id));

  // A row from before sealing passes through as it is.
  auto legacy_id = runtime::new_uuid_v7();
  auto legacy_secret = canary_secret();
  REQUIRE(db.exec("INSERT INTO \"org_kw\".webhook_destinations (id, url, "
                  "secret) VALUES ($1, 'https://legacy.example.com/', $2)",
                  {legacy_id, legacy_secret}));
  auto legacy = storage::find_webhook_destination(db, "kw", ring.get(), legacy_id);
  REQUIRE(legacy);
  REQUIRE(*legacy);
  CHECK((*legacy)->secret == legacy_secret);
  auto legacy_null = storage::match_webhook_destination(
    db, "kw", nullptr, "https://legacy.example.com/x");
  REQUIRE(legacy_null);
  REQUIRE(*legacy_null);
  CHECK((*legacy_null)->secret == legacy_secret);

  auto counts = storage::count_sealed(db, "kw");
  REQUIRE(counts);
  REQUIRE(counts->size() == 2);
  CHECK((*counts)[0].key_id.empty());
  CHECK((*counts)[0].webhook_secrets == 1);
  CHECK((*counts)[1].key_id == "k1");
  CHECK((*counts)[1].webhook_secrets == 2);
}

TEST_CASE("keys: a node seals webhook secrets and still signs deliveries",
          "[keys][pg]") {
  hook_receiver receiver;
  keys_db t{"keysnode", {"kn"}};
  auto admin_key
    = test::create_test_key(*t.db, t.org_ids["kn"], t.user_id, "k", {"admin"}).key;
  auto key_text = test::test_master_keys();
  std::unique_ptr<net::node> node;
  log_capture logs;
  {
    auto cfg = test::node_settings(t.url, "info");
    cfg.job_poll_interval = 200ms;
    cfg.job_backoff_min = 50ms;
    cfg.job_backoff_max = 200ms;
    cfg.webhook_allow_networks = "127.0.0.0/8";
    node = test::start_node(cfg);
  }
  runtime::log::set_level(runtime::log::level::warn);
  auto port = node->port();
  auto call = [&](const std::string& method, const std::string& target,
                  const std::string& body = {}) {
    return test::call_with_key(port, admin_key, method, target, body);
  };
  auto base = "http://127.0.0.1:" + std::to_string(receiver.port());
  auto dest = call("POST", "/api/v1/webhook-destinations",
                   R"({"url":")" + base + R"(/hooks"})");
  REQUIRE(dest.status == 201);
  auto secret = test::json_string(dest.body, "secret");
  auto dest_id = test::json_string(dest.body, "id");
  REQUIRE(secret.rfind("whsec_", 0) == 0);
  CHECK(dest.body.find(R"("installation_id":null)") != std::string::npos);
  auto at_rest = t.text("SELECT secret FROM \"org_kn\".webhook_destinations "
                        "WHERE id = $1",
                        {dest_id});
  // The fixture's per-run key "t1" sealed it.
  CHECK(at_rest.rfind("fpenc1:t1:", 0) == 0);
  CHECK(at_rest.find(secret.substr(6)) == std::string::npos);
  auto listing = call("GET", "/api/v1/webhook-destinations");
  REQUIRE(listing.status == 200);
  CHECK(listing.body.find("secret") == std::string::npos);
  CHECK(listing.body.find(at_rest) == std::string::npos);

  REQUIRE(call("PUT", "/api/v1/directive-policies/webhook.post",
               R"({"mode":"auto","approver_role":"admin"})")
            .status
          == 200);
  auto proposed = call("POST", "/api/v1/directives",
                       R"({"type":"webhook.post","params":{"url":")" + base
                         + R"(/hooks/x","payload":{"n":1}}})");
  REQUIRE(proposed.status == 201);
  auto id = test::json_string(proposed.body, "id");
  REQUIRE(test::eventually([&] {
    return t.text("SELECT state FROM \"org_kn\".directives WHERE id = $1", {id})
           == "succeeded";
  }));
  auto hooks = receiver.hooks();
  REQUIRE(hooks.size() == 1);
  auto& h = hooks.front();
  auto key = runtime::webhook_secret_key(secret);
  REQUIRE(key);
  CHECK(h.headers.at("webhook-signature")
        == runtime::webhook_signature(
          *key, id, std::stoll(h.headers.at("webhook-timestamp")), h.body));

  // A destination written before sealing (plaintext) still signs.
  auto legacy_secret = canary_secret();
  REQUIRE(t.db->exec("INSERT INTO \"org_kn\".webhook_destinations (id, url, "
                     "secret) VALUES ($1, $2, $3)",
                     {runtime::new_uuid_v7(), base + "/legacy", legacy_secret}));
  auto old = call("POST", "/api/v1/directives",
                  R"({"type":"webhook.post","params":{"url":")" + base
                    + R"(/legacy"}})");
  REQUIRE(old.status == 201);
  auto old_id = test::json_string(old.body, "id");
  REQUIRE(test::eventually([&] {
    return t.text("SELECT state FROM \"org_kn\".directives WHERE id = $1",
                  {old_id})
           == "succeeded";
  }));
  hooks = receiver.hooks();
  REQUIRE(hooks.size() == 2);
  auto legacy_key = runtime::webhook_secret_key(legacy_secret);
  REQUIRE(legacy_key);
  CHECK(hooks[1].headers.at("webhook-signature")
        == runtime::webhook_signature(
          *legacy_key, old_id, std::stoll(hooks[1].headers.at("webhook-timestamp")),
          hooks[1].body));

  // A secret that no longer opens fails the directive without leaking.
  REQUIRE(t.db->exec("UPDATE \"org_kn\".webhook_destinations SET secret = $1 "
                     "WHERE id = $2",
                     {"fpenc1:gone:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                      dest_id}));
  auto broken = call("POST", "/api/v1/directives",
                     R"({"type":"webhook.post","params":{"url":")" + base
                       + R"(/hooks/y"}})");
  REQUIRE(broken.status == 201);
  auto broken_id = test::json_string(broken.body, "id");
  REQUIRE(test::eventually(
    [&] {
      return t.count("SELECT count(*) FROM \"org_kn\".directives WHERE id = "
                     "$1 AND error <> ''",
                     {broken_id})
             > 0;
    },
    10s));
  CHECK(receiver.hooks().size() == 2);
  node->stop();
  node.reset();

  // The start-up line names the key ids, never their material.
  auto lines = logs.lines();
  CHECK(lines.find("master keys loaded") != std::string::npos);
  CHECK(lines.find(R"("active_key_id":"t1")") != std::string::npos);
  CHECK(lines.find(key_text.substr(3)) == std::string::npos);
  CHECK(lines.find(secret.substr(6)) == std::string::npos);
  CHECK(lines.find(legacy_secret.substr(6)) == std::string::npos);
}

// -- fleetprompt keys ---------------------------------------------------------------------

#ifdef FP_FLEETPROMPT_BIN
TEST_CASE("keys: fleetprompt keys rotate re-seals every value under the new key",
          "[keys][pg][cli]") {
  keys_db t{"keysrot", {"ka", "kb"}};
  auto& db = *t.db;
  temp_dir dir;
  auto file = (dir.path / "master.keys").string();
  auto created = runtime::key_ring::ensure_file(file);
  REQUIRE(created);
  REQUIRE(*created);
  auto ring1 = runtime::key_ring::load_file(file);
  REQUIRE(ring1);
  auto& r1 = **ring1;

  // Tenant ka: two credentials and a sealed webhook secret; tenant kb: one
  // credential, a sealed and a plaintext (older) webhook secret.
  std::map<std::string, std::string> values; // "<slug>/<inst>/<field>" -> value
  std::map<std::string, std::string> fingerprints;
  auto put = [&](const std::string& slug, const std::string& inst,
                 const std::string& field) {
    auto v = canary_secret();
    auto info = storage::put_credential(db, slug, r1, inst, field, v);
    REQUIRE(info);
    values[slug + "/" + inst + "/" + field] = v;
    fingerprints[slug + "/" + inst + "/" + field] = info->fingerprint;
  };
  auto inst_a = insert_installation(db, "ka");
  auto inst_b = insert_installation(db, "kb");
  put("ka", inst_a, "webhook_secret");
  put("ka", inst_a, "api_token");
  put("kb", inst_b, "webhook_secret");
  std::map<std::string, std::pair<std::string, std::string>> hooks; // id -> (slug, secret)
  for (auto slug : {"ka", "kb"}) {
    auto d = storage::create_webhook_destination(
      db, slug, &r1, std::string{"https://"} + slug + ".example.com/", "");
    REQUIRE(d);
    hooks[d->id] = {slug, d->secret};
  }
  auto legacy_id = runtime::new_uuid_v7();
  auto legacy_secret = canary_secret();
  REQUIRE(db.exec("INSERT INTO \"org_kb\".webhook_destinations (id, url, "
                  "secret) VALUES ($1, 'https://legacy.example.com/', $2)",
                  {legacy_id, legacy_secret}));
  hooks[legacy_id] = {"kb", legacy_secret};
  auto common = " --key-file '" + file + "' --database-url '" + t.url + "'";

  auto listed = run_cli("keys list" + common);
  INFO(listed.out);
  CHECK(listed.code == 0);
  CHECK(listed.out.find("k1 ") != std::string::npos);
  CHECK(listed.out.find("(plaintext)") != std::string::npos);
  CHECK(listed.out.find("1 key(s), active k1, 2 tenant(s)") != std::string::npos);

  auto rotated = run_cli("keys rotate" + common);
  INFO(rotated.out);
  REQUIRE(rotated.code == 0);
  CHECK(rotated.out.find("added key k2") != std::string::npos);
  CHECK(rotated.out.find("re-sealed 3 credential(s) and 3 webhook secret(s) "
                         "under key k2 in 2 tenant(s)")
        != std::string::npos);
  for (auto& [k, v] : values)
    CHECK(rotated.out.find(v) == std::string::npos);

  auto ring2 = runtime::key_ring::load_file(file);
  REQUIRE(ring2);
  auto& r2 = **ring2;
  CHECK(r2.ids() == std::vector<std::string>{"k1", "k2"});
  CHECK(r2.active_id() == "k2");
  // Every value now sealed by k2, and still the same value and fingerprint.
  for (auto slug : {"ka", "kb"}) {
    auto schema = storage::quoted_tenant_schema(slug);
    CHECK(t.count("SELECT count(*) FROM " + schema
                  + ".credentials WHERE key_id <> 'k2' OR ciphertext NOT LIKE "
                    "'fpenc1:k2:%'")
          == 0);
    CHECK(t.count("SELECT count(*) FROM " + schema
                  + ".webhook_destinations WHERE secret NOT LIKE 'fpenc1:k2:%'")
          == 0);
  }
  for (auto& [path, v] : values) {
    auto slash1 = path.find('/');
    auto slash2 = path.rfind('/');
    auto slug = path.substr(0, slash1);
    auto inst = path.substr(slash1 + 1, slash2 - slash1 - 1);
    auto field = path.substr(slash2 + 1);
    auto got = storage::get_credential(db, slug, r2, inst, field);
    REQUIRE(got);
    REQUIRE(*got);
    CHECK(**got == v);
    // The old ring lacks k2: the value really was re-sealed.
    CHECK_FALSE(storage::get_credential(db, slug, r1, inst, field));
    auto infos = storage::list_credentials(db, slug, inst);
    REQUIRE(infos);
    for (auto& i : *infos)
      if (i.field == field) {
        CHECK(i.fingerprint == fingerprints[path]);
        CHECK(i.key_id == "k2");
      }
  }
  for (auto& [id, h] : hooks) {
    auto found = storage::find_webhook_destination(db, h.first, &r2, id);
    REQUIRE(found);
    REQUIRE(*found);
    CHECK((*found)->secret == h.second);
  }

  auto again = run_cli("keys rotate --no-new-key" + common);
  INFO(again.out);
  CHECK(again.code == 0);
  CHECK(again.out.find("added key") == std::string::npos);
  CHECK(again.out.find("re-sealed 0 credential(s) and 0 webhook secret(s) under "
                       "key k2")
        != std::string::npos);
  auto after = runtime::key_ring::load_file(file);
  REQUIRE(after);
  CHECK((*after)->ids().size() == 2);

  // Keys from the environment alone: no key is added, values move to the
  // configured active key (k3, the last).
  std::string k3(32, '\0');
  runtime::random_bytes(k3.data(), k3.size());
  std::ifstream key_file{file};
  std::string line, env_keys;
  while (std::getline(key_file, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    std::istringstream words{line};
    std::string id, material;
    words >> id >> material;
    env_keys += id + ":" + material + ",";
  }
  env_keys += "k3:" + runtime::base64_encode(k3);
  auto env_run = run_cli("keys rotate --master-keys '" + env_keys
                         + "' --database-url '" + t.url + "'");
  INFO(env_run.out);
  CHECK(env_run.code == 0);
  CHECK(env_run.out.find("under key k3 in 2 tenant(s)") != std::string::npos);
  CHECK(env_run.out.find(runtime::base64_encode(k3)) == std::string::npos);
  CHECK(t.count("SELECT count(*) FROM \"org_ka\".credentials WHERE key_id = 'k3'")
        == 2);

  // Bad input: one line, a failing exit code.
  auto missing = run_cli("keys rotate --key-file '" + file
                         + ".absent' --no-new-key --database-url '" + t.url + "'");
  CHECK(missing.code != 0);
  CHECK(missing.out.find(".absent") != std::string::npos);
  CHECK(std::count(missing.out.begin(), missing.out.end(), '\n') == 1);
  auto usage = run_cli("keys frobnicate");
  CHECK(usage.code == 2);
  CHECK(std::count(usage.out.begin(), usage.out.end(), '\n') == 1);
  auto bad_env = run_cli("keys list --master-keys 'k1:short' --database-url '"
                         + t.url + "'");
  CHECK(bad_env.code != 0);
  CHECK(std::count(bad_env.out.begin(), bad_env.out.end(), '\n') == 1);

  // A value that does not open is listed, left alone, and fails the run.
  REQUIRE(db.exec("UPDATE \"org_ka\".credentials SET ciphertext = "
                  "'fpenc1:k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' WHERE "
                  "field = 'api_token'"));
  auto unreadable = run_cli("keys rotate --master-keys '" + env_keys
                            + "' --database-url '" + t.url + "'");
  INFO(unreadable.out);
  CHECK(unreadable.code == 1);
  CHECK(unreadable.out.find("credentials/" + inst_a + "/api_token")
        != std::string::npos);
}
#endif
