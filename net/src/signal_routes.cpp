// The signal endpoints. Emits go through the signal bus (group commit): a
// 2xx is sent only after the bus answered, which it does after COMMIT.

#include "fp/net/signal_routes.hpp"

#include <charconv>

#include "fp/actors/signal_bus.hpp"
#include "fp/actors/signal_rules.hpp"
#include "fp/net/auth.hpp"
#include "fp/net/bridge.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/idempotency.hpp"
#include "fp/net/json.hpp"
#include "fp/net/problem.hpp"
#include "fp/net/signal_json.hpp"
#include "fp/runtime/crypto.hpp"
#include "fp/runtime/errc.hpp"
#include "json_body.hpp"
#include "route_support.hpp"

namespace fp::net {

namespace {

namespace od = simdjson::ondemand;
using runtime::errc;
using runtime::make_error;

// -- parsing ------------------------------------------------------------------

/// Reads an optional string member (null counts as absent).
std::string optional_string(od::value v, std::string_view name,
                            std::string& out) {
  bool is_null = false;
  if (!v.is_null().get(is_null) && is_null)
    return {};
  std::string_view text;
  if (v.get_string().get(text))
    return std::string{name} + " must be a string";
  out = std::string{text};
  return {};
}

/// Parses one signal object; returns the first shape error ("" when fine).
std::string parse_item(od::value v, actors::signal_input& item) {
  od::object obj;
  if (v.get_object().get(obj))
    return "each signal must be a JSON object";
  std::string error;
  bool has_type = false;
  auto note = [&error](std::string e) {
    if (error.empty())
      error = std::move(e);
  };
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) {
      note("unreadable member name");
      continue;
    }
    od::value val;
    if (field.value().get(val)) {
      note("unreadable member value");
      continue;
    }
    if (key == "type") {
      std::string_view text;
      if (val.get_string().get(text))
        note("type must be a string");
      else
        item.type = std::string{text}, has_type = true;
    } else if (key == "payload") {
      od::object pobj;
      std::string_view raw;
      if (val.get_object().get(pobj) || pobj.raw_json().get(raw))
        note("payload must be a JSON object");
      else
        item.payload = std::string{raw};
    } else if (key == "dedupe_key") {
      note(optional_string(val, key, item.dedupe_key));
    } else if (key == "correlation_id") {
      note(optional_string(val, key, item.correlation_id));
    } else if (key == "causation_id") {
      note(optional_string(val, key, item.causation_id));
    } else if (key == "occurred_at") {
      note(optional_string(val, key, item.occurred_at));
    } else if (key == "actor") {
      note("actor must not be given: it is the authenticated caller");
    }
  }
  if (error.empty() && !has_type)
    error = "missing member \"type\"";
  return error;
}

caf::error parse_array(od::array arr, std::size_t limit, signal_post& out) {
  for (auto element : arr) {
    if (out.items.size() >= limit)
      return make_error(errc::payload_too_large,
                        "at most " + std::to_string(limit)
                          + " signals per request");
    od::value v;
    out.items.emplace_back();
    if (element.get(v))
      out.shape_errors.emplace_back("unreadable signal");
    else
      out.shape_errors.push_back(parse_item(v, out.items.back()));
  }
  if (out.items.empty())
    return make_error(errc::invalid_argument, "the batch holds no signals");
  return caf::none;
}

// -- rendering ------------------------------------------------------------------

void write_item_error(json_writer& w, std::size_t index,
                      const std::string& reason) {
  w.begin_object()
    .member("index", static_cast<uint64_t>(index))
    .member("detail", reason)
    .end_object();
}

