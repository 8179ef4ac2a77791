#include "executors.hpp"

#include <ctime>
#include <map>

#include "directives_json.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/webhook_signature.hpp"
#include "fp/storage/pg_session.hpp"

namespace fp::actors::detail {

namespace {

executor_outcome failure(std::string why, bool permanent) {
  executor_outcome out;
  out.error = std::move(why);
  out.permanent = permanent;
  return out;
}

std::string utc_now_rfc3339(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string runtime_error_text(const caf::error& err) {
  auto text = runtime::context_of(err);
  return text.empty() ? caf::to_string(err) : text;
}

} // namespace

const executor_entry* find_executor(std::string_view type) {
  static const std::map<std::string, executor_entry, std::less<>> registry{
    {"signal.emit", {run_signal_emit, false}},
    {"webhook.post", {run_webhook_post, true}},
  };
  auto i = registry.find(type);
  return i == registry.end() ? nullptr : &i->second;
}

executor_outcome run_signal_emit(executor_context& ctx) {
  const auto& d = ctx.directive;
  auto m = storage::json_members(ctx.db, d.params, {"type", "payload"});
  if (!m)
    return failure("params must be a JSON object", true);
  auto& type = (*m)[0];
  auto& payload = (*m)[1];
  if (type.kind != "string" || type.text.empty())
    return failure("params.type must be a signal type", true);
  if (payload.present && payload.kind != "object")
    return failure("params.payload must be a JSON object", true);
  signal_input in;
  in.type = type.text;
  in.payload = payload.present ? payload.text : "{}";
  // One signal per directive, however often the job runs.
  in.dedupe_key = "directive:" + d.id;
  in.correlation_id = d.correlation_id;
  in.causation_id = d.last_signal_id;
  storage::signal_actor actor{"system", "directive:" + d.id,
                              "signal.emit executor"};
  auto r = emit_in_transaction(ctx.db, ctx.tenant, actor, {in});
  if (!r)
    return failure(runtime_error_text(r.error()), false);
  if (r->size() != 1)
    return failure("emit returned no result", false);
  if (!r->front().error.empty())
    return failure("signal refused: " + r->front().error, true);
  executor_outcome out;
  out.ok = true;
  out.result = "{\"signal_id\":" + json_quote(r->front().record.id)
               + ",\"created\":"
               + (r->front().created ? "true" : "false") + "}";
  return out;
}

executor_outcome run_webhook_post(executor_context& ctx) {
  const auto& d = ctx.directive;
  auto& db = ctx.db;
  const auto& slug = ctx.tenant.slug;
  auto m = storage::json_members(db, d.params,
                                 {"destination_id", "url", "payload",
                                  "event_type"});
  if (!m)
    return failure("params must be a JSON object", true);
  auto& dest_id = (*m)[0];
  auto& url_param = (*m)[1];
  auto& payload_param = (*m)[2];
  auto& event_param = (*m)[3];
  if (dest_id.present && dest_id.kind != "string")
    return failure("params.destination_id must be a string", true);
  if (url_param.present && url_param.kind != "string")
    return failure("params.url must be a string", true);
  if (payload_param.present && payload_param.kind != "object")
    return failure("params.payload must be a JSON object", true);
  if (event_param.present && event_param.kind != "string")
    return failure("params.event_type must be a string", true);
  std::optional<storage::webhook_destination> dest;
  std::string url;
  if (dest_id.present) {
    auto found = storage::find_webhook_destination(
      db, slug, ctx.deps.keys.get(), dest_id.text);
    if (!found)
      return failure(runtime_error_text(found.error()), false);
    if (!*found)
      return failure("webhook destination " + dest_id.text + " not found",
                     true);
    dest = std::move(**found);
    url = url_param.present ? url_param.text : dest->url;
    if (url.compare(0, dest->url.size(), dest->url) != 0)
      return failure("url " + url + " is not under destination "
                       + dest->url,
                     true);
  } else if (url_param.present) {
    url = url_param.text;
    auto found = storage::match_webhook_destination(
      db, slug, ctx.deps.keys.get(), url);
    if (!found)
      return failure(runtime_error_text(found.error()), false);
    if (!*found)
      return failure("url " + url
                       + " is not on the webhook destination allowlist",
                     true);
    dest = std::move(**found);
  } else {
    return failure("params need destination_id or url", true);
  }
  if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0)
    return failure("url must be http:// or https://", true);
  auto key = runtime::webhook_secret_key(dest->secret);
  if (!key)
    return failure("webhook destination has an unusable secret", true);
  // The payload defaults to the signal that caused the directive.
  std::string payload = payload_param.present ? payload_param.text : "";
  std::string event_type = event_param.present ? event_param.text : "";
  if ((payload.empty() || event_type.empty()) && !d.causation_id.empty()) {
    auto trigger = storage::find_trigger_signal(db, slug, d.causation_id);
    if (!trigger)
      return failure(runtime_error_text(trigger.error()), false);
    if (*trigger) {
      if (payload.empty())
        payload = (*trigger)->payload;
      if (event_type.empty())
        event_type = (*trigger)->type;
    }
  }
  if (payload.empty())
    payload = "{}";
  if (event_type.empty())
    event_type = "directive.webhook";
  auto now = std::time(nullptr);
  std::string body = "{\"type\":" + json_quote(event_type)
                     + ",\"timestamp\":" + json_quote(utc_now_rfc3339(now))
                     + ",\"data\":" + payload + "}";
  webhook_request req;
  req.url = url;
  // webhook-id is the directive id: retries carry the same id, so the
  // receiver can deduplicate.
  req.headers = {
    {"content-type", "application/json"},
    {"webhook-id", d.id},
    {"webhook-timestamp", std::to_string(static_cast<int64_t>(now))},
    {"webhook-signature",
     runtime::webhook_signature(*key, d.id, static_cast<int64_t>(now), body)},
  };
  req.body = std::move(body);
  if (!ctx.deps.post_webhook)
    return failure("no outbound HTTP client configured", true);
  auto resp = ctx.deps.post_webhook(req);
  if (resp.status == 0)
    return failure(resp.error.empty() ? "no response" : resp.error,
                   !resp.retryable);
  if (resp.status >= 200 && resp.status < 300) {
    executor_outcome out;
    out.ok = true;
    out.result = "{\"status\":" + std::to_string(resp.status)
                 + ",\"destination_id\":" + json_quote(dest->id)
                 + ",\"url\":" + json_quote(url) + "}";
    return out;
  }
  // Redirects are not followed: a 3xx is as final as a 4xx.
  bool retry = resp.status >= 500 || resp.status == 408 || resp.status == 429;
  return failure("webhook answered HTTP " + std::to_string(resp.status),
                 !retry);
}

} // namespace fp::actors::detail
