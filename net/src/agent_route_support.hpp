#pragma once

// Private to the agent routes: reading members of request bodies with
// errors that name the member, cursors, the caller as an initiator, and
// waiting for an execution to finish.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "fp/actors/agent_engine.hpp"
#include "fp/net/auth.hpp"
#include "fp/net/json.hpp"
#include "fp/net/responder.hpp"
#include "fp/net/spine_services.hpp"
#include "fp/storage/executions.hpp"
#include "json_body.hpp"

namespace fp::net::agent_detail {

namespace od = simdjson::ondemand;

/// The largest daily budget accepted (micro-units): far above any real one,
/// far below overflow when costs are summed.
inline constexpr int64_t max_budget_micros = int64_t{1} << 50;

/// A string member (null: "" when `nullable`).
caf::error read_string(od::value& v, std::string_view key, std::string& out,
                       std::size_t max, bool nullable = true);

/// An array of strings (null: empty).
caf::error read_strings(od::value& v, std::string_view key,
                        std::vector<std::string>& out, std::size_t max_items = 200);

/// An integer within [lo, hi].
caf::error read_int(od::value& v, std::string_view key, int64_t& out,
                    int64_t lo, int64_t hi);

/// A JSON object member, as its text.
caf::error read_object(od::value& v, std::string_view key, std::string& out,
                       std::size_t max = 256 * 1024);

/// An unknown member: 422 naming it.
caf::error unknown_member(std::string_view key);

/// errc::invalid_argument with `detail`.
caf::error invalid(std::string detail);

/// An opaque cursor for a uuid-keyed list, and back (nullopt: not one).
std::string encode_id_cursor(std::string_view id);
std::optional<std::string> decode_id_cursor(std::string_view cursor);

/// The `cursor` (into `before_id`) and `limit` (1..200, default kept) query
/// parameters of a uuid-keyed list; a 422 error naming the bad one.
caf::error read_id_page(const http_request& req, std::string& before_id,
                        int& limit);

/// A run_db callback for a page read with one row more than `limit`:
/// answers 200 {"<key>": [write(w, record)...], "next_cursor": ...}, the
/// cursor naming the last record shown when the extra row came, else null.
template <class Record, class Write>
auto id_page_to(responder_ptr res, int limit, std::string key, Write write) {
  return [res = std::move(res), limit, key = std::move(key),
          write = std::move(write)](std::vector<Record>&& list) {
    bool more = list.size() > static_cast<std::size_t>(limit);
    if (more)
      list.resize(static_cast<std::size_t>(limit));
    std::string body;
    body.reserve(list.size() * 512 + 64);
    json_writer w{body};
    w.begin_object().key(key).begin_array();
    for (auto& r : list)
      write(w, r);
    w.end_array();
    w.key("next_cursor");
    if (more)
      w.value(encode_id_cursor(list.back().id));
    else
      w.null();
    w.end_object();
    res->send(http_response::json(200, std::move(body)));
  };
}

/// The caller as the initiator of an execution (actor and role text), and
/// the request's trace as the execution's.
void set_initiator(const request_context& ctx, const principal& who,
                   actors::execution_request& req);

/// An execution with its tool calls.
struct execution_view {
  storage::execution_record record;
  std::vector<storage::tool_call_record> calls;
};

/// Execution `id` with its tool calls, nullopt when absent (run it in a
/// db task).
caf::expected<std::optional<execution_view>>
load_execution_view(storage::pg_session& db, std::string_view slug,
                    std::string_view id);

/// Polls execution `id` until it finished or `wait` passed, then calls
/// `done` with its last state (or `fail`). Never blocks a thread.
void await_execution(const spine_services& spine, std::string slug,
                     std::string id, std::chrono::milliseconds wait,
                     std::function<void(execution_view&&)> done,
                     std::function<void(caf::error&&)> fail);

/// The `wait` query parameter in seconds (default 30, max 120), capped so
/// the answer comes before the server's request timeout.
caf::expected<std::chrono::milliseconds>
parse_wait(std::string_view text, std::chrono::milliseconds request_timeout);

/// Tells the engine (when running) `(reload, slug, agent id)`.
void tell_reload(const spine_services& spine, const std::string& slug,
                 const std::string& agent_id);

/// Tells the engine (when running) `(cancel, slug, execution id)`.
void tell_cancel(const spine_services& spine, const std::string& slug,
                 const std::string& execution_id);

} // namespace fp::net::agent_detail
