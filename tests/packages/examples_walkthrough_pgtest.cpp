// The README's package walkthrough against a real node with the local
// provider: every example is published over HTTP; support-triage is
// installed with a webhook secret, an outage ticket runs its agent, whose
// webhook.post directive (approved by an admin) reaches a loopback receiver
// signed with that secret; a billing ticket is labelled without escalation;
// the 1.1.0 upgrade renames a config field and keeps the agent; support-suite
// pulls in daily-digest and is refused removal of what it needs;
// uninstalling removes exactly what was installed. daily-digest's schedule,
// forced due, summarises the day into a digest.daily.created signal.

#include "packages/examples_support.hpp"

using namespace fp;
using namespace fp::pkg_test;

namespace {

const std::string triage_permissions
  = R"(["directive:webhook.post","signals:read:support.*"])";

/// Everything the examples ask for, for installs that pull in dependencies.
const std::string suite_permissions
  = R"(["signals:read:support.*","signals:read:*","signals:emit:digest.*",)"
    R"("directive:signal.emit","directive:webhook.post"])";

std::string triage_install_body(const std::string& hook_url, const std::string& secret) {
  return R"({"package":"fleetprompt/support-triage","version":"1.0.0",)"
         R"("config":{"webhook_url":)"
         + json_quoted(hook_url)
         + R"(,"urgent_keywords":"urgent|outage|down"},)"
           R"("credentials":{"webhook_secret":)"
         + json_quoted(secret) + R"(},"permissions":)" + triage_permissions + "}";
}

/// The resources of an installation JSON as "kind:name".
std::set<std::string> resources_of(const std::string& installation_json) {
  json_doc d{installation_json};
  std::set<std::string> out;
  simdjson::dom::array arr;
  if (d.root["resources"].get_array().get(arr))
    return out;
  for (auto r : arr)
    out.insert(str(r, "kind") + ":" + str(r, "name"));
  return out;
}

/// The id of resource `kind`/`name` in an installation JSON.
std::string resource_id(const std::string& installation_json, const std::string& kind,
                        const std::string& name) {
  json_doc d{installation_json};
  simdjson::dom::array arr;
  if (d.root["resources"].get_array().get(arr))
    return {};
  for (auto r : arr)
    if (str(r, "kind") == kind && str(r, "name") == name)
      return str(r, "id");
  return {};
}

} // namespace

