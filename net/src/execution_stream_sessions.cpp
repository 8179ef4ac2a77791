// The SSE stream of one execution: its events in seq order, then `end`.

#include "execution_stream_sessions.hpp"

#include "agent_json.hpp"
#include "execution_stream_session.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/json.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/executions.hpp"

namespace fp::net {

namespace {

using namespace stream_detail;

/// Rows per read; one read becomes one chunk.
constexpr int execution_page = 200;

// -- executions -------------------------------------------------------------------------------

struct execution_batch {
  bool gone = false;
  std::string status;
  std::vector<storage::execution_event> events;
};

class execution_session final : public feed_session {
public:
  execution_session(const spine_services& spine, stream_writer_ptr writer,
                    std::string slug, std::string id, int after)
    : feed_session(spine, std::move(writer), std::move(slug), std::move(id)),
      after_(after) {
    // nop
  }

protected:
  void start_read() override {
    auto self = std::static_pointer_cast<execution_session>(shared_from_this());
    run_db<execution_batch>(
      *spine_.sys, spine_.storage_pool, spine_.timeout, "executions.stream",
      [slug = slug_, id = id_,
       after = after_.load()](storage::pg_session& db)
        -> caf::expected<execution_batch> {
        execution_batch b;
        // The status first: events read after it include every event
        // committed before the execution finished.
        auto e = storage::find_execution(db, slug, id);
        if (!e)
          return std::move(e.error());
        if (!*e) {
          b.gone = true;
          return b;
        }
        b.status = (*e)->status;
        auto evs = storage::execution_events_after(db, slug, id, after,
                                                   execution_page);
        if (!evs)
          return std::move(evs.error());
        b.events = std::move(*evs);
        return b;
      },
      [self](execution_batch&& b) { self->deliver(b); },
      [self](caf::error&&) { self->read_done(false, true); });
  }

private:
  void deliver(const execution_batch& b) {
    std::string out;
    int after = after_.load();
    for (auto& ev : b.events) {
      if (ev.seq <= after)
        continue;
      std::string data;
      json_writer w{data};
      write_execution_event(w, ev);
      append_event(out, std::to_string(ev.seq), ev.kind, data);
      after = ev.seq;
    }
    after_ = after;
    bool more = b.events.size() >= static_cast<std::size_t>(execution_page);
    bool end = b.gone || (!more && storage::execution_finished(b.status));
    if (end) {
      std::string data;
      json_writer w{data};
      w.begin_object()
        .member("status", b.gone ? std::string{"deleted"} : b.status)
        .member("last_seq", after)
        .end_object();
      append_event(out, {}, "end", data);
    }
    if (!write(std::move(out)) || end) {
      finish();
      read_done(false);
      return;
    }
    read_done(more);
  }

  std::atomic<int> after_;
};

} // namespace

void open_execution_stream(const spine_services& spine, const responder_ptr& res,
                           std::string slug, std::string id, int after_seq) {
  if (!spine.execution_streams || !spine.execution_streams->get()) {
    res->fail(runtime::make_error(runtime::errc::unavailable,
                                  "execution streams are not running"));
    return;
  }
  auto writer = start(res, "execution " + id);
  if (!writer)
    return;
  auto key = execution_stream_key(slug, id);
  auto session = std::make_shared<execution_session>(
    spine, writer, std::move(slug), std::move(id), after_seq);
  attach(spine, writer, std::move(key), std::move(session));
}

} // namespace fp::net
