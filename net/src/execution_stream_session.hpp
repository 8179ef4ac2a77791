#pragma once

// Private to the execution and chat SSE streams: the session base (coalesced
// reads, pacing, heartbeats) and the pieces both streams share.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "fp/net/execution_stream.hpp"
#include "fp/net/responder.hpp"
#include "fp/net/spine_services.hpp"

namespace fp::net::stream_detail {

using steady = std::chrono::steady_clock;

/// Above this many unsent bytes the next read waits for the next tick.
inline constexpr std::size_t pace_bytes = 256 * 1024;

std::shared_ptr<const std::string> heartbeat_chunk();

std::shared_ptr<const std::string> retry_chunk();

/// Appends one SSE event (no `id:` line when `id` is empty).
void append_event(std::string& out, std::string_view id, std::string_view name,
                  std::string_view data);

// -- the session base ---------------------------------------------------------------------

/// Coalesced reads: `wake` starts a read unless one is in flight (then one
/// more follows it); a read finishing with more to read starts the next.
class feed_session : public stream_watcher,
                     public std::enable_shared_from_this<feed_session> {
public:
  feed_session(const spine_services& spine, stream_writer_ptr writer,
               std::string slug, std::string id)
    : spine_(spine),
      writer_(std::move(writer)),
      slug_(std::move(slug)),
      id_(std::move(id)),
      last_write_(steady::now().time_since_epoch().count()) {
    heartbeat_ = spine.settings ? spine.settings->sse_heartbeat
                                : std::chrono::milliseconds{15000};
  }

  void wake() override {
    std::unique_lock<std::mutex> guard{mtx_};
    if (writer_->closed())
      return;
    if (reading_) {
      dirty_ = true;
      return;
    }
    if (writer_->queued_bytes() > pace_bytes) {
      deferred_ = true;
      return;
    }
    reading_ = true;
    dirty_ = false;
    deferred_ = false;
    guard.unlock();
    start_read();
  }

  void tick(steady::time_point now) override {
    if (writer_->closed())
      return;
    auto last = steady::time_point{steady::duration{last_write_.load()}};
    if (heartbeat_.count() > 0 && now - last >= heartbeat_)
      write(heartbeat_chunk());
    bool again = false;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      again = deferred_;
    }
    if (again)
      wake();
  }

protected:
  virtual void start_read() = 0;

  /// Ends a read; `more`: there is more to read right away.
  void read_done(bool more, bool failed = false) {
    bool again = false;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      reading_ = false;
      if (failed)
        deferred_ = true; // retried on the next tick
      else
        again = dirty_ || more;
    }
    if (again)
      wake();
  }

  bool write(std::shared_ptr<const std::string> chunk) {
    last_write_ = steady::now().time_since_epoch().count();
    return writer_->write(std::move(chunk));
  }

  bool write(std::string chunk) {
    if (chunk.empty())
      return true;
    return write(std::make_shared<const std::string>(std::move(chunk)));
  }

  void finish() {
    writer_->close();
  }

  spine_services spine_;
  stream_writer_ptr writer_;
  std::string slug_;
  std::string id_;

private:
  std::mutex mtx_;
  bool reading_ = false;
  bool dirty_ = false;
  bool deferred_ = false;
  std::chrono::milliseconds heartbeat_;
  std::atomic<steady::rep> last_write_;
};

/// Starts the SSE answer (headers, retry hint, a comment naming `what`);
/// nullptr when the request was answered already.
stream_writer_ptr start(const responder_ptr& res, const std::string& what);

/// Registers `session` for `key` with the hub, then wakes it for its
/// first read (after registering, so no notification falls in between).
void attach(const spine_services& spine, const stream_writer_ptr& writer,
            std::string key, std::shared_ptr<feed_session> session);

} // namespace fp::net::stream_detail
