// GET /api/v1/usage over real HTTP: exact aggregates per UTC day, per agent
// and per model from executions written on chosen days, the window and
// agent filters, parameter validation, and tenant isolation (org B sees
// none of org A's usage).

#include <cmath>

#include "agents/http_support.hpp"
#include "fp/storage/tenant_migrations.hpp"

using namespace fp;
using namespace fp::http_test;

namespace {

/// One execution written straight into the tenant's table.
struct row {
  std::string agent_id; // empty: a skill test run
  int days_ago = 0;
  std::string status;
  std::string provider;
  std::string model;
  int64_t tokens_in = 0;
  int64_t tokens_out = 0;
  int64_t cost = 0;
  int latency_ms = -1; // -1: never started
};

void insert(storage::pg_session& db, const std::string& slug, const row& r) {
  // Noon (UTC) of the day `days_ago` days before today, so a run close to
  // midnight cannot move a row into another day.
  std::string at = "(((now() AT TIME ZONE 'UTC')::date - $8::int)::timestamp "
                   "AT TIME ZONE 'UTC' + interval '12 hours')";
  auto sql
    = "INSERT INTO " + storage::quoted_tenant_schema(slug)
      + ".executions (id, agent_id, skill_name, status, provider, model, "
        "tokens_in, tokens_out, cost_micros, trace_id, correlation_id, "
        "queued_at, started_at, finished_at) VALUES (gen_random_uuid(), "
        "$1::uuid, CASE WHEN $1 IS NULL THEN 'text.summarize' END, $2, $3, "
        "$4, $5::bigint, $6::bigint, $7::bigint, 't', 'c', "
      + at + ", CASE WHEN $9::int >= 0 THEN " + at
      + " END, CASE WHEN $9::int >= 0 THEN " + at
      + " + $9::int * interval '1 millisecond' END)";
  auto res = db.exec(
    sql, {r.agent_id.empty() ? std::nullopt
                             : std::optional<std::string>{r.agent_id},
          r.status, r.provider, r.model, std::to_string(r.tokens_in),
          std::to_string(r.tokens_out), std::to_string(r.cost),
          std::to_string(r.days_ago), std::to_string(r.latency_ms)});
  if (!res)
    FAIL("insert failed: " << caf::to_string(res.error()));
}

double dbl(simdjson::dom::element e, std::string_view key) {
  double v = -1;
  if (e[key].get_double().get(v))
    return -1;
  return v;
}

simdjson::dom::element member(simdjson::dom::element e, std::string_view key) {
  simdjson::dom::element v;
  if (e[key].get(v))
    FAIL("no member " << key);
  return v;
}

/// Element `i` of array member `key`.
simdjson::dom::element item(simdjson::dom::element e, std::string_view key,
                            std::size_t i) {
  simdjson::dom::array arr;
  simdjson::dom::element v;
  if (e[key].get_array().get(arr) || arr.at(i).get(v))
    FAIL("no " << key << "[" << i << "]");
  return v;
}

/// The days of a usage answer, as (day, executions, cost).
struct day_row {
  std::string day;
  int64_t executions;
  int64_t cost;
};

std::vector<day_row> days_of(simdjson::dom::element root) {
  std::vector<day_row> out;
  simdjson::dom::array arr;
  if (root["per_day"].get_array().get(arr))
    FAIL("no per_day");
  for (auto d : arr)
    out.push_back({str(d, "day"), num(d, "executions"), num(d, "cost_micros")});
  return out;
}

} // namespace

