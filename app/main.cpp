// The `fleetprompt` binary: the one composition root. Parses the command
// line, then runs one command; all wiring of a server lives in fp::net::node.

#include <csignal>
#include <fstream>
#include <iterator>
#include <optional>
#include <cstdio>
#include <iostream>
#include <pthread.h>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "fp/actors/service_actors.hpp"
#include "fp/config/cli.hpp"
#include "fp/net/node.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/embedded_postgres.hpp"
#include "fp/storage/migrations.hpp"
#include "admin_db.hpp"
#include "org_commands.hpp"
#include "keys_command.hpp"
#include "package_command.hpp"
#include "replay_command.hpp"
#include "fp/storage/users.hpp"
#include "fp/runtime/errc.hpp"

namespace {

namespace config = fp::config;
namespace log = fp::runtime::log;

// -- commands -------------------------------------------------------------------

struct command {
  std::string name;
  std::string summary;
  std::vector<config::flag_spec> flags;
  int (*run)(const config::command_line&);
};

int run_serve(const config::command_line& cli);
int run_migrate(const config::command_line& cli);
int run_version(const config::command_line& cli);
int run_user(const config::command_line& cli);

const std::vector<command>& commands() {
  static const std::vector<command> all = {
    {"serve", "Run the server (embedded PostgreSQL unless --database-url).",
     {},
     run_serve},
    {"migrate", "Apply pending public-schema, then tenant-schema migrations.",
     {{"status", false,
       "Show each migration and whether it is applied, and the tenants "
       "behind."}},
     run_migrate},
    {"org",
     "Manage organizations: 'org create --slug S --name N --owner EMAIL', "
     "'org list'.",
     {{"slug", true, "Slug of the new organization (^[a-z][a-z0-9_]{0,47}$)."},
      {"name", true, "Display name of the new organization."},
      {"owner", true, "E-mail of the existing user who becomes its owner."}},
     fp::app::run_org},
    {"doctor",
     "Find orphan tenant schemas and organizations stuck in provisioning.",
     {{"fix", false, "Roll them back: drop the schema, delete the row."}},
     fp::app::run_doctor},
    {"replay",
     "Re-run the handlers of chosen signals under a new correlation: "
     "'replay --org SLUG (--signal ID | --since RFC3339 [--type PREFIX])'.",
     fp::app::replay_flags(),
     fp::app::run_replay},
    {"package",
     "Publish a package to the registry as a platform admin: 'package "
     "publish <file-or-dir>'.",
     {},
     fp::app::run_package},
    {"keys",
     "Master keys of credentials and webhook secrets: 'keys list', 'keys "
     "rotate [--no-new-key]'.",
     fp::app::keys_flags(),
     fp::app::run_keys},
    {"version", "Print the version and exit.", {}, run_version},
    {"user",
     "Manage accounts: 'user create --email E --password-file F "
     "[--platform-admin]'.",
     {{"email", true, "Email (login name) of the new user."},
      {"password-file", true,
       "File holding the password (one trailing newline is ignored)."},
      {"platform-admin", false, "Make the user a platform administrator."}},
     run_user},
  };
  return all;
}

const command* find_command(const std::string& name) {
  for (auto& cmd : commands())
    if (cmd.name == name)
      return &cmd;
  return nullptr;
}

void print_usage(const command* cmd) {
  if (cmd) {
    std::cout << "Usage: fleetprompt " << cmd->name << " [options]\n\n"
              << cmd->summary << "\n";
    if (!cmd->flags.empty())
      std::cout << "\nCommand options:\n" << config::flags_help(cmd->flags);
  } else {
    std::cout << "Usage: fleetprompt <command> [options]\n\nCommands:\n";
    for (auto& c : commands()) {
      std::string name = "  " + c.name;
      name.resize(14, ' ');
      std::cout << name << c.summary << "\n";
    }
    std::cout << "\nRun 'fleetprompt <command> --help' for a command's options.\n";
  }
  std::cout << "\nSettings (flag, FLEETPROMPT_* variable, or config file key;\n"
               "flags override the environment, which overrides the file):\n"
            << config::settings_help();
}

// -- serve --------------------------------------------------------------------

int run_serve(const config::command_line& cli) {
  // Signals are blocked in every thread (set in main before any thread
  // exists); one thread waits for them and asks the node to stop.
  auto started = fp::net::node::start(cli.values);
  if (!started) {
    std::cerr << "fleetprompt: cannot start: " << caf::to_string(started.error())
              << "\n";
    return 1;
  }
  auto& node = **started;
  std::cout << "FleetPrompt is serving at " << node.url() << "\n" << std::flush;
  std::thread signal_waiter([&node] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    if (sigwait(&set, &sig) == 0)
      node.request_stop(0, sig == SIGINT ? "SIGINT" : "SIGTERM");
  });
  int code = node.wait_for_stop();
  node.stop();
  // Wake the signal thread if the stop came from elsewhere.
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  return code;
}

// -- migrate ------------------------------------------------------------------

