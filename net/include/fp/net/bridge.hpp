#pragma once

// The bridge from HTTP sessions into the actor system. io threads never
// block on actors (no scoped_actor::receive, no function_view): a short-lived
// event-based actor sends the request and runs a callback with the answer on
// a CAF worker thread; the callback only renders and hands the response to
// the responder, which posts it onto the session's strand.

#include <chrono>
#include <exception>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/spawn_options.hpp>

#include "fp/net/responder.hpp"
#include "fp/runtime/errc.hpp"

namespace fp::net {

/// Asks `target` with `args...` and calls exactly one of `on_ok(Reply&&)` or
/// `on_err(caf::error&&)` on a CAF thread. A null `target` (an actor that is
/// not running right now) gives `sec::request_receiver_down` at once, on the
/// calling thread; a dead one gives the same error from CAF; no answer within
/// `timeout` gives `sec::request_timeout`. An exception escaping `on_ok` is
/// reported to `on_err` as `errc::internal`.
template <class Reply, class Handle, class OnOk, class OnErr, class... Ts>
void ask(caf::actor_system& sys, const Handle& target,
         std::chrono::milliseconds timeout, OnOk on_ok, OnErr on_err,
         Ts... args) {
  if (!target) {
    on_err(caf::make_error(caf::sec::request_receiver_down));
    return;
  }
  // Hidden: the bridge is bounded by `timeout` and must not keep the actor
  // system's shutdown waiting.
  sys.spawn<caf::hidden>(
    [target, timeout, ok = std::move(on_ok), err = std::move(on_err),
     ... xs = std::move(args)](caf::event_based_actor* self) mutable {
      self->request(target, timeout, std::move(xs)...)
        .then(
          [ok = std::move(ok), err](Reply& reply) mutable {
            try {
              ok(std::move(reply));
            } catch (const std::exception& e) {
              err(runtime::make_error(runtime::errc::internal, e.what()));
            } catch (...) {
              err(runtime::make_error(runtime::errc::internal,
                                      "unknown exception"));
            }
          },
          [err](caf::error& e) mutable { err(std::move(e)); });
    });
}

/// `ask` for the common handler shape: renders the reply with
/// `render(Reply&&) -> http_response` and sends it through `res`; errors are
/// answered with `res->fail(err)` (problem+json via `from_error`).
template <class Reply, class Handle, class Render, class... Ts>
void ask_and_respond(caf::actor_system& sys, const Handle& target,
                     std::chrono::milliseconds timeout, responder_ptr res,
                     Render render, Ts... args) {
  auto err_res = res;
  ask<Reply>(
    sys, target, timeout,
    [res = std::move(res), render = std::move(render)](Reply&& reply) mutable {
      res->send(render(std::move(reply)));
    },
    [res = std::move(err_res)](caf::error&& err) { res->fail(err); },
    std::move(args)...);
}

} // namespace fp::net
