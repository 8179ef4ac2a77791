#include "fp/storage/pg_listener.hpp"

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "fp/runtime/log.hpp"
#include "fp/storage/errc.hpp"
#include "session_impl.hpp"

namespace fp::storage {

namespace log = runtime::log;

namespace {

using clock_type = std::chrono::steady_clock;

/// `name` as a quoted SQL identifier: channel names are identifiers, and
/// quoting keeps their case and any odd character literal.
std::string quote_identifier(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  out += '"';
  for (char c : name) {
    if (c == '"')
      out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::chrono::milliseconds left_until(clock_type::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
    deadline - clock_type::now());
  return left.count() > 0 ? left : std::chrono::milliseconds{0};
}

class listener_impl final : public pg_listener {
public:
  listener_impl(std::string conninfo, std::vector<std::string> channels,
                std::chrono::milliseconds connect_timeout)
    : conninfo_(std::move(conninfo)),
      channels_(std::move(channels)),
      connect_timeout_(connect_timeout) {
    // nop
  }

  /// Opens the connection and LISTENs on every channel.
  caf::error connect() {
    session_.reset();
    auto session = open_session(conninfo_, connect_timeout_, {}, true);
    if (!session)
      return std::move(session.error());
    for (auto& channel : channels_) {
      auto res = (*session)->exec("LISTEN " + quote_identifier(channel));
      if (!res)
        return std::move(res.error());
    }
    session_ = std::move(*session);
    return caf::none;
  }

  caf::error wait(std::chrono::milliseconds timeout,
                  const callback& fn) override {
    auto deadline = clock_type::now() + timeout;
    if (!usable()) {
      if (auto err = connect()) {
        // Waiting out the timeout keeps a caller's retry loop from spinning
        // while the database is away.
        std::this_thread::sleep_for(left_until(deadline));
        return err;
      }
      log::info("listener reconnected", {{"channels", channels_.size()}});
    }
    auto& st = session_->internals();
    // Notifications may already sit in libpq's buffer (read along with the
    // reply to LISTEN or with an earlier batch).
    if (deliver(st, fn) > 0)
      return caf::none;
    for (;;) {
      auto left = left_until(deadline);
      pollfd pfd{PQsocket(st.conn.get()), POLLIN, 0};
      int rc = ::poll(&pfd, 1, static_cast<int>(left.count()));
      if (rc < 0 && errno == EINTR)
        continue;
      if (rc < 0)
        return drop(std::string{"poll: "} + std::strerror(errno));
      if (rc == 0)
        return caf::none; // timed out
      if (!PQconsumeInput(st.conn.get()))
        return drop(one_line(PQerrorMessage(st.conn.get())));
      // Parses what arrived; a FATAL goodbye reaches the notice receiver.
      (void) PQisBusy(st.conn.get());
      auto delivered = deliver(st, fn);
      if (st.bad() || st.doomed)
        return drop("connection closed by the server");
      if (delivered > 0 || left.count() == 0)
        return caf::none;
    }
  }

  bool listening() const noexcept override {
    return usable();
  }

private:
  bool usable() const noexcept {
    if (!session_)
      return false;
    auto& st = session_->internals();
    return !st.bad() && !st.doomed;
  }

  size_t deliver(pg_session::impl& st, const callback& fn) {
    size_t n = 0;
    while (PGnotify* raw = PQnotifies(st.conn.get())) {
      std::unique_ptr<PGnotify, decltype(&PQfreemem)> note{raw, &PQfreemem};
      ++n;
      fn(std::string_view{note->relname ? note->relname : ""},
         std::string_view{note->extra ? note->extra : ""});
    }
    return n;
  }

  caf::error drop(std::string why) {
    session_.reset();
    log::warn("listener connection lost", {{"reason", why}});
    return make_error(errc::unavailable, "listener connection lost: " + why);
  }

  std::string conninfo_;
  std::vector<std::string> channels_;
  std::chrono::milliseconds connect_timeout_;
  std::unique_ptr<pg_session> session_;
};

} // namespace

pg_listener::~pg_listener() = default;

caf::expected<std::unique_ptr<pg_listener>>
pg_listener::open(const std::string& conninfo,
                  std::vector<std::string> channels,
                  std::chrono::milliseconds connect_timeout) {
  auto impl = std::make_unique<listener_impl>(conninfo, std::move(channels),
                                              connect_timeout);
  if (auto err = impl->connect())
    return err;
  return std::unique_ptr<pg_listener>{std::move(impl)};
}

} // namespace fp::storage
