// Pure unit tests of the storage module (no database).

#include <catch2/catch.hpp>

#include <set>
#include <string>

#include <caf/all.hpp>

#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/db_task.hpp"
#include "fp/storage/errc.hpp"
#include "fp/storage/migrations.hpp"
#include "fp/storage/pg_session.hpp"

using namespace fp::storage;

TEST_CASE("SQLSTATEs map to storage error codes", "[storage]") {
  CHECK(classify_sqlstate("40001") == errc::serialization_failure);
  CHECK(classify_sqlstate("40P01") == errc::serialization_failure);
  CHECK(classify_sqlstate("23505") == errc::unique_violation);
  CHECK(classify_sqlstate("23503") == errc::constraint_violation);
  CHECK(classify_sqlstate("23502") == errc::constraint_violation);
  CHECK(classify_sqlstate("23514") == errc::constraint_violation);
  CHECK(classify_sqlstate("23P01") == errc::constraint_violation);
  CHECK(classify_sqlstate("57014") == errc::statement_timeout);
  CHECK(classify_sqlstate("08006") == errc::unavailable);
  CHECK(classify_sqlstate("08001") == errc::unavailable);
  CHECK(classify_sqlstate("57P01") == errc::unavailable);
  CHECK(classify_sqlstate("57P03") == errc::unavailable);
  CHECK(classify_sqlstate("53300") == errc::unavailable);
  CHECK(classify_sqlstate("42601") == errc::query_failed);
  CHECK(classify_sqlstate("40002") == errc::query_failed);
  CHECK(classify_sqlstate("42P01") == errc::query_failed);
  CHECK(classify_sqlstate("") == errc::query_failed);
  CHECK(classify_sqlstate("2350") == errc::query_failed);
  CHECK(classify_sqlstate("235050") == errc::query_failed);
}

TEST_CASE("only contention and lost connections are retryable", "[storage]") {
  CHECK(retryable(errc::serialization_failure));
  CHECK(retryable(errc::unavailable));
  CHECK_FALSE(retryable(errc::commit_unknown));
  CHECK_FALSE(retryable(errc::unique_violation));
  CHECK_FALSE(retryable(errc::constraint_violation));
  CHECK_FALSE(retryable(errc::statement_timeout));
  CHECK_FALSE(retryable(errc::query_failed));
  CHECK_FALSE(retryable(errc::overloaded));
  CHECK_FALSE(retryable(errc::migration_failed));
  CHECK_FALSE(retryable(errc::migration_tampered));
  CHECK_FALSE(retryable(errc::none));
}

TEST_CASE("migration file names are NNNN_name.sql", "[storage][migrations]") {
  auto ok = [](const char* file, int version, const char* name) {
    auto parsed = parse_migration_file_name(file);
    REQUIRE(parsed);
    CHECK(parsed->version == version);
    CHECK(parsed->name == name);
  };
  ok("0001_nodes.sql", 1, "nodes");
  ok("0042_add_users_table.sql", 42, "add_users_table");
  ok("12345_x.sql", 12345, "x");
  ok("0007_v2_fix.sql", 7, "v2_fix");
  for (const char* bad :
       {"001_short.sql", "0001-nodes.sql", "0001_.sql", "0001_Nodes.sql",
        "0001_nodes.SQL", "0000_zero.sql", "abcd_nodes.sql", "0001_nodes.sql.bak",
        "0001_two words.sql", "0001_nodes", "_nodes.sql", ".sql", "",
        "0001_nodes.sq", "1234567890_too_long.sql", "0001_dash-name.sql"}) {
    INFO(bad);
    CHECK_FALSE(parse_migration_file_name(bad));
  }
}

TEST_CASE("migrations carry the sha256 of their SQL", "[storage][migrations]") {
  auto empty = make_migration("0003_empty.sql", "");
  REQUIRE(empty);
  CHECK(empty->version == 3);
  CHECK(empty->name == "empty");
  CHECK(empty->checksum
        == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto abc = make_migration("0004_abc.sql", "abc");
  REQUIRE(abc);
  CHECK(abc->checksum
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto changed = make_migration("0004_abc.sql", "abc ");
  REQUIRE(changed);
  CHECK(changed->checksum != abc->checksum);
  CHECK_FALSE(make_migration("4_abc.sql", "abc"));
}

TEST_CASE("the public migrations are embedded in version order",
          "[storage][migrations]") {
  const auto& all = public_migrations();
  REQUIRE_FALSE(all.empty());
  CHECK(all.front().version == 1);
  CHECK(all.front().name == "nodes");
  CHECK(all.front().sql.find("CREATE TABLE public.nodes") != std::string::npos);
  std::set<int> versions;
  int previous = 0;
  for (const auto& m : all) {
    CHECK(m.version > previous);
    previous = m.version;
    versions.insert(m.version);
    CHECK(m.checksum == fp::runtime::sha256_hex(m.sql));
    CHECK(m.checksum.size() == 64);
  }
  CHECK(versions.size() == all.size());
  // Same object every time: built once.
  CHECK(&public_migrations() == &all);
}

TEST_CASE("storage errors round-trip through caf::error", "[storage][errc]") {
  std::set<std::string> names;
  for (auto code :
       {errc::unavailable, errc::overloaded, errc::serialization_failure,
        errc::commit_unknown, errc::unique_violation, errc::constraint_violation,
        errc::statement_timeout, errc::query_failed, errc::migration_failed,
        errc::migration_tampered}) {
    INFO(to_string(code));
    names.insert(to_string(code));
    auto err = make_error(code, "some context");
    CHECK(err);
    CHECK(is_storage_error(err));
    CHECK(code_of(err) == code);
    CHECK(fp::runtime::context_of(err) == "some context");
    CHECK(err.category() == caf::atom("fp_store"));
    // Not mistaken for the runtime category with the same number.
    CHECK(fp::runtime::code_of(err) == fp::runtime::errc::internal);
    auto bare = make_error(code);
    CHECK(code_of(bare) == code);
    CHECK(fp::runtime::context_of(bare).empty());
    // Copies keep everything (errors travel in messages).
    caf::error copy = err;
    CHECK(code_of(copy) == code);
  }
  CHECK(names.size() == 10);
  CHECK(std::string{to_string(errc::none)} == "none");
  CHECK(code_of(caf::error{}) == errc::none);
  CHECK_FALSE(is_storage_error(caf::error{}));
  auto foreign = fp::runtime::make_error(fp::runtime::errc::unavailable, "x");
  CHECK_FALSE(is_storage_error(foreign));
  CHECK(code_of(foreign) == errc::none);
  CHECK(code_of(caf::make_error(caf::sec::request_timeout)) == errc::none);
}

TEST_CASE("db_task is a local-only message type", "[storage]") {
  static_assert(caf::allowed_unsafe_message_type<db_task>::value);
  db_task task;
  task.label = "test.noop";
  task.transactional = false;
  task.run = [](pg_session&) -> caf::error { return caf::none; };
  auto msg = caf::make_message(task);
  REQUIRE(msg.match_element<db_task>(0));
  const auto& copy = msg.get_as<db_task>(0);
  CHECK(copy.label == "test.noop");
  CHECK_FALSE(copy.transactional);
  CHECK(static_cast<bool>(copy.run));
  CHECK(db_task{}.transactional);
}

TEST_CASE("an empty result has no rows", "[storage]") {
  result r;
  CHECK(r.rows() == 0);
  CHECK(r.columns() == 0);
  CHECK(r.affected_rows() == 0);
  CHECK(r.column("x") == -1);
  CHECK(r.native_handle() == nullptr);
}
