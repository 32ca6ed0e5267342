// bench-minimal-responder: the least a libfcgi program can do, as the baseline scripts/bench
// measures chatd's worker pool against.
//
//   bench-minimal-responder SOCKET_PATH PROCESSES THREADS
//
// It has the pool's shape and nothing else: one listening unix socket, PROCESSES pre-forked
// processes of THREADS threads, each thread looping on FCGX_Accept_r under a per-process mutex
// (libfcgi's accept lock is per process, PITFALLS.md) and answering every request with the body
// /api/v1/health returns, with the same headers (Status, Content-Type, Content-Length). No routing,
// no logging, no scoreboard, no signal handling beyond stopping: whatever the pool costs on top
// of this is the price of its features. SIGTERM or SIGINT to the parent stops everything and
// removes the socket.

#include <fcgiapp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr char kReply[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 15\r\n"
    "\r\n"
    "{\"status\":\"ok\"}";

[[noreturn]] void RunProcess(int listen_fd, int threads) {
  FCGX_Init();
  std::mutex accept_mutex;
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&] {
      FCGX_Request request;
      FCGX_InitRequest(&request, listen_fd, 0);
      for (;;) {
        int rc;
        {
          std::lock_guard<std::mutex> lock(accept_mutex);
          rc = FCGX_Accept_r(&request);
        }
        if (rc < 0) continue;
        FCGX_PutStr(kReply, sizeof kReply - 1, request.out);
        FCGX_Finish_r(&request);
      }
    });
  }
  for (auto& t : pool) t.join();
  _exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s SOCKET_PATH PROCESSES THREADS\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  const int processes = std::atoi(argv[2]);
  const int threads = std::atoi(argv[3]);
  if (processes < 1 || threads < 1) {
    std::fprintf(stderr, "PROCESSES and THREADS must be positive\n");
    return 2;
  }
  unlink(path.c_str());
  const mode_t old_umask = umask(0);  // nginx's workers may run as another user
  const int listen_fd = FCGX_OpenSocket(path.c_str(), 1024);
  umask(old_umask);
  if (listen_fd < 0) {
    std::perror("FCGX_OpenSocket");
    return 1;
  }

  // The parent waits for SIGTERM/SIGINT with them blocked; children restore the default.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  std::vector<pid_t> children;
  for (int i = 0; i < processes; ++i) {
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("fork");
      break;
    }
    if (pid == 0) {
      sigprocmask(SIG_UNBLOCK, &stop, nullptr);
      RunProcess(listen_fd, threads);
    }
    children.push_back(pid);
  }
  int sig = 0;
  sigwait(&stop, &sig);
  for (pid_t pid : children) kill(pid, SIGKILL);
  for (pid_t pid : children) waitpid(pid, nullptr, 0);
  unlink(path.c_str());
  return 0;
}
