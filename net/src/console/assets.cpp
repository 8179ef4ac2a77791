// Reading web/dist: the Vite manifest and the hashed files.

#include "assets.hpp"

#include <fstream>
#include <sstream>

#include <simdjson.h>

#include "fp/net/problem.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/runtime/log.hpp"

namespace fp::net::console {

namespace {

/// The entry chunk named `src/main.js` in a Vite manifest.
constexpr std::string_view entry_key = "src/main.js";

std::string read_file(const std::filesystem::path& p, bool& ok) {
  std::ifstream in{p, std::ios::binary};
  ok = static_cast<bool>(in);
  if (!ok)
    return {};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

assets::entry parse_manifest(const std::string& text) {
  assets::entry out;
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded{text};
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc))
    return out;
  simdjson::ondemand::object chunk;
  if (doc[entry_key].get_object().get(chunk))
    return out;
  std::string_view file;
  if (chunk["file"].get_string().get(file))
    return out;
  out.script = std::string{file};
  simdjson::ondemand::array css;
  if (!chunk["css"].get_array().get(css))
    for (auto item : css) {
      std::string_view sheet;
      if (!item.get_string().get(sheet))
        out.styles.emplace_back(sheet);
    }
  out.version = runtime::sha256_hex(text).substr(0, 20);
  out.built = true;
  return out;
}

} // namespace

assets::assets(std::filesystem::path dir) : dir_(std::move(dir)) {
}

assets::entry assets::current() {
  auto manifest = dir_ / ".vite" / "manifest.json";
  std::error_code ec;
  auto mtime = std::filesystem::last_write_time(manifest, ec);
  std::lock_guard guard{mtx_};
  if (ec) {
    entry_ = {};
    loaded_at_ = {};
    return entry_;
  }
  if (!entry_.built || mtime != loaded_at_) {
    bool ok = false;
    auto text = read_file(manifest, ok);
    entry_ = ok ? parse_manifest(text) : entry{};
    loaded_at_ = mtime;
    if (!entry_.built)
      runtime::log::warn("cannot read the console manifest",
                         {{"path", manifest.string()}});
  }
  return entry_;
}

std::string_view media_type_of(std::string_view file) noexcept {
  auto ends = [&](std::string_view ext) {
    return file.size() >= ext.size()
           && file.substr(file.size() - ext.size()) == ext;
  };
  if (ends(".js") || ends(".mjs"))
    return "text/javascript; charset=utf-8";
  if (ends(".css"))
    return "text/css; charset=utf-8";
  if (ends(".svg"))
    return "image/svg+xml";
  if (ends(".png"))
    return "image/png";
  if (ends(".woff2"))
    return "font/woff2";
  if (ends(".json") || ends(".map"))
    return "application/json";
  return "application/octet-stream";
}

bool servable_name(std::string_view file) noexcept {
  if (file.empty() || file.size() > 200 || file.front() == '.')
    return false;
  for (char c : file) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok)
      return false;
  }
  return true;
}

http_response assets::serve(std::string_view file) const {
  if (!servable_name(file))
    return problem(404, "Not Found", "no such asset");
  bool ok = false;
  auto body = read_file(dir_ / std::string{file}, ok);
  if (!ok)
    return problem(404, "Not Found", "no such asset");
  http_response res;
  res.status = 200;
  res.content_type = std::string{media_type_of(file)};
  res.body = std::move(body);
  res.set_header("Cache-Control", "public, max-age=31536000, immutable");
  res.set_header("X-Content-Type-Options", "nosniff");
  return res;
}

} // namespace fp::net::console