TEST_CASE("usage: exact aggregates per day, agent and model; isolation",
          "[agents][http][usage]") {
  fixture f{"http_usage"};
  auto& a = f.acme;
  auto alpha = f.make_agent(a, R"({"name":"alpha"})");
  auto bravo = f.make_agent(a, R"({"name":"bravo"})");

  // Nothing yet: every day of the window is present, all zero.
  {
    auto res = f.req(a.reader, "GET", "/api/v1/usage");
    INFO(res.body);
    REQUIRE(res.status == 200);
    json_doc d{res.body};
    CHECK(num(d.root, "days") == 14);
    CHECK(is_null(d.root, "agent_id"));
    CHECK(num(member(d.root, "totals"), "executions") == 0);
    CHECK(is_null(member(d.root, "totals"), "latency_p50_ms"));
    auto days = days_of(d.root);
    REQUIRE(days.size() == 14);
    CHECK(days.front().day == str(d.root, "from"));
    CHECK(days.back().day == str(d.root, "to"));
    for (auto& day : days)
      CHECK(day.executions == 0);
    CHECK(count(d.root, "per_agent") == 0);
    CHECK(count(d.root, "per_model") == 0);
  }

  auto& db = *f.db;
  insert(db, a.slug, {alpha, 0, "succeeded", "openai", "gpt-4o-mini", 100, 50, 1000, 200});
  insert(db, a.slug, {alpha, 0, "failed", "openai", "gpt-4o-mini", 10, 0, 100, 400});
  insert(db, a.slug, {bravo, 1, "succeeded", "local", "local-extractive", 30, 20, 0, 1000});
  insert(db, a.slug, {bravo, 13, "timed_out", "local", "local-extractive", 5, 5, 50, 3000});
  // Outside a 14-day window, inside a 30-day one.
  insert(db, a.slug, {alpha, 14, "succeeded", "openai", "gpt-4o", 7, 3, 7000, 100});
  // A skill test run (no agent), cancelled before it started.
  insert(db, a.slug, {"", 0, "cancelled", "", "", 0, 0, 0, -1});
  // Still queued.
  insert(db, a.slug, {alpha, 3, "queued", "", "", 0, 0, 0, -1});

  SECTION("the default window of 14 days") {
    auto res = f.req(a.member, "GET", "/api/v1/usage");
    INFO(res.body);
    REQUIRE(res.status == 200);
    json_doc d{res.body};
    auto t = member(d.root, "totals");
    CHECK(num(t, "executions") == 6);
    CHECK(num(t, "succeeded") == 2);
    CHECK(num(t, "failed") == 2);
    CHECK(num(t, "cancelled") == 1);
    CHECK(num(t, "tokens_in") == 145);
    CHECK(num(t, "tokens_out") == 75);
    CHECK(num(t, "cost_micros") == 1150);
    // Run times 200, 400, 1000, 3000 ms (continuous percentiles).
    CHECK(std::abs(dbl(t, "latency_p50_ms") - 700.0) < 0.001);
    CHECK(std::abs(dbl(t, "latency_p95_ms") - 2700.0) < 0.001);

    auto days = days_of(d.root);
    REQUIRE(days.size() == 14);
    int64_t sum = 0;
    for (std::size_t i = 0; i < days.size(); ++i) {
      sum += days[i].executions;
      INFO("day " << i << " " << days[i].day);
      if (i == 13) {
        CHECK(days[i].executions == 3);
        CHECK(days[i].cost == 1100);
      } else if (i == 12) {
        CHECK(days[i].executions == 1);
        CHECK(days[i].cost == 0);
      } else if (i == 10 || i == 0) {
        CHECK(days[i].executions == 1);
        CHECK(days[i].cost == (i == 0 ? 50 : 0));
      } else {
        CHECK(days[i].executions == 0);
        CHECK(days[i].cost == 0);
      }
    }
    CHECK(sum == 6);
    // Days are consecutive (the last is today).
    for (std::size_t i = 1; i < days.size(); ++i)
      CHECK(days[i - 1].day < days[i].day);
    auto today = test::text(db, "SELECT to_char((now() AT TIME ZONE 'UTC')::date, "
                                "'YYYY-MM-DD')");
    CHECK(days.back().day == today);
    CHECK(num(item(d.root, "per_day", 12), "tokens_in") == 30);
    CHECK(num(item(d.root, "per_day", 12), "tokens_out") == 20);
    CHECK(num(item(d.root, "per_day", 13), "succeeded") == 1);
    CHECK(num(item(d.root, "per_day", 13), "failed") == 1);
    CHECK(num(item(d.root, "per_day", 13), "cancelled") == 1);

    // Per agent, costliest first; the skill test run has no agent.
    REQUIRE(count(d.root, "per_agent") == 3);
    CHECK(str(item(d.root, "per_agent", 0), "agent_id") == alpha);
    CHECK(str(item(d.root, "per_agent", 0), "name") == "alpha");
    CHECK(num(item(d.root, "per_agent", 0), "executions") == 3);
    CHECK(num(item(d.root, "per_agent", 0), "succeeded") == 1);
    CHECK(num(item(d.root, "per_agent", 0), "failed") == 1);
    CHECK(num(item(d.root, "per_agent", 0), "cost_micros") == 1100);
    CHECK(num(item(d.root, "per_agent", 0), "tokens_in") == 110);
    CHECK(std::abs(dbl(item(d.root, "per_agent", 0), "latency_p50_ms") - 300.0) < 0.001);
    CHECK(str(item(d.root, "per_agent", 1), "agent_id") == bravo);
    CHECK(str(item(d.root, "per_agent", 1), "name") == "bravo");
    CHECK(num(item(d.root, "per_agent", 1), "executions") == 2);
    CHECK(num(item(d.root, "per_agent", 1), "cost_micros") == 50);
    CHECK(is_null(item(d.root, "per_agent", 2), "agent_id"));
    CHECK(is_null(item(d.root, "per_agent", 2), "name"));
    CHECK(num(item(d.root, "per_agent", 2), "executions") == 1);
    CHECK(num(item(d.root, "per_agent", 2), "cancelled") == 1);
    CHECK(is_null(item(d.root, "per_agent", 2), "latency_p50_ms"));

    // Per model.
    REQUIRE(count(d.root, "per_model") == 3);
    CHECK(str(item(d.root, "per_model", 0), "provider") == "openai");
    CHECK(str(item(d.root, "per_model", 0), "model") == "gpt-4o-mini");
    CHECK(num(item(d.root, "per_model", 0), "executions") == 2);
    CHECK(num(item(d.root, "per_model", 0), "cost_micros") == 1100);
    CHECK(num(item(d.root, "per_model", 0), "tokens_out") == 50);
    CHECK(str(item(d.root, "per_model", 1), "model") == "local-extractive");
    CHECK(num(item(d.root, "per_model", 1), "executions") == 2);
    CHECK(num(item(d.root, "per_model", 1), "cost_micros") == 50);
    CHECK(str(item(d.root, "per_model", 2), "model").empty());
    CHECK(num(item(d.root, "per_model", 2), "executions") == 2);
  }

  SECTION("a 30-day window and one agent") {
    auto res = f.req(a.reader, "GET", "/api/v1/usage?days=30");
    INFO(res.body);
    REQUIRE(res.status == 200);
    json_doc d{res.body};
    CHECK(num(d.root, "days") == 30);
    CHECK(count(d.root, "per_day") == 30);
    CHECK(num(member(d.root, "totals"), "executions") == 7);
    CHECK(num(member(d.root, "totals"), "cost_micros") == 8150);
    CHECK(num(item(d.root, "per_day", 15), "cost_micros") == 7000);
    REQUIRE(count(d.root, "per_model") == 4);
    CHECK(str(item(d.root, "per_model", 0), "model") == "gpt-4o");

    auto one = f.req(a.reader, "GET", "/api/v1/usage?days=1&agent_id=" + alpha);
    INFO(one.body);
    REQUIRE(one.status == 200);
    json_doc o{one.body};
    CHECK(str(o.root, "agent_id") == alpha);
    CHECK(count(o.root, "per_day") == 1);
    CHECK(num(member(o.root, "totals"), "executions") == 2);
    CHECK(num(member(o.root, "totals"), "cost_micros") == 1100);
    REQUIRE(count(o.root, "per_agent") == 1);
    CHECK(str(item(o.root, "per_agent", 0), "name") == "alpha");

    auto b = f.req(a.reader, "GET", "/api/v1/usage?agent_id=" + bravo);
    REQUIRE(b.status == 200);
    json_doc bd{b.body};
    CHECK(num(member(bd.root, "totals"), "executions") == 2);
    CHECK(num(member(bd.root, "totals"), "cost_micros") == 50);
  }

  SECTION("bad parameters and no credentials") {
    for (auto q : {"days=0", "days=91", "days=abc", "days=-3", "agent_id=nope"}) {
      auto res = f.req(a.reader, "GET", std::string{"/api/v1/usage?"} + q);
      INFO(q << " " << res.body);
      CHECK(res.status == 422);
      CHECK(res.header("content-type").find("application/problem+json")
            != std::string::npos);
    }
    CHECK(f.req(a.reader, "GET", "/api/v1/usage?days=90").status == 200);
    CHECK(call(f.port, "GET", "/api/v1/usage").status == 401);
    auto doc = call(f.port, "GET", "/api/v1/openapi.json");
    REQUIRE(doc.status == 200);
    CHECK(doc.body.find("\"/api/v1/usage\"") != std::string::npos);
  }

  SECTION("another organization sees none of it") {
    auto res = f.req(f.beta.reader, "GET", "/api/v1/usage?days=90");
    INFO(res.body);
    REQUIRE(res.status == 200);
    json_doc d{res.body};
    CHECK(num(member(d.root, "totals"), "executions") == 0);
    CHECK(num(member(d.root, "totals"), "cost_micros") == 0);
    CHECK(count(d.root, "per_day") == 90);
    for (auto day : days_of(d.root))
      CHECK(day.executions == 0);
    CHECK(count(d.root, "per_agent") == 0);
    CHECK(count(d.root, "per_model") == 0);
    // Naming org A's agent does not reveal anything either.
    auto named = f.req(f.beta.reader, "GET", "/api/v1/usage?agent_id=" + alpha);
    REQUIRE(named.status == 200);
    json_doc n{named.body};
    CHECK(num(member(n.root, "totals"), "executions") == 0);
    CHECK(count(n.root, "per_agent") == 0);
  }
}
