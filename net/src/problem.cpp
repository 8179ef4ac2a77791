#include "fp/net/problem.hpp"

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/sec.hpp>

#include "fp/net/json.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/errc.hpp"

namespace fp::net {

namespace {

namespace log = runtime::log;
using runtime::errc;

bool is_sec(const caf::error& err) noexcept {
  return err.category() == caf::atom("system");
}

bool is_runtime(const caf::error& err) noexcept {
  return err.category() == caf::atom("fp");
}

int status_of_runtime(errc code) noexcept {
  switch (code) {
    case errc::invalid_argument: return 422;
    case errc::bad_request: return 400;
    case errc::unauthorized: return 401;
    case errc::forbidden: return 403;
    case errc::not_found: return 404;
    case errc::conflict: return 409;
    case errc::payload_too_large: return 413;
    case errc::unsupported_media: return 415;
    case errc::rate_limited: return 429;
    case errc::unavailable: return 503;
    case errc::overloaded: return 503;
    case errc::timeout: return 504;
    case errc::none:
    case errc::internal: return 500;
  }
  return 500;
}

int status_of_storage(storage::errc code) noexcept {
  switch (code) {
    case storage::errc::unavailable:
    case storage::errc::overloaded:
    case storage::errc::serialization_failure: return 503;
    case storage::errc::unique_violation: return 409;
    case storage::errc::statement_timeout: return 504;
    default: return 500;
  }
}

// Public wording for server-side failures: what happened in terms a client
// can act on, never the internal cause.
const char* server_detail(int status) noexcept {
  switch (status) {
    case 503: return "the service is temporarily unavailable; retry later";
    case 504: return "the request took too long to complete";
    default:
      return "an internal error occurred; quote the request_id when "
             "reporting it";
  }
}

// Seconds a client should wait before retrying a 503.
const char* retry_after(const caf::error& err) noexcept {
  if (is_runtime(err) && runtime::code_of(err) == errc::overloaded)
    return "1";
  if (storage::is_storage_error(err)) {
    auto code = storage::code_of(err);
    if (code == storage::errc::overloaded
        || code == storage::errc::serialization_failure)
      return "1";
  }
  return "5";
}

} // namespace

http_response to_response(const problem_details& p) {
  http_response res;
  res.status = p.status;
  res.content_type = problem_media_type;
  res.body.reserve(192 + p.detail.size());
  json_writer w{res.body};
  w.begin_object();
  w.member("type", p.type.empty() ? std::string_view{"about:blank"}
                                  : std::string_view{p.type});
  w.member("title", p.title.empty() ? std::string_view{reason_phrase(p.status)}
                                    : std::string_view{p.title});
  w.member("status", p.status);
  if (!p.detail.empty())
    w.member("detail", p.detail);
  if (!p.instance.empty())
    w.member("instance", p.instance);
  if (!p.request_id.empty())
    w.member("request_id", p.request_id);
  if (p.extra)
    p.extra(w);
  w.end_object();
  return res;
}

http_response problem(int status, std::string title, std::string detail,
                      problem_extra extra) {
  problem_details p;
  p.status = status;
  p.title = std::move(title);
  p.detail = std::move(detail);
  p.extra = std::move(extra);
  return to_response(p);
}

http_response problem(const request_context& ctx, int status,
                      std::string title, std::string detail,
                      problem_extra extra) {
  problem_details p;
  p.status = status;
  p.title = std::move(title);
  p.detail = std::move(detail);
  p.instance = ctx.request.path;
  p.request_id = ctx.request_id;
  p.extra = std::move(extra);
  return to_response(p);
}

int status_of(const caf::error& err) noexcept {
  if (!err)
    return 500;
  if (is_runtime(err))
    return status_of_runtime(runtime::code_of(err));
  if (storage::is_storage_error(err))
    return status_of_storage(storage::code_of(err));
  if (is_sec(err)) {
    switch (static_cast<caf::sec>(err.code())) {
      case caf::sec::request_timeout: return 504;
      case caf::sec::request_receiver_down: return 503;
      default: return 500;
    }
  }
  return 500;
}

http_response from_error(const caf::error& err, const request_context& ctx) {
  auto status = status_of(err);
  problem_details p;
  p.status = status;
  p.instance = ctx.request.path;
  p.request_id = ctx.request_id;
  if (status < 500) {
    // Client errors explain themselves: the context was written for the
    // caller (e.g. "name must not be empty").
    if (is_runtime(err))
      p.detail = runtime::context_of(err);
  } else {
    p.detail = server_detail(status);
    auto text = caf::to_string(err);
    auto lvl = status == 500 ? log::level::error : log::level::warn;
    if (log::enabled(lvl))
      log::write(lvl, "request failed",
                 {{"request_id", ctx.request_id},
                  {"route", ctx.route},
                  {"status", status},
                  {"error", text}});
  }
  auto res = to_response(p);
  if (status == 401)
    res.set_header("WWW-Authenticate", "Bearer realm=\"fleetprompt\"");
  else if (status == 503)
    res.set_header("Retry-After", retry_after(err));
  return res;
}

} // namespace fp::net
