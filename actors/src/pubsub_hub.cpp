// The pubsub hub actor. Per tenant it keeps a feed: the highest seq it has
// delivered live (`fetched`), a ring of recent formatted events and the live
// subscribers. Every subscriber carries a cursor: every signal with
// seq <= cursor that it asked for has been pushed to it, so delivering
// strictly seq > cursor in seq order gives no gap and no duplicate, whatever
// path (PostgreSQL page, ring, live feed) an event comes by.

#include <algorithm>
#include <deque>
#include <map>
#include <unordered_map>

#include <caf/all.hpp>

#include "fp/actors/notify_listener.hpp"
#include "fp/actors/pubsub_hub.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/storage_pool.hpp"

namespace fp::actors {

namespace {

namespace log = runtime::log;
using namespace std::chrono_literals;

using frame_ptr = std::shared_ptr<const std::string>;

/// Retry delay after a failed live fetch.
constexpr auto refetch_delay = 1s;

struct ring_event {
  int64_t seq = 0;
  std::string type;
  frame_ptr frame;
};

struct subscriber {
  enum class mode : uint8_t { waiting, catching_up, live };

  uint64_t id = 0;
  std::string slug;
  std::vector<std::string> prefixes;
  signal_sink_ptr sink;
  std::optional<int64_t> after_seq;
  int64_t cursor = 0;
  mode state = mode::waiting;
  /// Catch-up: events fetched or copied from the ring, not yet pushed.
  std::deque<std::pair<int64_t, frame_ptr>> pending;
  /// Catch-up: the cursor once `pending` is pushed (the source was read
  /// completely up to here).
  int64_t scan_to = 0;
  bool fetching = false;
  bool check_scheduled = false;
  /// Position in the feed's `live` vector while live.
  std::size_t live_index = 0;
  /// Dropped during a fan-out; erased right after it.
  bool dead = false;
};

struct tenant_feed {
  bool loaded = false;
  bool loading = false;
  bool fetching = false;
  bool refetch = false;
  /// Highest seq announced (NOTIFY) or seen.
  int64_t head = 0;
  /// Highest seq fetched and fanned out.
  int64_t fetched = 0;
  /// The ring holds every signal with ring_floor < seq <= fetched.
  int64_t ring_floor = 0;
  std::deque<ring_event> ring;
  std::vector<subscriber*> live;
  std::vector<uint64_t> waiting;
  std::size_t members = 0;
};

using feed_ptr = std::shared_ptr<tenant_feed>;

struct hub_state {
  pubsub_options opts;
  uint64_t next_id = 1;
  std::unordered_map<uint64_t, subscriber> subs;
  std::unordered_map<std::string, feed_ptr> feeds;
  frame_ptr heartbeat = std::make_shared<const std::string>(": heartbeat\n\n");
  frame_ptr retry;
  caf::actor listener;
  runtime::gauge* subscribers = nullptr;
  runtime::counter* cut_off = nullptr;
  runtime::counter* published = nullptr;

  ~hub_state() {
    // Streams must not hang on a hub that is gone: clients reconnect (to
    // the restarted hub) and resume from their last event.
    for (auto& [id, sub] : subs)
      if (sub.sink)
        sub.sink->close_with(retry);
  }

