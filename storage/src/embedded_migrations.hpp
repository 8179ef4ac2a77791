#pragma once

// Interface of the build-time generated file (see
// storage/cmake/embed_migrations.cmake).

#include <cstddef>
#include <span>

namespace fp::storage::detail {

/// One embedded file: its name and its bytes (NUL-terminated, the NUL not
/// counted in `size`).
struct embedded_file {
  const char* name;
  const unsigned char* data;
  std::size_t size;
};

/// The files of storage/migrations/public, sorted by name.
std::span<const embedded_file> public_migration_files();

/// The files of storage/migrations/tenant, sorted by name.
std::span<const embedded_file> tenant_migration_files();

} // namespace fp::storage::detail
