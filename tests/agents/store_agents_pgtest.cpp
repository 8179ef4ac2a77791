// Skills (global catalog, tenant overrides), agents, their trigger
// subscriptions kept in step with the agent, and the tenant budget and
// spending, against the test PostgreSQL (storage/agents.hpp).

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>

#include "fp/runtime/errc.hpp"
#include "fp/storage/subscriptions.hpp"
#include "agents/store_support.hpp"

using namespace fp;
using fp::test::must;
using fp::test::must_ok;

namespace {

const storage::skill_record* by_name(const std::vector<storage::skill_record>& all,
                                     const std::string& name) {
  for (auto& s : all)
    if (s.name == name)
      return &s;
  return nullptr;
}

std::vector<storage::subscription_record>
agent_subs(storage::pg_session& db, const std::string& slug,
           const std::string& agent_id) {
  std::vector<storage::subscription_record> out;
  for (auto& s : must(storage::list_subscriptions(db, slug)))
    if (s.agent_id == agent_id)
      out.push_back(s);
  std::sort(out.begin(), out.end(),
            [](auto& x, auto& y) { return x.pattern < y.pattern; });
  return out;
}

} // namespace

// -- skills ---------------------------------------------------------------------------

TEST_CASE("skills: globals are seen until a tenant skill overrides them",
          "[store][skills]") {
  test::store_fixture f;
  auto& db = *f.db;
  auto all = must(storage::list_skills(db, f.slug));
  REQUIRE(all.size() == 4);
  for (auto name : {"text.summarize", "text.classify", "signal.emit",
                    "webhook.post"}) {
    auto s = by_name(all, name);
    REQUIRE(s != nullptr);
    CHECK(s->scope == "global");
    CHECK_FALSE(s->overrides);
  }
  auto summarize = *by_name(all, "text.summarize");
  CHECK(summarize.kind == "prompt");
  CHECK(summarize.input_schema.find("max_sentences") != std::string::npos);
  CHECK(by_name(all, "webhook.post")->kind == "directive");
  // Sorted by name.
  CHECK(std::is_sorted(all.begin(), all.end(),
                       [](auto& x, auto& y) { return x.name < y.name; }));

  auto resolved = must(storage::resolve_skill(db, f.slug, "text.summarize"));
  REQUIRE(resolved);
  CHECK(resolved->scope == "global");
  CHECK(resolved->id == summarize.id);
  CHECK_FALSE(must(storage::resolve_skill(db, f.slug, "no.such")));
  auto found = must(storage::find_skill(db, f.slug, summarize.id));
  REQUIRE(found);
  CHECK(found->name == "text.summarize");
  CHECK_FALSE(must(storage::find_skill(db, f.slug, "not-a-uuid")));

  // A tenant override of text.summarize, with scopes that need quoting.
  storage::skill_record own;
  own.id = runtime::new_uuid_v7();
  own.name = "text.summarize";
  own.description = "Our own summaries.";
  own.kind = "prompt";
  own.config = R"({"template":"Short: {{input.text}}"})";
  own.min_role = "admin";
  own.installation_id = runtime::new_uuid_v7();
  own.required_scopes = {"signals:emit:forum.*", "with space", "a,b", "q\"uote"};
  own.created_by = f.user_id;
  auto inserted = must(storage::insert_skill(db, f.slug, own));
  CHECK(inserted.scope == "tenant");
  CHECK(inserted.overrides);
  CHECK(inserted.min_role == "admin");
  CHECK(inserted.required_scopes == own.required_scopes);
  CHECK(inserted.installation_id == own.installation_id);
  CHECK(inserted.created_by == f.user_id);
  CHECK_FALSE(inserted.created_at.empty());

  all = must(storage::list_skills(db, f.slug));
  REQUIRE(all.size() == 4);
  CHECK(by_name(all, "text.summarize")->id == own.id);
  CHECK(by_name(all, "text.summarize")->scope == "tenant");
  resolved = must(storage::resolve_skill(db, f.slug, "text.summarize"));
  REQUIRE(resolved);
  CHECK(resolved->id == own.id);
  CHECK(resolved->required_scopes == own.required_scopes);
  // The overridden global is not what this tenant sees any more.
  CHECK_FALSE(must(storage::find_skill(db, f.slug, summarize.id)));
  // The other tenant still sees the global one.
  resolved = must(storage::resolve_skill(db, f.other, "text.summarize"));
  REQUIRE(resolved);
  CHECK(resolved->scope == "global");
  CHECK_FALSE(must(storage::find_skill(db, f.other, own.id)));

  // A name in use: conflict, and the transaction stays usable.
  f.exec("BEGIN");
  auto dup = own;
  dup.id = runtime::new_uuid_v7();
  auto refused = storage::insert_skill(db, f.slug, dup);
  REQUIRE_FALSE(refused);
  CHECK(runtime::code_of(refused.error()) == runtime::errc::conflict);
  storage::skill_record fresh;
  fresh.id = runtime::new_uuid_v7();
  fresh.name = "forum.reply";
  fresh.kind = "directive";
  fresh.config = R"({"directive_type":"signal.emit","params":{}})";
  auto fresh_in = must(storage::insert_skill(db, f.slug, fresh));
  CHECK_FALSE(fresh_in.overrides);
  CHECK(fresh_in.required_scopes.empty());
  f.exec("COMMIT");
  CHECK(must(storage::list_skills(db, f.slug)).size() == 5);
  CHECK(must(storage::list_skills(db, f.other)).size() == 4);

  // Updates touch tenant skills only.
  fresh.description = "Replies in the forum.";
  fresh.output_schema = R"({"type":"object","properties":{"ok":{"type":"boolean"}}})";
  fresh.min_role = "owner";
  auto updated = must(storage::update_skill(db, f.slug, fresh));
  REQUIRE(updated);
  CHECK(updated->description == "Replies in the forum.");
  CHECK(updated->min_role == "owner");
  CHECK(updated->output_schema.find("boolean") != std::string::npos);
  CHECK(updated->name == "forum.reply");
  auto global_edit = summarize;
  global_edit.description = "hacked";
  CHECK_FALSE(must(storage::update_skill(db, f.slug, global_edit)));
  CHECK_FALSE(must(storage::update_skill(db, f.other, fresh)));

  // Deletes: globals cannot be deleted through a tenant; dropping the
  // override brings the global back.
  CHECK_FALSE(must(storage::delete_skill(db, f.slug, summarize.id)));
  CHECK_FALSE(must(storage::delete_skill(db, f.other, own.id)));
  CHECK(must(storage::delete_skill(db, f.slug, own.id)));
  CHECK_FALSE(must(storage::delete_skill(db, f.slug, own.id)));
  resolved = must(storage::resolve_skill(db, f.slug, "text.summarize"));
  REQUIRE(resolved);
  CHECK(resolved->scope == "global");
  CHECK(test::scalar(db, "SELECT count(*) FROM public.skills WHERE "
                         "description = 'hacked'")
        == 0);
}

