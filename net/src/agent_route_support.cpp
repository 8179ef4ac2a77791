#include "agent_route_support.hpp"

#include <caf/all.hpp>

#include "fp/net/db_bridge.hpp"
#include "fp/net/signal_routes.hpp"
#include "fp/runtime/crypto.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/users.hpp"
#include "route_support.hpp"

namespace fp::net::agent_detail {

using runtime::errc;
using runtime::make_error;
using namespace std::chrono_literals;

caf::error invalid(std::string detail) {
  return make_error(errc::invalid_argument, std::move(detail));
}

caf::error unknown_member(std::string_view key) {
  return invalid("unknown member \"" + std::string{key} + "\"");
}

caf::error read_string(od::value& v, std::string_view key, std::string& out,
                       std::size_t max, bool nullable) {
  bool is_null = false;
  if (!v.is_null().get(is_null) && is_null) {
    if (!nullable)
      return invalid(std::string{key} + " must be a string");
    out.clear();
    return caf::none;
  }
  std::string_view text;
  if (v.get_string().get(text))
    return invalid(std::string{key} + " must be a string");
  if (text.size() > max)
    return invalid(std::string{key} + " is too long (at most "
                   + std::to_string(max) + " bytes)");
  out = std::string{text};
  return caf::none;
}

caf::error read_strings(od::value& v, std::string_view key,
                        std::vector<std::string>& out, std::size_t max_items) {
  out.clear();
  bool is_null = false;
  if (!v.is_null().get(is_null) && is_null)
    return caf::none;
  od::array arr;
  if (v.get_array().get(arr))
    return invalid(std::string{key} + " must be an array of strings");
  for (auto item : arr) {
    std::string_view text;
    if (item.get_string().get(text))
      return invalid(std::string{key} + " must be an array of strings");
    if (text.size() > 500)
      return invalid(std::string{key} + " holds a string that is too long");
    out.emplace_back(text);
    if (out.size() > max_items)
      return invalid(std::string{key} + " holds more than "
                     + std::to_string(max_items) + " items");
  }
  return caf::none;
}

caf::error read_int(od::value& v, std::string_view key, int64_t& out,
                    int64_t lo, int64_t hi) {
  int64_t n = 0;
  if (v.get_int64().get(n) || n < lo || n > hi)
    return invalid(std::string{key} + " must be an integer from "
                   + std::to_string(lo) + " to " + std::to_string(hi));
  out = n;
  return caf::none;
}

caf::error read_object(od::value& v, std::string_view key, std::string& out,
                       std::size_t max) {
  od::object obj;
  std::string_view raw;
  if (v.get_object().get(obj) || obj.raw_json().get(raw))
    return invalid(std::string{key} + " must be a JSON object");
  if (raw.size() > max)
    return invalid(std::string{key} + " is too large");
  out = std::string{raw};
  return caf::none;
}

std::string encode_id_cursor(std::string_view id) {
  return runtime::base64url_encode(id);
}

std::optional<std::string> decode_id_cursor(std::string_view cursor) {
  auto raw = runtime::base64url_decode(cursor);
  if (!raw || !storage::is_uuid(*raw))
    return std::nullopt;
  return raw;
}

caf::error read_id_page(const http_request& req, std::string& before_id,
                        int& limit) {
  if (auto c = req.query_param("cursor"); !c.empty()) {
    auto id = decode_id_cursor(c);
    if (!id)
      return invalid("cursor is not a cursor returned by this endpoint");
    before_id = *id;
  }
  if (auto l = req.query_param("limit"); !l.empty()) {
    auto n = detail::parse_limit(l, 200);
    if (!n)
      return invalid("limit must be an integer from 1 to 200");
    limit = *n;
  }
  return caf::none;
}

void set_initiator(const request_context& ctx, const principal& who,
                   actors::execution_request& req) {
  req.initiator = signal_actor_of(who);
  req.trace_id = ctx.trace.trace_id;
  req.initiator_role = who.org_role ? actors::to_string(*who.org_role) : "";
}

caf::expected<std::chrono::milliseconds>
parse_wait(std::string_view text, std::chrono::milliseconds request_timeout) {
  std::chrono::milliseconds wait = 30s;
  if (!text.empty()) {
    auto n = detail::parse_limit(text, 120);
    if (!n) {
      if (text == "0")
        wait = 0ms;
      else
        return invalid("wait must be an integer number of seconds from 0 "
                       "to 120");
    } else {
      wait = std::chrono::seconds{*n};
    }
  }
  // Answer before the server gives up on the request.
  auto cap = request_timeout - 1s;
  if (cap < 0ms)
    cap = 0ms;
  return std::min(wait, cap);
}

caf::expected<std::optional<execution_view>>
load_execution_view(storage::pg_session& db, std::string_view slug,
                    std::string_view id) {
  auto found = storage::find_execution(db, slug, id);
  if (!found)
    return std::move(found.error());
  if (!*found)
    return std::optional<execution_view>{};
  auto calls = storage::tool_calls_of(db, slug, id);
  if (!calls)
    return std::move(calls.error());
  return std::optional<execution_view>{
    execution_view{std::move(**found), std::move(*calls)}};
}

namespace {

struct await_state {
  std::string slug;
  std::string id;
  std::chrono::steady_clock::time_point deadline;
  std::function<void(execution_view&&)> done;
  std::function<void(caf::error&&)> fail;
};

} // namespace

void await_execution(const spine_services& spine, std::string slug,
                     std::string id, std::chrono::milliseconds wait,
                     std::function<void(execution_view&&)> done,
                     std::function<void(caf::error&&)> fail) {
  auto st = std::make_shared<await_state>();
  st->slug = std::move(slug);
  st->id = std::move(id);
  st->deadline = std::chrono::steady_clock::now() + wait;
  st->done = std::move(done);
  st->fail = std::move(fail);
  auto* sys = spine.sys;
  auto pool = spine.storage_pool;
  auto timeout = spine.timeout;
  // Hidden and bounded by the deadline: it must not hold up shutdown.
  sys->spawn<caf::hidden>([=](caf::event_based_actor* self) -> caf::behavior {
    self->send(self, tick_atom_v);
    auto me = caf::actor_cast<caf::actor>(self);
    return {
      [=](tick_atom) {
        using found_t = std::optional<execution_view>;
        run_db<found_t>(
          *sys, pool, timeout, "executions.await",
          [slug = st->slug, id = st->id](storage::pg_session& db) {
            return load_execution_view(db, slug, id);
          },
          [st, me](found_t&& e) {
            if (!e) {
              st->fail(detail::not_found("execution"));
              caf::anon_send(me, done_atom_v);
              return;
            }
            if (storage::execution_finished(e->record.status)
                || std::chrono::steady_clock::now() >= st->deadline) {
              st->done(std::move(*e));
              caf::anon_send(me, done_atom_v);
              return;
            }
            caf::delayed_anon_send(me, 100ms, tick_atom_v);
          },
          [st, me](caf::error&& err) {
            st->fail(std::move(err));
            caf::anon_send(me, done_atom_v);
          });
      },
      [self](done_atom) { self->quit(); },
    };
  });
}

void tell_reload(const spine_services& spine, const std::string& slug,
                 const std::string& agent_id) {
  if (!spine.agent_engine)
    return;
  if (auto engine = spine.agent_engine->get())
    caf::anon_send(engine, reload_atom_v, slug, agent_id);
}

void tell_cancel(const spine_services& spine, const std::string& slug,
                 const std::string& execution_id) {
  if (!spine.agent_engine)
    return;
  if (auto engine = spine.agent_engine->get())
    caf::anon_send(engine, cancel_atom_v, slug, execution_id);
}

} // namespace fp::net::agent_detail
