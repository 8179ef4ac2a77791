// A canary secret through the support-triage example: given inline in the
// install request's config, then replaced through PATCH credentials, it
// signs real webhook deliveries, yet after install, runs, approvals and a
// reconfiguration it appears in no API answer, no signal, execution,
// directive, job or installation, no table of the database, not /metrics
// and no log line (captured at debug level). The credentials row holds only
// fpenc1: ciphertext, and a tampered tag is refused without the value.

#include "packages/examples_support.hpp"

#include "fp/runtime/secret_box.hpp"
#include "fp/storage/credentials.hpp"

using namespace fp;
using namespace fp::pkg_test;

namespace {

const std::string triage_permissions
  = R"(["directive:webhook.post","signals:read:support.*"])";

/// Every table of `schema`, as "schema"."table".
std::vector<std::string> tables_of(storage::pg_session& db, const std::string& schema) {
  auto r = db.exec("SELECT table_name FROM information_schema.tables WHERE "
                   "table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1",
                   {schema});
  REQUIRE(r);
  std::vector<std::string> out;
  for (int i = 0; i < r->rows(); ++i)
    out.push_back("\"" + schema + "\".\"" + std::string{r->text(i, 0)} + "\"");
  return out;
}

/// The text of every row of `table`.
std::string table_text(storage::pg_session& db, const std::string& table) {
  auto r = db.exec("SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM " + table + " t");
  if (!r)
    FAIL("reading " << table << ": " << caf::to_string(r.error()));
  return std::string{r->text(0, 0)};
}

/// Runs one outage ticket through the agent, approves its directive and
/// returns the delivery the receiver got for it.
received_hook escalate(fixture& f, const tenant& t, hook_receiver& receiver,
                       const std::string& ticket_id) {
  auto before = receiver.hooks().size();
  auto signal = f.emit(t, R"({"type":"support.ticket.created","payload":{"ticket_id":)"
                            + json_quoted(ticket_id)
                            + R"(,"text":"Checkout is down for everyone: an outage."}})");
  auto exec = f.await_triggered_execution(t, signal, "support-triage");
  INFO(exec);
  json_doc d{exec};
  REQUIRE(str(d.root, "status") == "succeeded");
  simdjson::dom::array calls;
  REQUIRE(!d.root["tool_calls"].get_array().get(calls));
  REQUIRE(calls.size() == 1);
  auto directive_id = str(*calls.begin(), "directive_id");
  REQUIRE(!directive_id.empty());
  REQUIRE(f.req(t.admin, "POST", "/api/v1/directives/" + directive_id + "/approve")
            .status
          == 200);
  REQUIRE(test::eventually([&] { return receiver.hooks().size() > before; }));
  REQUIRE(test::eventually([&] {
    auto res = f.req(t.admin, "GET", "/api/v1/directives/" + directive_id);
    return test::json_string(res.body, "state") == "succeeded";
  }));
  auto hook = receiver.hooks().back();
  CHECK(hook.headers.at("webhook-id") == directive_id);
  return hook;
}

} // namespace

