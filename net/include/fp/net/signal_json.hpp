#pragma once

// The JSON form of a stored signal, shared by the signal routes and the SSE
// stream so both render a signal identically.

#include "fp/net/json.hpp"
#include "fp/storage/signals.hpp"

namespace fp::net {

/// Writes `rec` as one JSON object:
/// `{"id","seq","type","payload","actor":{"kind","id","display"},
///   "dedupe_key","correlation_id","causation_id","occurred_at",
///   "recorded_at"}`; an absent dedupe key or causation id is `null`. The
/// payload is stored JSON and is inserted as is.
void write_signal(json_writer& w, const storage::signal_record& rec);

} // namespace fp::net
