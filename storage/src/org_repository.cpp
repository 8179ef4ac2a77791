#include "fp/storage/org_repository.hpp"

namespace fp::storage {

namespace {

constexpr std::string_view org_columns =
  "o.id::text, o.slug, o.name, o.state,"
  " to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

org_row org_at(const result& r, int row, int col = 0) {
  return {std::string{r.text(row, col)}, std::string{r.text(row, col + 1)},
          std::string{r.text(row, col + 2)}, std::string{r.text(row, col + 3)},
          std::string{r.text(row, col + 4)}};
}

caf::expected<std::vector<org_row>> org_rows(caf::expected<result> r) {
  if (!r)
    return std::move(r.error());
  std::vector<org_row> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(org_at(*r, i));
  return out;
}

caf::expected<std::vector<std::string>> column0(caf::expected<result> r) {
  if (!r)
    return std::move(r.error());
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.emplace_back(r->text(i, 0));
  return out;
}

caf::error status_only(caf::expected<result> r) {
  return r ? caf::none : std::move(r.error());
}

std::string sql_with_columns(std::string_view head, std::string_view tail) {
  std::string out{head};
  out += org_columns;
  out += tail;
  return out;
}

} // namespace

caf::error insert_provisioning_org(pg_session& s, const std::string& id,
                                   const std::string& slug,
                                   const std::string& name,
                                   const std::string& created_by) {
  sql_params p{id, slug, name, std::nullopt};
  if (!created_by.empty())
    p[3] = created_by;
  return status_only(s.exec(
    "INSERT INTO public.organizations (id, slug, name, state, created_by)"
    " VALUES ($1::uuid, $2, $3, 'provisioning', $4::uuid)",
    std::move(p)));
}

caf::error create_tenant_schema(pg_session& s, std::string_view quoted_schema) {
  return s.exec_script("CREATE SCHEMA " + std::string{quoted_schema});
}

caf::error drop_tenant_schema(pg_session& s, std::string_view quoted_schema) {
  return s.exec_script("DROP SCHEMA IF EXISTS " + std::string{quoted_schema}
                       + " CASCADE");
}

caf::expected<bool> schema_exists(pg_session& s, const std::string& schema) {
  auto r = s.exec("SELECT count(*) FROM pg_namespace WHERE nspname = $1",
                  {schema});
  if (!r)
    return std::move(r.error());
  return r->int64(0, 0) > 0;
}

caf::expected<std::vector<std::string>> tenant_schema_names(pg_session& s) {
  return column0(s.exec("SELECT nspname FROM pg_namespace"
                        " WHERE nspname LIKE 'org\\_%' ORDER BY nspname"));
}

caf::error set_org_state(pg_session& s, const std::string& org_id,
                         const std::string& state) {
  return status_only(s.exec("UPDATE public.organizations SET state = $2,"
                            " updated_at = now() WHERE id = $1::uuid",
                            {org_id, state}));
}

caf::error delete_org_row(pg_session& s, const std::string& org_id) {
  return status_only(
    s.exec("DELETE FROM public.organizations WHERE id = $1::uuid", {org_id}));
}

caf::expected<bool> delete_org_in_state(pg_session& s, const std::string& org_id,
                                        const std::string& state) {
  auto r = s.exec("DELETE FROM public.organizations WHERE id = $1::uuid"
                  " AND state = $2",
                  {org_id, state});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() == 1;
}

caf::expected<std::optional<org_row>> find_org_by_slug(pg_session& s,
                                                       const std::string& slug) {
  auto rows = org_rows(s.exec_prepared(
    "org_by_slug",
    sql_with_columns("SELECT ", " FROM public.organizations o WHERE o.slug = $1"),
    {slug}));
  if (!rows)
    return std::move(rows.error());
  if (rows->empty())
    return std::optional<org_row>{};
  return std::optional<org_row>{std::move(rows->front())};
}

caf::expected<std::vector<org_row>> list_orgs(pg_session& s) {
  return org_rows(s.exec(
    sql_with_columns("SELECT ", " FROM public.organizations o ORDER BY o.slug")));
}

caf::expected<std::vector<org_membership>> orgs_of_user(pg_session& s,
                                                        const std::string& user_id) {
  auto r = s.exec(sql_with_columns("SELECT ",
                                   ", m.role FROM public.memberships m"
                                   " JOIN public.organizations o ON o.id = m.org_id"
                                   " WHERE m.user_id = $1::uuid AND o.state = 'active'"
                                   " ORDER BY o.slug"),
                  {user_id});
  if (!r)
    return std::move(r.error());
  std::vector<org_membership> out;
  for (int i = 0; i < r->rows(); ++i)
    out.push_back({org_at(*r, i), std::string{r->text(i, 5)}});
  return out;
}

caf::expected<std::vector<std::string>>
org_slugs_in_states(pg_session& s, const std::vector<std::string>& states) {
  std::string arr = "{";
  for (std::size_t i = 0; i < states.size(); ++i)
    arr += (i ? "," : "") + states[i];
  arr += "}";
  return column0(s.exec("SELECT slug FROM public.organizations"
                        " WHERE state = ANY($1::text[]) ORDER BY slug",
                        {arr}));
}

caf::expected<std::vector<org_row>>
stuck_provisioning_orgs(pg_session& s, std::chrono::milliseconds older_than) {
  return org_rows(s.exec(
    sql_with_columns("SELECT ",
                     " FROM public.organizations o WHERE o.state = 'provisioning'"
                     " AND o.created_at < now() - $1::bigint * interval '1 millisecond'"
                     " ORDER BY o.slug"),
    {std::to_string(older_than.count())}));
}

caf::expected<bool> mark_org_deleting(pg_session& s, const std::string& org_id,
                                      std::chrono::milliseconds grace) {
  auto r = s.exec("UPDATE public.organizations SET state = 'deleting',"
                  " deleted_at = now(), updated_at = now(),"
                  " purge_after = now() + $2::bigint * interval '1 millisecond'"
                  " WHERE id = $1::uuid AND state = 'active'",
                  {org_id, std::to_string(grace.count())});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() == 1;
}

caf::expected<std::vector<org_row>> orgs_due_for_purge(pg_session& s) {
  return org_rows(s.exec(
    sql_with_columns("SELECT ",
                     " FROM public.organizations o WHERE o.state = 'deleting'"
                     " AND o.purge_after <= now() ORDER BY o.slug")));
}

caf::expected<std::vector<org_row>>
active_orgs_after(pg_session& s, const std::string& after_slug, int limit) {
  return org_rows(s.exec_prepared(
    "orgs_active_after",
    sql_with_columns("SELECT ",
                     " FROM public.organizations o WHERE o.state = 'active'"
                     " AND o.slug > $1 ORDER BY o.slug LIMIT $2::integer"),
    {after_slug, std::to_string(limit)}));
}

caf::expected<std::vector<std::string>> tenants_behind(pg_session& s,
                                                       int latest) {
  return column0(s.exec(
    "SELECT o.slug FROM public.organizations o WHERE o.state = 'active'"
    " AND NOT EXISTS (SELECT 1 FROM public.tenant_migrations t"
    " WHERE t.org_id = o.id AND t.version = $1::integer) ORDER BY o.slug",
    {std::to_string(latest)}));
}

caf::expected<int64_t> tenant_migration_count(pg_session& s,
                                              const std::string& org_id) {
  auto r = s.exec("SELECT count(*) FROM public.tenant_migrations"
                  " WHERE org_id = $1::uuid",
                  {org_id});
  if (!r)
    return std::move(r.error());
  return r->int64(0, 0);
}

caf::expected<std::optional<std::string>>
member_role(pg_session& s, const std::string& org_id, const std::string& user_id) {
  auto r = s.exec_prepared("member_role",
                           "SELECT role FROM public.memberships"
                           " WHERE org_id = $1::uuid AND user_id = $2::uuid",
                           {org_id, user_id});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return std::optional<std::string>{};
  return std::optional<std::string>{std::string{r->text(0, 0)}};
}

caf::expected<std::vector<member_row>> list_members(pg_session& s,
                                                    const std::string& org_id) {
  auto r = s.exec(
    "SELECT u.id::text, u.email, m.role,"
    " to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    " FROM public.memberships m JOIN public.users u ON u.id = m.user_id"
    " WHERE m.org_id = $1::uuid ORDER BY u.email_normalized",
    {org_id});
  if (!r)
    return std::move(r.error());
  std::vector<member_row> out;
  for (int i = 0; i < r->rows(); ++i)
    out.push_back({std::string{r->text(i, 0)}, std::string{r->text(i, 1)},
                   std::string{r->text(i, 2)}, std::string{r->text(i, 3)}});
  return out;
}

caf::error upsert_member(pg_session& s, const std::string& org_id,
                         const std::string& user_id, const std::string& role) {
  return status_only(s.exec(
    "INSERT INTO public.memberships (org_id, user_id, role)"
    " VALUES ($1::uuid, $2::uuid, $3)"
    " ON CONFLICT (org_id, user_id) DO UPDATE SET role = EXCLUDED.role",
    {org_id, user_id, role}));
}

caf::expected<bool> delete_member(pg_session& s, const std::string& org_id,
                                  const std::string& user_id) {
  auto r = s.exec("DELETE FROM public.memberships"
                  " WHERE org_id = $1::uuid AND user_id = $2::uuid",
                  {org_id, user_id});
  if (!r)
    return std::move(r.error());
  return r->affected_rows() == 1;
}

caf::expected<int64_t> lock_and_count_owners(pg_session& s,
                                             const std::string& org_id) {
  auto lock = s.exec("SELECT 1 FROM public.organizations WHERE id = $1::uuid"
                     " FOR UPDATE",
                     {org_id});
  if (!lock)
    return std::move(lock.error());
  auto r = s.exec("SELECT count(*) FROM public.memberships"
                  " WHERE org_id = $1::uuid AND role = 'owner'",
                  {org_id});
  if (!r)
    return std::move(r.error());
  return r->int64(0, 0);
}

} // namespace fp::storage