/// The answer to a POST once the bus replied (`results[i]` belongs to
/// `post.items[sent[i]]`).
http_response render_post(const request_context& ctx, const signal_post& post,
                          const std::vector<std::size_t>& sent,
                          const std::vector<actors::emit_result>& results) {
  auto n = post.items.size();
  std::vector<const actors::emit_result*> by_item(n, nullptr);
  for (std::size_t k = 0; k < sent.size() && k < results.size(); ++k)
    by_item[sent[k]] = &results[k];
  auto reason_of = [&](std::size_t i) -> std::string {
    if (!post.shape_errors[i].empty())
      return post.shape_errors[i];
    if (!by_item[i])
      return "not processed";
    return by_item[i]->error;
  };
  std::size_t created = 0, duplicates = 0, rejected = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!reason_of(i).empty())
      ++rejected;
    else if (by_item[i]->created)
      ++created;
    else
      ++duplicates;
  }
  if (rejected == n) {
    auto detail = n == 1 ? reason_of(0)
                         : "no signal was accepted: "
                             + std::to_string(rejected)
                             + " invalid (see errors)";
    return problem(ctx, 422, "Invalid signal", std::move(detail),
                   [&](json_writer& w) {
                     w.key("errors").begin_array();
                     for (std::size_t i = 0; i < n; ++i)
                       write_item_error(w, i, reason_of(i));
                     w.end_array();
                   });
  }
  std::string body;
  json_writer w{body};
  if (!post.batch) {
    auto& r = *by_item[0];
    write_signal(w, r.record);
    auto resp = http_response::json(r.created ? 201 : 200, std::move(body));
    if (r.created)
      resp.set_header("Location", "/api/v1/signals/" + r.record.id);
    return resp;
  }
  body.reserve(n * 400);
  w.begin_object();
  w.member("created", static_cast<uint64_t>(created));
  w.member("duplicates", static_cast<uint64_t>(duplicates));
  w.member("rejected", static_cast<uint64_t>(rejected));
  w.key("results").begin_array();
  for (std::size_t i = 0; i < n; ++i) {
    w.begin_object().member("index", static_cast<uint64_t>(i));
    auto reason = reason_of(i);
    if (!reason.empty()) {
      w.member("status", "rejected").member("error", reason);
    } else {
      w.member("status", by_item[i]->created ? "created" : "duplicate");
      w.key("signal");
      write_signal(w, by_item[i]->record);
    }
    w.end_object();
  }
  w.end_array().end_object();
  return http_response::json(rejected == 0 && duplicates == 0 ? 201 : 200,
                             std::move(body));
}

route_doc doc(std::string summary, std::string description, int status = 200,
              bool json_body = false) {
  auto d = detail::auth_doc(std::move(summary), "signals", status, json_body);
  d.description = std::move(description);
  return d;
}

// -- handlers ---------------------------------------------------------------------

void post_signals(const spine_services& spine, const request_context& ctx,
                  const responder_ptr& res, const principal& who) {
  auto post = parse_signal_post(ctx.request, spine.settings->signal_batch_limit);
  if (!post) {
    res->fail(post.error());
    return;
  }
  auto shared = std::make_shared<signal_post>(std::move(*post));
  auto batch = std::make_shared<actors::emit_batch>();
  batch->tenant = detail::tenant_of(who);
  batch->actor = signal_actor_of(who);
  // Leave the bus a margin to answer before the bridge gives up.
  batch->deadline = std::chrono::steady_clock::now() + spine.timeout * 3 / 4;
  auto sent = std::make_shared<std::vector<std::size_t>>();
  for (std::size_t i = 0; i < shared->items.size(); ++i) {
    if (!shared->shape_errors[i].empty())
      continue;
    sent->push_back(i);
    batch->items.push_back(std::move(shared->items[i]));
  }
  if (sent->empty()) {
    res->send(render_post(ctx, *shared, *sent, {}));
    return;
  }
  auto bus = spine.signal_bus
               ? spine.signal_bus->get_as<actors::signal_bus_actor>()
               : actors::signal_bus_actor{};
  ask<actors::signal_emit_reply>(
    *spine.sys, bus, spine.timeout,
    [res, shared, sent](actors::signal_emit_reply&& reply) {
      static const std::vector<actors::emit_result> none;
      res->send(render_post(res->context(), *shared, *sent,
                            reply.results ? *reply.results : none));
    },
    detail::fail_to(res), emit_atom_v,
    actors::signal_emit_request{std::move(batch)});
}

