#include "fp/net/signal_json.hpp"

namespace fp::net {

namespace {

void member_or_null(json_writer& w, std::string_view name,
                    const std::string& value) {
  w.key(name);
  if (value.empty())
    w.null();
  else
    w.value(value);
}

} // namespace

void write_signal(json_writer& w, const storage::signal_record& rec) {
  w.begin_object();
  w.member("id", rec.id);
  w.member("seq", rec.seq);
  w.member("type", rec.type);
  w.key("payload").raw(rec.payload.empty() ? std::string_view{"{}"}
                                           : std::string_view{rec.payload});
  w.key("actor").begin_object();
  w.member("kind", rec.actor.kind);
  w.member("id", rec.actor.id);
  w.member("display", rec.actor.display);
  w.end_object();
  member_or_null(w, "dedupe_key", rec.dedupe_key);
  member_or_null(w, "correlation_id", rec.correlation_id);
  member_or_null(w, "causation_id", rec.causation_id);
  w.member("occurred_at", rec.occurred_at);
  w.member("recorded_at", rec.recorded_at);
  w.end_object();
}

} // namespace fp::net
