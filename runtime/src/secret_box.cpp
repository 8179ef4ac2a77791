#include "fp/runtime/secret_box.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "fp/runtime/crypto.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"

namespace fp::runtime {

namespace {

constexpr std::size_t key_size = 32;
constexpr std::size_t nonce_size = 12;
constexpr std::size_t tag_size = 16;
constexpr std::size_t max_id_size = 32;

// Fixed HKDF inputs of the fingerprint key: changing them changes every
// fingerprint shown so far.
constexpr std::string_view fingerprint_salt = "fleetprompt/secret-box";
constexpr std::string_view fingerprint_info = "fingerprint v1";

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, std::move(msg));
}

bool valid_key_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > max_id_size)
    return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

/// Base64 (standard or url alphabet, padding optional) of a key.
std::optional<std::string> decode_key(std::string_view text) {
  std::string url{text};
  for (auto& c : url) {
    if (c == '+')
      c = '-';
    else if (c == '/')
      c = '_';
  }
  return base64url_decode(url);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    auto start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t')
      ++i;
    if (i > start)
      out.push_back(line.substr(start, i - start));
  }
  return out;
}

/// One key line of a key file, as read.
struct file_line {
  std::string text;
  /// Set for key lines.
  std::optional<key_ring::key> key;
  bool active = false;
};

/// Parses the lines of a key file; errors name `path` and the line number.
caf::expected<std::vector<file_line>> parse_key_file(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return invalid("cannot read key file " + path);
  std::vector<file_line> out;
  std::string line;
  int number = 0;
  int actives = 0;
  while (std::getline(in, line)) {
    ++number;
    file_line fl;
    fl.text = line;
    auto body = std::string_view{line};
    if (auto hash = body.find('#'); hash != std::string_view::npos)
      body = body.substr(0, hash);
    body = trim(body);
    if (body.empty()) {
      out.push_back(std::move(fl));
      continue;
    }
    auto where = path + ":" + std::to_string(number) + ": ";
    auto w = words(body);
    if (w.size() < 2 || w.size() > 3)
      return invalid(where + "expected '<key id> <base64 key> [active]'");
    if (!valid_key_id(w[0]))
      return invalid(where + "key id must match ^[A-Za-z0-9_-]{1,32}$");
    auto material = decode_key(w[1]);
    if (!material)
      return invalid(where + "key of '" + std::string{w[0]}
                     + "' is not base64");
    if (material->size() != key_size)
      return invalid(where + "key of '" + std::string{w[0]}
                     + "' must be 32 bytes (got "
                     + std::to_string(material->size()) + ")");
    if (w.size() == 3) {
      if (w[2] != "active")
        return invalid(where + "unexpected '" + std::string{w[2]}
                       + "' (only 'active' may follow the key)");
      fl.active = true;
      if (++actives > 1)
        return invalid(where + "more than one key is marked active");
    }
    fl.key = key_ring::key{std::string{w[0]}, std::move(*material)};
    out.push_back(std::move(fl));
  }
  if (in.bad())
    return invalid("cannot read key file " + path);
  return out;
}

std::string fresh_key_line(const std::string& id) {
  std::string material(key_size, '\0');
  random_bytes(material.data(), material.size());
  auto line = id + " " + base64_encode(material) + " active";
  OPENSSL_cleanse(material.data(), material.size());
  return line;
}

/// Writes `content` to `path` with mode 0600 through a temporary file and a
/// rename, so a crash leaves either the old or the new file.
caf::error write_file_atomically(const std::string& path,
                                 const std::string& content, bool exclusive) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto parent = fs::path{path}.parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, ec);
    if (ec)
      return invalid("cannot create directory " + parent.string() + ": "
                     + ec.message());
  }
  auto tmp = path + ".tmp-" + new_request_id();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return invalid("cannot write key file " + path + ": "
                   + std::generic_category().message(errno));
  std::size_t done = 0;
  bool ok = true;
  while (done < content.size()) {
    auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      ok = false;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (ok) {
    if (exclusive) {
      // link() fails when `path` exists: two processes creating the file
      // at once end up with one key, not two different ones.
      ok = ::link(tmp.c_str(), path.c_str()) == 0;
      auto err = errno;
      ::unlink(tmp.c_str());
      if (!ok && err != EEXIST)
        return invalid("cannot write key file " + path + ": "
                       + std::generic_category().message(err));
      if (!ok)
        return make_error(errc::conflict, "key file " + path + " exists");
      return caf::none;
    }
    ok = ::rename(tmp.c_str(), path.c_str()) == 0;
  }
  if (!ok) {
    auto err = errno;
    ::unlink(tmp.c_str());
    return invalid("cannot write key file " + path + ": "
                   + std::generic_category().message(err));
  }
  return caf::none;
}