void list_signals_handler(const spine_services& spine,
                          const request_context& ctx, const responder_ptr& res,
                          const principal& who) {
  auto filter = parse_signal_query(ctx.request);
  if (!filter) {
    res->fail(filter.error());
    return;
  }
  run_db<storage::signal_page>(
    *spine.sys, spine.storage_pool, spine.timeout, "signals.list",
    [slug = who.org_slug, f = std::move(*filter)](storage::pg_session& db) {
      return storage::list_signals(db, slug, f);
    },
    [res](storage::signal_page&& page) {
      std::string body;
      body.reserve(page.records.size() * 400 + 64);
      json_writer w{body};
      w.begin_object().key("signals").begin_array();
      for (auto& s : page.records)
        write_signal(w, s);
      w.end_array();
      detail::write_nullable(w, "next_cursor",
                             page.next_before_seq > 0
                               ? encode_signal_cursor(page.next_before_seq)
                               : std::string{});
      w.end_object();
      res->send(http_response::json(200, std::move(body)));
    },
    detail::fail_to(res));
}

void get_signal_handler(const spine_services& spine,
                        const request_context& ctx, const responder_ptr& res,
                        const principal& who) {
  using found_t = std::optional<storage::signal_record>;
  run_db<found_t>(
    *spine.sys, spine.storage_pool, spine.timeout, "signals.get",
    [slug = who.org_slug, id = std::string{ctx.param("id")}](
      storage::pg_session& db) { return storage::get_signal(db, slug, id); },
    detail::found_or_404(res, "signal",
                         [](const responder_ptr& out,
                            const storage::signal_record& rec) {
                           std::string body;
                           json_writer w{body};
                           write_signal(w, rec);
                           out->send(http_response::json(200, std::move(body)));
                         }),
    detail::fail_to(res));
}

} // namespace

// -- plain functions ----------------------------------------------------------------

caf::expected<signal_post> parse_signal_post(const http_request& req,
                                             std::size_t batch_limit) {
  json_body body;
  if (auto err = body.parse(req))
    return err;
  auto& doc = body.doc();
  od::json_type type;
  if (doc.type().get(type))
    return make_error(errc::bad_request, "unreadable JSON body");
  signal_post out;
  if (type == od::json_type::array) {
    out.batch = true;
    od::array arr;
    if (doc.get_array().get(arr))
      return make_error(errc::bad_request, "unreadable JSON array");
    if (auto err = parse_array(arr, batch_limit, out))
      return err;
    return out;
  }
  if (type != od::json_type::object)
    return make_error(errc::invalid_argument,
                      "expected a signal object, {\"signals\":[...]} or an "
                      "array of signals");
  od::object obj;
  if (doc.get_object().get(obj))
    return make_error(errc::bad_request, "unreadable JSON object");
  auto wrapped = obj.find_field_unordered("signals");
  if (wrapped.error() == simdjson::SUCCESS) {
    out.batch = true;
    od::array arr;
    if (wrapped.get_array().get(arr))
      return make_error(errc::invalid_argument, "\"signals\" must be an array");
    if (auto err = parse_array(arr, batch_limit, out))
      return err;
    return out;
  }
  // One signal: read the object again from its start.
  doc.rewind();
  od::value whole;
  if (doc.get_value().get(whole))
    return make_error(errc::bad_request, "unreadable JSON object");
  out.items.emplace_back();
  out.shape_errors.push_back(parse_item(whole, out.items.back()));
  return out;
}

storage::signal_actor signal_actor_of(const principal& who) {
  storage::signal_actor a;
  if (who.how == principal::via::api_key) {
    a.kind = "integration";
    a.id = who.api_key_id;
    a.display = who.email.empty() ? std::string{"API key"}
                                  : "API key of " + who.email;
  } else {
    a.kind = "human";
    a.id = who.user_id;
    a.display = who.email;
  }
  return a;
}

std::string encode_signal_cursor(int64_t seq) {
  return runtime::base64url_encode("s:" + std::to_string(seq));
}

std::optional<int64_t> decode_signal_cursor(std::string_view cursor) {
  auto raw = runtime::base64url_decode(cursor);
  if (!raw || raw->size() < 3 || raw->compare(0, 2, "s:") != 0)
    return std::nullopt;
  int64_t seq = 0;
  auto first = raw->data() + 2;
  auto last = raw->data() + raw->size();
  auto [end, ec] = std::from_chars(first, last, seq);
  if (ec != std::errc{} || end != last || seq <= 0)
    return std::nullopt;
  return seq;
}

