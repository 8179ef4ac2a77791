#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace fp::runtime {

/// What `GET /api/v1/version` reports.
struct version_info {
  std::string name;
  std::string version;
  std::string commit;
  std::string build_type;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, version_info& x) {
  return f(caf::meta::type_name("version_info"), x.name, x.version, x.commit,
           x.build_type);
}

/// What `GET /readyz` reports.
struct readiness {
  bool ready = false;
  bool database_reachable = false;
  int32_t pending_migrations = -1; // -1: unknown (database unreachable)
  std::string detail;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, readiness& x) {
  return f(caf::meta::type_name("readiness"), x.ready, x.database_reachable,
           x.pending_migrations, x.detail);
}

/// One node of the live actor tree (`GET /admin/actors`).
struct actor_node {
  uint64_t actor_id = 0;   // CAF actor id, unique within the process
  std::string kind;        // "supervisor", "storage_pool", "tenant", ...
  std::string id;          // domain id: child name, org slug, agent id ...
  uint64_t parent_id = 0;  // actor_id of the parent, 0 for the root
  std::string state;       // actor-defined: "running", "restarting", ...
  uint64_t mailbox = 0;    // messages waiting when it answered
  uint32_t restarts = 0;   // times its supervisor restarted this slot
  int64_t started_at_ms = 0; // unix ms of the current incarnation
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_node& x) {
  return f(caf::meta::type_name("actor_node"), x.actor_id, x.kind, x.id,
           x.parent_id, x.state, x.mailbox, x.restarts, x.started_at_ms);
}

/// State and mailbox an actor reports about itself when asked to describe.
struct actor_status {
  std::string state;
  uint64_t mailbox = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_status& x) {
  return f(caf::meta::type_name("actor_status"), x.state, x.mailbox);
}

} // namespace fp::runtime
