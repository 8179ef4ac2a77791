// Console pages of the spine: the signals explorer (with its live tail and
// correlation chains), the directive approval queue and the dead-letter
// jobs. Every prop is an API answer and every form one API call; the chain
// of a signal is assembled by the page from the list endpoints filtered by
// correlation id.

#include <initializer_list>
#include <string>
#include <string_view>

#include "console.hpp"
#include "fp/net/json.hpp"

namespace fp::net::console {

namespace {

/// `base` with the page request's query parameters `names` appended (when
/// present); `defaults` fill a parameter the request lacks, and the value
/// `all` drops it (the list shows every state).
std::string with_query(const request_context& ctx, std::string base,
                       std::initializer_list<std::string_view> names,
                       std::initializer_list<std::pair<std::string_view,
                                                       std::string_view>>
                         defaults = {}) {
  char sep = base.find('?') == std::string::npos ? '?' : '&';
  auto append = [&](std::string_view name, const std::string& value) {
    base += sep;
    base += name;
    base += '=';
    base += url_encode(value);
    sep = '&';
  };
  for (auto name : names) {
    auto value = ctx.request.query_param(name);
    if (value.empty())
      for (auto& [key, fallback] : defaults)
        if (key == name)
          value = std::string{fallback};
    if (!value.empty() && value != "all")
      append(name, value);
  }
  return base;
}

/// The page request's query parameters `names` as one JSON object of
/// strings (what the filter form shows); absent ones are "".
prop filters(std::initializer_list<std::string_view> names,
             std::initializer_list<std::pair<std::string_view, std::string_view>>
               defaults = {}) {
  prop p;
  p.name = "filters";
  std::vector<std::string> keys{names.begin(), names.end()};
  std::vector<std::pair<std::string, std::string>> fallbacks;
  for (auto& [k, v] : defaults)
    fallbacks.emplace_back(std::string{k}, std::string{v});
  p.value = [keys, fallbacks](const request_context& ctx) {
    std::string body;
    json_writer w{body};
    w.begin_object();
    for (auto& key : keys) {
      auto value = ctx.request.query_param(key);
      if (value.empty())
        for (auto& [k, v] : fallbacks)
          if (k == key)
            value = v;
      w.member(key, value);
    }
    w.end_object();
    return body;
  };
  return p;
}

// -- signals --------------------------------------------------------------------------

void add_signal_pages(console& c) {
  prop list;
  list.name = "signals";
  list.target_fn = [](const request_context& ctx) {
    return with_query(ctx, "/api/v1/signals?limit=50",
                      {"type", "actor", "actor_kind", "correlation_id",
                       "since", "until", "cursor"});
  };
  // A refused filter (bad prefix, bad time) keeps the page and its form;
  // the page says the API refused it.
  list.optional = true;
  c.add(page_def{"/signals",
                 "Signals/Index",
                 access::member,
                 {std::move(list),
                  filters({"type", "actor", "actor_kind", "correlation_id",
                           "since", "until", "cursor"})}});
  c.add(page_def{"/signals/{id}",
                 "Signals/Show",
                 access::member,
                 {api("signal", "/api/v1/signals/{id}")}});

  action_def replay;
  replay.pattern = "/signals/{id}/replay";
  replay.level = access::admin;
  replay.api_target = "/api/v1/signals/{id}/replay";
  replay.api_body = [](const request_context&) { return std::string{}; };
  replay.success = "Replay started: the signal's handlers run again under a "
                   "new correlation.";
  replay.flash_result = true;
  c.add(std::move(replay));
}

// -- directives -----------------------------------------------------------------------

void add_directive_pages(console& c) {
  prop list;
  list.name = "directives";
  list.target_fn = [](const request_context& ctx) {
    return with_query(ctx, "/api/v1/directives?limit=50",
                      {"state", "type", "cursor"},
                      {{"state", "awaiting_approval"}});
  };
  prop policies = api("policies", "/api/v1/directive-policies");
  policies.optional = true;
  c.add(page_def{"/directives",
                 "Directives/Index",
                 access::member,
                 {std::move(list), std::move(policies),
                  filters({"state", "type", "cursor"},
                          {{"state", "awaiting_approval"}})}});
  c.add(page_def{"/directives/{id}",
                 "Directives/Show",
                 access::member,
                 {api("directive", "/api/v1/directives/{id}")}});

  // Deciding needs the directive's approver role (its type's policy): the
  // API checks it, the page hides the buttons from those below it.
  for (auto [verb, message] :
       {std::pair{"approve", "Directive approved: it runs next."},
        std::pair{"reject", "Directive rejected."},
        std::pair{"cancel", "Directive cancelled."}}) {
    action_def a;
    a.pattern = std::string{"/directives/{id}/"} + verb;
    a.level = access::member;
    a.api_target = std::string{"/api/v1/directives/{id}/"} + verb;
    a.success = message;
    c.add(std::move(a));
  }

  action_def policy;
  policy.method = "PUT";
  policy.pattern = "/directive-policies/{type}";
  policy.level = access::admin;
  policy.api_target = "/api/v1/directive-policies/{type}";
  policy.success = "Policy saved.";
  c.add(std::move(policy));
}

// -- jobs -----------------------------------------------------------------------------

void add_job_pages(console& c) {
  prop list;
  list.name = "jobs";
  list.target_fn = [](const request_context& ctx) {
    return with_query(ctx, "/api/v1/jobs?limit=50",
                      {"state", "queue", "kind", "cursor"},
                      {{"state", "discarded"}});
  };
  c.add(page_def{"/jobs",
                 "Jobs/Index",
                 access::admin,
                 {std::move(list),
                  filters({"state", "queue", "kind", "cursor"},
                          {{"state", "discarded"}})}});
  for (auto [verb, message] :
       {std::pair{"retry", "Job queued again."},
        std::pair{"cancel", "Job cancelled."}}) {
    action_def a;
    a.pattern = std::string{"/jobs/{id}/"} + verb;
    a.level = access::admin;
    a.api_target = std::string{"/api/v1/jobs/{id}/"} + verb;
    a.api_body = [](const request_context&) { return std::string{}; };
    a.success = message;
    c.add(std::move(a));
  }
}

} // namespace

void add_spine_pages(console& c) {
  add_signal_pages(c);
  add_directive_pages(c);
  add_job_pages(c);
}

} // namespace fp::net::console
