// The rows that trigger directives: a subscription and its signal, read by
// the `signal.handle` job.

#include "fp/storage/directives.hpp"

#include "fp/storage/pg_session.hpp"
#include "fp/storage/tenant_migrations.hpp"
#include "fp/storage/users.hpp"

namespace fp::storage {

namespace {

std::string schema_of(std::string_view slug) {
  return quoted_tenant_schema(slug);
}

} // namespace

caf::expected<std::optional<subscription_target>>
find_subscription_target(pg_session& db, std::string_view slug,
                         std::string_view id) {
  if (!is_uuid(id))
    return std::optional<subscription_target>{};
  auto r = db.exec("SELECT directive_type, params::text, enabled FROM "
                     + schema_of(slug) + ".subscriptions WHERE id = $1",
                   {std::string{id}});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return std::optional<subscription_target>{};
  return std::optional<subscription_target>{subscription_target{
    std::string{r->text(0, 0)}, std::string{r->text(0, 1)}, r->boolean(0, 2)}};
}

caf::expected<std::optional<trigger_signal>>
find_trigger_signal(pg_session& db, std::string_view slug, std::string_view id) {
  if (!is_uuid(id))
    return std::optional<trigger_signal>{};
  auto r = db.exec("SELECT id, type, payload::text, correlation_id FROM "
                     + schema_of(slug) + ".signals WHERE id = $1",
                   {std::string{id}});
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return std::optional<trigger_signal>{};
  return std::optional<trigger_signal>{
    trigger_signal{std::string{r->text(0, 0)}, std::string{r->text(0, 1)},
                   std::string{r->text(0, 2)}, std::string{r->text(0, 3)}}};
}

} // namespace fp::storage