// -- agents ---------------------------------------------------------------------------

TEST_CASE("agents: insert, find, list, update and delete", "[store][agents]") {
  test::store_fixture f;
  auto& db = *f.db;
  auto a = test::make_agent("Triage", "draft", {"forum.*"});
  a.purpose = "Sorts posts";
  a.provider = "openai";
  a.model = "gpt-4o-mini";
  a.skills = {"text.classify", "webhook.post"};
  a.directive_types = {"webhook.post"};
  a.max_tokens = 1000;
  a.max_tool_calls = 3;
  a.daily_budget_micros = 250000;
  a.granted_scopes = {"directive:webhook.post", "signals:emit:forum.*", "x,y"};
  a.installation_id = runtime::new_uuid_v7();
  a.created_by = f.user_id;
  auto in = must(storage::insert_agent(db, f.slug, a));
  CHECK(in.id == a.id);
  CHECK(in.version == 1);
  CHECK(in.skills == a.skills);
  CHECK(in.granted_scopes == a.granted_scopes);
  CHECK(in.triggers == a.triggers);
  REQUIRE(in.daily_budget_micros);
  CHECK(*in.daily_budget_micros == 250000);
  CHECK(in.provider == "openai");
  CHECK(in.max_tool_calls == 3);
  CHECK(in.installation_id == a.installation_id);
  CHECK(in.created_by == f.user_id);

  auto found = must(storage::find_agent(db, f.slug, a.id));
  REQUIRE(found);
  CHECK(found->name == "Triage");
  CHECK(found->purpose == "Sorts posts");
  CHECK(found->system_prompt == "You help.");
  CHECK(found->directive_types == a.directive_types);
  CHECK(must(storage::find_agent(db, f.slug, a.id, true)));
  CHECK_FALSE(must(storage::find_agent(db, f.slug, "nope")));
  CHECK_FALSE(must(storage::find_agent(db, f.other, a.id)));

  // The same name again: conflict, transaction still usable.
  f.exec("BEGIN");
  auto dup = test::make_agent("Triage");
  auto refused = storage::insert_agent(db, f.slug, dup);
  REQUIRE_FALSE(refused);
  CHECK(runtime::code_of(refused.error()) == runtime::errc::conflict);
  auto b = must(storage::insert_agent(db, f.slug, test::make_agent("Second")));
  CHECK_FALSE(b.daily_budget_micros);
  f.exec("COMMIT");
  // Names are per tenant.
  must(storage::insert_agent(db, f.other, test::make_agent("Triage")));
  auto bad = test::make_agent("Bad id");
  bad.id = "x";
  CHECK(runtime::code_of(storage::insert_agent(db, f.slug, bad).error())
        == runtime::errc::invalid_argument);

  auto c = must(storage::insert_agent(db, f.slug, test::make_agent("Third", "archived")));
  // Newest first; archived hidden unless asked.
  auto listed = must(storage::list_agents(db, f.slug, {}));
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].id == b.id);
  CHECK(listed[1].id == a.id);
  storage::agent_filter all;
  all.state = "all";
  CHECK(must(storage::list_agents(db, f.slug, all)).size() == 3);
  storage::agent_filter archived;
  archived.state = "archived";
  listed = must(storage::list_agents(db, f.slug, archived));
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].id == c.id);
  storage::agent_filter page;
  page.state = "all";
  page.limit = 2;
  listed = must(storage::list_agents(db, f.slug, page));
  REQUIRE(listed.size() == 2);
  page.before_id = listed.back().id;
  listed = must(storage::list_agents(db, f.slug, page));
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].id == a.id);
  page.before_id = "bad";
  CHECK_FALSE(storage::list_agents(db, f.slug, page));

  auto ids = must(storage::active_agent_ids(db, f.slug));
  REQUIRE(ids.size() == 1);
  CHECK(ids[0] == b.id);

  // Update: every mutable field, version bumped; name conflicts refused.
  auto edit = *found;
  edit.name = "Triage 2";
  edit.state = "active";
  edit.skills = {"text.summarize"};
  edit.daily_budget_micros.reset();
  edit.max_tokens = 77;
  auto updated = must(storage::update_agent(db, f.slug, edit));
  REQUIRE(updated);
  CHECK(updated->version == 2);
  CHECK(updated->name == "Triage 2");
  CHECK(updated->skills == edit.skills);
  CHECK_FALSE(updated->daily_budget_micros);
  CHECK(updated->max_tokens == 77);
  CHECK(updated->created_by == f.user_id);
  edit.name = "Second";
  f.exec("BEGIN");
  auto clash = storage::update_agent(db, f.slug, edit);
  REQUIRE_FALSE(clash);
  CHECK(runtime::code_of(clash.error()) == runtime::errc::conflict);
  f.exec("COMMIT");
  auto ghost = edit;
  ghost.id = runtime::new_uuid_v7();
  ghost.name = "Ghost";
  CHECK_FALSE(must(storage::update_agent(db, f.slug, ghost)));
  CHECK(must(storage::active_agent_ids(db, f.slug)).size() == 2);

  // Delete: conversations and subscriptions go, executions stay.
  auto e = test::make_execution(a.id);
  must(storage::insert_execution(db, f.slug, e));
  CHECK(must(storage::delete_agent(db, f.slug, a.id)));
  CHECK_FALSE(must(storage::delete_agent(db, f.slug, a.id)));
  CHECK_FALSE(must(storage::delete_agent(db, f.slug, "zzz")));
  CHECK_FALSE(must(storage::find_agent(db, f.slug, a.id)));
  auto kept = must(storage::find_execution(db, f.slug, e.id));
  REQUIRE(kept);
  CHECK(kept->agent_id.empty());
}