  static inline const char* name = "fp.pubsub_hub";
};

using hub_ptr = pubsub_hub_actor::stateful_pointer<hub_state>;

storage::storage_pool_actor pool_of(hub_ptr self) {
  auto& slot = self->state.opts.storage_pool;
  return slot ? slot->get_as<storage::storage_pool_actor>()
              : storage::storage_pool_actor{};
}

subscriber* find_sub(hub_ptr self, uint64_t id) {
  auto i = self->state.subs.find(id);
  return i == self->state.subs.end() ? nullptr : &i->second;
}

feed_ptr find_feed(hub_ptr self, const std::string& slug) {
  auto i = self->state.feeds.find(slug);
  return i == self->state.feeds.end() ? nullptr : i->second;
}

// -- subscriber bookkeeping ---------------------------------------------------

void erase_sub(hub_ptr self, uint64_t id) {
  auto i = self->state.subs.find(id);
  if (i == self->state.subs.end())
    return;
  auto& sub = i->second;
  if (auto feed = find_feed(self, sub.slug)) {
    if (sub.state == subscriber::mode::live) {
      auto& live = feed->live;
      auto idx = sub.live_index;
      if (idx < live.size() && live[idx] == &sub) {
        live[idx] = live.back();
        live[idx]->live_index = idx;
        live.pop_back();
      }
    }
    auto& w = feed->waiting;
    w.erase(std::remove(w.begin(), w.end(), id), w.end());
    if (--feed->members == 0)
      self->state.feeds.erase(sub.slug);
  }
  self->state.subs.erase(i);
  if (auto* g = self->state.subscribers)
    g->add(-1);
}

/// Ends `sub`'s stream with the `retry:` hint and forgets it.
void drop_sub(hub_ptr self, uint64_t id) {
  if (auto* sub = find_sub(self, id)) {
    sub->sink->close_with(self->state.retry);
    erase_sub(self, id);
  }
}

void go_live(tenant_feed& feed, subscriber& sub) {
  sub.state = subscriber::mode::live;
  sub.pending.clear();
  sub.live_index = feed.live.size();
  feed.live.push_back(&sub);
}

// -- catch-up -----------------------------------------------------------------

void advance(hub_ptr self, uint64_t id);

void schedule_check(hub_ptr self, subscriber& sub) {
  if (sub.check_scheduled)
    return;
  sub.check_scheduled = true;
  self->delayed_send(self, self->state.opts.burst_poll, check_atom_v, sub.id);
}

/// Reads the next page of `sub`'s missed signals from PostgreSQL.
void fetch_page(hub_ptr self, subscriber& sub) {
  struct page {
    int64_t head = 0;
    std::vector<storage::signal_record> rows;
  };
  auto out = std::make_shared<page>();
  auto pool = pool_of(self);
  auto id = sub.id;
  if (!pool) {
    drop_sub(self, id);
    return;
  }
  sub.fetching = true;
  storage::db_task task;
  task.label = "pubsub.catch_up";
  task.transactional = false;
  auto limit = self->state.opts.page_size;
  task.run = [out, slug = sub.slug, after = sub.cursor, limit,
              prefixes = sub.prefixes](storage::pg_session& db) -> caf::error {
    // The head first: every signal up to it is committed (seq order is
    // commit order), so the page below, read later, sees all of them.
    auto head = storage::last_signal_seq(db, slug);
    if (!head)
      return std::move(head.error());
    auto rows = storage::signals_after(db, slug, after, limit, prefixes);
    if (!rows)
      return std::move(rows.error());
    out->head = *head;
    out->rows = std::move(*rows);
    return caf::none;
  };
  storage::run(
    self, pool, std::move(task),
    [self, out, id, limit](uint32_t) {
      auto* sub = find_sub(self, id);
      if (!sub)
        return;
      sub->fetching = false;
      int64_t last = sub->cursor;
      for (auto& rec : out->rows) {
        if (rec.seq <= last)
          continue;
        last = rec.seq;
        sub->pending.emplace_back(
          rec.seq, std::make_shared<const std::string>(
                     sse_frame(rec, self->state.opts.format)));
      }
      // A short page read everything up to the head (filtered or not).
      sub->scan_to = static_cast<int>(out->rows.size()) < limit
                       ? std::max(last, out->head)
                       : last;
      advance(self, id);
    },
    [self, id](caf::error& err) {
      log::warn("pubsub catch-up failed",
                {{"error", self->system().render(err)}});
      drop_sub(self, id);
    });
}

/// Moves a catching-up subscriber forward: pushes what it has in bursts,
/// then reads on from the ring or PostgreSQL, until it reaches the live
/// feed.
void advance(hub_ptr self, uint64_t id) {
  auto* sub = find_sub(self, id);
  if (!sub || sub->state != subscriber::mode::catching_up || sub->fetching)
    return;
  auto feed = find_feed(self, sub->slug);
  if (!feed)
    return;
  auto& opts = self->state.opts;
  for (;;) {
    if (!sub->pending.empty()) {
      if (sub->sink->queued_bytes() > 0) {
        schedule_check(self, *sub);
        return;
      }
      std::size_t events = 0;
      std::size_t bytes = 0;
      while (!sub->pending.empty()
             && (events == 0
                 || (events < opts.burst_events
                     && bytes + sub->pending.front().second->size()
                          <= opts.burst_bytes))) {
        auto& [seq, frame] = sub->pending.front();
        if (!sub->sink->push(frame)) {
          drop_sub(self, id);
          return;
        }
        ++events;
        bytes += frame->size();
        sub->cursor = seq;
        sub->pending.pop_front();
      }
      if (!sub->pending.empty()) {
        schedule_check(self, *sub);
        return;
      }
    }
    sub->cursor = std::max(sub->cursor, sub->scan_to);
    if (sub->cursor >= feed->fetched) {
      go_live(*feed, *sub);
      return;
    }
    if (sub->cursor >= feed->ring_floor) {
      auto first = std::upper_bound(
        feed->ring.begin(), feed->ring.end(), sub->cursor,
        [](int64_t seq, const ring_event& ev) { return seq < ev.seq; });
      for (auto i = first; i != feed->ring.end(); ++i)
        if (type_matches(i->type, sub->prefixes))
          sub->pending.emplace_back(i->seq, i->frame);
      sub->scan_to = feed->fetched;
      continue;
    }
    fetch_page(self, *sub);
    return;
  }
}

void start_sub(hub_ptr self, tenant_feed& feed, subscriber& sub) {
  if (!sub.after_seq) {
    sub.cursor = feed.fetched;
    go_live(feed, sub);
    return;
  }
  sub.cursor = *sub.after_seq;
  sub.scan_to = sub.cursor;
  sub.state = subscriber::mode::catching_up;
  advance(self, sub.id);
}

// -- the live feed --------------------------------------------------------------

void fetch_feed(hub_ptr self, const std::string& slug, const feed_ptr& feed);

/// A fetched signal ready to go out.
struct fresh_event {
  int64_t seq = 0;
  storage::signal_record* rec = nullptr;
  frame_ptr frame;
};

/// The frames of `events` that pass `prefixes` and come after `cursor`, as
/// one chunk: one write per subscriber per slice instead of one per event,
/// so a burst of small events does not fill a buffer counted in chunks.
/// Null when none passes; the frame itself when exactly one does.
frame_ptr join_frames(const std::vector<fresh_event>& events, std::size_t from,
                      std::size_t to, const std::vector<std::string>& prefixes,
                      int64_t cursor) {
  frame_ptr single;
  std::size_t count = 0;
  std::size_t bytes = 0;
  for (auto i = from; i < to; ++i) {
    auto& ev = events[i];
    if (ev.seq > cursor && type_matches(ev.rec->type, prefixes)) {
      if (count++ == 0)
        single = ev.frame;
      bytes += ev.frame->size();
    }
  }
  if (count <= 1)
    return single;
  std::string out;
  out.reserve(bytes);
  for (auto i = from; i < to; ++i) {
    auto& ev = events[i];
    if (ev.seq > cursor && type_matches(ev.rec->type, prefixes))
      out += *ev.frame;
  }
  return std::make_shared<const std::string>(std::move(out));
}

/// Delivers events [from, to) to every live subscriber. Subscribers with
/// the same filter share one chunk.
void deliver_slice(tenant_feed& feed, const std::vector<fresh_event>& events,
                   std::size_t from, std::size_t to,
                   std::vector<uint64_t>& failed) {
  auto first = events[from].seq;
  auto last = events[to - 1].seq;
  std::map<std::vector<std::string>, frame_ptr> shared;
  for (auto* sub : feed.live) {
    if (sub->dead || sub->cursor >= last)
      continue;
    frame_ptr chunk;
    if (sub->cursor < first) {
      auto [i, added] = shared.try_emplace(sub->prefixes);
      if (added)
        i->second = join_frames(events, from, to, sub->prefixes, sub->cursor);
      chunk = i->second;
    } else {
      chunk = join_frames(events, from, to, sub->prefixes, sub->cursor);
    }
    sub->cursor = last;
    if (chunk && !sub->sink->push(std::move(chunk))) {
      // Too slow for its buffer: cut off, never waited for.
      sub->dead = true;
      failed.push_back(sub->id);
    }
  }
}

/// Appends newly fetched signals to the ring and fans them out.
void fan_out(hub_ptr self, tenant_feed& feed,
             std::vector<storage::signal_record>& rows) {
  auto& opts = self->state.opts;
  std::vector<fresh_event> events;
  auto last = feed.fetched;
  for (auto& rec : rows) {
    if (rec.seq <= last)
      continue;
    last = rec.seq;
    events.push_back(fresh_event{
      rec.seq, &rec,
      std::make_shared<const std::string>(sse_frame(rec, opts.format))});
  }
  // Wake-ups of all the subscribers' connections go out together.
  std::shared_ptr<void> batch;
  if (!events.empty() && !feed.live.empty())
    batch = feed.live.front()->sink->open_batch();
  std::vector<uint64_t> failed;
  for (std::size_t from = 0; from < events.size();) {
    auto to = from;
    std::size_t bytes = 0;
    while (to < events.size()
           && (to == from || bytes + events[to].frame->size() <= opts.slice_bytes))
      bytes += events[to++].frame->size();
    deliver_slice(feed, events, from, to, failed);
    from = to;
  }
  for (auto& ev : events) {
    feed.fetched = ev.seq;
    feed.head = std::max(feed.head, ev.seq);
    feed.ring.push_back(ring_event{ev.seq, std::move(ev.rec->type), std::move(ev.frame)});
    while (feed.ring.size() > std::max<std::size_t>(opts.ring_size, 1)) {
      feed.ring_floor = feed.ring.front().seq;
      feed.ring.pop_front();
    }
  }
  if (auto* c = self->state.published)
    c->inc(events.size());
  if (auto* c = self->state.cut_off)
    c->inc(failed.size());
  for (auto id : failed)
    drop_sub(self, id);
}

void fetch_feed(hub_ptr self, const std::string& slug, const feed_ptr& feed) {
  if (feed->fetching) {
    feed->refetch = true;
    return;
  }
  auto pool = pool_of(self);
  if (!pool) {
    self->delayed_send(self, refetch_delay, wake_atom_v);
    return;
  }
  feed->fetching = true;
  feed->refetch = false;
  auto rows = std::make_shared<std::vector<storage::signal_record>>();
  auto limit = self->state.opts.page_size;
  storage::db_task task;
  task.label = "pubsub.fetch";
  task.transactional = false;
  task.run = [rows, slug, after = feed->fetched,
              limit](storage::pg_session& db) -> caf::error {
    auto got = storage::signals_after(db, slug, after, limit);
    if (!got)
      return std::move(got.error());
    *rows = std::move(*got);
    return caf::none;
  };
  storage::run(
    self, pool, std::move(task),
    [self, slug, feed, rows, limit](uint32_t) {
      feed->fetching = false;
      if (find_feed(self, slug) != feed)
        return; // nobody listens to this tenant any more
      if (rows->empty())
        feed->head = feed->fetched; // an announcement we cannot see (yet)
      auto full = static_cast<int>(rows->size()) >= limit;
      fan_out(self, *feed, *rows);
      if (find_feed(self, slug) != feed)
        return;
      if (full || feed->refetch || feed->head > feed->fetched)
        fetch_feed(self, slug, feed);
    },
    [self, slug, feed](caf::error& err) {
      feed->fetching = false;
      log::warn("pubsub fetch failed", {{"tenant", slug},
                                        {"error", self->system().render(err)}});
      self->delayed_send(self, refetch_delay, wake_atom_v);
    });
}

/// Learns a new tenant's head, then starts its waiting subscribers.
void load_feed(hub_ptr self, const std::string& slug, const feed_ptr& feed) {
  auto pool = pool_of(self);
  auto fail = [self, slug, feed] {
    if (find_feed(self, slug) != feed)
      return;
    auto waiting = feed->waiting;
    for (auto id : waiting)
      drop_sub(self, id);
  };
  if (!pool) {
    fail();
    return;
  }
  feed->loading = true;
  auto head = std::make_shared<int64_t>(0);
  storage::db_task task;
  task.label = "pubsub.load";
  task.transactional = false;
  task.run = [head, slug](storage::pg_session& db) -> caf::error {
    auto got = storage::last_signal_seq(db, slug);
    if (!got)
      return std::move(got.error());
    *head = *got;
    return caf::none;
  };
  storage::run(
    self, pool, std::move(task),
    [self, slug, feed, head](uint32_t) {
      feed->loading = false;
      if (find_feed(self, slug) != feed)
        return;
      feed->loaded = true;
      feed->fetched = *head;
      feed->ring_floor = *head;
      feed->head = std::max(feed->head, *head);
      auto waiting = std::move(feed->waiting);
      feed->waiting.clear();
      for (auto id : waiting)
        if (auto* sub = find_sub(self, id))
          start_sub(self, *feed, *sub);
      if (find_feed(self, slug) == feed && feed->head > feed->fetched)
        fetch_feed(self, slug, feed);
    },
    [self, slug, feed, fail](caf::error& err) {
      feed->loading = false;
      log::warn("pubsub cannot read a tenant's signals",
                {{"tenant", slug}, {"error", self->system().render(err)}});
      fail();
    });
}

// -- the actor --------------------------------------------------------------------

pubsub_hub_actor::behavior_type hub_impl(hub_ptr self, pubsub_options opts) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.retry = std::make_shared<const std::string>(
    "retry: " + std::to_string(st.opts.retry_hint.count()) + "\n\n");
  if (auto* m = st.opts.metrics) {
    st.subscribers = &m->get_gauge("fp_sse_subscribers",
                                   "Subscribers of the signal stream");
    // A restarted hub starts without subscribers.
    st.subscribers->set(0);
    st.cut_off = &m->get_counter("fp_sse_cut_off_total",
                                 "Subscribers disconnected for reading too slowly");
    st.published = &m->get_counter("fp_sse_signals_total",
                                   "Signals fanned out to live subscribers");
  }
  // Follows NOTIFY fp_signals: every producer on every node.
  notify_listener_options listen;
  listen.conninfo = st.opts.conninfo;
  listen.channel = std::string{storage::signals_channel};
  listen.connect_timeout = st.opts.connect_timeout;
  listen.kind = "pubsub_listener";
  listen.directory = st.opts.directory;
  st.listener = spawn_notify_listener(self, caf::actor_cast<caf::actor>(self),
                                      std::move(listen));
  if (st.opts.heartbeat.count() > 0)
    self->delayed_send(self, st.opts.heartbeat, tick_atom_v);
  return {
    [self](describe_atom) -> runtime::actor_status {
      auto& st = self->state;
      return {std::to_string(st.subs.size()) + " subscribers, "
                + std::to_string(st.feeds.size()) + " tenants",
              self->mailbox().size()};
    },
    [self](subscribe_atom, subscribe_request& req) -> uint64_t {
      auto& st = self->state;
      if (!req.sink || req.slug.empty())
        return 0;
      auto id = st.next_id++;
      auto& sub = st.subs[id];
      if (st.subscribers)
        st.subscribers->add(1);
      sub.id = id;
      sub.slug = req.slug;
      sub.prefixes = std::move(req.type_prefixes);
      sub.sink = std::move(req.sink);
      sub.after_seq = req.after_seq;
      auto& feed = st.feeds[req.slug];
      if (!feed)
        feed = std::make_shared<tenant_feed>();
      ++feed->members;
      if (feed->loaded) {
        start_sub(self, *feed, sub);
      } else {
        feed->waiting.push_back(id);
        if (!feed->loading)
          load_feed(self, req.slug, feed);
      }
      return id;
    },
    [self](unsub_atom, uint64_t id) { erase_sub(self, id); },
    [self](notify_atom, std::string& payload) {
      std::string slug;
      int64_t seq = 0;
      if (!parse_signal_notice(payload, slug, seq))
        return;
      auto feed = find_feed(self, slug);
      if (!feed)
        return; // nobody subscribed to this tenant here
      feed->head = std::max(feed->head, seq);
      if (feed->loaded && feed->head > feed->fetched)
        fetch_feed(self, slug, feed);
    },
    [self](wake_atom) {
      // Collected first: a fetch answer never arrives synchronously, but
      // keep the iteration independent of the map anyway.
      std::vector<std::pair<std::string, feed_ptr>> loaded;
      for (auto& [slug, feed] : self->state.feeds)
        if (feed->loaded)
          loaded.emplace_back(slug, feed);
      for (auto& [slug, feed] : loaded)
        fetch_feed(self, slug, feed);
    },
    [self](tick_atom) {
      auto& st = self->state;
      std::shared_ptr<void> batch;
      if (!st.subs.empty())
        batch = st.subs.begin()->second.sink->open_batch();
      std::vector<uint64_t> failed;
      for (auto& [id, sub] : st.subs)
        if (sub.state != subscriber::mode::waiting && !sub.sink->push(st.heartbeat))
          failed.push_back(id);
      for (auto id : failed)
        drop_sub(self, id);
      self->delayed_send(self, st.opts.heartbeat, tick_atom_v);
    },
    [self](check_atom, uint64_t id) {
      if (auto* sub = find_sub(self, id)) {
        sub->check_scheduled = false;
        advance(self, id);
      }
    },
  };
}

} // namespace

pubsub_hub_actor spawn_pubsub_hub(caf::local_actor* parent,
                                  pubsub_options opts) {
  return parent->spawn(hub_impl, std::move(opts));
}

} // namespace fp::actors