TEST_CASE("examples: support-triage escalates an outage ticket over a signed "
          "webhook, upgrades, and support-suite brings daily-digest",
          "[packages][examples]") {
  hook_receiver receiver;
  fixture f{"pkg_examples"};
  auto acme = f.make_tenant("acme");

  // -- publish ------------------------------------------------------------------------
  f.publish_examples();
  auto again = f.as(f.admin_session, "POST", "/api/v1/packages",
                    example_manifest("support-triage"));
  CHECK(again.status == 200);
  auto listed = f.req(acme.member, "GET", "/api/v1/packages?q=support");
  REQUIRE(listed.status == 200);
  CHECK(listed.body.find("fleetprompt/support-triage") != std::string::npos);
  CHECK(listed.body.find("fleetprompt/support-suite") != std::string::npos);
  CHECK(listed.body.find("fleetprompt/text-kit") == std::string::npos);
  auto pkg = f.req(acme.member, "GET", "/api/v1/packages/fleetprompt/support-triage");
  REQUIRE(pkg.status == 200);
  {
    json_doc d{pkg.body};
    simdjson::dom::array versions;
    REQUIRE(!d.root["versions"].get_array().get(versions));
    REQUIRE(versions.size() == 2);
    CHECK(str(*versions.begin(), "version") == "1.1.0");
  }

  // -- install support-triage 1.0.0 ------------------------------------------------
  auto secret = fresh_webhook_secret();
  auto hook_url = receiver.url("/escalations");
  auto body = triage_install_body(hook_url, secret);
  CHECK(f.req(acme.member, "POST", "/api/v1/installations", body).status == 403);
  auto requested = f.install(acme, body);
  INFO(requested.body);
  REQUIRE(requested.status == 202);
  json_doc rd{requested.body};
  auto triage_id = str(rd.root, "id");
  CHECK(str(rd.root, "state") == "requested");
  CHECK(requested.body.find(secret) == std::string::npos);
  // The same request again is the same installation.
  auto twice = f.install(acme, body);
  CHECK(twice.status == 200);
  CHECK(test::json_string(twice.body, "id") == triage_id);

  auto installed = f.await_state(acme, triage_id, {"installed", "failed"});
  INFO(installed);
  {
    json_doc d{installed};
    REQUIRE(str(d.root, "state") == "installed");
    CHECK(str(d.root, "version") == "1.0.0");
    auto cred = at(at(d.root, "credentials"), "webhook_secret");
    bool set = false;
    CHECK(!cred["set"].get(set));
    CHECK(set);
    CHECK(str(cred, "fingerprint").rfind("hmac-sha256:", 0) == 0);
    CHECK(str(at(d.root, "config"), "webhook_url") == hook_url);
  }
  CHECK(installed.find(secret) == std::string::npos);
  auto resources = resources_of(installed);
  CHECK(resources.count("agent:support-triage") == 1);
  CHECK(resources.count("skill:triage.escalate") == 1);
  CHECK(resources.count("webhook_destination:escalations") == 1);
  auto agent_id = resource_id(installed, "agent", "support-triage");
  REQUIRE(!agent_id.empty());
  // The agent came out of the manifest with its prompt filled from the config.
  auto agent = f.req(acme.admin, "GET", "/api/v1/agents/" + agent_id);
  REQUIRE(agent.status == 200);
  {
    json_doc d{agent.body};
    CHECK(str(d.root, "state") == "active");
    auto prompt = str(d.root, "system_prompt");
    CHECK(prompt.find("when urgent|outage|down call triage.escalate") != std::string::npos);
    CHECK(prompt.find(R"(Labels: ["billing","outage","account","other"])")
          != std::string::npos);
  }
  auto dests = f.req(acme.admin, "GET", "/api/v1/webhook-destinations");
  REQUIRE(dests.status == 200);
  CHECK(dests.body.find(hook_url) != std::string::npos);
  CHECK(dests.body.find(secret) == std::string::npos);
  CHECK(f.scalar("SELECT count(*) FROM \"org_acme\".signals WHERE type = "
                 "'package.install.completed' AND payload->>'installation_id' = $1",
                 {triage_id})
        == 1);

  // -- an outage ticket: execution, proposed webhook.post, approval, delivery ---------
  auto ticket = f.emit(acme, R"({"type":"support.ticket.created","payload":{)"
                             R"("ticket_id":"T-1001","subject":"Dashboard unavailable",)"
                             R"("text":"Our dashboard has been down since 9:00. This is )"
                             R"(an outage for the whole team."}})");
  auto exec = f.await_triggered_execution(acme, ticket, "support-triage");
  INFO(exec);
  std::string directive_id;
  {
    json_doc d{exec};
    CHECK(str(d.root, "status") == "succeeded");
    simdjson::dom::array calls;
    REQUIRE(!d.root["tool_calls"].get_array().get(calls));
    REQUIRE(calls.size() == 1);
    auto call = *calls.begin();
    CHECK(str(call, "name") == "triage.escalate");
    CHECK(str(call, "decision") == "allowed");
    directive_id = str(call, "directive_id");
    auto args = at(at(call, "arguments"), "payload");
    CHECK(str(args, "label") == "outage");
  }
  REQUIRE(!directive_id.empty());
  auto directive = f.req(acme.admin, "GET", "/api/v1/directives/" + directive_id);
  REQUIRE(directive.status == 200);
  CHECK(test::json_string(directive.body, "type") == "webhook.post");
  CHECK(test::json_string(directive.body, "state") == "awaiting_approval");
  CHECK(receiver.hooks().empty());
  REQUIRE(f.req(acme.admin, "POST", "/api/v1/directives/" + directive_id + "/approve",
                R"({"reason":"escalate"})")
            .status
          == 200);
  REQUIRE(test::eventually([&] {
    auto d = f.req(acme.admin, "GET", "/api/v1/directives/" + directive_id);
    return test::json_string(d.body, "state") == "succeeded";
  }));
  auto hooks = receiver.hooks();
  REQUIRE(hooks.size() == 1);
  const auto& hook = hooks.front();
  CHECK(hook.target == "/escalations");
  CHECK(hook.headers.at("webhook-id") == directive_id);
  CHECK(signed_with(hook, secret));
  CHECK(!signed_with(hook, fresh_webhook_secret()));
  if (verify_with_npm(secret, hook) >= 0) {
    received_hook tampered = hook;
    tampered.body += " ";
    CHECK(verify_with_npm(secret, hook) == 0);
    CHECK(verify_with_npm(secret, tampered) != 0);
  }
  {
    json_doc d{hook.body};
    CHECK(str(d.root, "type") == "support.ticket.escalated");
    auto data = at(d.root, "data");
    CHECK(str(data, "label") == "outage");
    CHECK(!str(data, "summary").empty());
  }
  CHECK(hook.body.find(secret) == std::string::npos);

  // -- a billing ticket is not escalated -----------------------------------------------
  auto billing = f.emit(acme, R"({"type":"support.ticket.created","payload":{)"
                              R"("ticket_id":"T-1002","text":"I was charged twice on )"
                              R"(my last invoice and would like a refund."}})");
  auto quiet = f.await_triggered_execution(acme, billing, "support-triage");
  {
    json_doc d{quiet};
    CHECK(str(d.root, "status") == "succeeded");
    CHECK(count(d.root, "tool_calls") == 0);
  }
  CHECK(f.scalar("SELECT count(*) FROM \"org_acme\".directives") == 1);

  // -- upgrade to 1.1.0: urgent_keywords becomes escalation_keywords ----------------
  std::string fingerprint;
  {
    json_doc d{installed};
    fingerprint = str(at(at(d.root, "credentials"), "webhook_secret"), "fingerprint");
  }
  auto up = f.req(acme.admin, "POST", "/api/v1/installations/" + triage_id + "/upgrade",
                  R"({"version":"1.1.0"})");
  INFO(up.body);
  REQUIRE(up.status == 202);
  auto upgraded = f.await_state(acme, triage_id, {"installed", "failed"});
  {
    INFO(upgraded);
    json_doc d{upgraded};
    CHECK(str(d.root, "version") == "1.1.0");
    CHECK(http_test::is_null(d.root, "error"));
    auto cfg = at(d.root, "config");
    CHECK(str(cfg, "escalation_keywords") == "urgent|outage|down");
    simdjson::dom::element old;
    CHECK(cfg["urgent_keywords"].get(old) != simdjson::SUCCESS);
    CHECK(str(at(at(d.root, "credentials"), "webhook_secret"), "fingerprint")
          == fingerprint);
  }
  CHECK(resource_id(upgraded, "agent", "support-triage") == agent_id);
  {
    auto a = f.req(acme.admin, "GET", "/api/v1/agents/" + agent_id);
    REQUIRE(a.status == 200);
    json_doc d{a.body};
    auto prompt = str(d.root, "system_prompt");
    CHECK(prompt.find("when urgent|outage|down call triage.escalate") != std::string::npos);
    CHECK(prompt.find("feature: feature") != std::string::npos);
  }
  auto history = f.req(acme.admin, "GET", "/api/v1/installations/" + triage_id + "/history");
  REQUIRE(history.status == 200);
  CHECK(history.body.find("upgrading") != std::string::npos);
  CHECK(f.scalar("SELECT count(*) FROM \"org_acme\".signals WHERE type = "
                 "'package.upgrade.completed' AND payload->>'installation_id' = $1",
                 {triage_id})
        == 1);

  // -- support-suite pulls in daily-digest and keeps support-triage ----------------
  auto suite_req = f.install(acme, R"({"package":"fleetprompt/support-suite","range":"^1.0",)"
                                   R"("permissions":)"
                                     + suite_permissions + "}");
  INFO(suite_req.body);
  REQUIRE(suite_req.status == 202);
  auto suite_id = test::json_string(suite_req.body, "id");
  auto suite = f.await_state(acme, suite_id, {"installed", "failed"});
  INFO(suite);
  REQUIRE(test::json_string(suite, "state") == "installed");
  CHECK(resources_of(suite).count("agent:support-briefing") == 1);
  auto digest_list = f.req(acme.admin, "GET",
                           "/api/v1/installations?package=fleetprompt/daily-digest");
  REQUIRE(digest_list.status == 200);
  std::string digest_id;
  {
    json_doc d{digest_list.body};
    simdjson::dom::array items;
    REQUIRE(!d.root["items"].get_array().get(items));
    REQUIRE(items.size() == 1);
    auto item = *items.begin();
    digest_id = str(item, "id");
    CHECK(str(item, "state") == "installed");
    CHECK(str(item, "required_by") == suite_id);
  }
  CHECK(f.scalar("SELECT count(*) FROM \"org_acme\".installations WHERE package = "
                 "'fleetprompt/support-triage' AND state <> 'uninstalled'")
        == 1);
  // What the suite needs cannot go while it is installed.
  auto refused = f.req(acme.admin, "DELETE", "/api/v1/installations/" + triage_id);
  CHECK(refused.status == 409);

  // -- uninstall: the suite takes daily-digest with it; triage goes last -------------
  REQUIRE(f.req(acme.admin, "DELETE", "/api/v1/installations/" + suite_id).status == 202);
  f.await_state(acme, suite_id, {"uninstalled"});
  f.await_state(acme, digest_id, {"uninstalled"});
  CHECK(f.text("SELECT state FROM \"org_acme\".installations WHERE id = $1", {triage_id})
        == "installed");
  CHECK(f.scalar("SELECT count(*) FROM public.job_schedules WHERE name LIKE $1",
                 {"inst:" + digest_id + ":%"})
        == 0);
  // A tenant's own agent is not the package's to remove.
  auto own = f.req(acme.admin, "POST", "/api/v1/agents",
                   R"({"name":"our-own","system_prompt":"Be brief."})");
  REQUIRE(own.status == 201);
  REQUIRE(f.req(acme.admin, "DELETE", "/api/v1/installations/" + triage_id).status == 202);
  f.await_state(acme, triage_id, {"uninstalled"});
  CHECK(f.scalar("SELECT count(*) FROM \"org_acme\".agents WHERE installation_id IS NOT NULL")
        == 0);
  CHECK(f.scalar("SELECT count(*) FROM \"org_acme\".skills WHERE installation_id IS NOT NULL")
        == 0);
  CHECK(f.scalar("SELECT count(*) FROM \"org_acme\".webhook_destinations WHERE "
                 "installation_id IS NOT NULL")
        == 0);
  CHECK(f.scalar("SELECT count(*) FROM \"org_acme\".credentials") == 0);
  CHECK(f.scalar("SELECT count(*) FROM \"org_acme\".agents WHERE name = 'our-own'") == 1);
}