std::string derive_fingerprint_key(std::string_view material) {
  std::string out(key_size, '\0');
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf{
    EVP_KDF_fetch(nullptr, "HKDF", nullptr), &EVP_KDF_free};
  if (!kdf)
    throw std::runtime_error("HKDF unavailable");
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx{
    EVP_KDF_CTX_new(kdf.get()), &EVP_KDF_CTX_free};
  if (!ctx)
    throw std::runtime_error("HKDF unavailable");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                      const_cast<char*>(material.data()),
                                      material.size()),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                      const_cast<char*>(fingerprint_salt.data()),
                                      fingerprint_salt.size()),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                      const_cast<char*>(fingerprint_info.data()),
                                      fingerprint_info.size()),
    OSSL_PARAM_construct_end()};
  if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()),
                     out.size(), params)
      != 1)
    throw std::runtime_error("HKDF failed");
  return out;
}

using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

cipher_ctx new_cipher_ctx() {
  cipher_ctx ctx{EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free};
  if (!ctx)
    throw std::runtime_error("EVP_CIPHER_CTX_new failed");
  return ctx;
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

unsigned char* bytes(std::string& s) {
  return reinterpret_cast<unsigned char*>(s.data());
}

} // namespace

bool is_sealed(std::string_view text) noexcept {
  return text.substr(0, sealed_prefix.size()) == sealed_prefix;
}

std::optional<std::string> sealed_key_id(std::string_view sealed) {
  if (!is_sealed(sealed))
    return std::nullopt;
  sealed.remove_prefix(sealed_prefix.size());
  auto colon = sealed.find(':');
  if (colon == std::string_view::npos)
    return std::nullopt;
  auto id = sealed.substr(0, colon);
  if (!valid_key_id(id))
    return std::nullopt;
  return std::string{id};
}

// -- construction -------------------------------------------------------------------

caf::expected<std::shared_ptr<const key_ring>>
key_ring::make(std::vector<key> keys, std::string active_id) {
  if (keys.empty())
    return invalid("no master key configured");
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!valid_key_id(keys[i].id))
      return invalid("key id must match ^[A-Za-z0-9_-]{1,32}$");
    if (keys[i].material.size() != key_size)
      return invalid("key '" + keys[i].id + "' must be 32 bytes");
    for (std::size_t j = 0; j < i; ++j)
      if (keys[j].id == keys[i].id)
        return invalid("duplicate key id '" + keys[i].id + "'");
  }
  std::shared_ptr<key_ring> ring{new key_ring};
  ring->active_ = keys.size() - 1;
  if (!active_id.empty()) {
    auto i = std::find_if(keys.begin(), keys.end(),
                          [&](const key& k) { return k.id == active_id; });
    if (i == keys.end())
      return invalid("active key id '" + active_id + "' names no key");
    ring->active_ = static_cast<std::size_t>(i - keys.begin());
  }
  ring->fingerprint_key_ = derive_fingerprint_key(keys.front().material);
  ring->keys_ = std::move(keys);
  return std::shared_ptr<const key_ring>{std::move(ring)};
}

caf::expected<std::shared_ptr<const key_ring>>
key_ring::load_file(const std::string& path) {
  auto lines = parse_key_file(path);
  if (!lines)
    return std::move(lines.error());
  std::vector<key> keys;
  std::string active;
  for (auto& l : *lines) {
    if (!l.key)
      continue;
    if (l.active)
      active = l.key->id;
    keys.push_back(std::move(*l.key));
  }
  if (keys.empty())
    return invalid("key file " + path + " holds no key");
  auto ring = make(std::move(keys), std::move(active));
  if (!ring)
    return invalid("key file " + path + ": " + context_of(ring.error()));
  return ring;
}

caf::expected<std::shared_ptr<const key_ring>>
key_ring::parse_env(std::string_view text, std::string active_id) {
  std::vector<key> keys;
  int index = 0;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{}
                                           : text.substr(comma + 1);
    ++index;
    if (item.empty())
      continue;
    auto where = "master_keys entry " + std::to_string(index) + ": ";
    auto colon = item.find(':');
    if (colon == std::string_view::npos)
      return invalid(where + "expected '<key id>:<base64 key>'");
    auto id = trim(item.substr(0, colon));
    if (!valid_key_id(id))
      return invalid(where + "key id must match ^[A-Za-z0-9_-]{1,32}$");
    auto material = decode_key(trim(item.substr(colon + 1)));
    if (!material)
      return invalid(where + "key of '" + std::string{id} + "' is not base64");
    if (material->size() != key_size)
      return invalid(where + "key of '" + std::string{id}
                     + "' must be 32 bytes (got "
                     + std::to_string(material->size()) + ")");
    keys.push_back({std::string{id}, std::move(*material)});
  }
  if (keys.empty())
    return invalid("master_keys holds no key");
  auto ring = make(std::move(keys), std::move(active_id));
  if (!ring)
    return invalid("master_keys: " + context_of(ring.error()));
  return ring;
}

