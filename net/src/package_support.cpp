#include "package_support.hpp"

#include <algorithm>
#include <optional>

#include <simdjson.h>

#include "fp/actors/semver.hpp"

namespace fp::net::package_detail {

namespace semver = actors::semver;

void sort_by_precedence(std::vector<storage::package_version_record>& versions) {
  struct keyed {
    std::optional<semver::version> v;
    storage::package_version_record* rec;
  };
  std::vector<keyed> keys;
  keys.reserve(versions.size());
  for (auto& rec : versions)
    keys.push_back({semver::parse(rec.version), &rec});
  std::stable_sort(keys.begin(), keys.end(), [](const keyed& a, const keyed& b) {
    if (a.v && b.v)
      return semver::compare(*a.v, *b.v) > 0;
    if (a.v || b.v)
      return a.v.has_value();
    return a.rec->version > b.rec->version;
  });
  std::vector<storage::package_version_record> out;
  out.reserve(versions.size());
  for (auto& k : keys)
    out.push_back(std::move(*k.rec));
  versions = std::move(out);
}

std::string
latest_version(const std::vector<storage::package_version_summary>& versions) {
  const storage::package_version_summary* best_release = nullptr;
  const storage::package_version_summary* best_pre = nullptr;
  std::optional<semver::version> release, pre;
  for (auto& s : versions) {
    if (s.yanked)
      continue;
    auto v = semver::parse(s.version);
    if (!v)
      continue;
    auto& best = v->is_prerelease() ? pre : release;
    auto& which = v->is_prerelease() ? best_pre : best_release;
    if (!best || semver::compare(*v, *best) > 0) {
      best = std::move(v);
      which = &s;
    }
  }
  if (best_release)
    return best_release->version;
  return best_pre ? best_pre->version : std::string{};
}

std::map<std::string, std::string> manifest_dependencies(std::string_view manifest) {
  std::map<std::string, std::string> out;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(manifest.data(), manifest.size()).get(root))
    return out;
  simdjson::dom::object deps;
  if (root["dependencies"].get_object().get(deps))
    return out;
  for (auto [key, value] : deps) {
    std::string_view range;
    if (!value.get_string().get(range))
      out.emplace(std::string{key}, std::string{range});
  }
  return out;
}

caf::expected<actors::resolution_result>
resolve_in_registry(storage::pg_session& db, const std::string& root,
                    const std::string& range, bool include_prerelease,
                    const actors::installed_versions& installed) {
  caf::error failure;
  std::map<std::string, std::vector<actors::candidate_version>> cache;
  actors::version_source source =
    [&](const std::string& package) -> std::vector<actors::candidate_version> {
    if (auto i = cache.find(package); i != cache.end())
      return i->second;
    std::vector<actors::candidate_version> out;
    if (failure)
      return out;
    auto stored = storage::list_package_versions(db, package);
    if (!stored) {
      failure = std::move(stored.error());
      return out;
    }
    for (auto& rec : *stored) {
      auto v = semver::parse(rec.version);
      if (!v)
        continue;
      actors::candidate_version c;
      c.version = std::move(*v);
      c.version_text = rec.version;
      c.yanked = rec.yanked;
      c.dependencies = manifest_dependencies(rec.manifest);
      out.push_back(std::move(c));
    }
    cache.emplace(package, out);
    return out;
  };
  auto result = actors::resolve_dependencies(root, range, source, installed,
                                             include_prerelease);
  if (failure)
    return failure;
  return result;
}

} // namespace fp::net::package_detail
