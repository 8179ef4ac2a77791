#pragma once

// The built console on disk (web/dist): its Vite manifest, from which the
// entry's files and the Inertia asset version come, and the hashed files
// served under /assets/. A rebuilt manifest is noticed on the next page
// (mtime check), so a running server hands out the new version and clients
// holding the old one reload.

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "fp/net/http_types.hpp"

namespace fp::net::console {

class assets {
public:
  /// What the shell needs from one manifest.
  struct entry {
    /// False when the directory holds no manifest (console not built).
    bool built = false;
    /// The asset version: a digest of the manifest.
    std::string version;
    std::string script;
    std::vector<std::string> styles;
  };

  explicit assets(std::filesystem::path dir);

  /// The current entry, re-read when the manifest changed on disk.
  entry current();

  /// The answer to GET /assets/{file}: the file with its media type and a
  /// year-long immutable cache lifetime (names carry content hashes), or 404.
  http_response serve(std::string_view file) const;

  const std::filesystem::path& dir() const noexcept {
    return dir_;
  }

private:
  std::filesystem::path dir_;
  std::mutex mtx_;
  std::filesystem::file_time_type loaded_at_{};
  entry entry_;
};

/// The media type of a built file by its extension.
std::string_view media_type_of(std::string_view file) noexcept;

/// True for a file name the asset route may serve: one path segment of
/// letters, digits, '-', '_' and '.', not starting with '.'.
bool servable_name(std::string_view file) noexcept;

} // namespace fp::net::console
