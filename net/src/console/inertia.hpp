#pragma once

// The Inertia protocol as plain functions of requests and strings: whether a
// request is an Inertia visit, which props a partial reload asks for, the
// page object, the HTML shell carrying it, and the 409 that sends a client
// with stale assets to a full reload. No I/O here.

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "fp/net/http_types.hpp"

namespace fp::net::console {

/// True for a visit made by the Inertia client (`X-Inertia: true`).
bool is_inertia(const http_request& req) noexcept;

/// True when an Inertia GET carries an asset version other than `current`:
/// the client must reload the whole page (409 + X-Inertia-Location).
bool stale_version(const http_request& req, std::string_view current) noexcept;

/// The props a partial reload of `component` asks for. `only` empty means
/// "every prop but the lazy ones"; names in `except` are left out either way.
/// Not partial (nullopt) when the request names another component or none.
struct partial_request {
  std::set<std::string, std::less<>> only;
  std::set<std::string, std::less<>> except;

  /// True when prop `name` (lazy or not) belongs in the answer.
  bool wants(std::string_view name, bool lazy) const;
};
std::optional<partial_request> partial_props(const http_request& req,
                                             std::string_view component);

/// Makes JSON text safe inside a <script> element: '<', '>' and '&' become
/// \u escapes (valid JSON wherever they occur, since they can only occur
/// inside strings).
std::string script_safe_json(std::string_view json);

/// The page object; `props_json` is an already-serialized JSON object.
std::string page_object(std::string_view component, std::string_view props_json,
                        std::string_view url, std::string_view version);

/// The HTML document of a first visit: the built entry's stylesheets and
/// module script, and the page object in
/// <script data-page="app" type="application/json">.
std::string html_shell(std::string_view page_json, std::string_view entry_js,
                       const std::vector<std::string>& css);

/// The answer to an Inertia visit or a first visit: the page object as JSON
/// (`X-Inertia: true`) or the shell; never cached, `Vary: X-Inertia`.
http_response page_response(const http_request& req, int status,
                            std::string page_json, std::string_view entry_js,
                            const std::vector<std::string>& css);

/// 409 with `X-Inertia-Location: location` (a full page load).
http_response location_response(std::string_view location);

/// 303 See Other to `location` (what Inertia expects after any form
/// method, so the browser follows with a GET).
http_response see_other(std::string_view location);

} // namespace fp::net::console
