#include "fp/storage/embedded_postgres.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <libpq-fe.h>

#include "fp/runtime/ids.hpp"
#include "fp/runtime/log.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/errc.hpp"
#include "process.hpp"
#include "session_impl.hpp"

namespace fs = std::filesystem;

namespace fp::storage {

namespace log = runtime::log;
using detail::process_result;
using detail::run_as;

namespace {

constexpr const char* superuser = "fleetprompt";
constexpr const char* database = "fleetprompt";

caf::error fail(std::string what) {
  return make_error(errc::unavailable, "embedded PostgreSQL: " + std::move(what));
}

std::string read_file(const fs::path& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  return s;
}

std::optional<run_as> lookup_user(const std::string& name) {
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0
      || found == nullptr)
    return std::nullopt;
  return run_as{name, pw.pw_uid, pw.pw_gid};
}

std::string first_existing(std::initializer_list<const char*> paths) {
  for (auto p : paths)
    if (::access(p, X_OK) == 0)
      return p;
  return {};
}

/// The system user that runs the cluster when we are root; created when
/// missing (concurrent creators are tolerated: useradd locks /etc/passwd).
caf::expected<run_as> ensure_system_user(const std::string& name) {
  if (auto user = lookup_user(name))
    return *user;
  auto useradd = first_existing({"/usr/sbin/useradd", "/sbin/useradd"});
  if (useradd.empty())
    return fail("system user '" + name + "' is missing and useradd is not installed");
  std::string last_output;
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto res = detail::run_process({useradd, "--system", "--no-create-home",
                                    "--shell", "/usr/sbin/nologin", name},
                                   std::nullopt);
    if (!res)
      return res.error();
    if (auto user = lookup_user(name)) {
      log::info("created system user for the embedded database", {{"user", name}});
      return *user;
    }
    last_output = res->output;
    // Exit 10: /etc/passwd is locked by a concurrent useradd; try again.
    if (res->exit_code != 10)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
  }
  return fail("cannot create system user '" + name
              + "': " + detail::tail_line(last_output));
}

/// Makes sure `user` can reach `dir`: grants search permission (only that)
/// on the first ancestor that denies it, or says which one it is.
caf::error ensure_traversable(const run_as& user, const fs::path& dir) {
  if (detail::can_traverse(user, dir.string()))
    return caf::none;
  fs::path prefix;
  for (const auto& part : dir) {
    prefix /= part;
    if (detail::can_traverse(user, prefix.string()))
      continue;
    auto setfacl = first_existing({"/usr/bin/setfacl", "/bin/setfacl"});
    auto hint = "user '" + user.name + "' cannot enter " + prefix.string()
                + "; grant it search permission (setfacl -m u:" + user.name
                + ":x " + prefix.string() + ") or choose another --data-dir";
    if (setfacl.empty())
      return fail(hint + " (setfacl is not installed)");
    auto res = detail::run_process({setfacl, "-m", "u:" + user.name + ":x",
                                    prefix.string()},
                                   std::nullopt);
    if (!res || res->exit_code != 0 || !detail::can_traverse(user, prefix.string()))
      return fail(hint + (res ? " (setfacl: " + detail::tail_line(res->output) + ")"
                              : std::string{}));
    log::info("granted the database user search permission",
              {{"user", user.name}, {"directory", prefix.string()}});
  }
  if (!detail::can_traverse(user, dir.string()))
    return fail("user '" + user.name + "' cannot enter " + dir.string());
  return caf::none;
}

caf::error chown_to(const std::optional<run_as>& user, const fs::path& path) {
  if (!user)
    return caf::none;
  if (::lchown(path.c_str(), user->uid, user->gid) != 0)
    return fail("chown " + path.string() + ": " + std::strerror(errno));
  return caf::none;
}

