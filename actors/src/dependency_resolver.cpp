#include "fp/actors/dependency_resolver.hpp"

#include <algorithm>
#include <set>

#include "package_manifest_internal.hpp"

namespace fp::actors {

namespace {

using detail::cat;

// Backtracking is exponential in the worst case; registries are small, but
// a hostile set of ranges must not hang an install request.
constexpr int max_attempts = 20000;

// One range some package puts on another.
struct requirement {
  std::string range_text;
  semver::range range;
  /// "acme/a 1.0.0", or empty for the request itself.
  std::string by;
};

class resolver {
public:
  resolver(const version_source& source, const installed_versions& installed,
           bool include_prerelease)
    : source_(source), installed_(installed), prerelease_(include_prerelease) {
  }

  resolution_result run(const std::string& root, const std::string& root_range) {
    resolution_result out;
    root_ = root;
    auto versions = versions_of(root);
    if (versions.empty()) {
      out.error = resolution_error{"not_found", cat("no package ", root), {root}};
      return out;
    }
    // An exact version is taken as it is (also a pre-release), unless yanked.
    if (auto exact = semver::parse(root_range)) {
      auto i = std::find_if(versions.begin(), versions.end(), [&](auto& c) {
        return semver::compare(c.version, *exact) == 0;
      });
      if (i == versions.end()) {
        out.error = resolution_error{
          "no_match",
          cat("no version ", root_range, " of ", root, "; available: ",
              available(versions)),
          {root}};
        return out;
      }
      if (i->yanked) {
        out.error = resolution_error{
          "no_match", cat(root, " ", i->version_text, " is yanked"), {root}};
        return out;
      }
      exact_root_ = *i;
    }
    std::string why;
    auto r = semver::range::parse(root_range, &why);
    if (!exact_root_ && !r) {
      out.error = resolution_error{"no_match", why, {root}};
      return out;
    }
    if (!exact_root_)
      requirements_[root].push_back({root_range, *r, {}});
    else
      requirements_[root].push_back(
        {root_range, *semver::range::parse("*"), {}});
    order_.push_back(root);
    if (!solve()) {
      out.error = error_ ? *error_
                         : resolution_error{"conflict",
                                            cat("no consistent set of versions "
                                                "for ",
                                                root),
                                            {root}};
      return out;
    }
    resolution res;
    for (auto& [name, c] : chosen_)
      res.chosen[name] = c.version_text;
    std::set<std::string> seen;
    visit(root, seen, res.install_order);
    out.ok = std::move(res);
    return out;
  }

private:
  const std::vector<candidate_version>& versions_of(const std::string& name) {
    auto i = cache_.find(name);
    if (i == cache_.end())
      i = cache_.emplace(name, source_(name)).first;
    return i->second;
  }

  static std::string available(const std::vector<candidate_version>& versions) {
    std::vector<const candidate_version*> live;
    for (auto& c : versions)
      if (!c.yanked)
        live.push_back(&c);
    std::sort(live.begin(), live.end(), [](auto* a, auto* b) {
      return semver::compare(a->version, b->version) < 0;
    });
    std::string out;
    for (auto* c : live) {
      if (!out.empty())
        out += ", ";
      out += c->version_text;
    }
    return out.empty() ? std::string{"none"} : out;
  }

  static std::string label(const std::string& name, const candidate_version& c) {
    return cat(name, " ", c.version_text);
  }

  void fail(std::string kind, std::string message,
            std::vector<std::string> packages) {
    // The first failure found is the one of the highest versions.
    if (!error_)
      error_ = resolution_error{std::move(kind), std::move(message),
                                std::move(packages)};
  }

  static std::string who(const requirement& r) {
    return r.by.empty() ? std::string{"the request"} : r.by;
  }

  // "acme/c: acme/a 1.0.0 requires ^1.0, acme/b 2.0.0 requires ^2.0".
  std::string conflict_text(const std::string& name,
                            const std::vector<requirement>& reqs) {
    std::string out = cat(name, ": ");
    for (size_t k = 0; k < reqs.size(); ++k) {
      if (k > 0)
        out += ", ";
      out += cat(who(reqs[k]), " requires ", reqs[k].range_text);
    }
    return out;
  }

