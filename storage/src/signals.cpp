#include "fp/storage/signals.hpp"

#include <algorithm>
#include <unordered_map>

#include "fp/runtime/errc.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/users.hpp"
#include "pg_array.hpp"
#include "signals_sql.hpp"
#include "sql_text.hpp"

namespace fp::storage {

namespace {

// First key of the two-key advisory lock ("SIGS"): keeps the emit locks
// apart from any other advisory lock of the application.
constexpr const char* emit_lock_class = "1397311315";

/// The columns of a signal_record, for `table_alias` ("" for none).
std::string record_columns(std::string_view alias = {}) {
  std::string a = alias.empty() ? std::string{} : std::string{alias} + ".";
  return a + "id::text, " + a + "seq, " + a + "type, " + a + "payload::text, "
         + a + "actor_kind, " + a + "actor_id, " + a + "actor_display, "
         + "coalesce(" + a + "dedupe_key, ''), " + a + "correlation_id, "
         + "coalesce(" + a + "causation_id, ''), "
         + detail::rfc3339_us(a + "occurred_at") + ", "
         + detail::rfc3339_us(a + "recorded_at");
}

/// `record_columns("s")` for the RETURNING of the insert: recorded_at is
/// now() for every row, and occurred_at usually is, so that text is
/// formatted once per statement instead of twice per row.
std::string returned_columns() {
  auto now_text = "(SELECT " + detail::rfc3339_us("now()") + ")";
  auto ts = [&](const char* column) {
    return std::string{"CASE WHEN s."} + column + " = now() THEN " + now_text
           + " ELSE " + detail::rfc3339_us(std::string{"s."} + column)
           + " END";
  };
  return "s.id::text, s.seq, s.type, s.payload::text, s.actor_kind, "
         "s.actor_id, s.actor_display, coalesce(s.dedupe_key, '') AS dedupe_key, "
         "s.correlation_id, coalesce(s.causation_id, ''), "
         + ts("occurred_at") + ", " + ts("recorded_at");
}

signal_record read_record(const result& r, int row, int first = 0) {
  signal_record s;
  s.id = r.text(row, first + 0);
  s.seq = r.int64(row, first + 1);
  s.type = r.text(row, first + 2);
  s.payload = r.text(row, first + 3);
  s.actor.kind = r.text(row, first + 4);
  s.actor.id = r.text(row, first + 5);
  s.actor.display = r.text(row, first + 6);
  s.dedupe_key = r.text(row, first + 7);
  s.correlation_id = r.text(row, first + 8);
  s.causation_id = r.text(row, first + 9);
  s.occurred_at = r.text(row, first + 10);
  s.recorded_at = r.text(row, first + 11);
  return s;
}

/// `dedupe`: some rows carry a dedupe key. Without one no row can conflict,
/// and leaving out ON CONFLICT spares every row a speculative insertion.
std::string insert_sql(const std::string& schema, bool dedupe) {
  // One statement per batch: the rows arrive as parallel arrays. seq is the
  // table's maximum plus the row's position; this statement's snapshot is
  // taken after the emit lock was granted, so the maximum is current. The
  // second branch returns the originals of duplicate dedupe keys: rows
  // inserted by `ins` are invisible to it (same snapshot), so it sees only
  // signals that existed before. It probes the unique index once per key
  // that `ins` did not insert (LATERAL ... LIMIT 1; the keys it inserted
  // are set aside by a hash anti-join, cheaper than their probes):
  // `dedupe_key = ANY($12)` let the cached generic plan, made while the
  // table was empty, scan the whole table per batch. The NOTIFY runs only
  // when `ins` produced a row (the scalar subquery is evaluated on the
  // first one).
  return "WITH v AS ("
         " SELECT u.*, m.base + u.ord AS seq FROM unnest($1::uuid[], "
         "$2::text[], $3::jsonb[], $4::text[], $5::text[], $6::text[], "
         "$7::text[], $8::text[], $9::text[], $10::timestamptz[]) WITH "
         "ORDINALITY AS u(id, type, payload, actor_kind, actor_id, "
         "actor_display, dedupe_key, correlation_id, causation_id, "
         "occurred_at, ord), (SELECT coalesce(max(seq), 0) AS base FROM "
         + schema
         + ".signals) m),"
           " ins AS (INSERT INTO "
         + schema
         + ".signals AS s (id, seq, type, payload, actor_kind, actor_id, "
           "actor_display, dedupe_key, correlation_id, causation_id, "
           "occurred_at) SELECT id, seq, type, payload, actor_kind, actor_id, "
           "actor_display, dedupe_key, coalesce(correlation_id, id::text), "
           "causation_id, coalesce(occurred_at, now()) FROM v ORDER BY ord "
         + (dedupe ? "ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL "
                     "DO NOTHING "
                   : "")
         + "RETURNING "
         + returned_columns()
         + "),"
           " note AS (SELECT pg_notify('"
         + std::string{signals_channel}
         + "', $11 || ':' || max(seq)) AS n FROM ins HAVING count(*) > 0) "
           "SELECT true, ins.*, (SELECT count(*) FROM note) FROM ins "
           "UNION ALL SELECT false, "
         + record_columns("o") + ", 0 FROM (SELECT key FROM "
           "unnest($12::text[]) AS k(key) WHERE NOT EXISTS (SELECT 1 FROM ins "
           "WHERE ins.dedupe_key = k.key)) k CROSS JOIN LATERAL (SELECT * FROM " + schema
         + ".signals x WHERE x.dedupe_key = k.key LIMIT 1) o";
}

std::string upper_bound_of(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff)
    prefix.pop_back();
  if (!prefix.empty())
    prefix.back() = static_cast<char>(
      static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

std::string like_prefix(std::string_view prefix) {
  std::string out;
  out.reserve(prefix.size() + 2);
  for (char c : prefix) {
    if (c == '\\' || c == '%' || c == '_')
      out += '\\';
    out += c;
  }
  out += '%';
  return out;
}

} // namespace

namespace detail {

std::string quoted_schema_of(std::string_view slug) {
  bool ok = !slug.empty() && slug.size() <= 48 && slug[0] >= 'a'
            && slug[0] <= 'z';
  for (char c : slug)
    ok = ok
         && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!ok)
    return {};
  std::string out;
  out.reserve(slug.size() + 6);
  out += "\"org_";
  out += slug;
  out += '"';
  return out;
}

} // namespace detail

// -- writing ------------------------------------------------------------------

caf::expected<std::vector<inserted_signal>>
insert_signals(pg_session& db, std::string_view slug,
               const std::vector<new_signal>& items) {
  auto schema = detail::quoted_schema_of(slug);
  if (schema.empty())
    return detail::not_a_slug();
  std::vector<inserted_signal> out(items.size());
  if (items.empty())
    return out;
  // Repeated dedupe keys inside the batch resolve to their first item, so
  // only first occurrences are sent.
  std::unordered_map<std::string_view, std::size_t> first_by_key;
  std::vector<std::size_t> alias_of(items.size(), SIZE_MAX);
  // Binary arrays: the INSERT runs under the tenant's emit lock, and
  // parsing text array literals (unescaping every quote of every JSON
  // payload) was a seventh of it. Times stay text (PostgreSQL parses
  // RFC 3339 for us); most are NULL.
  using detail::binary_array;
  binary_array ids{detail::uuid_oid}, types{detail::text_oid},
    payloads{detail::jsonb_oid}, kinds{detail::text_oid},
    actor_ids{detail::text_oid}, displays{detail::text_oid},
    keys{detail::text_oid}, correlations{detail::text_oid},
    causations{detail::text_oid}, lookup_keys{detail::text_oid};
  detail::array_builder occurred;
  std::size_t sent = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto& it = items[i];
    if (!it.dedupe_key.empty()) {
      auto [pos, fresh] = first_by_key.emplace(it.dedupe_key, i);
      if (!fresh) {
        alias_of[i] = pos->second;
        continue;
      }
      keys.add_text(it.dedupe_key);
      lookup_keys.add_text(it.dedupe_key);
    } else {
      keys.add_null();
    }
    ++sent;
    if (!ids.add_uuid(it.id))
      return runtime::make_error(runtime::errc::invalid_argument,
                                 "a signal id is not a uuid");
    types.add_text(it.type);
    payloads.add_jsonb(it.payload.empty() ? std::string_view{"{}"}
                                          : std::string_view{it.payload});
    kinds.add_text(it.actor.kind);
    actor_ids.add_text(it.actor.id);
    displays.add_text(it.actor.display);
    if (it.correlation_id.empty())
      correlations.add_null();
    else
      correlations.add_text(it.correlation_id);
    if (it.causation_id.empty())
      causations.add_null();
    else
      causations.add_text(it.causation_id);
    if (it.occurred_at.empty())
      occurred.add_null();
    else
      occurred.add(it.occurred_at);
  }
  auto lock = db.exec_prepared(
    "signals.lock",
    std::string{"SELECT pg_advisory_xact_lock("} + emit_lock_class
      + ", hashtext($1))",
    {"org_" + std::string{slug}});
  if (!lock)
    return std::move(lock.error());
  bool dedupe = !first_by_key.empty();
  auto r = db.exec_prepared(
    (dedupe ? "signals.insert_dedupe." : "signals.insert.") + std::string{slug},
    insert_sql(schema, dedupe),
    {ids.finish(), types.finish(), payloads.finish(), kinds.finish(),
     actor_ids.finish(), displays.finish(), keys.finish(),
     correlations.finish(), causations.finish(), occurred.finish(),
     std::string{slug}, lookup_keys.finish()},
    {true, true, true, true, true, true, true, true, true, false, false, true});
  if (!r)
    return std::move(r.error());
  std::unordered_map<std::string, std::size_t> index_by_id;
  index_by_id.reserve(sent);
  for (std::size_t i = 0; i < items.size(); ++i)
    if (alias_of[i] == SIZE_MAX)
      index_by_id.emplace(items[i].id, i);
  std::vector<bool> done(items.size(), false);
  for (int row = 0; row < r->rows(); ++row) {
    bool created = r->boolean(row, 0);
    auto rec = read_record(*r, row, 1);
    std::size_t idx = SIZE_MAX;
    if (created) {
      if (auto hit = index_by_id.find(rec.id); hit != index_by_id.end())
        idx = hit->second;
    } else if (auto hit = first_by_key.find(rec.dedupe_key);
               hit != first_by_key.end()) {
      idx = hit->second;
      // An original found although this item was inserted cannot happen
      // (the key was free); keep the inserted row if it does.
      if (done[idx])
        continue;
    }
    if (idx == SIZE_MAX)
      continue;
    out[idx].record = std::move(rec);
    out[idx].created = created;
    done[idx] = true;
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (alias_of[i] != SIZE_MAX) {
      out[i].record = out[alias_of[i]].record;
      out[i].created = false;
    } else if (!done[i]) {
      return runtime::make_error(runtime::errc::internal,
                                 "a signal was neither inserted nor found");
    }
  }
  return out;
}

