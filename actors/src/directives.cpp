#include "fp/actors/directives.hpp"

#include "directives_internal.hpp"
#include "directives_json.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/jobs.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/storage_pool.hpp"

namespace fp::actors {

namespace detail {

storage::signal_actor directive_system_actor() {
  return {"system", "directives", "Directives"};
}

caf::error transition(storage::pg_session& db, const tenant_ref& tenant,
                      storage::directive_record& d, directive_state to,
                      const storage::signal_actor& actor,
                      storage::directive_update u, const std::string& extra) {
  auto from = parse_directive_state(d.state);
  if (!from || !can_transition(*from, to))
    return runtime::make_error(runtime::errc::conflict,
                               "directive is " + d.state + ", cannot become "
                                 + to_string(to));
  signal_input in;
  in.type = directive_signal_type(to);
  in.payload = "{\"directive_id\":" + json_quote(d.id)
               + ",\"directive_type\":" + json_quote(d.type)
               + ",\"state\":" + json_quote(to_string(to)) + extra + "}";
  // A state is entered at most once, so this key makes a re-run of the
  // same transition (a job after a crash) emit nothing new.
  in.dedupe_key = "directive:" + d.id + ":" + to_string(to);
  in.correlation_id = d.correlation_id;
  in.causation_id = d.last_signal_id.empty() ? d.causation_id
                                             : d.last_signal_id;
  auto emitted = emit_in_transaction(db, tenant, actor, {in});
  if (!emitted)
    return std::move(emitted.error());
  if (emitted->size() != 1 || !emitted->front().error.empty())
    return runtime::make_error(
      runtime::errc::internal,
      "directive signal refused: "
        + (emitted->empty() ? std::string{"no result"}
                            : emitted->front().error));
  u.state = to_string(to);
  u.last_signal_id = emitted->front().record.id;
  if (auto err = storage::update_directive(db, tenant.slug, d.id, u))
    return err;
  d.state = u.state;
  d.last_signal_id = u.last_signal_id;
  if (!u.decided_by.empty())
    d.decided_by = u.decided_by;
  if (!u.reason.empty())
    d.reason = u.reason;
  if (!u.result.empty())
    d.result = u.result;
  if (!u.error.empty())
    d.error = u.error;
  return caf::none;
}

caf::error enqueue_execution(storage::pg_session& db, const tenant_ref& tenant,
                             const storage::directive_record& d,
                             int attempts) {
  storage::job_spec spec;
  spec.queue = "directives";
  spec.kind = "directive.execute";
  spec.tenant = tenant.org_id;
  spec.args = "{\"org_id\":" + json_quote(tenant.org_id) + ",\"org_slug\":"
              + json_quote(tenant.slug) + ",\"directive_id\":"
              + json_quote(d.id) + "}";
  spec.unique_key = "directive:" + d.id;
  spec.max_attempts = attempts;
  auto r = storage::enqueue_job(db, spec);
  if (!r)
    return std::move(r.error());
  return caf::none;
}

} // namespace detail

using detail::json_member;
using detail::json_quote;

attempt_recorder storage_attempt_recorder(runtime::actor_slot_ptr slot) {
  return [slot](std::string slug, std::string id, int attempt,
                      std::string error) {
    if (!slot)
      return;
    storage::db_task task;
    task.label = "directives.attempt_error";
    task.run = [slug, id, attempt, error](storage::pg_session& db) {
      return storage::append_directive_attempt_error(db, slug, id, attempt,
                                                     error);
    };
    // Fire and forget: it waits for the failing attempt's row lock, which
    // goes away when that attempt's transaction rolls back.
    caf::anon_send(slot->get_as<storage::storage_pool_actor>(), fp::run_atom_v,
                   std::move(task));
  };
}

caf::expected<directive_policy>
find_policy(storage::pg_session& db, const tenant_ref& tenant,
            std::string_view type) {
  auto row = storage::find_directive_policy(db, tenant.slug, type);
  if (!row)
    return std::move(row.error());
  std::optional<policy_override> o;
  if (*row)
    o = policy_override{(*row)->mode, (*row)->approver_role};
  return resolve_directive_policy(type, o);
}

caf::expected<proposed_directive>
propose_directive(storage::pg_session& db, const tenant_ref& tenant,
                  const directive_proposal& p, int execute_attempts) {
  if (!known_directive_type(p.type))
    return runtime::make_error(runtime::errc::invalid_argument,
                               "unknown directive type \"" + p.type + "\"");
  auto policy = find_policy(db, tenant, p.type);
  if (!policy)
    return std::move(policy.error());
  storage::directive_record rec;
  rec.id = runtime::new_uuid_v7();
  rec.type = p.type;
  rec.params = p.params.empty() ? "{}" : p.params;
  rec.state = to_string(directive_state::proposed);
  rec.idempotency_key = p.idempotency_key;
  rec.correlation_id = p.correlation_id.empty() ? rec.id : p.correlation_id;
  rec.causation_id = p.causation_id;
  rec.actor = p.actor;
  rec.approver_role = to_string(policy->approver);
  auto ins = storage::insert_directive(db, tenant.slug, rec);
  if (!ins)
    return std::move(ins.error());
  if (!ins->created)
    return proposed_directive{std::move(ins->record), false};
  auto d = std::move(ins->record);
  // `proposed` is recorded as a signal of its own, so the chain shows who
  // asked before it shows what the policy decided.
  {
    storage::directive_update u;
    u.state = d.state;
    signal_input in;
    in.type = directive_signal_type(directive_state::proposed);
    in.payload = "{\"directive_id\":" + json_quote(d.id)
                 + ",\"directive_type\":" + json_quote(d.type)
                 + ",\"state\":\"proposed\",\"params\":" + d.params + "}";
    in.dedupe_key = "directive:" + d.id + ":proposed";
    in.correlation_id = d.correlation_id;
    in.causation_id = d.causation_id;
    auto emitted = emit_in_transaction(db, tenant, d.actor, {in});
    if (!emitted)
      return std::move(emitted.error());
    if (emitted->size() != 1 || !emitted->front().error.empty())
      return runtime::make_error(runtime::errc::invalid_argument,
                                 "directive signal refused: "
                                   + (emitted->empty()
                                        ? std::string{"no result"}
                                        : emitted->front().error));
    u.last_signal_id = emitted->front().record.id;
    if (auto err = storage::update_directive(db, tenant.slug, d.id, u))
      return err;
    d.last_signal_id = u.last_signal_id;
  }
  auto next = initial_decision(*policy);
  if (auto err = detail::transition(
        db, tenant, d, next, detail::directive_system_actor(), {},
        json_member("mode", json_quote(to_string(policy->mode)))))
    return err;
  if (next == directive_state::approved)
    if (auto err = detail::enqueue_execution(db, tenant, d, execute_attempts))
      return err;
  return proposed_directive{std::move(d), true};
}

namespace {

caf::expected<storage::directive_record>
load_for_decision(storage::pg_session& db, const tenant_ref& tenant,
                  const directive_decision& dec, bool check_role) {
  auto found = storage::find_directive(db, tenant.slug, dec.directive_id, true);
  if (!found)
    return std::move(found.error());
  if (!*found)
    return runtime::make_error(runtime::errc::not_found, "directive not found");
  if (check_role) {
    auto least = parse_role((*found)->approver_role).value_or(role::admin);
    if (static_cast<uint8_t>(dec.decider_role) < static_cast<uint8_t>(least))
      return runtime::make_error(runtime::errc::forbidden,
                                 "deciding on this directive needs the role "
                                   + std::string{to_string(least)});
  }
  return std::move(**found);
}

std::string reason_member(const std::string& reason) {
  return reason.empty() ? std::string{} : json_member("reason", json_quote(reason));
}

} // namespace

caf::expected<storage::directive_record>
approve_directive(storage::pg_session& db, const tenant_ref& tenant,
                  const directive_decision& dec, int execute_attempts) {
  auto d = load_for_decision(db, tenant, dec, true);
  if (!d)
    return d;
  auto s = parse_directive_state(d->state);
  if (!s || !can_approve(*s))
    return runtime::make_error(runtime::errc::conflict,
                               "directive is " + d->state
                                 + " and cannot be approved");
  storage::directive_update u;
  u.decided_by = dec.actor.id;
  u.reason = dec.reason;
  if (auto err = detail::transition(db, tenant, *d, directive_state::approved,
                                    dec.actor, u, reason_member(dec.reason)))
    return err;
  if (auto err = detail::enqueue_execution(db, tenant, *d, execute_attempts))
    return err;
  return d;
}

caf::expected<storage::directive_record>
reject_directive(storage::pg_session& db, const tenant_ref& tenant,
                 const directive_decision& dec) {
  auto d = load_for_decision(db, tenant, dec, true);
  if (!d)
    return d;
  auto s = parse_directive_state(d->state);
  if (!s || !can_reject(*s))
    return runtime::make_error(runtime::errc::conflict,
                               "directive is " + d->state
                                 + " and cannot be rejected");
  storage::directive_update u;
  u.decided_by = dec.actor.id;
  u.reason = dec.reason;
  if (auto err = detail::transition(db, tenant, *d, directive_state::rejected,
                                    dec.actor, u, reason_member(dec.reason)))
    return err;
  return d;
}

caf::expected<storage::directive_record>
cancel_directive(storage::pg_session& db, const tenant_ref& tenant,
                 const directive_decision& dec) {
  auto d = load_for_decision(db, tenant, dec, true);
  if (!d)
    return d;
  auto s = parse_directive_state(d->state);
  if (!s || !can_cancel(*s))
    return runtime::make_error(runtime::errc::conflict,
                               "directive is " + d->state
                                 + " and cannot be cancelled");
  storage::directive_update u;
  u.decided_by = dec.actor.id;
  u.reason = dec.reason;
  if (auto err = detail::transition(db, tenant, *d, directive_state::cancelled,
                                    dec.actor, u, reason_member(dec.reason)))
    return err;
  return d;
}

} // namespace fp::actors
