#include "fp/storage/packages.hpp"

#include "agent_sql.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/users.hpp"
#include "pg_array.hpp"
#include "sql_text.hpp"

namespace fp::storage {

namespace {

// -- reading rows -----------------------------------------------------------------------

std::string version_columns() {
  return "package, version, manifest::text, content_sha256, yanked, "
         "yanked_reason, published_by, "
         + detail::rfc3339("published_at");
}

package_version_record read_version(const result& r, int row) {
  package_version_record v;
  int c = 0;
  v.package = r.text(row, c++);
  v.version = r.text(row, c++);
  v.manifest = r.text(row, c++);
  v.content_sha256 = r.text(row, c++);
  v.yanked = r.boolean(row, c++);
  v.yanked_reason = r.text(row, c++);
  v.published_by = r.text(row, c++);
  v.published_at = r.text(row, c++);
  return v;
}

/// Columns of a package (alias p) with its number of versions.
std::string package_columns() {
  return "p.name, p.publisher, p.description, (SELECT count(*) FROM "
         "public.package_versions v WHERE v.package = p.name), "
         + detail::rfc3339("p.created_at") + ", "
         + detail::rfc3339("p.updated_at");
}

package_record read_package(const result& r, int row) {
  package_record p;
  int c = 0;
  p.name = r.text(row, c++);
  p.publisher = r.text(row, c++);
  p.description = r.text(row, c++);
  p.version_count = r.int64(row, c++);
  p.created_at = r.text(row, c++);
  p.updated_at = r.text(row, c++);
  return p;
}

std::string_view publisher_of(std::string_view package) {
  return package.substr(0, package.find('/'));
}

// -- publishing -------------------------------------------------------------------------

/// Makes sure the publisher exists and `who` may publish under it: the
/// row is locked for the rest of the transaction, so two organizations
/// racing to claim an unclaimed publisher are serialized.
caf::error claim_publisher(pg_session& db, const publisher_identity& who,
                           std::string_view publisher) {
  if (!who.platform_admin && !is_uuid(who.org_id))
    return runtime::make_error(runtime::errc::forbidden,
                      "only platform admins or an organization's API key "
                      "with scope \"publish\" may publish");
  auto made = db.exec_prepared(
    "packages.publisher_create",
    "INSERT INTO public.package_publishers (name, org_id) VALUES ($1, "
    "$2::uuid) ON CONFLICT (name) DO NOTHING",
    {std::string{publisher},
     who.platform_admin ? std::nullopt : detail::opt_text(who.org_id)});
  if (!made)
    return std::move(made.error());
  auto owner = db.exec_prepared(
    "packages.publisher_lock",
    "SELECT coalesce(org_id::text, '') FROM public.package_publishers "
    "WHERE name = $1 FOR UPDATE",
    {std::string{publisher}});
  if (!owner)
    return std::move(owner.error());
  if (owner->rows() != 1)
    return runtime::make_error(runtime::errc::internal, "publisher row vanished");
  if (who.platform_admin)
    return caf::none;
  std::string org{owner->text(0, 0)};
  if (org == who.org_id)
    return caf::none;
  if (!org.empty())
    return runtime::make_error(runtime::errc::forbidden,
                      "publisher \"" + std::string{publisher}
                        + "\" belongs to another organization");
  auto claim = db.exec_prepared(
    "packages.publisher_claim",
    "UPDATE public.package_publishers SET org_id = $2::uuid WHERE name = $1 "
    "AND org_id IS NULL",
    {std::string{publisher}, who.org_id});
  if (!claim)
    return std::move(claim.error());
  return caf::none;
}

/// What an existing version with the same key means for this publish.
caf::expected<std::optional<publish_outcome>>
compare_existing(pg_session& db, std::string_view package,
                 std::string_view version, std::string_view version_key,
                 std::string_view content_sha256) {
  auto r = db.exec_prepared(
    "packages.version_by_key",
    "SELECT version, content_sha256 FROM public.package_versions WHERE "
    "package = $1 AND version_key = $2",
    {std::string{package}, std::string{version_key}});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return std::optional<publish_outcome>{};
  auto existing = r->text(0, 0);
  if (existing == version && r->text(0, 1) == content_sha256)
    return std::optional<publish_outcome>{publish_outcome::unchanged};
  std::string what = std::string{package} + " " + std::string{version};
  if (existing != version)
    return runtime::make_error(runtime::errc::conflict,
                      what + ": version " + std::string{existing}
                        + " differs only in build metadata and is already "
                          "published; versions are immutable, publish a new "
                          "version");
  return runtime::make_error(runtime::errc::conflict,
                    what + " is already published with different content; "
                           "versions are immutable, publish a new version");
}

} // namespace

caf::expected<publish_outcome>
publish_package_version(pg_session& db, const publisher_identity& who,
                        std::string_view package, std::string_view version,
                        std::string_view version_key,
                        std::string_view description,
                        std::string_view canonical_manifest,
                        std::string_view content_sha256) {
  if (auto err = claim_publisher(db, who, publisher_of(package)))
    return err;
  auto seen = compare_existing(db, package, version, version_key,
                               content_sha256);
  if (!seen)
    return std::move(seen.error());
  if (*seen)
    return **seen;
  auto pkg = db.exec_prepared(
    "packages.upsert",
    "INSERT INTO public.packages (name, publisher, description) VALUES ($1, "
    "$2, $3) ON CONFLICT (name) DO UPDATE SET description = "
    "EXCLUDED.description, updated_at = now()",
    {std::string{package}, std::string{publisher_of(package)},
     std::string{description}});
  if (!pkg)
    return std::move(pkg.error());
  // A concurrent publish of the same key may have won since the check:
  // then its row decides (unchanged or conflict), as if it came first.
  auto ins = db.exec_prepared(
    "packages.version_insert",
    "INSERT INTO public.package_versions (package, version, version_key, "
    "manifest, content_sha256, published_by) VALUES ($1, $2, $3, $4::jsonb, "
    "$5, $6) ON CONFLICT DO NOTHING",
    {std::string{package}, std::string{version}, std::string{version_key},
     std::string{canonical_manifest}, std::string{content_sha256},
     std::string{who.who}});
  if (!ins)
    return std::move(ins.error());
  if (ins->affected_rows() == 1)
    return publish_outcome::created;
  auto again = compare_existing(db, package, version, version_key,
                                content_sha256);
  if (!again)
    return std::move(again.error());
  if (*again)
    return **again;
  return runtime::make_error(runtime::errc::conflict, std::string{package} + " "
                                      + std::string{version}
                                      + " was published concurrently");
}

caf::expected<std::vector<package_record>>
list_packages(pg_session& db, const package_filter& filter) {
  auto r = db.exec_prepared(
    "packages.list",
    "SELECT " + package_columns()
      + " FROM public.packages p WHERE ($1 = '' OR strpos(lower(p.name), "
        "lower($1)) > 0 OR strpos(lower(p.description), lower($1)) > 0) "
        "AND p.name > $2 ORDER BY p.name LIMIT $3::int",
    {filter.query, filter.after_name,
     std::to_string(filter.limit > 0 ? filter.limit : 50)});
  if (!r)
    return std::move(r.error());
  std::vector<package_record> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(read_package(*r, i));
  return out;
}

caf::expected<std::optional<package_record>>
find_package(pg_session& db, std::string_view name) {
  return detail::first_row(
    db.exec_prepared("packages.find",
                     "SELECT " + package_columns()
                       + " FROM public.packages p WHERE p.name = $1",
                     {std::string{name}}),
    read_package);
}

caf::expected<std::vector<package_version_record>>
list_package_versions(pg_session& db, std::string_view package) {
  auto r = db.exec_prepared("packages.versions",
                            "SELECT " + version_columns()
                              + " FROM public.package_versions WHERE "
                                "package = $1",
                            {std::string{package}});
  if (!r)
    return std::move(r.error());
  std::vector<package_version_record> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(read_version(*r, i));
  return out;
}

caf::expected<std::optional<package_version_record>>
find_package_version(pg_session& db, std::string_view package,
                     std::string_view version) {
  // The key is unique per package, so at most one row matches.
  return detail::first_row(
    db.exec_prepared("packages.version",
                     "SELECT " + version_columns()
                       + " FROM public.package_versions WHERE package = $1 "
                         "AND (version = $2 OR version_key = $2)",
                     {std::string{package}, std::string{version}}),
    read_version);
}

caf::expected<std::optional<package_version_record>>
set_package_version_yanked(pg_session& db, std::string_view package,
                           std::string_view version, bool yanked,
                           std::string_view reason) {
  return detail::first_row(
    db.exec_prepared(
      "packages.yank",
      "UPDATE public.package_versions SET yanked = $3::boolean, "
      "yanked_reason = CASE WHEN $3::boolean THEN $4 ELSE '' END WHERE "
      "package = $1 AND (version = $2 OR version_key = $2) RETURNING "
        + version_columns(),
      {std::string{package}, std::string{version},
       std::string{yanked ? "true" : "false"}, std::string{reason}}),
    read_version);
}

caf::expected<std::vector<package_version_summary>>
list_version_summaries(pg_session& db,
                       const std::vector<std::string>& packages) {
  std::vector<package_version_summary> out;
  if (packages.empty())
    return out;
  auto r = db.exec_prepared(
    "packages.version_summaries",
    "SELECT package, version, yanked FROM public.package_versions WHERE "
    "package = ANY ($1::text[])",
    {detail::text_array(packages)});
  if (!r)
    return std::move(r.error());
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back({std::string{r->text(i, 0)}, std::string{r->text(i, 1)},
                   r->boolean(i, 2)});
  return out;
}

caf::expected<std::optional<std::string>>
package_publisher_org(pg_session& db, std::string_view package) {
  return detail::first_row(
    db.exec_prepared(
      "packages.publisher_org",
      "SELECT coalesce(pp.org_id::text, '') FROM public.packages p JOIN "
      "public.package_publishers pp ON pp.name = p.publisher WHERE p.name = "
      "$1",
      {std::string{package}}),
    [](const result& r, int row) { return std::string{r.text(row, 0)}; });
}

} // namespace fp::storage