TEST_CASE("examples: a webhook secret reaches only its ciphertext and the "
          "signatures it makes",
          "[packages][examples][canary]") {
  log_capture logs;
  hook_receiver receiver;
  fixture f{"pkg_canary", "debug"};
  auto acme = f.make_tenant("acme");
  f.publish_examples();

  auto canary = fresh_webhook_secret();
  auto replacement = fresh_webhook_secret();
  // A value the schema refuses (pattern ^whsec_) is not echoed either.
  auto refused = "nope_" + fresh_webhook_secret().substr(6);
  std::vector<std::string> needles{canary,      canary.substr(6), replacement,
                                   replacement.substr(6), refused, refused.substr(5)};
  auto hook_url = receiver.url("/escalations");
  auto body_with = [&](const std::string& secret) {
    // The secret inline in `config`: the request splits it out.
    return R"({"package":"fleetprompt/support-triage","version":"1.0.0",)"
           R"("config":{"webhook_url":)"
           + json_quoted(hook_url) + R"(,"webhook_secret":)" + json_quoted(secret)
           + R"(},"permissions":)" + triage_permissions + "}";
  };

  auto bad = f.install(acme, body_with(refused));
  INFO(bad.body);
  CHECK(bad.status == 422);
  CHECK(bad.body.find("webhook_secret") != std::string::npos);
  CHECK(bad.body.find(refused.substr(5)) == std::string::npos);

  auto requested = f.install(acme, body_with(canary));
  INFO(requested.body);
  REQUIRE(requested.status == 202);
  auto id = test::json_string(requested.body, "id");
  auto installed = f.await_state(acme, id, {"installed", "failed"});
  INFO(installed);
  REQUIRE(test::json_string(installed, "state") == "installed");
  std::string first_fingerprint;
  {
    json_doc d{installed};
    first_fingerprint = str(at(at(d.root, "credentials"), "webhook_secret"), "fingerprint");
    simdjson::dom::element inline_secret;
    CHECK(at(d.root, "config")["webhook_secret"].get(inline_secret) != simdjson::SUCCESS);
  }

  auto first = escalate(f, acme, receiver, "T-1");
  CHECK(signed_with(first, canary));

  // Reconfigure: a new secret through PATCH credentials (an upgrade to the
  // same version), and the next delivery is signed with it.
  auto patched = f.req(acme.admin, "PATCH", "/api/v1/installations/" + id,
                       R"({"credentials":{"webhook_secret":)" + json_quoted(replacement) + "}}");
  INFO(patched.body);
  REQUIRE(patched.status == 202);
  REQUIRE(test::eventually(
    [&] {
      return f.scalar("SELECT count(*) FROM \"org_acme\".signals WHERE type IN "
                      "('package.upgrade.completed', 'package.upgrade.failed') AND "
                      "payload->>'installation_id' = $1",
                      {id})
             >= 1;
    },
    30000ms, 100ms));
  auto reconfigured = f.await_state(acme, id, {"installed"});
  INFO(reconfigured);
  {
    json_doc d{reconfigured};
    CHECK(http_test::is_null(d.root, "error"));
    auto fp2 = str(at(at(d.root, "credentials"), "webhook_secret"), "fingerprint");
    CHECK(fp2.rfind("hmac-sha256:", 0) == 0);
    CHECK(fp2 != first_fingerprint);
  }
  auto second = escalate(f, acme, receiver, "T-2");
  CHECK(signed_with(second, replacement));
  CHECK(!signed_with(second, canary));

  // -- everything a user or operator can read -----------------------------------------
  std::vector<std::pair<std::string, std::string>> seen; // (where, text)
  auto get = [&](const std::string& target, const std::vector<std::string>& auth) {
    auto res = f.as(auth, "GET", target);
    INFO(target << " -> " << res.status << " " << res.body);
    CHECK(res.status == 200);
    seen.emplace_back(target, res.body);
  };
  std::vector<std::string> admin{acme.admin};
  for (auto target :
       {"/api/v1/installations", "/api/v1/installations?package=fleetprompt/support-triage",
        "/api/v1/signals?limit=500", "/api/v1/executions?limit=200",
        "/api/v1/directives?limit=200", "/api/v1/jobs?limit=500",
        "/api/v1/webhook-destinations", "/api/v1/agents", "/api/v1/skills",
        "/api/v1/subscriptions"})
    get(target, admin);
  get("/api/v1/installations/" + id, admin);
  get("/api/v1/installations/" + id + "/history", admin);
  for (const auto& table : {"executions", "directives"}) {
    auto r = f.db->exec(std::string{"SELECT id::text FROM \"org_acme\"."} + table);
    REQUIRE(r);
    for (int i = 0; i < r->rows(); ++i) {
      auto item = std::string{"/api/v1/"} + table + "/" + std::string{r->text(i, 0)};
      get(item, admin);
      if (std::string{table} == "executions")
        get(item + "/events", admin);
    }
  }
  get("/metrics", {});
  get("/admin/actors", f.admin_session);
  for (const auto& schema : {"public", "org_acme"})
    for (const auto& table : tables_of(*f.db, schema))
      seen.emplace_back(table, table_text(*f.db, table));
  seen.emplace_back("the log", logs.text());
  for (const auto& h : receiver.hooks())
    seen.emplace_back("a webhook delivery", h.body);
  CHECK(logs.lines() > 0);

  // The scan is not vacuous: the non-secret config is found where it lives.
  auto where_found = [&](const std::string& value) {
    std::set<std::string> out;
    for (const auto& [where, text] : seen)
      if (text.find(value) != std::string::npos)
        out.insert(where);
    return out;
  };
  auto url_seen = where_found(hook_url);
  CHECK(url_seen.count("\"org_acme\".\"installations\"") == 1);
  CHECK(url_seen.count("\"org_acme\".\"webhook_destinations\"") == 1);
  CHECK(url_seen.count("/api/v1/installations/" + id) == 1);
  CHECK(!where_found(id).empty());

  for (const auto& [where, text] : seen)
    for (const auto& needle : needles) {
      INFO(where);
      CHECK(text.find(needle) == std::string::npos);
    }

  // -- at rest: fpenc1 ciphertext under the active key ----------------------------------
  auto ring = runtime::key_ring::from_settings(
    f.cfg.key_file.empty() && f.cfg.master_keys.empty() ? f.cfg.data_dir + "/master.keys"
                                                        : f.cfg.key_file,
    f.cfg.master_keys, f.cfg.active_key_id);
  REQUIRE(ring);
  auto row = f.db->exec("SELECT ciphertext, key_id, fingerprint FROM \"org_acme\".credentials "
                        "WHERE installation_id = $1 AND field = 'webhook_secret'",
                        {id});
  REQUIRE(row);
  REQUIRE(row->rows() == 1);
  std::string sealed{row->text(0, 0)};
  CHECK(sealed.rfind("fpenc1:", 0) == 0);
  CHECK(std::string{row->text(0, 1)} == (*ring)->active_id());
  CHECK(f.scalar("SELECT count(*) FROM \"org_acme\".webhook_destinations WHERE "
                 "installation_id = $1 AND secret NOT LIKE 'fpenc1:%'",
                 {id})
        == 0);
  auto opened = storage::get_credential(*f.db, "acme", **ring, id, "webhook_secret");
  REQUIRE(opened);
  REQUIRE(*opened);
  // The sealed plaintext is the value (or its JSON text, which keeps a
  // non-string secret's type); the fingerprint is of what was sealed.
  auto plain = **opened;
  CHECK((plain == replacement || plain == json_quoted(replacement)));
  CHECK(std::string{row->text(0, 2)} == (*ring)->fingerprint(plain));

  // A flipped bit in the tag does not open, and the refusal names no value.
  auto last_colon = sealed.rfind(':');
  auto raw = runtime::base64url_decode(sealed.substr(last_colon + 1));
  REQUIRE(raw);
  REQUIRE(raw->size() > 28);
  raw->back() = static_cast<char>(raw->back() ^ 0x01);
  auto tampered = sealed.substr(0, last_colon + 1) + runtime::base64url_encode(*raw);
  REQUIRE(f.db->exec("UPDATE \"org_acme\".credentials SET ciphertext = $1 WHERE "
                     "installation_id = $2 AND field = 'webhook_secret'",
                     {tampered, id}));
  auto refused_open = storage::get_credential(*f.db, "acme", **ring, id, "webhook_secret");
  REQUIRE(!refused_open);
  auto why = caf::to_string(refused_open.error());
  for (const auto& needle : needles)
    CHECK(why.find(needle) == std::string::npos);
  CHECK(!(*ring)->open(tampered, storage::credential_aad("acme", id, "webhook_secret")));
  CHECK((*ring)->open(sealed, storage::credential_aad("acme", id, "webhook_secret")));
  // Moved to another field, the intact value does not open either.
  CHECK(!(*ring)->open(sealed, storage::credential_aad("acme", id, "other")));
}
