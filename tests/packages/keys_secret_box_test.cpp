// The key ring: AES-256-GCM sealing, key files, the environment form and
// rotation (runtime/secret_box.hpp).

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/stat.h>

#include "fp/config/settings.hpp"
#include "fp/runtime/crypto.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/secret_box.hpp"

using namespace fp;
using runtime::key_ring;

namespace {

std::string raw_key(char fill) {
  return std::string(32, fill);
}

std::string random_key() {
  std::string k(32, '\0');
  runtime::random_bytes(k.data(), k.size());
  return k;
}

runtime::key_ring_ptr ring_of(std::vector<key_ring::key> keys,
                              std::string active = {}) {
  auto ring = key_ring::make(std::move(keys), std::move(active));
  REQUIRE(ring);
  return *ring;
}

/// A fresh directory removed at scope exit.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path()
           / ("fp-keys-" + runtime::new_request_id());
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const {
    return (path / name).string();
  }
};

void write(const std::string& path, const std::string& text) {
  std::ofstream out{path};
  out << text;
}

std::string read(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The sealed value with one byte of its decoded blob flipped at `index`
/// (negative: from the end).
std::string flip(const std::string& sealed, long index) {
  auto colon = sealed.rfind(':');
  auto blob = runtime::base64url_decode(sealed.substr(colon + 1));
  REQUIRE(blob);
  auto i = index < 0 ? static_cast<long>(blob->size()) + index : index;
  (*blob)[static_cast<std::size_t>(i)] ^= 0x01;
  return sealed.substr(0, colon + 1) + runtime::base64url_encode(*blob);
}

std::string message_of(const caf::error& err) {
  return runtime::context_of(err);
}

} // namespace