  std::vector<std::string> involved(const std::string& name,
                                    const std::vector<requirement>& reqs) {
    std::vector<std::string> out{name};
    for (auto& r : reqs)
      if (!r.by.empty())
        out.push_back(r.by.substr(0, r.by.find(' ')));
    return out;
  }

  bool satisfies_all(const candidate_version& c,
                     const std::vector<requirement>& reqs) const {
    return std::all_of(reqs.begin(), reqs.end(), [&](const requirement& r) {
      return r.range.satisfies(c.version, prerelease_);
    });
  }

  // A path of chosen packages from `from` to `to` along dependencies.
  bool path_to(const std::string& from, const std::string& to,
               std::vector<std::string>& path, std::set<std::string>& seen) {
    path.push_back(from);
    if (from == to)
      return true;
    if (seen.insert(from).second) {
      auto i = chosen_.find(from);
      if (i != chosen_.end())
        for (auto& [dep, range] : i->second.dependencies)
          if (path_to(dep, to, path, seen))
            return true;
    }
    path.pop_back();
    return false;
  }

  // The candidates of `name` under its current requirements, best first.
  std::vector<candidate_version> candidates(const std::string& name) {
    auto& reqs = requirements_[name];
    const auto& versions = versions_of(name);
    std::vector<candidate_version> out;
    if (name == root_ && exact_root_) {
      out.push_back(*exact_root_);
      return out;
    }
    if (auto inst = installed_.find(name);
        inst != installed_.end() && name != root_) {
      auto v = semver::parse(inst->second);
      candidate_version c;
      auto i = std::find_if(versions.begin(), versions.end(), [&](auto& x) {
        return v && semver::compare(x.version, *v) == 0;
      });
      if (i != versions.end()) {
        c = *i;
      } else {
        c.version_text = inst->second;
        if (v)
          c.version = *v;
      }
      // An installed version stands even if yanked or a pre-release.
      bool ok = std::all_of(reqs.begin(), reqs.end(), [&](auto& r) {
        return r.range.satisfies(c.version, true);
      });
      if (!ok)
        fail("conflict",
             cat(conflict_text(name, reqs), "; installed is ", c.version_text,
                 " (upgrade it first)"),
             involved(name, reqs));
      else
        out.push_back(std::move(c));
      return out;
    }
    for (auto& c : versions)
      if (!c.yanked && satisfies_all(c, reqs))
        out.push_back(c);
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
      return semver::compare(b.version, a.version) < 0;
    });
    if (!out.empty())
      return out;
    if (versions.empty()) {
      fail("not_found",
           cat("no package ", name, " (required by ", who(reqs.front()), ")"),
           involved(name, reqs));
      return out;
    }
    // One range no version meets alone, or several none meets together.
    for (auto& r : reqs) {
      bool any = std::any_of(versions.begin(), versions.end(), [&](auto& c) {
        return !c.yanked && r.range.satisfies(c.version, prerelease_);
      });
      if (!any) {
        auto by = r.by.empty() ? std::string{} : cat(" (required by ", r.by, ")");
        fail("no_match",
             cat("no version of ", name, " satisfies ", r.range_text, by,
                 "; available: ", available(versions)),
             involved(name, {r}));
        return out;
      }
    }
    fail("conflict", conflict_text(name, reqs), involved(name, reqs));
    return out;
  }

