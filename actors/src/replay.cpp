#include "fp/actors/replay.hpp"

#include <algorithm>

#include "fp/actors/signal_rules.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/pg_session.hpp"

namespace fp::actors {

namespace {

using runtime::errc;
using runtime::make_error;

/// `text` as a JSON string literal.
std::string json_string(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

/// The signals chosen by `sel`, oldest first.
caf::expected<std::vector<storage::signal_record>>
select_signals(storage::pg_session& db, const tenant_ref& tenant,
               const replay_selection& sel) {
  std::vector<storage::signal_record> out;
  if (!sel.signal_id.empty()) {
    auto found = storage::get_signal(db, tenant.slug, sel.signal_id);
    if (!found)
      return std::move(found.error());
    if (!*found)
      return make_error(errc::not_found, "signal not found");
    out.push_back(std::move(**found));
    return out;
  }
  if (sel.since.empty())
    return make_error(errc::invalid_argument,
                      "choose a signal id or a start time");
  if (!is_rfc3339(sel.since))
    return make_error(errc::invalid_argument,
                      "the start time must be an RFC 3339 date-time");
  storage::signal_filter filter;
  filter.since = sel.since;
  filter.type_prefix = sel.type_prefix;
  filter.limit = storage::max_signal_page;
  while (true) {
    auto page = storage::list_signals(db, tenant.slug, filter);
    if (!page)
      return std::move(page.error());
    for (auto& rec : page->records) {
      // Replaying a replay record would only replay the replay.
      if (rec.type == signal_replayed_type)
        continue;
      out.push_back(std::move(rec));
    }
    if (out.size() > static_cast<std::size_t>(max_replay_signals))
      return make_error(errc::invalid_argument,
                        "more than " + std::to_string(max_replay_signals)
                          + " signals match; narrow the selection");
    if (page->next_before_seq == 0)
      break;
    filter.before_seq = page->next_before_seq;
  }
  // Pages come newest first; handlers should see the original order.
  std::reverse(out.begin(), out.end());
  return out;
}

} // namespace

caf::expected<replay_result>
replay_signals(storage::pg_session& db, const tenant_ref& tenant,
               const replay_selection& selection,
               const storage::signal_actor& requested_by) {
  auto chosen = select_signals(db, tenant, selection);
  if (!chosen)
    return std::move(chosen.error());
  replay_result result;
  result.correlation_id = runtime::new_uuid_v7();
  std::vector<signal_input> records;
  records.reserve(chosen->size());
  for (const auto& rec : *chosen) {
    auto jobs = enqueue_signal_handlers(db, tenant, rec, result.correlation_id,
                                        selection.agents);
    if (!jobs)
      return std::move(jobs.error());
    result.jobs_enqueued += *jobs;
    result.signals.push_back(replayed_signal{rec.id, rec.type, *jobs, {}});
    signal_input in;
    in.type = signal_replayed_type;
    in.payload = "{\"original_signal_id\":" + json_string(rec.id)
                 + ",\"original_correlation_id\":"
                 + json_string(rec.correlation_id.empty() ? rec.id
                                                          : rec.correlation_id)
                 + ",\"jobs_enqueued\":" + std::to_string(*jobs) + "}";
    in.correlation_id = result.correlation_id;
    in.causation_id = rec.id;
    records.push_back(std::move(in));
  }
  // Bounded statements: the replay records go in slices.
  constexpr std::size_t slice = 500;
  for (std::size_t first = 0; first < records.size(); first += slice) {
    auto last = std::min(records.size(), first + slice);
    std::vector<signal_input> part(records.begin() + first,
                                   records.begin() + last);
    auto emitted = emit_in_transaction(db, tenant, requested_by, part);
    if (!emitted)
      return std::move(emitted.error());
    for (std::size_t i = 0; i < emitted->size(); ++i) {
      const auto& e = (*emitted)[i];
      if (!e.error.empty())
        return make_error(errc::internal,
                          "cannot record the replay: " + e.error);
      result.signals[first + i].replay_signal_id = e.record.id;
    }
  }
  return result;
}

} // namespace fp::actors
