#include "fp/net/signal_json.hpp"

#include "route_support.hpp"

namespace fp::net {

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
  detail::write_nullable(w, "dedupe_key", rec.dedupe_key);
  detail::write_nullable(w, "correlation_id", rec.correlation_id);
  detail::write_nullable(w, "causation_id", rec.causation_id);
  w.member("occurred_at", rec.occurred_at);
  w.member("recorded_at", rec.recorded_at);
  w.end_object();
}

} // namespace fp::net