TEST_CASE("agents: trigger subscriptions are enabled only while active",
          "[store][agents][subscriptions]") {
  test::store_fixture f;
  auto& db = *f.db;
  // A directive subscription that agent changes must never touch.
  storage::new_subscription plain;
  plain.pattern = "forum.*";
  plain.directive_type = "webhook.post";
  auto directive_sub = must(storage::create_subscription(db, f.slug, plain));
  CHECK(directive_sub.handler_kind == "directive");
  CHECK(directive_sub.agent_id.empty());

  auto a = test::make_agent("Watcher", "draft",
                            {"forum.post.created", "billing.*", "forum.post.created"});
  a.created_by = f.user_id;
  must(storage::insert_agent(db, f.slug, a));
  auto subs = agent_subs(db, f.slug, a.id);
  REQUIRE(subs.size() == 2); // the duplicate trigger collapses
  CHECK(subs[0].pattern == "billing.*");
  CHECK(subs[1].pattern == "forum.post.created");
  for (auto& s : subs) {
    CHECK(s.handler_kind == "agent");
    CHECK(s.agent_id == a.id);
    CHECK_FALSE(s.enabled);
    CHECK(s.created_by == f.user_id);
  }
  auto matching = must(storage::matching_subscriptions(db, f.slug, "billing.paid"));
  CHECK(matching.empty());

  // draft -> active: same rows, enabled.
  a.state = "active";
  must(storage::update_agent(db, f.slug, a));
  auto active = agent_subs(db, f.slug, a.id);
  REQUIRE(active.size() == 2);
  CHECK(active[0].id == subs[0].id);
  CHECK(active[1].id == subs[1].id);
  CHECK(active[0].enabled);
  CHECK(active[1].enabled);
  matching = must(storage::matching_subscriptions(db, f.slug, "billing.paid"));
  REQUIRE(matching.size() == 1);
  CHECK(matching[0].agent_id == a.id);
  CHECK(matching[0].handler_kind == "agent");
  auto enabled = must(storage::enabled_subscriptions(db, f.slug));
  CHECK(enabled.size() == 3);
  // Only the agent changes its triggers.
  auto refused = storage::delete_subscription(db, f.slug, active[0].id);
  REQUIRE_FALSE(refused);
  CHECK(runtime::code_of(refused.error()) == runtime::errc::conflict);
  refused = storage::set_subscription_enabled(db, f.slug, active[0].id, false);
  REQUIRE_FALSE(refused);
  CHECK(runtime::code_of(refused.error()) == runtime::errc::conflict);
  CHECK(agent_subs(db, f.slug, a.id).size() == 2);

  // New triggers: dropped ones go, kept ones keep their id.
  a.triggers = {"billing.*", "*"};
  must(storage::update_agent(db, f.slug, a));
  auto changed = agent_subs(db, f.slug, a.id);
  REQUIRE(changed.size() == 2);
  CHECK(changed[0].pattern == "*");
  CHECK(changed[1].pattern == "billing.*");
  CHECK(changed[1].id == subs[0].id);
  CHECK(changed[0].enabled);

  // Paused and archived: disabled.
  a.state = "paused";
  must(storage::update_agent(db, f.slug, a));
  for (auto& s : agent_subs(db, f.slug, a.id))
    CHECK_FALSE(s.enabled);
  a.state = "active";
  must(storage::update_agent(db, f.slug, a));
  for (auto& s : agent_subs(db, f.slug, a.id))
    CHECK(s.enabled);
  a.state = "archived";
  must(storage::update_agent(db, f.slug, a));
  for (auto& s : agent_subs(db, f.slug, a.id))
    CHECK_FALSE(s.enabled);

  // No triggers: no subscriptions.
  a.state = "active";
  a.triggers.clear();
  must(storage::update_agent(db, f.slug, a));
  CHECK(agent_subs(db, f.slug, a.id).empty());

  // Deleting the agent deletes its subscriptions; the directive one stays.
  a.triggers = {"x.y"};
  must(storage::update_agent(db, f.slug, a));
  CHECK(agent_subs(db, f.slug, a.id).size() == 1);
  CHECK(must(storage::delete_agent(db, f.slug, a.id)));
  auto left = must(storage::list_subscriptions(db, f.slug));
  REQUIRE(left.size() == 1);
  CHECK(left[0].id == directive_sub.id);
  CHECK(left[0].enabled);
  CHECK(must(storage::list_subscriptions(db, f.other)).empty());
}

