// The job handlers of directives: `signal.handle` turns a signal matched by
// a subscription into a proposed directive; `directive.execute` runs an
// approved directive through its executor.

#include "directives_internal.hpp"
#include "directives_json.hpp"
#include "executors.hpp"
#include "fp/actors/directives.hpp"
#include "fp/actors/job_registry.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/pg_session.hpp"

namespace fp::actors {

namespace {

using detail::json_member;
using detail::json_quote;

/// The string members `names` of a job's args; a missing one is "".
caf::expected<std::vector<std::string>>
string_args(storage::pg_session& db, const std::string& args,
            const std::vector<std::string>& names) {
  auto members = storage::json_members(db, args, names);
  if (!members)
    return permanent_failure("job arguments are not a JSON object");
  std::vector<std::string> out;
  for (auto& m : *members)
    out.push_back(m.kind == "string" ? m.text : std::string{});
  return out;
}

caf::error handle_signal(job_context& job, const directive_deps& deps) {
  auto& db = *job.db;
  auto a = string_args(db, job.args,
                       {"org_id", "org_slug", "signal_id", "subscription_id",
                        "correlation_id"});
  if (!a)
    return std::move(a.error());
  tenant_ref tenant{(*a)[0], (*a)[1]};
  const auto& signal_id = (*a)[2];
  const auto& sub_id = (*a)[3];
  if (tenant.slug.empty() || signal_id.empty() || sub_id.empty())
    return permanent_failure("signal.handle needs org_slug, signal_id and "
                             "subscription_id");
  auto sub = storage::find_subscription_target(db, tenant.slug, sub_id);
  if (!sub)
    return std::move(sub.error());
  // A subscription deleted or disabled since the signal leaves nothing to do.
  if (!*sub || !(*sub)->enabled)
    return caf::none;
  auto sig = storage::find_trigger_signal(db, tenant.slug, signal_id);
  if (!sig)
    return std::move(sig.error());
  if (!*sig)
    return permanent_failure("signal " + signal_id + " not found");
  directive_proposal p;
  p.type = (*sub)->directive_type;
  p.params = (*sub)->params;
  // One directive per (subscription, signal): a replay under a new
  // correlation finds the existing one and repeats nothing.
  p.idempotency_key = "sub:" + sub_id + ":" + signal_id;
  p.correlation_id = (*a)[4].empty() ? (*sig)->correlation_id : (*a)[4];
  p.causation_id = signal_id;
  p.actor = {"system", "subscription:" + sub_id, "Subscription"};
  auto r = propose_directive(db, tenant, p, deps.execute_attempts);
  if (!r) {
    if (runtime::code_of(r.error()) == runtime::errc::invalid_argument)
      return permanent_failure(runtime::context_of(r.error()));
    return std::move(r.error());
  }
  return caf::none;
}

caf::error execute_directive(job_context& job, const directive_deps& deps) {
  auto& db = *job.db;
  auto a = string_args(db, job.args, {"org_id", "org_slug", "directive_id"});
  if (!a)
    return std::move(a.error());
  tenant_ref tenant{(*a)[0], (*a)[1]};
  const auto& id = (*a)[2];
  if (tenant.slug.empty() || id.empty())
    return permanent_failure("directive.execute needs org_slug and "
                             "directive_id");
  auto found = storage::find_directive(db, tenant.slug, id, true);
  if (!found)
    return std::move(found.error());
  if (!*found)
    return permanent_failure("directive " + id + " not found");
  auto d = std::move(**found);
  // Already finished, cancelled meanwhile, or not approved: a re-run of the
  // job (after a crash, a manual retry) has nothing to do.
  if (d.state != to_string(directive_state::approved))
    return caf::none;
  const auto* exec = detail::find_executor(d.type);
  auto system = detail::directive_system_actor();
  auto attempt_member = json_member("attempt", std::to_string(job.attempt));
  detail::executor_outcome out;
  detail::executor_context ctx{db, tenant, d, deps};
  bool ran = false;
  if (!exec) {
    out.error = "no executor for directive type \"" + d.type + "\"";
    out.permanent = true;
    ran = true;
  } else if (exec->external_io) {
    out = exec->run(ctx);
    ran = true;
  }
  // A failing attempt that will be retried leaves no trace in this
  // transaction (see below), so there is nothing to announce yet.
  bool retry_later = !out.ok && !out.permanent
                     && job.attempt < job.max_attempts;
  if (!(ran && retry_later))
    if (auto err = detail::transition(db, tenant, d, directive_state::executing,
                                      system, {}, attempt_member))
      return err;
  if (!ran)
    out = exec->run(ctx);
  if (out.ok) {
    storage::directive_update u;
    u.result = out.result.empty() ? "{}" : out.result;
    if (auto err = detail::transition(db, tenant, d, directive_state::succeeded,
                                      system, u,
                                      json_member("result", u.result)))
      return err;
    return caf::none;
  }
  bool last = out.permanent || job.attempt >= job.max_attempts;
  if (!last) {
    // This attempt's work is rolled back with the error below; the error is
    // kept on the directive by a write of its own.
    if (deps.record_attempt_error)
      deps.record_attempt_error(tenant.slug, d.id, job.attempt, out.error);
    return runtime::make_error(runtime::errc::unavailable, out.error);
  }
  // The final failure commits with the job's completion, so the directive
  // never stays approved behind a discarded job.
  if (auto err = storage::append_directive_attempt_error(db, tenant.slug, d.id,
                                                         job.attempt, out.error))
    return err;
  storage::directive_update u;
  u.error = out.error;
  return detail::transition(db, tenant, d, directive_state::failed, system, u,
                            json_member("error", json_quote(out.error)));
}

} // namespace

void register_directive_handlers(job_registry& registry, directive_deps deps) {
  auto shared = std::make_shared<const directive_deps>(std::move(deps));
  registry.add("signal.handle", [shared](job_context& job) {
    return handle_signal(job, *shared);
  });
  registry.add("directive.execute", [shared](job_context& job) {
    return execute_directive(job, *shared);
  });
}

} // namespace fp::actors
