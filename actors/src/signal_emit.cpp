#include "fp/actors/signal_emit.hpp"

#include <algorithm>
#include <optional>

#include "fp/actors/agent_engine.hpp"
#include "fp/actors/signal_rules.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/jobs.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/subscriptions.hpp"

namespace fp::actors {

namespace {

void append_member(std::string& out, std::string_view name,
                   std::string_view value) {
  if (out.size() > 1)
    out += ',';
  out += '"';
  out.append(name);
  out += "\":\"";
  runtime::log::append_json_escaped(out, value);
  out += '"';
}

storage::job_spec directive_handler_job(const tenant_ref& tenant,
                                        const storage::signal_record& signal,
                                        const storage::subscription_record& sub,
                                        const std::string& correlation_id) {
  storage::job_spec spec;
  spec.queue = "signals";
  spec.kind = "signal.handle";
  spec.tenant = tenant.org_id;
  std::string args;
  args.reserve(256);
  args.push_back('{');
  append_member(args, "org_id", tenant.org_id);
  append_member(args, "org_slug", tenant.slug);
  append_member(args, "signal_id", signal.id);
  append_member(args, "subscription_id", sub.id);
  append_member(args, "correlation_id", correlation_id);
  args.push_back('}');
  spec.args = std::move(args);
  spec.unique_key = "signal.handle:" + signal.id + ":" + sub.id;
  return spec;
}

/// The run of an agent triggered by `signal`. Its trigger key makes it one
/// execution per agent and signal; a replay that asks for agents adds its
/// own correlation (a new execution, linked to the original by
/// `replay_of_key`).
storage::job_spec agent_trigger_job(const tenant_ref& tenant,
                                    const storage::signal_record& signal,
                                    const storage::subscription_record& sub,
                                    const std::string& correlation_id,
                                    bool replay) {
  auto original_key = sub.agent_id + ":" + signal.id;
  auto key = replay ? original_key + ":" + correlation_id : original_key;
  storage::job_spec spec;
  spec.queue = execute_job_queue;
  spec.kind = execute_job_kind;
  spec.tenant = tenant.org_id;
  std::string args;
  args.reserve(320);
  args.push_back('{');
  append_member(args, "org_id", tenant.org_id);
  append_member(args, "org_slug", tenant.slug);
  append_member(args, "agent_id", sub.agent_id);
  append_member(args, "signal_id", signal.id);
  append_member(args, "correlation_id", correlation_id);
  append_member(args, "trigger_key", key);
  if (replay)
    append_member(args, "replay_of_key", original_key);
  args.push_back('}');
  spec.args = std::move(args);
  spec.unique_key = std::string{execute_job_kind} + ":" + key;
  return spec;
}

/// The handler job `sub` asks for when `signal` arrives, if any: an agent
/// never triggers on its own signals (no self-sustaining loops), and a
/// replay re-runs agents only when asked.
std::optional<storage::job_spec>
handler_job(const tenant_ref& tenant, const storage::signal_record& signal,
            const storage::subscription_record& sub,
            const std::string& correlation_id, bool replay, bool with_agents) {
  if (sub.handler_kind != "agent")
    return directive_handler_job(tenant, signal, sub, correlation_id);
  if (sub.agent_id.empty() || (replay && !with_agents))
    return std::nullopt;
  if (signal.actor.kind == "agent" && signal.actor.id == sub.agent_id)
    return std::nullopt;
  return agent_trigger_job(tenant, signal, sub, correlation_id, replay);
}

caf::error enqueue_all(storage::pg_session& db,
                        const std::vector<storage::job_spec>& specs) {
  if (specs.empty())
    return caf::none;
  auto r = storage::enqueue_jobs(db, specs);
  return r ? caf::none : std::move(r.error());
}

} // namespace

std::string signal_input_error(const signal_input& item,
                               const emit_limits& limits) {
  if (auto e = signal_type_error(item.type); !e.empty())
    return e;
  if (auto e = signal_payload_error(item.payload, limits.payload_limit);
      !e.empty())
    return e;
  if (auto e = dedupe_key_error(item.dedupe_key); !e.empty())
    return e;
  if (auto e = opaque_id_error(item.correlation_id, "correlation_id");
      !e.empty())
    return e;
  if (auto e = opaque_id_error(item.causation_id, "causation_id"); !e.empty())
    return e;
  if (!item.occurred_at.empty())
    if (auto e = rfc3339_error(item.occurred_at, "occurred_at"); !e.empty())
      return e;
  return {};
}

caf::expected<std::vector<std::vector<emit_result>>>
emit_parts_in_transaction(storage::pg_session& db, const tenant_ref& tenant,
                          const std::vector<emit_part>& parts,
                          const emit_limits& limits) {
  std::vector<std::vector<emit_result>> out(parts.size());
  // Valid items of every part go into one insert; `where` maps each row of
  // it back to (part, item).
  std::vector<storage::new_signal> rows;
  std::vector<std::pair<std::size_t, std::size_t>> where;
  for (std::size_t p = 0; p < parts.size(); ++p) {
    auto& part = parts[p];
    out[p].resize(part.items->size());
    for (std::size_t i = 0; i < part.items->size(); ++i) {
      auto& item = (*part.items)[i];
      if (auto e = signal_input_error(item, limits); !e.empty()) {
        out[p][i].error = std::move(e);
        continue;
      }
      storage::new_signal s;
      s.id = runtime::new_uuid_v7();
      s.type = item.type;
      s.payload = item.payload;
      s.actor = *part.actor;
      s.dedupe_key = item.dedupe_key;
      s.correlation_id = item.correlation_id;
      s.causation_id = item.causation_id;
      s.occurred_at = item.occurred_at;
      rows.push_back(std::move(s));
      where.emplace_back(p, i);
    }
  }
  if (rows.empty())
    return out;
  // Read before the insert takes the emit lock: the lock is held until
  // COMMIT, so everything done under it delays the tenant's next group.
  // Only the subscriptions that can match this group's types (a tenant
  // with many agents holds thousands).
  std::vector<std::string> types;
  for (auto& r : rows)
    types.push_back(r.type);
  auto subs = storage::subscriptions_matching_any(db, tenant.slug, types);
  if (!subs)
    return std::move(subs.error());
  auto inserted = storage::insert_signals(db, tenant.slug, rows);
  if (!inserted)
    return std::move(inserted.error());
  bool any_created = false;
  for (std::size_t k = 0; k < inserted->size(); ++k) {
    auto [p, i] = where[k];
    auto& res = out[p][i];
    res.record = std::move((*inserted)[k].record);
    res.created = (*inserted)[k].created;
    any_created = any_created || res.created;
  }
  if (!any_created || subs->empty())
    return out;
  std::vector<storage::job_spec> jobs;
  for (auto& part : out)
    for (auto& res : part) {
      if (!res.created)
        continue;
      for (auto& sub : *subs)
        if (storage::subscription_matches(sub.pattern, res.record.type))
          if (auto job = handler_job(tenant, res.record, sub,
                                     res.record.correlation_id, false, false))
            jobs.push_back(std::move(*job));
    }
  if (auto err = enqueue_all(db, jobs))
    return err;
  return out;
}

caf::expected<std::vector<emit_result>>
emit_in_transaction(storage::pg_session& db, const tenant_ref& tenant,
                    const storage::signal_actor& actor,
                    const std::vector<signal_input>& items) {
  std::vector<emit_part> parts{emit_part{&actor, &items}};
  auto r = emit_parts_in_transaction(db, tenant, parts);
  if (!r)
    return std::move(r.error());
  return std::move(r->front());
}

caf::expected<int>
enqueue_signal_handlers(storage::pg_session& db, const tenant_ref& tenant,
                        const storage::signal_record& signal,
                        const std::string& correlation_id, bool with_agents) {
  auto subs = storage::matching_subscriptions(db, tenant.slug, signal.type);
  if (!subs)
    return std::move(subs.error());
  std::vector<storage::job_spec> jobs;
  jobs.reserve(subs->size());
  // A new correlation is a replay; the signal's own is its first handling.
  auto replay = !correlation_id.empty() && correlation_id != signal.correlation_id;
  for (auto& sub : *subs)
    if (auto job = handler_job(tenant, signal, sub,
                               correlation_id.empty() ? signal.correlation_id
                                                      : correlation_id,
                               replay, with_agents))
      jobs.push_back(std::move(*job));
  if (jobs.empty())
    return 0;
  // A handler job of the same signal and subscription that is still
  // unfinished is not enqueued again (unique key): count only new ones.
  auto enqueued = storage::enqueue_jobs(db, jobs);
  if (!enqueued)
    return std::move(enqueued.error());
  return static_cast<int>(std::count_if(
    enqueued->begin(), enqueued->end(),
    [](const storage::enqueued_job& j) { return j.inserted; }));
}

} // namespace fp::actors