// -- spending ---------------------------------------------------------------------------

TEST_CASE("budget and spent_today", "[store][budget]") {
  test::store_fixture f;
  auto& db = *f.db;
  CHECK_FALSE(must(storage::tenant_daily_budget(db, f.slug)));
  must_ok(storage::set_tenant_daily_budget(db, f.slug, 500000));
  auto b = must(storage::tenant_daily_budget(db, f.slug));
  REQUIRE(b);
  CHECK(*b == 500000);
  must_ok(storage::set_tenant_daily_budget(db, f.slug, 7));
  CHECK(*must(storage::tenant_daily_budget(db, f.slug)) == 7);
  CHECK_FALSE(must(storage::tenant_daily_budget(db, f.other)));
  must_ok(storage::set_tenant_daily_budget(db, f.slug, std::nullopt));
  CHECK_FALSE(must(storage::tenant_daily_budget(db, f.slug)));

  auto a = must(storage::insert_agent(db, f.slug, test::make_agent("Spender")));
  auto b2 = must(storage::insert_agent(db, f.slug, test::make_agent("Other")));
  CHECK(must(storage::spent_today(db, f.slug)) == 0);
  CHECK(must(storage::spent_today(db, f.slug, a.id)) == 0);
  auto finish = [&](const std::string& agent, int64_t cost) {
    auto e = test::make_execution(agent);
    must(storage::insert_execution(db, f.slug, e));
    storage::execution_outcome o;
    o.status = "succeeded";
    o.totals.cost_micros = cost;
    CHECK(must(storage::finish_execution(db, f.slug, e.id, o)));
    return e.id;
  };
  finish(a.id, 100);
  finish(a.id, 250);
  finish(b2.id, 1000);
  finish({}, 5); // a skill test run counts for the tenant only
  // Yesterday's spending does not count.
  auto old = finish(a.id, 100000);
  f.exec("UPDATE \"org_sta\".executions SET queued_at = "
         "date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - "
         "interval '1 second' WHERE id = '" + old + "'");
  // A running execution's progress counts too.
  auto running = test::make_execution(a.id);
  must(storage::insert_execution(db, f.slug, running));
  storage::execution_progress p;
  p.cost_micros = 50;
  must_ok(storage::update_execution_progress(db, f.slug, running.id, p));
  CHECK(must(storage::spent_today(db, f.slug, a.id)) == 400);
  CHECK(must(storage::spent_today(db, f.slug, b2.id)) == 1000);
  CHECK(must(storage::spent_today(db, f.slug)) == 1405);
  CHECK(must(storage::spent_today(db, f.other)) == 0);
  CHECK(must(storage::spent_today(db, f.slug, "not-a-uuid")) == 0);
}