TEST_CASE("a sealed value opens with its aad and names its key", "[keys]") {
  auto ring = ring_of({{"k1", random_key()}});
  auto sealed = ring->seal("whsec_top-secret", "org_acme/credentials/x/token");
  CHECK(runtime::is_sealed(sealed));
  CHECK(sealed.rfind("fpenc1:k1:", 0) == 0);
  CHECK(sealed.find("top-secret") == std::string::npos);
  CHECK(runtime::sealed_key_id(sealed) == std::optional<std::string>{"k1"});
  auto opened = ring->open(sealed, "org_acme/credentials/x/token");
  REQUIRE(opened);
  CHECK(*opened == "whsec_top-secret");
  // A fresh nonce each time: sealing twice gives different texts.
  CHECK(ring->seal("whsec_top-secret", "a") != ring->seal("whsec_top-secret", "a"));
  auto empty = ring->open(ring->seal("", "a"), "a");
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("tampered ciphertext, tag or nonce is refused", "[keys]") {
  auto ring = ring_of({{"k1", random_key()}});
  const std::string secret = "a-canary-value-0123456789";
  auto sealed = ring->seal(secret, "aad");
  SECTION("nonce") {
    auto r = ring->open(flip(sealed, 0), "aad");
    REQUIRE_FALSE(r);
    CHECK(runtime::code_of(r.error()) == runtime::errc::invalid_argument);
    CHECK(message_of(r.error()).find(secret) == std::string::npos);
  }
  SECTION("ciphertext") {
    CHECK_FALSE(ring->open(flip(sealed, 14), "aad"));
  }
  SECTION("tag") {
    CHECK_FALSE(ring->open(flip(sealed, -1), "aad"));
  }
  SECTION("truncated") {
    CHECK_FALSE(ring->open(sealed.substr(0, sealed.size() - 4), "aad"));
    CHECK_FALSE(ring->open("fpenc1:k1:AAAA", "aad"));
  }
  SECTION("malformed") {
    CHECK_FALSE(ring->open("fpenc1:k1", "aad"));
    CHECK_FALSE(ring->open("fpenc1:k1:***", "aad"));
    CHECK_FALSE(ring->open("plain", "aad"));
    CHECK_FALSE(runtime::sealed_key_id("fpenc1:bad id:xx"));
    CHECK_FALSE(runtime::sealed_key_id("plain"));
  }
}

TEST_CASE("a value does not open under another aad", "[keys]") {
  auto ring = ring_of({{"k1", random_key()}});
  auto sealed = ring->seal("s3cret", "org_acme/webhook_destinations/1");
  auto r = ring->open(sealed, "org_other/webhook_destinations/1");
  REQUIRE_FALSE(r);
  CHECK(message_of(r.error()).find("s3cret") == std::string::npos);
  CHECK_FALSE(ring->open(sealed, ""));
}

TEST_CASE("an unknown key id is refused by name", "[keys]") {
  auto a = ring_of({{"k1", random_key()}});
  auto b = ring_of({{"k2", random_key()}});
  auto r = b->open(a->seal("x", "aad"), "aad");
  REQUIRE_FALSE(r);
  CHECK(message_of(r.error()).find("k1") != std::string::npos);
  // Same id, other material: authentication fails.
  auto c = ring_of({{"k1", random_key()}});
  CHECK_FALSE(c->open(a->seal("x", "aad"), "aad"));
}

TEST_CASE("make checks ids, sizes, duplicates and the active id", "[keys]") {
  CHECK_FALSE(key_ring::make({}));
  CHECK_FALSE(key_ring::make({{"bad id", raw_key('a')}}));
  CHECK_FALSE(key_ring::make({{std::string(33, 'a'), raw_key('a')}}));
  CHECK_FALSE(key_ring::make({{"k1", std::string(31, 'a')}}));
  CHECK_FALSE(key_ring::make({{"k1", raw_key('a')}, {"k1", raw_key('b')}}));
  CHECK_FALSE(key_ring::make({{"k1", raw_key('a')}}, "k9"));
  auto last = ring_of({{"k1", raw_key('a')}, {"k2", raw_key('b')}});
  CHECK(last->active_id() == "k2");
  auto chosen = ring_of({{"k1", raw_key('a')}, {"k2", raw_key('b')}}, "k1");
  CHECK(chosen->active_id() == "k1");
  CHECK(chosen->ids() == std::vector<std::string>{"k1", "k2"});
  CHECK(chosen->has("k2"));
  CHECK_FALSE(chosen->has("k3"));
}

TEST_CASE("rotation: old keys still open, fingerprints stay", "[keys]") {
  auto k1 = random_key();
  auto k2 = random_key();
  auto before = ring_of({{"k1", k1}});
  auto after = ring_of({{"k1", k1}, {"k2", k2}});
  CHECK(after->active_id() == "k2");
  auto old_sealed = before->seal("token-1", "aad");
  auto opened = after->open(old_sealed, "aad");
  REQUIRE(opened);
  CHECK(*opened == "token-1");
  auto new_sealed = after->seal("token-1", "aad");
  CHECK(runtime::sealed_key_id(new_sealed) == std::optional<std::string>{"k2"});
  // The new key's values do not open in the old ring.
  CHECK_FALSE(before->open(new_sealed, "aad"));
  auto fp = before->fingerprint("token-1");
  CHECK(fp.rfind("hmac-sha256:", 0) == 0);
  CHECK(fp.size() == std::string{"hmac-sha256:"}.size() + 16);
  CHECK(after->fingerprint("token-1") == fp);
  CHECK(after->fingerprint("token-2") != fp);
  // The fingerprint is keyed: another first key gives another one, and it
  // is not the plain hash of the value.
  CHECK(ring_of({{"k1", k2}})->fingerprint("token-1") != fp);
  CHECK(fp.find(runtime::sha256_hex("token-1").substr(0, 16)) == std::string::npos);
}

TEST_CASE("key files parse with comments and an active mark", "[keys]") {
  temp_dir dir;
  auto path = dir.file("master.keys");
  auto k1 = random_key();
  auto k2 = random_key();
  write(path, "# keys\n\nk1 " + runtime::base64_encode(k1) + " active  # old\n"
                + "  k2\t" + runtime::base64url_encode(k2) + "\n");
  auto ring = key_ring::load_file(path);
  REQUIRE(ring);
  CHECK((*ring)->active_id() == "k1");
  CHECK((*ring)->ids() == std::vector<std::string>{"k1", "k2"});
  auto direct = ring_of({{"k1", k1}, {"k2", k2}}, "k1");
  auto opened = direct->open((*ring)->seal("v", "aad"), "aad");
  REQUIRE(opened);
  CHECK(*opened == "v");
  // Without a mark, the last line's key seals.
  write(path, "k1 " + runtime::base64_encode(k1) + "\nk2 "
                + runtime::base64_encode(k2) + "\n");
  ring = key_ring::load_file(path);
  REQUIRE(ring);
  CHECK((*ring)->active_id() == "k2");
}

TEST_CASE("key file errors name the file and line, never the key", "[keys]") {
  temp_dir dir;
  auto path = dir.file("bad.keys");
  auto good = runtime::base64_encode(raw_key('g'));
  auto short_key = runtime::base64_encode(std::string(16, 's'));
  struct bad_case {
    std::string text;
    std::string expect;
  };
  std::vector<bad_case> cases{
    {"k1 " + good + "\nk2\n", ":2:"},
    {"k1 " + short_key + "\n", "32 bytes"},
    {"k1 not*base64\n", "not base64"},
    {"bad/id " + good + "\n", "key id"},
    {"k1 " + good + " primary\n", "active"},
    {"k1 " + good + " active\nk2 " + good + " active\n", "more than one"},
    {"k1 " + good + "\nk1 " + runtime::base64_encode(raw_key('h')) + "\n",
     "duplicate"},
    {"# only a comment\n", "no key"},
  };
  for (auto& c : cases) {
    write(path, c.text);
    auto ring = key_ring::load_file(path);
    INFO(c.text);
    REQUIRE_FALSE(ring);
    auto msg = message_of(ring.error());
    CHECK(msg.find(c.expect) != std::string::npos);
    CHECK(msg.find(path) != std::string::npos);
    CHECK(msg.find(good) == std::string::npos);
    CHECK(msg.find(short_key) == std::string::npos);
  }
  auto missing = key_ring::load_file(dir.file("absent.keys"));
  REQUIRE_FALSE(missing);
  CHECK(message_of(missing.error()).find("absent.keys") != std::string::npos);
}

TEST_CASE("the environment form and from_settings", "[keys]") {
  auto k1 = runtime::base64_encode(raw_key('a'));
  auto k2 = runtime::base64url_encode(raw_key('b'));
  auto ring = key_ring::parse_env("k1:" + k1 + ", k2:" + k2);
  REQUIRE(ring);
  CHECK((*ring)->active_id() == "k2");
  ring = key_ring::parse_env("k1:" + k1 + ",k2:" + k2, "k1");
  REQUIRE(ring);
  CHECK((*ring)->active_id() == "k1");
  for (auto bad : {std::string{""}, std::string{"k1"}, "k1:" + k1.substr(4),
                   "k1 x:" + k1, "k1:" + k1 + ",k1:" + k2}) {
    INFO(bad);
    auto r = key_ring::parse_env(bad);
    REQUIRE_FALSE(r);
    CHECK(message_of(r.error()).find(k1) == std::string::npos);
  }
  auto none = key_ring::from_settings("", "");
  REQUIRE_FALSE(none);
  CHECK(message_of(none.error()) == "no master key configured");

  temp_dir dir;
  auto path = dir.file("m.keys");
  auto k0 = runtime::base64_encode(raw_key('z'));
  write(path, "k0 " + k0 + "\n");
  // Both: the file's keys first, the environment's last key seals.
  auto both = key_ring::from_settings(path, "k1:" + k1);
  REQUIRE(both);
  CHECK((*both)->ids() == std::vector<std::string>{"k0", "k1"});
  CHECK((*both)->active_id() == "k1");
  // An explicit mark in the file wins over the environment, active_id over
  // both.
  write(path, "k0 " + k0 + " active\n");
  both = key_ring::from_settings(path, "k1:" + k1);
  REQUIRE(both);
  CHECK((*both)->active_id() == "k0");
  both = key_ring::from_settings(path, "k1:" + k1, "k1");
  REQUIRE(both);
  CHECK((*both)->active_id() == "k1");
  CHECK_FALSE(key_ring::from_settings(path, "k1:" + k1, "k7"));
  // One id naming two different keys is refused.
  CHECK_FALSE(key_ring::from_settings(path, "k0:" + k1));
  CHECK(key_ring::from_settings(path, "k0:" + k0));
}

TEST_CASE("ensure_file creates one 0600 key, add_key_to_file rotates", "[keys]") {
  temp_dir dir;
  auto path = dir.file("sub/dir/master.keys");
  auto created = key_ring::ensure_file(path);
  REQUIRE(created);
  CHECK(*created);
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto again = key_ring::ensure_file(path);
  REQUIRE(again);
  CHECK_FALSE(*again);
  auto first = key_ring::load_file(path);
  REQUIRE(first);
  CHECK((*first)->ids() == std::vector<std::string>{"k1"});
  auto sealed = (*first)->seal("value", "aad");
  auto fp = (*first)->fingerprint("value");

  auto id = key_ring::add_key_to_file(path);
  REQUIRE(id);
  CHECK(*id == "k2");
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto second = key_ring::load_file(path);
  REQUIRE(second);
  CHECK((*second)->ids() == std::vector<std::string>{"k1", "k2"});
  CHECK((*second)->active_id() == "k2");
  auto opened = (*second)->open(sealed, "aad");
  REQUIRE(opened);
  CHECK(*opened == "value");
  CHECK((*second)->fingerprint("value") == fp);
  // Exactly one mark, comments kept.
  auto text = read(path);
  CHECK(text.find("# FleetPrompt master keys") != std::string::npos);
  auto count = [&](const std::string& word) {
    std::size_t n = 0;
    for (auto pos = text.find(word); pos != std::string::npos;
         pos = text.find(word, pos + 1))
      ++n;
    return n;
  };
  CHECK(count(" active") == 1);
  id = key_ring::add_key_to_file(path);
  REQUIRE(id);
  CHECK(*id == "k3");
  auto third = key_ring::load_file(path);
  REQUIRE(third);
  CHECK((*third)->active_id() == "k3");
  CHECK_FALSE(key_ring::add_key_to_file(dir.file("absent.keys")));
}

TEST_CASE("load_key_ring: the default key file, the environment, both",
          "[keys]") {
  temp_dir dir;
  config::settings s;
  s.data_dir = dir.file("data");
  CHECK(runtime::default_key_file(s) == dir.file("data/master.keys"));
  // Listing-style loads never create the default file.
  CHECK_FALSE(runtime::load_key_ring(s, false));
  auto first = runtime::load_key_ring(s);
  REQUIRE(first);
  CHECK(first->created);
  CHECK(first->key_file == dir.file("data/master.keys"));
  CHECK_FALSE(first->from_environment);
  CHECK(first->ring->active_id() == "k1");
  auto sealed = first->ring->seal("v", "aad");
  auto second = runtime::load_key_ring(s);
  REQUIRE(second);
  CHECK_FALSE(second->created);
  auto opened = second->ring->open(sealed, "aad");
  REQUIRE(opened);
  CHECK(*opened == "v");

  config::settings env;
  env.data_dir = dir.file("other");
  env.master_keys = "e1:" + runtime::base64_encode(raw_key('e'));
  auto from_env = runtime::load_key_ring(env);
  REQUIRE(from_env);
  CHECK(from_env->from_environment);
  CHECK(from_env->key_file.empty());
  CHECK(from_env->ring->active_id() == "e1");
  // No default file appears when keys are configured.
  CHECK_FALSE(std::filesystem::exists(dir.file("other/master.keys")));

  env.active_key_id = "nope";
  CHECK_FALSE(runtime::load_key_ring(env));
}
