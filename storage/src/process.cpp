#include "process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fp/storage/errc.hpp"

namespace fp::storage::detail {

namespace {

constexpr size_t max_output = 64 * 1024;

// Everything between fork and exec must be async-signal-safe: other threads
// (CAF's, the storage workers) may hold locks at the moment of the fork.
// So all strings are prepared before, and failures are reported with write().
[[noreturn]] void child_fail(int fd, const char* what) {
  // errno as a number: strerror may translate (and lock) in the child.
  char num[16];
  int e = errno;
  int i = sizeof(num);
  do {
    num[--i] = static_cast<char>('0' + e % 10);
    e /= 10;
  } while (e > 0 && i > 0);
  (void) !::write(fd, what, std::strlen(what));
  (void) !::write(fd, ": errno ", 8);
  (void) !::write(fd, num + i, sizeof(num) - static_cast<size_t>(i));
  (void) !::write(fd, "\n", 1);
  ::_exit(127);
}

void close_inherited_fds() {
  if (::close_range(3, ~0U, 0) == 0)
    return;
  for (int fd = 3; fd < 4096; ++fd)
    ::close(fd);
}

void reset_signals() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD})
    ::sigaction(sig, &dfl, nullptr);
}

bool switch_user(const run_as& user) {
  gid_t groups[] = {user.gid};
  return ::setgroups(1, groups) == 0 && ::setgid(user.gid) == 0
         && ::setuid(user.uid) == 0;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      return -1;
  }
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

} // namespace

caf::expected<process_result> run_process(const std::vector<std::string>& argv,
                                          const std::optional<run_as>& user,
                                          const std::string& workdir) {
  if (argv.empty())
    return make_error(errc::unavailable, "run_process: empty command");
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings{"PATH=/usr/local/bin:/usr/bin:/bin",
                                       "LC_ALL=C", "LANG=C"};
  if (auto tz = ::getenv("TZ"))
    env_strings.push_back(std::string{"TZ="} + tz);
  std::vector<char*> env;
  for (auto& e : env_strings)
    env.push_back(e.data());
  env.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return make_error(errc::unavailable,
                      std::string{"pipe: "} + std::strerror(errno));
  int dev_null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  auto pid = ::fork();
  if (pid < 0) {
    auto err = errno;
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    if (dev_null >= 0)
      ::close(dev_null);
    return make_error(errc::unavailable, std::string{"fork: "} + std::strerror(err));
  }
  if (pid == 0) {
    int out = pipe_fds[1];
    if (::dup2(out, 1) < 0 || ::dup2(out, 2) < 0)
      child_fail(out, "dup2");
    if (dev_null >= 0)
      ::dup2(dev_null, 0);
    close_inherited_fds();
    reset_signals();
    if (user && !switch_user(*user))
      child_fail(2, "cannot switch user");
    if (::chdir(workdir.c_str()) != 0)
      child_fail(2, "chdir");
    ::execve(args[0], args.data(), env.data());
    child_fail(2, args[0]);
  }
  ::close(pipe_fds[1]);
  if (dev_null >= 0)
    ::close(dev_null);
  process_result res;
  char buf[4096];
  for (;;) {
    auto n = ::read(pipe_fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (res.output.size() < max_output)
      res.output.append(buf, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  res.exit_code = wait_for(pid);
  return res;
}

bool can_traverse(const run_as& user, const std::string& path) {
  const char* p = path.c_str();
  auto pid = ::fork();
  if (pid < 0)
    return false;
  if (pid == 0) {
    close_inherited_fds();
    if (!switch_user(user))
      ::_exit(2);
    ::_exit(::access(p, X_OK) == 0 ? 0 : 1);
  }
  return wait_for(pid) == 0;
}

std::string tail_line(const std::string& text, size_t max) {
  std::string out = text.size() > max ? "..." + text.substr(text.size() - max)
                                      : text;
  for (auto& c : out)
    if (c == '\n' || c == '\r' || c == '\t')
      c = ' ';
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}

} // namespace fp::storage::detail
