#include "replay_command.hpp"

#include "admin_db.hpp"

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include "fp/actors/replay.hpp"
#include "fp/actors/signal_rules.hpp"
#include "fp/actors/tenancy.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/embedded_postgres.hpp"
#include "fp/storage/org_repository.hpp"
#include "fp/storage/users.hpp"

namespace fp::app {

namespace {

int usage_error(const std::string& what) {
  std::cerr << "fleetprompt: " << what
            << " (usage: fleetprompt replay --org SLUG (--signal ID | --since "
               "RFC3339 [--type PREFIX]) [--agents])\n";
  return 2;
}

/// The checked selection, or a usage error printed (nullopt).
std::optional<actors::replay_selection>
parse_selection(const config::command_line& cli, std::string& slug, int& rc) {
  auto flag = [&](const char* name) -> std::optional<std::string> {
    auto i = cli.flags.find(name);
    if (i == cli.flags.end())
      return std::nullopt;
    return i->second;
  };
  rc = 2;
  if (cli.positional.size() != 1) {
    usage_error("replay takes no arguments besides its flags");
    return std::nullopt;
  }
  auto org = flag("org");
  auto signal = flag("signal");
  auto since = flag("since");
  auto type = flag("type");
  if (!org || org->empty()) {
    usage_error("replay needs --org");
    return std::nullopt;
  }
  if (auto why = actors::slug_error(*org); !why.empty()) {
    usage_error("--org: " + why);
    return std::nullopt;
  }
  if (signal.has_value() == since.has_value()) {
    usage_error("replay needs exactly one of --signal and --since");
    return std::nullopt;
  }
  actors::replay_selection sel;
  if (signal) {
    if (type) {
      usage_error("--type goes with --since, not with --signal");
      return std::nullopt;
    }
    if (!storage::is_uuid(*signal)) {
      usage_error("--signal must be a signal id (a UUID)");
      return std::nullopt;
    }
    sel.signal_id = *signal;
  } else {
    if (!actors::is_rfc3339(*since)) {
      usage_error("--since must be an RFC 3339 date-time, e.g. "
                  "2026-01-02T03:04:05Z");
      return std::nullopt;
    }
    sel.since = *since;
    if (type) {
      if (type->empty()) {
        usage_error("--type must not be empty");
        return std::nullopt;
      }
      sel.type_prefix = *type;
    }
  }
  sel.agents = flag("agents").has_value();
  slug = *org;
  rc = 0;
  return sel;
}

} // namespace

std::vector<config::flag_spec> replay_flags() {
  return {{"org", true, "Slug of the organization whose signals to replay."},
          {"signal", true, "Replay this one signal (its id)."},
          {"since", true,
           "Replay the signals that occurred at or after this RFC 3339 time."},
          {"type", true, "With --since: only types starting with this text."},
          {"agents", false,
           "Also run the agents the signals triggered again (new executions "
           "linked to the originals)."}};
}

int run_replay(const config::command_line& cli) {
  std::string slug;
  int rc = 0;
  auto sel = parse_selection(cli, slug, rc);
  if (!sel)
    return rc;
  const auto& s = cli.values;
  admin_db db;
  if (!db.open(s, false))
    return 1;
  auto org = storage::find_org_by_slug(*db.session, slug);
  if (!org || !*org || (*org)->state != "active") {
    if (!org)
      std::cerr << "fleetprompt: " << describe(org.error()) << "\n";
    else
      std::cerr << "fleetprompt: no active organization '" << slug << "'\n";
    return 1;
  }
  actors::tenant_ref tenant{(*org)->id, (*org)->slug};
  storage::signal_actor actor{"system", "cli", "fleetprompt replay"};
  actors::replay_result result;
  auto err = storage::run_transaction(
    *db.session, [&](storage::pg_session& tx) -> caf::error {
      auto r = actors::replay_signals(tx, tenant, *sel, actor);
      if (!r)
        return std::move(r.error());
      result = std::move(*r);
      return caf::none;
    });
  if (err) {
    std::cerr << "fleetprompt: cannot replay: " << describe(err) << "\n";
    return 1;
  }
  for (const auto& r : result.signals)
    std::printf("replayed %s %s: %d job(s) enqueued, recorded as %s\n",
                r.signal_id.c_str(), r.type.c_str(), r.jobs_enqueued,
                r.replay_signal_id.c_str());
  std::printf("replayed %zu signal(s) under correlation %s; %d job(s) "
              "enqueued\n",
              result.signals.size(), result.correlation_id.c_str(),
              result.jobs_enqueued);
  return 0;
}

} // namespace fp::app
