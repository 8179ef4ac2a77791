#pragma once

// Child processes for the embedded cluster (initdb, pg_ctl, useradd,
// setfacl): fork/exec with an argument vector (never a shell string),
// optionally as another user, output captured for error messages.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace fp::storage::detail {

/// A user to switch to in the child (the process must be root).
struct run_as {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct process_result {
  int exit_code = -1;  // exit status, or 128 + signal
  std::string output;  // stdout and stderr interleaved (at most 64 KiB)
};

/// Runs `argv[0]` (an absolute path) with `argv`, in `workdir`, with a
/// minimal environment (PATH, LC_ALL=C), stdin from /dev/null, and waits for
/// it. Only failing to start it at all is an error; a non-zero exit is
/// reported in the result.
caf::expected<process_result> run_process(const std::vector<std::string>& argv,
                                          const std::optional<run_as>& user,
                                          const std::string& workdir = "/");

/// True when `user` can search (traverse) directory `path` — checked by the
/// kernel in a forked child running as that user, so ACLs count.
bool can_traverse(const run_as& user, const std::string& path);

/// The last `max` characters of `text`, on one line.
std::string tail_line(const std::string& text, size_t max = 600);

} // namespace fp::storage::detail