// -- reading ------------------------------------------------------------------

caf::expected<signal_page> list_signals(pg_session& db, std::string_view slug,
                                        const signal_filter& f) {
  auto schema = detail::quoted_schema_of(slug);
  if (schema.empty())
    return detail::not_a_slug();
  int limit = std::clamp(f.limit, 1, max_signal_page);
  sql_params params;
  std::string where;
  auto cond = [&](std::string text, std::string value) {
    params.emplace_back(std::move(value));
    auto n = "$" + std::to_string(params.size());
    auto pos = text.find('?');
    text.replace(pos, 1, n);
    where += where.empty() ? " WHERE " : " AND ";
    where += text;
  };
  if (!f.type_prefix.empty()) {
    cond("type ~>=~ ?", f.type_prefix);
    auto upper = upper_bound_of(f.type_prefix);
    if (!upper.empty())
      cond("type ~<~ ?", upper);
  }
  if (!f.actor_id.empty())
    cond("actor_id = ?", f.actor_id);
  if (!f.actor_kind.empty())
    cond("actor_kind = ?", f.actor_kind);
  if (!f.correlation_id.empty())
    cond("correlation_id = ?", f.correlation_id);
  if (!f.since.empty())
    cond("occurred_at >= ?::timestamptz", f.since);
  if (!f.until.empty())
    cond("occurred_at < ?::timestamptz", f.until);
  if (f.before_seq > 0)
    cond("seq < ?::bigint", std::to_string(f.before_seq));
  auto r = db.exec("SELECT " + record_columns() + " FROM " + schema
                     + ".signals" + where + " ORDER BY seq DESC LIMIT "
                     + std::to_string(limit + 1),
                   std::move(params));
  if (!r)
    return std::move(r.error());
  signal_page page;
  int n = std::min(r->rows(), limit);
  page.records.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    page.records.push_back(read_record(*r, i));
  if (r->rows() > limit && !page.records.empty())
    page.next_before_seq = page.records.back().seq;
  return page;
}