TEST_CASE("examples: daily-digest's schedule summarises the day into "
          "digest.daily.created",
          "[packages][examples]") {
  fixture f{"pkg_digest"};
  auto acme = f.make_tenant("acme");
  f.publish_examples();
  auto requested = f.install(
    acme, R"({"package":"fleetprompt/daily-digest","range":"^1",)"
          R"("config":{"max_sentences":2},)"
          R"("permissions":["signals:read:*","signals:emit:digest.*","directive:signal.emit"]})");
  INFO(requested.body);
  REQUIRE(requested.status == 202);
  auto id = test::json_string(requested.body, "id");
  auto installed = f.await_state(acme, id, {"installed", "failed"});
  INFO(installed);
  REQUIRE(test::json_string(installed, "state") == "installed");
  // The install step emitted its signal.
  CHECK(f.scalar("SELECT count(*) FROM \"org_acme\".signals WHERE type = 'digest.installed'")
        == 1);

  f.emit(acme, R"({"type":"support.ticket.created","payload":{"text":"The export )"
               R"(button does nothing in Firefox."}})");
  f.emit(acme, R"({"type":"deploy.finished","payload":{"text":"Release 4.2 went )"
               R"(out to every region."}})");
  f.emit(acme, R"({"type":"support.ticket.created","payload":{"text":"Password )"
               R"(reset mails arrive late."}})");

  // Make the schedule due now; the dispatcher enqueues it at its next check.
  auto forced = f.db->exec("UPDATE public.job_schedules SET next_run_at = now() "
                           "WHERE name LIKE $1",
                           {"inst:" + id + ":%"});
  REQUIRE(forced);
  REQUIRE(f.scalar("SELECT count(*) FROM public.job_schedules WHERE name LIKE $1 AND "
                   "kind = 'package.scheduled_run'",
                   {"inst:" + id + ":%"})
          == 1);
  REQUIRE(test::eventually(
    [&] {
      return f.scalar("SELECT count(*) FROM \"org_acme\".signals WHERE type = "
                      "'digest.daily.created'")
             >= 1;
    },
    45000ms, 200ms));
  auto digest = f.text("SELECT payload::text FROM \"org_acme\".signals WHERE type = "
                       "'digest.daily.created' ORDER BY seq LIMIT 1");
  INFO(digest);
  json_doc d{digest};
  auto summary = str(d.root, "summary");
  CHECK(!summary.empty());
  // The run that wrote it succeeded, and its input covered the window.
  auto exec = f.text("SELECT e.id::text FROM \"org_acme\".executions e JOIN "
                     "\"org_acme\".agents a ON a.id = e.agent_id WHERE a.name = "
                     "'daily-digest' ORDER BY e.queued_at LIMIT 1");
  auto run = f.req(acme.admin, "GET", "/api/v1/executions/" + exec);
  REQUIRE(run.status == 200);
  INFO(run.body);
  json_doc rd{run.body};
  CHECK(str(rd.root, "status") == "succeeded");
  auto input = at(rd.root, "input");
  CHECK(num(input, "count") >= 3);
  CHECK(str(input, "text").find("deploy.finished") != std::string::npos);
}

