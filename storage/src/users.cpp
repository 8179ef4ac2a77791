#include "fp/storage/users.hpp"

#include <cctype>

#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/pg_session.hpp"
#include "sql_text.hpp"

namespace fp::storage {

namespace {

constexpr std::size_t min_password = 8;

// One literal per query (not concatenated at run time): prepared
// statements are cached by name with their text.
#define FP_USER_COLUMNS                                                       \
  "id, email, password_hash, platform_admin, disabled_at IS NOT NULL"

user_record read_user(const result& r, int row) {
  user_record u;
  u.id = r.text(row, 0);
  u.email = r.text(row, 1);
  u.password_hash = r.text(row, 2);
  u.platform_admin = r.boolean(row, 3);
  u.disabled = r.boolean(row, 4);
  return u;
}

caf::expected<std::optional<user_record>> first_user(caf::expected<result> r) {
  return detail::first_row(std::move(r), read_user);
}

bool is_space(char c) noexcept {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

} // namespace

std::string normalize_email(std::string_view email) {
  while (!email.empty() && is_space(email.front()))
    email.remove_prefix(1);
  while (!email.empty() && is_space(email.back()))
    email.remove_suffix(1);
  std::string out{email};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string email_error(std::string_view email) {
  if (email.empty() || email.size() > 254)
    return "email must have 1 to 254 characters";
  auto at = email.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == email.size()
      || email.find('@', at + 1) != std::string_view::npos)
    return "email must look like name@domain";
  for (auto c : email)
    if (is_space(c) || std::iscntrl(static_cast<unsigned char>(c)))
      return "email must not contain spaces or control characters";
  return {};
}

bool is_uuid(std::string_view t) noexcept {
  if (t.size() != 36)
    return false;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (t[i] != '-')
        return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(t[i]))) {
      return false;
    }
  }
  return true;
}

caf::expected<user_record> create_user(pg_session& db, std::string_view email,
                                       std::string_view password,
                                       bool platform_admin) {
  auto normalized = normalize_email(email);
  if (auto why = email_error(normalized); !why.empty())
    return runtime::make_error(runtime::errc::invalid_argument, why);
  if (password.size() < min_password)
    return runtime::make_error(runtime::errc::invalid_argument,
                               "password must have at least 8 characters");
  user_record u;
  u.id = runtime::new_uuid_v7();
  u.email = normalized;
  u.password_hash = runtime::hash_password(password, password_cost);
  u.platform_admin = platform_admin;
  // ON CONFLICT DO NOTHING: a taken email is an answer, not an error that
  // would abort the caller's transaction.
  auto r = db.exec_prepared(
    "users.create",
    "INSERT INTO public.users (id, email, email_normalized, password_hash, "
    "platform_admin) VALUES ($1, $2, $3, $4, $5) "
    "ON CONFLICT (email_normalized) DO NOTHING",
    {u.id, normalized, normalized, u.password_hash,
     std::string{platform_admin ? "true" : "false"}});
  if (!r)
    return std::move(r.error());
  if (r->affected_rows() == 0)
    return runtime::make_error(runtime::errc::conflict,
                               "a user with this email exists");
  return u;
}

caf::expected<std::optional<user_record>>
find_user_by_email(pg_session& db, std::string_view email) {
  return first_user(db.exec_prepared(
    "users.by_email",
    "SELECT " FP_USER_COLUMNS " FROM public.users WHERE email_normalized = $1",
    {normalize_email(email)}));
}

caf::expected<std::optional<user_record>> find_user_by_id(pg_session& db,
                                                          std::string_view id) {
  if (!is_uuid(id))
    return std::optional<user_record>{};
  return first_user(db.exec_prepared(
    "users.by_id",
    "SELECT " FP_USER_COLUMNS " FROM public.users WHERE id = $1",
    {std::string{id}}));
}

} // namespace fp::storage