  bool solve() {
    if (++attempts_ > max_attempts) {
      fail("conflict",
           cat("gave up after ", std::to_string(max_attempts),
               " attempts to find consistent versions"),
           {root_});
      return false;
    }
    auto next = std::find_if(order_.begin(), order_.end(), [&](auto& name) {
      return !chosen_.count(name);
    });
    if (next == order_.end())
      return true;
    auto name = *next;
    for (auto& c : candidates(name)) {
      if (attempts_ > max_attempts)
        return false;
      auto label_text = label(name, c);
      // Its dependencies: ranges that parse, cycles, chosen versions.
      bool usable = true;
      std::vector<std::pair<std::string, requirement>> added;
      for (auto& [dep, range_text] : c.dependencies) {
        std::string why;
        auto r = semver::range::parse(range_text, &why);
        if (!r) {
          fail("no_match", cat(label_text, " has an invalid range for ", dep,
                               ": ", why),
               {name, dep});
          usable = false;
          break;
        }
        std::vector<std::string> path;
        std::set<std::string> seen;
        if (dep == name || (chosen_.count(dep) && path_to(dep, name, path, seen))) {
          // The ring (package, label), told from the package required first.
          std::vector<std::pair<std::string, std::string>> ring{{name, label_text}};
          for (size_t k = 0; k + 1 < path.size(); ++k)
            ring.emplace_back(path[k], label(path[k], chosen_.at(path[k])));
          auto pos = [this](const std::string& p) {
            return std::find(order_.begin(), order_.end(), p) - order_.begin();
          };
          std::rotate(ring.begin(),
                      std::min_element(ring.begin(), ring.end(),
                                       [&](auto& a, auto& b) {
                                         return pos(a.first) < pos(b.first);
                                       }),
                      ring.end());
          std::string text;
          std::vector<std::string> pkgs;
          for (auto& [pkg, text_label] : ring) {
            text += cat(text_label, " -> ");
            pkgs.push_back(pkg);
          }
          text += ring.front().first;
          pkgs.push_back(ring.front().first);
          fail("cycle", std::move(text), std::move(pkgs));
          usable = false;
          break;
        }
        requirement req{range_text, *r, label_text};
        if (auto i = chosen_.find(dep); i != chosen_.end()) {
          bool installed = installed_.count(dep) && dep != root_;
          if (!r->satisfies(i->second.version, prerelease_ || installed)) {
            auto reqs = requirements_[dep];
            reqs.push_back(req);
            auto text = conflict_text(dep, reqs);
            if (installed)
              text += cat("; installed is ", i->second.version_text,
                          " (upgrade it first)");
            fail("conflict", std::move(text), involved(dep, reqs));
            usable = false;
            break;
          }
        }
        added.emplace_back(dep, std::move(req));
      }
      if (!usable)
        continue;
      // Choose it and go on; undo on failure.
      chosen_.emplace(name, c);
      auto order_size = order_.size();
      for (auto& [dep, req] : added) {
        requirements_[dep].push_back(req);
        if (std::find(order_.begin(), order_.end(), dep) == order_.end())
          order_.push_back(dep);
      }
      if (solve())
        return true;
      for (auto& [dep, req] : added)
        requirements_[dep].pop_back();
      order_.resize(order_size);
      chosen_.erase(name);
    }
    return false;
  }

  // Dependencies before dependents; installed ones left out.
  void visit(const std::string& name, std::set<std::string>& seen,
             std::vector<std::string>& out) {
    if (!seen.insert(name).second)
      return;
    auto& c = chosen_.at(name);
    for (auto& [dep, range] : c.dependencies)
      visit(dep, seen, out);
    if (name == root_ || !installed_.count(name))
      out.push_back(name);
  }

  const version_source& source_;
  const installed_versions& installed_;
  bool prerelease_;
  std::string root_;
  std::optional<candidate_version> exact_root_;
  std::map<std::string, std::vector<candidate_version>> cache_;
  std::map<std::string, std::vector<requirement>> requirements_;
  std::map<std::string, candidate_version> chosen_;
  /// Packages in the order they were first required.
  std::vector<std::string> order_;
  std::optional<resolution_error> error_;
  int attempts_ = 0;
};

} // namespace

resolution_result resolve_dependencies(const std::string& root,
                                       const std::string& root_range,
                                       const version_source& source,
                                       const installed_versions& installed,
                                       bool include_prerelease) {
  return resolver{source, installed, include_prerelease}.run(root, root_range);
}

} // namespace fp::actors
