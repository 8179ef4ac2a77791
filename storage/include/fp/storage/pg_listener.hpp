#pragma once

// A dedicated connection that LISTENs on NOTIFY channels. It blocks while it
// waits, so it runs on its own thread (a detached actor), never on a storage
// worker or an io thread.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace fp::storage {

class pg_listener {
public:
  /// Called once per notification received.
  using callback
    = std::function<void(std::string_view channel, std::string_view payload)>;

  /// Connects to `conninfo` and LISTENs on every channel of `channels`.
  static caf::expected<std::unique_ptr<pg_listener>>
  open(const std::string& conninfo, std::vector<std::string> channels,
       std::chrono::milliseconds connect_timeout);

  virtual ~pg_listener();

  /// Waits up to `timeout` for notifications and passes each one to `fn`.
  /// Returns no error on a timeout. A lost connection gives
  /// errc::unavailable; the next call reconnects and LISTENs again (callers
  /// then re-read what they may have missed, e.g. by polling once).
  virtual caf::error wait(std::chrono::milliseconds timeout,
                          const callback& fn) = 0;

  /// True while the connection is up with every LISTEN in place. After a
  /// loss, callers re-read what they may have missed once this is true
  /// again: anything committed later is announced.
  virtual bool listening() const noexcept = 0;
};

} // namespace fp::storage
