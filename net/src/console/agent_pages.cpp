// Console pages of the agents group: agents (list, create, edit, lifecycle,
// test run), executions (list, detail with its live timeline, cancel) and
// chat (conversations and their streamed replies). Every prop is an API
// answer; every form forwards to one API call (see console.hpp).

#include "console.hpp"

namespace fp::net::console {

namespace {

/// An optional prop: a failed answer makes it null instead of an error page.
prop optional_api(std::string name, std::string target,
                  std::vector<std::string> forward_query = {}) {
  auto p = api(std::move(name), std::move(target), std::move(forward_query));
  p.optional = true;
  return p;
}

/// A prop with a fixed JSON value.
prop fixed(std::string name, std::string json) {
  prop p;
  p.name = std::move(name);
  p.value = [json = std::move(json)](const request_context&) { return json; };
  return p;
}

/// A form forwarded to one API call.
action_def forward(std::string method, std::string pattern, access level,
                   std::string api_method, std::string api_target,
                   std::string redirect, std::string success) {
  action_def a;
  a.method = std::move(method);
  a.pattern = std::move(pattern);
  a.level = level;
  a.api_method = std::move(api_method);
  a.api_target = std::move(api_target);
  a.redirect = std::move(redirect);
  a.success = std::move(success);
  return a;
}

// -- agents -----------------------------------------------------------------------------

void add_agents(console& c) {
  // The skills an agent may use, for the form's picker.
  auto skills = [] { return optional_api("skills", "/api/v1/skills"); };
  c.add(page_def{"/agents",
                 "Agents/Index",
                 access::member,
                 {api("agents", "/api/v1/agents?limit=100", {"state", "cursor"})}});
  c.add(page_def{"/agents/new",
                 "Agents/Form",
                 access::admin,
                 {fixed("agent", "null"), skills()}});
  c.add(page_def{"/agents/{id}",
                 "Agents/Show",
                 access::member,
                 {api("agent", "/api/v1/agents/{id}"),
                  optional_api("executions",
                               "/api/v1/executions?agent_id={id}&limit=10")}});
  c.add(page_def{"/agents/{id}/edit",
                 "Agents/Form",
                 access::admin,
                 {api("agent", "/api/v1/agents/{id}"), skills()}});

  c.add(forward("POST", "/agents", access::admin, "POST", "/api/v1/agents",
                "/agents/{result.id}", "Agent created."));
  c.add(forward("PATCH", "/agents/{id}", access::admin, "PATCH",
                "/api/v1/agents/{id}", "/agents/{id}", "Agent saved."));
  // {state}: activate, pause, resume, archive.
  c.add(forward("POST", "/agents/{id}/state", access::admin, "PATCH",
                "/api/v1/agents/{id}", "", "Agent state changed."));
  c.add(forward("DELETE", "/agents/{id}", access::admin, "DELETE",
                "/api/v1/agents/{id}", "/agents", "Agent deleted."));
  // A test run {input: {...}} leads to the execution it queued.
  c.add(forward("POST", "/agents/{id}/run", access::member, "POST",
                "/api/v1/agents/{id}/executions", "/executions/{result.id}",
                "Test run queued."));
}

// -- executions -------------------------------------------------------------------------

void add_executions(console& c) {
  c.add(page_def{"/executions",
                 "Executions/Index",
                 access::member,
                 {api("executions", "/api/v1/executions?limit=50",
                      {"agent_id", "status", "conversation_id",
                       "correlation_id", "skill_name", "since", "until",
                       "cursor"}),
                  // Agent names for the table and the filter.
                  optional_api("agents", "/api/v1/agents?state=all&limit=200")}});
  c.add(page_def{"/executions/{id}",
                 "Executions/Show",
                 access::member,
                 {api("execution", "/api/v1/executions/{id}"),
                  optional_api("events",
                               "/api/v1/executions/{id}/events?limit=1000"),
                  // The agent's name (the execution names only its id).
                  optional_api("agents", "/api/v1/agents?state=all&limit=200")}});
  c.add(forward("POST", "/executions/{id}/cancel", access::member, "POST",
                "/api/v1/executions/{id}/cancel", "",
                "Cancellation requested."));
}

// -- chat -------------------------------------------------------------------------------

void add_chat(console& c) {
  auto agents = [] {
    return optional_api("agents", "/api/v1/agents?limit=200");
  };
  c.add(page_def{"/chat",
                 "Chat/Index",
                 access::member,
                 {api("conversations", "/api/v1/conversations?limit=50",
                      {"agent_id", "cursor"}),
                  agents()}});
  c.add(page_def{"/chat/{id}",
                 "Chat/Show",
                 access::member,
                 {api("conversation", "/api/v1/conversations/{id}"), agents()}});
  // {agent_id, title?}: a new conversation, opened at once. Messages are
  // sent by the page itself (POST /api/v1/conversations/{id}/messages) so
  // the reply can stream into it without a visit.
  c.add(forward("POST", "/chat", access::member, "POST",
                "/api/v1/conversations", "/chat/{result.id}", ""));
}

} // namespace

void add_agent_pages(console& c) {
  add_agents(c);
  add_executions(c);
  add_chat(c);
}

} // namespace fp::net::console