caf::expected<std::shared_ptr<const key_ring>>
key_ring::from_settings(const std::string& key_file, std::string_view master_keys,
                        std::string active_id) {
  if (key_file.empty() && master_keys.empty())
    return invalid("no master key configured");
  std::vector<key> keys;
  std::string active;
  if (!key_file.empty()) {
    auto lines = parse_key_file(key_file);
    if (!lines)
      return std::move(lines.error());
    for (auto& l : *lines) {
      if (!l.key)
        continue;
      // Only an explicit mark counts here: without one, the environment's
      // keys (listed after the file's) take precedence.
      if (l.active)
        active = l.key->id;
      keys.push_back(std::move(*l.key));
    }
    if (keys.empty())
      return invalid("key file " + key_file + " holds no key");
  }
  if (!master_keys.empty()) {
    auto env = parse_env(master_keys);
    if (!env)
      return std::move(env.error());
    for (auto& k : (*env)->keys_) {
      auto same = std::find_if(keys.begin(), keys.end(),
                               [&](const key& x) { return x.id == k.id; });
      if (same == keys.end()) {
        keys.push_back(k);
      } else if (!constant_time_equal(same->material, k.material)) {
        return invalid("key id '" + k.id
                       + "' names different keys in key_file and master_keys");
      }
    }
    if (active.empty())
      active = (*env)->active_id();
  }
  if (!active_id.empty())
    active = std::move(active_id);
  auto ring = make(std::move(keys), std::move(active));
  if (!ring)
    return invalid("master keys: " + context_of(ring.error()));
  return ring;
}

caf::expected<bool> key_ring::ensure_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec))
    return false;
  std::string content = "# FleetPrompt master keys: <key id> <base64 of 32 "
                        "bytes> [active]. Keep this file secret (mode 0600)\n"
                        "# and backed up: without it, stored credentials "
                        "cannot be decrypted.\n";
  auto line = fresh_key_line("k1");
  content += line + "\n";
  OPENSSL_cleanse(line.data(), line.size());
  auto err = write_file_atomically(path, content, true);
  OPENSSL_cleanse(content.data(), content.size());
  // Another process may have created it first: then that one's key holds.
  if (err && code_of(err) == errc::conflict)
    return false;
  if (err)
    return err;
  return true;
}

caf::expected<std::string> key_ring::add_key_to_file(const std::string& path) {
  auto lines = parse_key_file(path);
  if (!lines)
    return std::move(lines.error());
  int highest = 0;
  for (auto& l : *lines) {
    if (!l.key)
      continue;
    const auto& id = l.key->id;
    if (id.size() > 1 && id[0] == 'k' && id.size() <= 10
        && std::all_of(id.begin() + 1, id.end(),
                       [](char c) { return c >= '0' && c <= '9'; }))
      highest = std::max(highest, std::stoi(id.substr(1)));
  }
  std::string new_id{"k"};
  new_id += std::to_string(highest + 1);
  std::string content;
  for (auto& l : *lines) {
    if (l.key && l.active) {
      // Drop the mark: the line becomes "<id> <key>" plus its comment.
      std::string_view text{l.text};
      auto hash = text.find('#');
      auto w = words(trim(text.substr(0, hash)));
      std::string line{w[0]};
      line += ' ';
      line += w[1];
      if (hash != std::string_view::npos) {
        line += "  ";
        line += text.substr(hash);
      }
      OPENSSL_cleanse(l.text.data(), l.text.size());
      l.text = std::move(line);
    }
    content += l.text;
    content += '\n';
  }
  auto line = fresh_key_line(new_id);
  content += line + "\n";
  OPENSSL_cleanse(line.data(), line.size());
  auto err = write_file_atomically(path, content, false);
  OPENSSL_cleanse(content.data(), content.size());
  for (auto& l : *lines) {
    OPENSSL_cleanse(l.text.data(), l.text.size());
    if (l.key)
      OPENSSL_cleanse(l.key->material.data(), l.key->material.size());
  }
  if (err)
    return err;
  return new_id;
}