TEST_CASE("subscriptions matching a batch of types read only candidates",
          "[store][subscriptions]") {
  using v = std::vector<std::string>;
  CHECK(storage::candidate_patterns("a.b.c") == v{"*", "a.b.c", "a.*", "a.b.*"});
  CHECK(storage::candidate_patterns("solo") == v{"*", "solo"});
  test::store_fixture f;
  auto& db = *f.db;
  for (auto pattern : {"*", "forum.*", "forum.post.created", "forum.post.*",
                       "billing.*", "forum.postx.*"}) {
    storage::new_subscription s;
    s.pattern = pattern;
    s.directive_type = "webhook.post";
    must(storage::create_subscription(db, f.slug, s));
  }
  // Agents' triggers count while active only.
  must(storage::insert_agent(db, f.slug, test::make_agent("On", "active", {"forum.*"})));
  must(storage::insert_agent(db, f.slug, test::make_agent("Off", "paused", {"forum.*"})));
  auto patterns = [&](const v& types) {
    std::multiset<std::string> out;
    for (auto& s : must(storage::subscriptions_matching_any(db, f.slug, types)))
      out.insert(s.pattern + (s.agent_id.empty() ? "" : "@agent"));
    return out;
  };
  using ms = std::multiset<std::string>;
  CHECK(patterns({"forum.post.created"})
        == ms{"*", "forum.*", "forum.post.created", "forum.post.*", "forum.*@agent"});
  CHECK(patterns({"billing.paid", "other"}) == ms{"*", "billing.*"});
  CHECK(patterns({"forum"}) == ms{"*"});
  CHECK(patterns({}).empty());
  // The same answer as matching every enabled subscription in C++.
  for (auto type : {"forum.post.created", "forum.postx.y", "billing.paid", "x"}) {
    ms expected;
    for (auto& s : must(storage::enabled_subscriptions(db, f.slug)))
      if (storage::subscription_matches(s.pattern, type))
        expected.insert(s.pattern + (s.agent_id.empty() ? "" : "@agent"));
    CHECK(patterns({type}) == expected);
  }
}