caf::error write_private_file(const std::optional<run_as>& user,
                              const fs::path& path, const std::string& content,
                              fs::perms mode) {
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out{tmp, std::ios::trunc};
    if (!out)
      return fail("cannot write " + tmp.string());
    out << content;
    if (!out.flush())
      return fail("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::permissions(tmp, mode, fs::perm_options::replace, ec);
  if (ec)
    return fail("chmod " + tmp.string() + ": " + ec.message());
  if (auto err = chown_to(user, tmp))
    return err;
  fs::rename(tmp, path, ec);
  if (ec)
    return fail("rename " + tmp.string() + ": " + ec.message());
  return caf::none;
}

bool port_is_free(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  int one = 1;
  // PostgreSQL binds with SO_REUSEADDR too: TIME_WAIT does not block it.
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

caf::expected<uint16_t> pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return fail(std::string{"socket: "} + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    auto err = std::string{std::strerror(errno)};
    ::close(fd);
    return fail("cannot pick a free port: " + err);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// A postmaster that is alive according to its pid file, and its port.
struct running_postmaster {
  pid_t pid = 0;
  uint16_t port = 0;
};

/// Reads `postmaster.pid`; a file whose process is gone (crash, reboot,
/// container restart) or is not a postgres process is stale and removed, so
/// it cannot block the next start.
std::optional<running_postmaster> check_pid_file(const fs::path& data) {
  auto pid_file = data / "postmaster.pid";
  std::ifstream in{pid_file};
  if (!in)
    return std::nullopt;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  in.close();
  pid_t pid = lines.empty() ? 0 : static_cast<pid_t>(std::atol(lines[0].c_str()));
  bool alive = pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
  if (alive) {
    auto comm = trim(read_file("/proc/" + std::to_string(pid) + "/comm"));
    alive = comm == "postgres" || comm == "postmaster";
    // Only the postmaster of *this* data directory counts (pid reuse).
    std::error_code ec;
    auto cwd = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
    if (alive && !ec)
      alive = fs::equivalent(cwd, data, ec) && !ec;
  }
  if (!alive) {
    log::warn("removing stale postmaster.pid", {{"path", pid_file.string()},
                                                {"pid", static_cast<int64_t>(pid)}});
    std::error_code ec;
    fs::remove(pid_file, ec);
    return std::nullopt;
  }
  running_postmaster pm;
  pm.pid = pid;
  if (lines.size() >= 4)
    pm.port = static_cast<uint16_t>(std::atoi(lines[3].c_str()));
  return pm;
}

std::string make_url(const std::string& password, uint16_t port,
                     const std::string& db) {
  return "postgresql://" + std::string{superuser} + ":" + password
         + "@127.0.0.1:" + std::to_string(port) + "/" + db;
}

/// Holds an exclusive lock on `<root>/.lock` so that two processes never
/// initialise or start the same cluster at once.
class start_lock {
public:
  explicit start_lock(const fs::path& root) {
    fd_ = ::open((root / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0)
      while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
  }
  start_lock(const start_lock&) = delete;
  start_lock& operator=(const start_lock&) = delete;
  ~start_lock() {
    if (fd_ >= 0)
      ::close(fd_); // releases the lock
  }

private:
  int fd_ = -1;
};

} // namespace

struct embedded_postgres::impl {
  fs::path root;      // <data_dir>/postgres
  fs::path data;      // <root>/data
  fs::path bin_dir;
  std::optional<run_as> user;
  std::string password;
  uint16_t port = 0;
  std::string url;
  bool owned = false;
  bool stopped = false;

  caf::expected<process_result> run(const std::vector<std::string>& argv) {
    return detail::run_process(argv, user, root.string());
  }

  std::string server_log_tail() {
    return detail::tail_line(read_file(root / "server.log"), 400);
  }

  caf::error write_conf() {
    std::string conf =
      "# Written by FleetPrompt at every start of the embedded cluster.\n"
      "listen_addresses = '127.0.0.1'\n"
      "port = " + std::to_string(port) + "\n"
      "unix_socket_directories = ''\n"
      "max_connections = 200\n"
      "fsync = on\n"
      "synchronous_commit = on\n"
      "logging_collector = off\n"
      "log_destination = 'stderr'\n"
      "log_line_prefix = '%m [%p] '\n";
    if (auto err = write_private_file(user, data / "fleetprompt.conf", conf,
                                      fs::perms::owner_read | fs::perms::owner_write))
      return err;
    return write_private_file(user, root / "port", std::to_string(port) + "\n",
                              fs::perms::owner_read | fs::perms::owner_write);
  }

  caf::error initdb() {
    auto tmp = root / "data.tmp";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    fs::remove_all(data, ec); // a half-initialised leftover, never a cluster
    unsigned char raw[24];
    runtime::random_bytes(raw, sizeof(raw));
    password = runtime::to_hex(raw, sizeof(raw));
    auto pwfile = root / "password";
    if (auto err = write_private_file(user, pwfile, password + "\n",
                                      fs::perms::owner_read | fs::perms::owner_write))
      return err;
    auto res = run({(bin_dir / "initdb").string(), "-D", tmp.string(), "-U",
                    superuser, "--pwfile=" + pwfile.string(),
                    "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C",
                    "--no-instructions"});
    if (!res)
      return res.error();
    if (res->exit_code != 0) {
      fs::remove_all(tmp, ec);
      return fail("initdb failed (exit " + std::to_string(res->exit_code)
                  + "): " + detail::tail_line(res->output));
    }
    // Our settings live in a file of their own, rewritten at every start.
    {
      std::ofstream conf{tmp / "postgresql.conf", std::ios::app};
      conf << "\n# FleetPrompt's settings (port, listen address, ...)\n"
              "include_if_exists = 'fleetprompt.conf'\n";
      if (!conf.flush())
        return fail("cannot append to " + (tmp / "postgresql.conf").string());
    }
    // Renamed only when complete: a crash during initdb leaves data.tmp,
    // which the next start discards, never a broken `data`.
    fs::rename(tmp, data, ec);
    if (ec)
      return fail("rename " + tmp.string() + ": " + ec.message());
    log::info("initialised the embedded database", {{"path", data.string()}});
    return caf::none;
  }

  caf::error ctl_start() {
    auto res = run({(bin_dir / "pg_ctl").string(), "-D", data.string(), "-l",
                    (root / "server.log").string(), "-w", "-t", "60", "start"});
    if (!res)
      return res.error();
    if (res->exit_code != 0)
      return fail("pg_ctl start failed: " + detail::tail_line(res->output)
                  + " | server.log: " + server_log_tail());
    return caf::none;
  }

  caf::error ctl_stop() {
    if (!check_pid_file(data))
      return caf::none; // not running: nothing to stop
    auto res = run({(bin_dir / "pg_ctl").string(), "-D", data.string(), "-m",
                    "fast", "-w", "-t", "60", "stop"});
    if (!res)
      return res.error();
    if (res->exit_code != 0)
      return fail("pg_ctl stop failed: " + detail::tail_line(res->output));
    return caf::none;
  }

  /// Waits until the server accepts connections (an attached cluster may be
  /// starting up).
  caf::error wait_ready(std::chrono::milliseconds limit) {
    auto url_postgres = make_url(password, port, "postgres");
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto ping = PQping(url_postgres.c_str());
      if (ping == PQPING_OK)
        return caf::none;
      if (std::chrono::steady_clock::now() >= deadline)
        return fail("the running cluster on port " + std::to_string(port)
                    + " does not accept connections");
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
  }

  caf::error ensure_database() {
    auto session = connect(make_url(password, port, "postgres"),
                           std::chrono::milliseconds{10000});
    if (!session)
      return fail("cannot connect: " + caf::to_string(session.error()));
    auto found = (*session)->exec("SELECT 1 FROM pg_database WHERE datname = $1",
                                  {std::string{database}});
    if (!found)
      return fail("cannot list databases: " + caf::to_string(found.error()));
    if (found->rows() > 0)
      return caf::none;
    auto created = (*session)->exec("CREATE DATABASE " + std::string{database});
    // 42P04: another process created it in the meantime.
    if (!created && (*session)->internals().last_sqlstate != "42P04")
      return fail("cannot create database: " + caf::to_string(created.error()));
    return caf::none;
  }
};

caf::expected<embedded_postgres> embedded_postgres::start(const config::settings& s) {
  auto st = std::make_unique<impl>();
  std::error_code ec;
  auto base = fs::absolute(s.data_dir.empty() ? fs::path{".data"} : fs::path{s.data_dir}, ec);
  if (ec)
    return fail("bad data directory " + s.data_dir + ": " + ec.message());
  st->root = base.lexically_normal() / "postgres";
  st->data = st->root / "data";
  st->bin_dir = s.pg_bin_dir;
  for (auto tool : {"initdb", "pg_ctl", "postgres"})
    if (::access((st->bin_dir / tool).c_str(), X_OK) != 0)
      return fail(std::string{tool} + " not found in " + st->bin_dir.string()
                  + " (install postgresql-15 or set --pg-bin-dir)");

  if (::geteuid() == 0) {
    // PostgreSQL refuses to run as root.
    auto user = ensure_system_user(s.pg_system_user);
    if (!user)
      return std::move(user.error());
    st->user = *user;
  }
  fs::create_directories(st->root, ec);
  if (ec)
    return fail("cannot create " + st->root.string() + ": " + ec.message());
  fs::permissions(st->root, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (auto err = chown_to(st->user, st->root))
    return err;
  if (st->user)
    if (auto err = ensure_traversable(*st->user, st->root))
      return err;

  start_lock lock{st->root};
  (void) chown_to(st->user, st->root / ".lock"); // tidy: the whole dir is theirs

  if (!fs::exists(st->data / "PG_VERSION")) {
    if (auto err = st->initdb())
      return err;
  } else {
    st->password = trim(read_file(st->root / "password"));
    if (st->password.empty())
      return fail("the password file " + (st->root / "password").string()
                  + " is missing or empty");
  }

  if (auto pm = check_pid_file(st->data)) {
    // Someone (the server, another command) runs it: attach, do not own.
    st->port = pm->port;
    if (st->port == 0)
      st->port = static_cast<uint16_t>(std::atoi(read_file(st->root / "port").c_str()));
    st->url = make_url(st->password, st->port, database);
    st->owned = false;
    if (auto err = st->wait_ready(std::chrono::milliseconds{30000}))
      return err;
    if (auto err = st->ensure_database())
      return err;
    log::info("attached to the running embedded database",
              {{"port", st->port}, {"pid", static_cast<int64_t>(pm->pid)}});
    return embedded_postgres{std::move(st)};
  }

  // Port: the configured one, else the remembered one, else a free one.
  bool fixed_port = s.embedded_pg_port != 0;
  if (fixed_port) {
    st->port = s.embedded_pg_port;
  } else {
    auto remembered = std::atoi(read_file(st->root / "port").c_str());
    if (remembered > 0 && remembered < 65536
        && port_is_free(static_cast<uint16_t>(remembered))) {
      st->port = static_cast<uint16_t>(remembered);
    } else {
      auto port = pick_free_port();
      if (!port)
        return std::move(port.error());
      st->port = *port;
    }
  }
  auto err = st->write_conf();
  if (!err)
    err = st->ctl_start();
  if (err && !fixed_port) {
    // The port may have been taken between our check and the bind: one more
    // try on a fresh port.
    log::warn("embedded database did not start, retrying on another port",
              {{"error", caf::to_string(err)}});
    auto port = pick_free_port();
    if (!port)
      return std::move(port.error());
    st->port = *port;
    err = st->write_conf();
    if (!err)
      err = st->ctl_start();
  }
  if (err)
    return err;
  st->owned = true;
  st->url = make_url(st->password, st->port, database);
  if (auto err2 = st->ensure_database()) {
    st->ctl_stop();
    return err2;
  }
  log::info("started the embedded database",
            {{"port", st->port}, {"path", st->data.string()}});
  return embedded_postgres{std::move(st)};
}

embedded_postgres::embedded_postgres(std::unique_ptr<impl> ptr)
  : impl_(std::move(ptr)) {
  // nop
}

embedded_postgres::embedded_postgres(embedded_postgres&&) noexcept = default;
embedded_postgres& embedded_postgres::operator=(embedded_postgres&& other) noexcept {
  if (this != &other) {
    if (impl_)
      stop();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

embedded_postgres::~embedded_postgres() {
  if (impl_ && impl_->owned && !impl_->stopped) {
    if (auto err = stop())
      log::warn("could not stop the embedded database",
                {{"error", caf::to_string(err)}});
  }
}

const std::string& embedded_postgres::url() const {
  return impl_->url;
}

bool embedded_postgres::owned() const {
  return impl_->owned;
}

uint16_t embedded_postgres::port() const {
  return impl_->port;
}

caf::error embedded_postgres::stop() {
  if (!impl_ || !impl_->owned || impl_->stopped)
    return caf::none;
  impl_->stopped = true;
  if (auto err = impl_->ctl_stop())
    return err;
  log::info("stopped the embedded database", {{"path", impl_->data.string()}});
  return caf::none;
}

caf::error embedded_postgres::pg_ctl(std::string_view action) {
  if (action == "start") {
    if (check_pid_file(impl_->data))
      return caf::none; // already running
    if (auto err = impl_->write_conf())
      return err;
    auto err = impl_->ctl_start();
    if (!err)
      impl_->stopped = false;
    return err;
  }
  if (action == "stop")
    return impl_->ctl_stop();
  return fail("unknown pg_ctl action '" + std::string{action} + "'");
}

} // namespace fp::storage