TEST_CASE("examples: support-suite without support-triage's configuration "
          "fails and leaves nothing behind",
          "[packages][examples]") {
  fixture f{"pkg_suite"};
  auto acme = f.make_tenant("acme");
  f.publish_examples();
  auto requested = f.install(acme, R"({"package":"fleetprompt/support-suite","version":"1.0.0",)"
                                   R"("permissions":)"
                                     + suite_permissions + "}");
  INFO(requested.body);
  std::string error_text = requested.body;
  if (requested.status == 202) {
    auto id = test::json_string(requested.body, "id");
    auto failed = f.await_state(acme, id, {"failed", "installed"});
    INFO(failed);
    REQUIRE(test::json_string(failed, "state") == "failed");
    error_text = failed;
  } else {
    CHECK(requested.status == 422);
  }
  // The message names the dependency and what it is missing.
  CHECK(error_text.find("support-triage") != std::string::npos);
  CHECK(error_text.find("webhook_url") != std::string::npos);
  CHECK(f.scalar("SELECT count(*) FROM \"org_acme\".agents") == 0);
  CHECK(f.scalar("SELECT count(*) FROM \"org_acme\".skills") == 0);
  CHECK(f.scalar("SELECT count(*) FROM \"org_acme\".installations WHERE state = "
                 "'installed'")
        == 0);
}