caf::expected<storage::signal_filter>
parse_signal_query(const http_request& req) {
  storage::signal_filter f;
  auto bad = [](std::string why) {
    return make_error(errc::invalid_argument, std::move(why));
  };
  f.type_prefix = req.query_param("type");
  if (auto e = actors::type_prefix_error(f.type_prefix); !e.empty())
    return bad(e);
  f.actor_id = req.query_param("actor");
  if (auto e = actors::opaque_id_error(f.actor_id, "actor"); !e.empty())
    return bad(e);
  f.actor_kind = req.query_param("actor_kind");
  if (!f.actor_kind.empty() && f.actor_kind != "human"
      && f.actor_kind != "agent" && f.actor_kind != "system"
      && f.actor_kind != "integration")
    return bad("actor_kind must be human, agent, system or integration");
  f.correlation_id = req.query_param("correlation_id");
  if (auto e = actors::opaque_id_error(f.correlation_id, "correlation_id");
      !e.empty())
    return bad(e);
  f.since = req.query_param("since");
  if (!f.since.empty())
    if (auto e = actors::rfc3339_error(f.since, "since"); !e.empty())
      return bad(e);
  f.until = req.query_param("until");
  if (!f.until.empty())
    if (auto e = actors::rfc3339_error(f.until, "until"); !e.empty())
      return bad(e);
  auto cursor = req.query_param("cursor");
  if (!cursor.empty()) {
    auto seq = decode_signal_cursor(cursor);
    if (!seq)
      return bad("cursor is not a cursor returned by this endpoint");
    f.before_seq = *seq;
  }
  auto limit = req.query_param("limit");
  if (!limit.empty()) {
    auto n = detail::parse_limit(limit, storage::max_signal_page);
    if (!n)
      return bad("limit must be an integer from 1 to "
                 + std::to_string(storage::max_signal_page));
    f.limit = *n;
  }
  return f;
}

void add_signal_routes(router& r, const spine_services& spine) {
  using actors::action;
  auto post_doc = doc(
    "Emits one signal or a batch; answered after COMMIT.",
    "Body: one signal {type, payload, dedupe_key?, correlation_id?, "
    "causation_id?, occurred_at?}, {\"signals\": [...]} or an array, at most "
    "signal-batch-limit signals. The actor is the caller (an `actor` member "
    "is refused). One signal: 201 created, 200 duplicate (the original, same "
    "dedupe_key), 422 invalid. A batch: 201 when every signal was created, "
    "200 otherwise, with per-item results {index, status: "
    "created|duplicate|rejected, signal|error}; 422 problem+json with an "
    "`errors` array when no signal was accepted. Idempotency-Key honoured.",
    201, true);
  r.add("POST", "/api/v1/signals",
        detail::tenant_route(spine.auth, action::tenant_write,
                     idempotent(spine, [spine](const request_context& ctx,
                                               const responder_ptr& res,
                                               principal who) {
                       post_signals(spine, ctx, res, who);
                     })),
        std::move(post_doc));
  r.add("GET", "/api/v1/signals",
        detail::tenant_route(spine.auth, action::tenant_read,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       list_signals_handler(spine, ctx, res, who);
                     }),
        doc("Lists signals, newest first.",
            "Filters: type (prefix), actor (id), actor_kind, correlation_id, "
            "since / until (RFC 3339, on occurred_at). Pages of `limit` "
            "(1..500, default 50); pass `next_cursor` as `cursor` for the "
            "next page (null on the last)."));
  r.add("GET", "/api/v1/signals/{id}",
        detail::tenant_route(spine.auth, action::tenant_read,
                     [spine](const request_context& ctx,
                             const responder_ptr& res, principal who) {
                       get_signal_handler(spine, ctx, res, who);
                     }),
        doc("One signal of the caller's organization.", ""));
  add_subscription_routes(r, spine);
}

} // namespace fp::net
