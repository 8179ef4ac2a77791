// The SSE stream of one chat conversation: whole messages, the deltas of a
// streaming reply and its end, positioned by "<seq>:<offset>" event ids.

#include "execution_stream_sessions.hpp"

#include <algorithm>

#include "agent_json.hpp"
#include "execution_stream_session.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/json.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/conversations.hpp"

namespace fp::net {

namespace {

using namespace stream_detail;

/// Messages per read; one read becomes one chunk.
constexpr int chat_page = 100;

// -- chat -------------------------------------------------------------------------------------

struct chat_batch {
  bool gone = false;
  std::vector<storage::message_record> messages;
};

class chat_session final : public feed_session {
public:
  chat_session(const spine_services& spine, stream_writer_ptr writer,
               std::string slug, std::string id, chat_position from)
    : feed_session(spine, std::move(writer), std::move(slug), std::move(id)),
      pos_(from) {
    // nop
  }

protected:
  void start_read() override {
    auto self = std::static_pointer_cast<chat_session>(shared_from_this());
    int from_seq = 0;
    {
      std::lock_guard<std::mutex> guard{pos_mtx_};
      from_seq = pos_.seq;
    }
    run_db<chat_batch>(
      *spine_.sys, spine_.storage_pool, spine_.timeout, "conversations.stream",
      [slug = slug_, id = id_, from_seq](storage::pg_session& db)
        -> caf::expected<chat_batch> {
        chat_batch b;
        auto c = storage::find_conversation(db, slug, id);
        if (!c)
          return std::move(c.error());
        if (!*c) {
          b.gone = true;
          return b;
        }
        auto ms = storage::messages_from(db, slug, id, from_seq, chat_page);
        if (!ms)
          return std::move(ms.error());
        b.messages = std::move(*ms);
        return b;
      },
      [self](chat_batch&& b) { self->deliver(b); },
      [self](caf::error&&) { self->read_done(false, true); });
  }

private:
  static std::string position_id(int seq, std::size_t offset) {
    return std::to_string(seq) + ":" + std::to_string(offset);
  }

  /// Appends what `m` adds past the current position; false when `m` is
  /// still streaming (later messages wait until it is done).
  bool render(const storage::message_record& m, std::string& out) {
    bool streaming = m.status == "streaming";
    std::string_view content = m.content;
    auto end = streaming ? complete_utf8_prefix(content) : content.size();
    if (m.seq == pos_.seq && (pos_.offset > 0 || announced_ == m.seq)) {
      auto from = std::min(pos_.offset, end);
      if (end > from) {
        std::string data;
        json_writer w{data};
        w.begin_object()
          .member("message_id", m.id)
          .member("seq", m.seq)
          .member("offset", static_cast<uint64_t>(from))
          .member("text", content.substr(from, end - from))
          .end_object();
        append_event(out, position_id(m.seq, end), "delta", data);
        pos_.offset = end;
      }
    } else if (m.seq >= pos_.seq) {
      auto shown = m;
      shown.content.resize(end);
      std::string data;
      json_writer w{data};
      write_message(w, shown);
      pos_ = streaming ? chat_position{m.seq, end} : chat_position{m.seq + 1, 0};
      if (streaming)
        announced_ = m.seq;
      append_event(out, position_id(pos_.seq, pos_.offset), "message", data);
      return !streaming;
    } else {
      return true;
    }
    if (streaming)
      return false;
    std::string data;
    json_writer w{data};
    w.begin_object()
      .member("message_id", m.id)
      .member("seq", m.seq)
      .member("status", m.status)
      .end_object();
    pos_ = chat_position{m.seq + 1, 0};
    append_event(out, position_id(pos_.seq, pos_.offset), "message.done", data);
    return true;
  }

  void deliver(const chat_batch& b) {
    if (b.gone) {
      write(std::string{"event: end\ndata: {\"status\":\"deleted\"}\n\n"});
      finish();
      read_done(false);
      return;
    }
    std::string out;
    bool blocked = false;
    {
      std::lock_guard<std::mutex> guard{pos_mtx_};
      for (auto& m : b.messages) {
        if (!render(m, out)) {
          blocked = true;
          break;
        }
      }
    }
    bool more = !blocked
                && b.messages.size() >= static_cast<std::size_t>(chat_page);
    if (!write(std::move(out))) {
      finish();
      read_done(false);
      return;
    }
    read_done(more);
  }

  std::mutex pos_mtx_;
  chat_position pos_;
  /// The streaming message already announced with a `message` event (its
  /// content may still be empty, so the offset alone cannot tell).
  int announced_ = 0;
};

} // namespace

void open_chat_stream(const spine_services& spine, const responder_ptr& res,
                      std::string slug, std::string id, chat_position from) {
  if (!spine.execution_streams || !spine.execution_streams->get()) {
    res->fail(runtime::make_error(runtime::errc::unavailable,
                                  "chat streams are not running"));
    return;
  }
  auto writer = start(res, "conversation " + id);
  if (!writer)
    return;
  auto key = conversation_stream_key(slug, id);
  auto session = std::make_shared<chat_session>(spine, writer, std::move(slug),
                                                std::move(id), from);
  attach(spine, writer, std::move(key), std::move(session));
}

} // namespace fp::net