int run_migrate(const config::command_line& cli) {
  const auto& s = cli.values;
  std::unique_ptr<fp::storage::embedded_postgres> embedded;
  std::string url = s.database_url;
  if (s.embedded_database()) {
    auto pg = fp::storage::embedded_postgres::start(s);
    if (!pg) {
      std::cerr << "fleetprompt: cannot start the embedded database: "
                << caf::to_string(pg.error()) << "\n";
      return 1;
    }
    embedded = std::make_unique<fp::storage::embedded_postgres>(std::move(*pg));
    url = embedded->url();
  }
  auto session = fp::storage::connect(url, s.db_connect_timeout);
  if (!session) {
    std::cerr << "fleetprompt: cannot connect: "
              << caf::to_string(session.error()) << "\n";
    return 1;
  }
  const auto& all = fp::storage::public_migrations();
  int rc = 0;
  if (cli.flags.count("status")) {
    auto status = fp::storage::migration_status(**session, all);
    if (!status) {
      std::cerr << "fleetprompt: " << caf::to_string(status.error()) << "\n";
      rc = 1;
    } else {
      int pending = 0;
      std::printf("%-8s %-32s %-8s %s\n", "VERSION", "NAME", "STATE", "APPLIED AT");
      for (auto& m : *status) {
        const char* state = !m.applied ? "pending"
                            : m.checksum_ok ? "applied"
                                            : "CHANGED";
        pending += m.applied ? 0 : 1;
        std::printf("%-8d %-32s %-8s %s\n", m.version, m.name.c_str(), state,
                    m.applied_at.c_str());
      }
      std::printf("%d pending\n", pending);
      if (pending == 0)
        rc = fp::app::print_tenant_status(s, url);
    }
  } else {
    auto applied = fp::storage::apply_migrations(**session, all);
    if (!applied) {
      std::cerr << "fleetprompt: migration failed: "
                << caf::to_string(applied.error()) << "\n";
      rc = 1;
    } else {
      std::printf("applied %d migration(s); schema is up to date\n", *applied);
      rc = fp::app::migrate_tenants(s, url);
    }
  }
  session->reset();
  if (embedded)
    embedded->stop();
  return rc;
}

// -- version ------------------------------------------------------------------

int run_version(const config::command_line&) {
  auto v = fp::actors::build_version();
  std::cout << v.name << " " << v.version << " (" << v.commit << ", "
            << v.build_type << ")\n";
  return 0;
}

// -- user ---------------------------------------------------------------------

using fp::app::describe;

/// The password in `path` without one trailing newline; nullopt (with a
/// message printed) when the file cannot be read or is empty.
std::optional<std::string> read_password_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    std::cerr << "fleetprompt: cannot read the password file " << path << "\n";
    return std::nullopt;
  }
  std::string text{std::istreambuf_iterator<char>{in},
                   std::istreambuf_iterator<char>{}};
  if (!text.empty() && text.back() == '\n') {
    text.pop_back();
    if (!text.empty() && text.back() == '\r')
      text.pop_back();
  }
  if (text.empty()) {
    std::cerr << "fleetprompt: the password file is empty\n";
    return std::nullopt;
  }
  return text;
}

int run_user(const config::command_line& cli) {
  const auto& s = cli.values;
  if (cli.positional.size() != 2 || cli.positional[1] != "create") {
    std::cerr << "fleetprompt: usage: fleetprompt user create --email E "
                 "--password-file F [--platform-admin]\n";
    return 2;
  }
  auto email = cli.flags.find("email");
  auto file = cli.flags.find("password-file");
  if (email == cli.flags.end() || file == cli.flags.end()) {
    std::cerr << "fleetprompt: user create needs --email and --password-file\n";
    return 2;
  }
  auto password = read_password_file(file->second);
  if (!password)
    return 1;
  fp::app::admin_db db;
  if (!db.open(s))
    return 1;
  fp::storage::user_record created;
  auto err = fp::storage::run_transaction(
    *db.session, [&](fp::storage::pg_session& tx) -> caf::error {
      auto u = fp::storage::create_user(tx, email->second, *password,
                                        cli.flags.count("platform-admin") > 0);
      if (!u)
        return std::move(u.error());
      created = std::move(*u);
      return caf::none;
    });
  if (err) {
    std::cerr << "fleetprompt: cannot create the user: " << describe(err) << "\n";
    return 1;
  }
  std::cout << "created user " << created.email << " (" << created.id
            << (created.platform_admin ? ", platform admin" : "") << ")\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread starts so that every thread
  // inherits the mask and only the signal-waiting thread receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> args(argv + 1, argv + argc);
  // First pass with every command's flags, only to find the command among
  // the positionals (settings flags and their values may precede it); the
  // second pass accepts just the chosen command's flags.
  std::vector<config::flag_spec> any_flags;
  for (auto& c : commands())
    any_flags.insert(any_flags.end(), c.flags.begin(), c.flags.end());
  auto env = config::process_env();
  auto first = config::parse_command_line(args, any_flags, env);
  if (auto* err = std::get_if<std::string>(&first)) {
    std::cerr << "fleetprompt: " << *err << "\n";
    return 2;
  }
  const auto& positional = std::get<config::command_line>(first).positional;
  const command* cmd = nullptr;
  if (!positional.empty()) {
    cmd = find_command(positional.front());
    if (!cmd) {
      std::cerr << "fleetprompt: unknown command '" << positional.front()
                << "' (try 'fleetprompt --help')\n";
      return 2;
    }
  }
  auto parsed = config::parse_command_line(
    args, cmd ? cmd->flags : std::vector<config::flag_spec>{}, env);
  if (auto* err = std::get_if<std::string>(&parsed)) {
    std::cerr << "fleetprompt: " << *err << "\n";
    return 2;
  }
  auto& cli = std::get<config::command_line>(parsed);
  if (cli.help_requested || !cmd) {
    print_usage(cmd);
    return cmd || cli.help_requested ? 0 : 2;
  }
  return cmd->run(cli);
}