// -- sealing ------------------------------------------------------------------------

std::string key_ring::seal(std::string_view plaintext, std::string_view aad) const {
  const auto& k = keys_[active_];
  std::string blob(nonce_size + plaintext.size() + tag_size, '\0');
  auto* out = bytes(blob);
  random_bytes(out, nonce_size);
  auto* ct = out + nonce_size;
  auto ctx = new_cipher_ctx();
  int len = 0;
  int final_len = 0;
  bool ok
    = EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr)
        == 1
      && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN,
                             static_cast<int>(nonce_size), nullptr)
           == 1
      && EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, bytes(k.material), out)
           == 1
      // The aad goes in first, with no output buffer.
      && EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(aad),
                           static_cast<int>(aad.size()))
           == 1
      && EVP_EncryptUpdate(ctx.get(), ct, &len, bytes(plaintext),
                           static_cast<int>(plaintext.size()))
           == 1
      && EVP_EncryptFinal_ex(ctx.get(), ct + len, &final_len) == 1
      && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG,
                             static_cast<int>(tag_size), ct + plaintext.size())
           == 1;
  if (!ok)
    throw std::runtime_error("AES-256-GCM encryption failed");
  std::string sealed{sealed_prefix};
  sealed += k.id;
  sealed += ':';
  sealed += base64url_encode(blob);
  return sealed;
}

caf::expected<std::string> key_ring::open(std::string_view sealed,
                                          std::string_view aad) const {
  auto id = sealed_key_id(sealed);
  if (!id)
    return invalid("malformed sealed value");
  auto i = std::find_if(keys_.begin(), keys_.end(),
                        [&](const key& k) { return k.id == *id; });
  if (i == keys_.end())
    return invalid("sealed with unknown key '" + *id + "'");
  auto blob
    = base64url_decode(sealed.substr(sealed_prefix.size() + id->size() + 1));
  if (!blob || blob->size() < nonce_size + tag_size)
    return invalid("malformed sealed value");
  const auto ct_size = blob->size() - nonce_size - tag_size;
  const auto* in = bytes(*blob);
  std::string plain(ct_size, '\0');
  auto ctx = new_cipher_ctx();
  int len = 0;
  bool ok
    = EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr)
        == 1
      && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN,
                             static_cast<int>(nonce_size), nullptr)
           == 1
      && EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, bytes(i->material), in)
           == 1
      && EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(aad),
                           static_cast<int>(aad.size()))
           == 1
      && EVP_DecryptUpdate(ctx.get(), bytes(plain), &len, in + nonce_size,
                           static_cast<int>(ct_size))
           == 1
      && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG,
                             static_cast<int>(tag_size),
                             const_cast<unsigned char*>(in + nonce_size + ct_size))
           == 1;
  int final_len = 0;
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), bytes(plain) + len, &final_len) == 1;
  if (!ok) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return invalid("sealed value did not authenticate (tampered, or stored "
                   "under another name)");
  }
  return plain;
}

std::string key_ring::fingerprint(std::string_view plaintext) const {
  auto mac = hmac_sha256(fingerprint_key_, plaintext);
  return "hmac-sha256:" + to_hex(mac.data(), 8);
}

std::string default_key_file(const config::settings& s) {
  return (std::filesystem::path{s.data_dir} / "master.keys").string();
}

caf::expected<loaded_key_ring> load_key_ring(const config::settings& s,
                                             bool create_default) {
  loaded_key_ring out;
  out.key_file = s.key_file;
  out.from_environment = !s.master_keys.empty();
  if (s.key_file.empty() && s.master_keys.empty()) {
    out.key_file = default_key_file(s);
    if (create_default) {
      auto created = key_ring::ensure_file(out.key_file);
      if (!created)
        return std::move(created.error());
      out.created = *created;
    }
  }
  auto ring = key_ring::from_settings(out.key_file, s.master_keys,
                                      s.active_key_id);
  if (!ring)
    return std::move(ring.error());
  out.ring = std::move(*ring);
  return out;
}

const std::string& key_ring::active_id() const noexcept {
  return keys_[active_].id;
}

std::vector<std::string> key_ring::ids() const {
  std::vector<std::string> out;
  out.reserve(keys_.size());
  for (const auto& k : keys_)
    out.push_back(k.id);
  return out;
}

bool key_ring::has(std::string_view id) const noexcept {
  return std::any_of(keys_.begin(), keys_.end(),
                     [&](const key& k) { return k.id == id; });
}

} // namespace fp::runtime
