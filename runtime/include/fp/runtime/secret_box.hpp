#pragma once

// Encryption at rest of credentials: AES-256-GCM (OpenSSL) under master
// keys that come from configuration (a key file or the environment, never
// the database). Every ciphertext names the key that sealed it, so after a
// rotation old keys still open what they sealed until `fleetprompt keys
// rotate` has re-encrypted it.
//
// Ciphertext text: "fpenc1:<key id>:<base64url(nonce[12] | ct | tag[16])>".
// The additional authenticated data binds a ciphertext to where it is
// stored (e.g. "org_acme/credentials/<installation>/<field>"), so a value
// copied to another row or tenant does not open.
//
// Key file format (mode 0600; one key per line, '#' comments):
//   <key id> <base64 or base64url of 32 random bytes> [active]
// Key ids match ^[A-Za-z0-9_-]{1,32}$. The key marked `active` seals new
// values; without a mark, the last line's key does.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "fp/config/settings.hpp"

namespace fp::runtime {

/// Prefix of every sealed value.
inline constexpr std::string_view sealed_prefix = "fpenc1:";

/// True when `text` looks like a sealed value (starts with the prefix).
bool is_sealed(std::string_view text) noexcept;

/// The key id a sealed value names, or nullopt when malformed.
std::optional<std::string> sealed_key_id(std::string_view sealed);

class key_ring {
public:
  struct key {
    std::string id;
    /// 32 raw bytes.
    std::string material;
  };

  /// A ring of `keys` sealing with `active_id` (must be one of them; empty:
  /// the last). Errors: errc::invalid_argument (no key, bad id, key not 32
  /// bytes, duplicate id, unknown active id).
  static caf::expected<std::shared_ptr<const key_ring>>
  make(std::vector<key> keys, std::string active_id = {});

  /// Reads a key file (format above). Errors name the file and line, never
  /// key material.
  static caf::expected<std::shared_ptr<const key_ring>>
  load_file(const std::string& path);

  /// Parses the environment form "<id>:<base64>[,<id>:<base64>...]" (the
  /// last is active unless `active_id` says otherwise).
  static caf::expected<std::shared_ptr<const key_ring>>
  parse_env(std::string_view text, std::string active_id = {});

  /// The ring configured by `key_file` and/or `master_keys` (both may be
  /// set: keys of both, the file's active mark first, then `active_id`).
  /// Neither set: errc::invalid_argument ("no master key configured").
  static caf::expected<std::shared_ptr<const key_ring>>
  from_settings(const std::string& key_file, std::string_view master_keys,
                std::string active_id = {});

  /// Creates `path` (mode 0600, parent directories as needed) holding one
  /// fresh active key with id "k1" when it does not exist yet. Returns true
  /// when it created the file.
  static caf::expected<bool> ensure_file(const std::string& path);

  /// Appends a fresh key to the key file at `path`, marks it active (and
  /// removes the mark from the others), rewriting the file atomically with
  /// mode 0600. Returns the new key's id ("k<N+1>").
  static caf::expected<std::string> add_key_to_file(const std::string& path);

  /// Seals `plaintext` with the active key and a fresh random nonce.
  std::string seal(std::string_view plaintext, std::string_view aad) const;

  /// Opens a sealed value. Errors (runtime::errc::invalid_argument with a
  /// message that never contains the value): malformed, unknown key id,
  /// authentication failed (tampered ciphertext or tag, wrong aad).
  caf::expected<std::string> open(std::string_view sealed,
                                  std::string_view aad) const;

  /// A keyed fingerprint of a secret for display:
  /// "hmac-sha256:<first 16 hex of HMAC(fingerprint key, plaintext)>". The
  /// fingerprint key is derived from the first key of the ring (HKDF), so
  /// fingerprints stay the same across rotations as long as the first key
  /// is kept.
  std::string fingerprint(std::string_view plaintext) const;

  const std::string& active_id() const noexcept;
  std::vector<std::string> ids() const;
  bool has(std::string_view id) const noexcept;

private:
  key_ring() = default;
  std::vector<key> keys_;
  std::size_t active_ = 0;
  std::string fingerprint_key_;
};

using key_ring_ptr = std::shared_ptr<const key_ring>;

/// The ring of a node or a command and where it came from.
struct loaded_key_ring {
  key_ring_ptr ring;
  /// The key file read (empty when the keys came only from master_keys).
  std::string key_file;
  /// True when the keys came (also) from master_keys.
  bool from_environment = false;
  /// True when the default key file was created just now.
  bool created = false;
};

/// The key file used when neither `key_file` nor `master_keys` is set:
/// "<data_dir>/master.keys".
std::string default_key_file(const config::settings& s);

/// The ring configured by `s` (key_file, master_keys, active_key_id). When
/// neither key_file nor master_keys is set, the default key file is read,
/// created first with one fresh key when `create_default` and missing.
caf::expected<loaded_key_ring> load_key_ring(const config::settings& s,
                                             bool create_default = true);

} // namespace fp::runtime
