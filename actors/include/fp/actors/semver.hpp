#pragma once

// Semantic Versioning 2.0.0 (https://semver.org): parsing, precedence
// (section 11: numeric identifiers compare numerically and below
// alphanumeric ones, a pre-release is below its release, build metadata is
// ignored) and the version ranges packages use in `dependencies` and
// installation requests. Pure: no actors, no I/O.
//
// Range grammar (the npm subset people write):
//   range      := set ( "||" set )*
//   set        := hyphen | comparator ( " " comparator )*  (all must hold)
//   hyphen     := partial " - " partial        (1.2 - 2.3.4 = >=1.2.0 <2.4.0)
//   comparator := op? partial | "^" partial | "~" partial | "*" | "" (any)
//   op         := "=" | ">" | ">=" | "<" | "<="
//   partial    := major ( "." minor ( "." patch pre? )? )?  where a missing
//                 or "x"/"X"/"*" part is a wildcard (1.x, 1.2.*)
// Caret: ^1.2.3 := >=1.2.3 <2.0.0; ^0.2.3 := >=0.2.3 <0.3.0;
//        ^0.0.3 := >=0.0.3 <0.0.4; ^1.2 := >=1.2.0 <2.0.0; ^0.x := <1.0.0.
// Tilde: ~1.2.3 := >=1.2.3 <1.3.0; ~1.2 := >=1.2.0 <1.3.0; ~1 := <2.0.0.
// A pre-release version satisfies a range only when `include_prerelease`
// is set, or when some comparator of the matching set names a pre-release
// of the same major.minor.patch (1.2.3-beta.2 satisfies >=1.2.3-beta.1).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fp::actors::semver {

/// One parsed version.
struct version {
  uint64_t major = 0;
  uint64_t minor = 0;
  uint64_t patch = 0;
  /// Dot-separated pre-release identifiers ("alpha", "1"); empty: a release.
  std::vector<std::string> prerelease;
  /// Build metadata identifiers (ignored by precedence).
  std::vector<std::string> build;

  bool is_prerelease() const noexcept { return !prerelease.empty(); }
  /// The canonical text, build metadata included.
  std::string to_string() const;
  /// The text without build metadata (the registry's uniqueness key).
  std::string without_build() const;
};

/// Parses strict SemVer 2.0 text (no leading "v", no leading zeros in
/// numeric identifiers, no empty identifiers). nullopt and, when `why` is
/// given, a one-line reason on failure.
std::optional<version> parse(std::string_view text, std::string* why = nullptr);

/// Precedence: negative, zero or positive as `a` is below, equal to or
/// above `b` (build metadata ignored).
int compare(const version& a, const version& b) noexcept;

inline bool operator<(const version& a, const version& b) noexcept {
  return compare(a, b) < 0;
}
inline bool operator==(const version& a, const version& b) noexcept {
  return compare(a, b) == 0;
}

/// A parsed range: a union of comparator sets.
class range {
public:
  /// Parses `text` (grammar above); nullopt and a reason on failure.
  static std::optional<range> parse(std::string_view text,
                                    std::string* why = nullptr);

  /// True when `v` satisfies the range (see the pre-release rule above).
  bool satisfies(const version& v, bool include_prerelease = false) const;

  /// The text it was parsed from, trimmed.
  const std::string& text() const noexcept { return text_; }

  /// One comparator: `op` is one of "<", "<=", ">", ">=", "=".
  struct comparator {
    std::string op;
    version v;
  };

private:
  std::string text_;
  /// Sets joined by "||"; an empty set matches every version.
  std::vector<std::vector<comparator>> sets_;
};

/// The highest of `candidates` satisfying `r`, or nullopt.
std::optional<version> max_satisfying(const std::vector<version>& candidates,
                                      const range& r,
                                      bool include_prerelease = false);

} // namespace fp::actors::semver