caf::expected<std::optional<signal_record>>
get_signal(pg_session& db, std::string_view slug, std::string_view id) {
  auto schema = detail::quoted_schema_of(slug);
  if (schema.empty())
    return detail::not_a_slug();
  if (!is_uuid(id))
    return std::optional<signal_record>{};
  auto r = db.exec_prepared("signals.get." + std::string{slug},
                            "SELECT " + record_columns() + " FROM " + schema
                              + ".signals WHERE id = $1::uuid",
                            {std::string{id}});
  return detail::first_row(std::move(r), [](const result& res, int row) {
    return read_record(res, row);
  });
}

// -- following ------------------------------------------------------------------

caf::expected<std::vector<signal_record>>
signals_after(pg_session& db, std::string_view slug, int64_t after_seq,
              int limit, const std::vector<std::string>& type_prefixes) {
  auto schema = detail::quoted_schema_of(slug);
  if (schema.empty())
    return detail::not_a_slug();
  std::vector<std::string> patterns;
  patterns.reserve(type_prefixes.size());
  for (auto& p : type_prefixes)
    patterns.push_back(like_prefix(p));
  auto r = db.exec_prepared(
    "signals.after." + std::string{slug},
    "SELECT " + record_columns() + " FROM " + schema
      + ".signals WHERE seq > $1::bigint AND (cardinality($3::text[]) = 0 "
        "OR type LIKE ANY ($3::text[])) ORDER BY seq LIMIT $2::int",
    {std::to_string(after_seq), std::to_string(std::max(limit, 0)),
     detail::text_array(patterns)});
  if (!r)
    return std::move(r.error());
  std::vector<signal_record> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(read_record(*r, i));
  return out;
}

caf::expected<std::optional<int64_t>>
signal_seq(pg_session& db, std::string_view slug, std::string_view id) {
  auto schema = detail::quoted_schema_of(slug);
  if (schema.empty())
    return detail::not_a_slug();
  if (!is_uuid(id))
    return std::optional<int64_t>{};
  auto r = db.exec_prepared("signals.seq." + std::string{slug},
                            "SELECT seq FROM " + schema
                              + ".signals WHERE id = $1::uuid",
                            {std::string{id}});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return std::optional<int64_t>{};
  return std::optional<int64_t>{r->int64(0, 0)};
}

caf::expected<int64_t> last_signal_seq(pg_session& db, std::string_view slug) {
  auto schema = detail::quoted_schema_of(slug);
  if (schema.empty())
    return detail::not_a_slug();
  auto r = db.exec_prepared("signals.last_seq." + std::string{slug},
                            "SELECT coalesce(max(seq), 0) FROM " + schema
                              + ".signals");
  if (!r)
    return std::move(r.error());
  return r->int64(0, 0);
}

} // namespace fp::storage