#ifdef FP_FLEETPROMPT_BIN
TEST_CASE("examples: fleetprompt package publish takes an example directory "
          "or its manifest file",
          "[packages][examples][cli]") {
  auto url = test::migrated_database("pkg_cli");
  auto db = test::open_session(url);
  auto out = std::filesystem::temp_directory_path()
             / ("fp_pkg_cli_" + std::to_string(::getpid()) + ".out");
  auto publish = [&](const std::filesystem::path& what) {
    auto cmd = std::string{FP_FLEETPROMPT_BIN} + " package publish '" + what.string()
               + "' --database-url '" + url + "' --log-level warn > '" + out.string()
               + "' 2>&1";
    int status = std::system(cmd.c_str());
    auto text = slurp(out);
    INFO(text);
    CHECK(WIFEXITED(status));
    return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, text);
  };
  auto [rc1, first] = publish(examples_dir() / "support-triage");
  CHECK(rc1 == 0);
  CHECK(first == "published fleetprompt/support-triage@1.0.0\n");
  auto [rc2, again] = publish(examples_dir() / "support-triage");
  CHECK(rc2 == 0);
  CHECK(again == "unchanged fleetprompt/support-triage@1.0.0\n");
  auto [rc3, upgrade] = publish(examples_dir() / "support-triage-1.1.0"
                                / "fleetprompt.package.json");
  CHECK(rc3 == 0);
  CHECK(upgrade == "published fleetprompt/support-triage@1.1.0\n");
  CHECK(test::scalar(*db, "SELECT count(*) FROM public.package_versions WHERE package = "
                          "'fleetprompt/support-triage'")
        == 2);
  auto [rc4, missing] = publish(examples_dir() / "no-such-package");
  CHECK(rc4 != 0);
  CHECK(std::count(missing.begin(), missing.end(), '\n') == 1);
  std::filesystem::remove(out);
}
#endif
