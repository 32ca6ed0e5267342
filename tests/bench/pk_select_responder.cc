// bench-pk-select-responder: the architecture's ceiling for an endpoint that reads the database,
// as the baseline scripts/bench measures chatd's conversation and message endpoints against
// (tests/bench/sections/30_conversations.py).
//
//   bench-pk-select-responder SOCKET_PATH PROCESSES THREADS DATABASE_URL
//
// It has the pool's shape (bench-minimal-responder: one unix socket, PROCESSES pre-forked
// processes of THREADS threads, FCGX_Accept_r under a per-process mutex) plus the least database
// work an endpoint can do: every thread owns one libpq connection, opened after the fork, with
// `SELECT id, username FROM users WHERE id = $1` prepared once, and answers each request with one
// execution of it for the `id` of the query string (?id=<uuid>), as a tiny JSON object:
//   200 {"id":"...","username":"..."}, 404 when no such row, 400 without a usable id, 500 when
// the database fails (the connection is then reset for the next request).
// Nothing else: no pool of sessions to wait for, no routing, no authentication, no logging. An
// endpoint of chatd that reads the database cannot beat one primary-key lookup over this path;
// how close it comes is what the benchmark reports. SIGTERM or SIGINT to the parent stops
// everything and removes the socket.

#include <fcgiapp.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

constexpr char kStatementName[] = "pk_select";
constexpr char kStatement[] = "SELECT id, username FROM users WHERE id = $1";

struct ConnCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using Connection = std::unique_ptr<PGconn, ConnCloser>;

struct ResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};
using QueryResult = std::unique_ptr<PGresult, ResultClearer>;

// Opens the thread's connection and prepares the statement; exits the process on failure (a
// baseline that cannot reach its database has nothing to measure).
Connection Connect(const std::string& url) {
  Connection conn(PQconnectdb(url.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::fprintf(stderr, "connect: %s", PQerrorMessage(conn.get()));
    _exit(1);
  }
  QueryResult prepared(PQprepare(conn.get(), kStatementName, kStatement, 1, nullptr));
  if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
    std::fprintf(stderr, "prepare: %s", PQerrorMessage(conn.get()));
    _exit(1);
  }
  return conn;
}

// The value of `name` in a query string ("a=1&id=...&b=2"), undecoded; empty when absent.
std::string_view QueryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
        pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  out += '"';
}

void Reply(FCGX_Request& request, const char* status, const std::string& body) {
  std::string head = "Status: ";
  head += status;
  head += "\r\nContent-Type: application/json\r\nContent-Length: ";
  head += std::to_string(body.size());
  head += "\r\n\r\n";
  head += body;
  FCGX_PutStr(head.data(), static_cast<int>(head.size()), request.out);
}

void Answer(FCGX_Request& request, PGconn* conn) {
  const char* query = FCGX_GetParam("QUERY_STRING", request.envp);
  const std::string id(QueryParam(query ? query : "", "id"));
  if (id.empty()) {
    Reply(request, "400 Bad Request", "{\"code\":\"VALIDATION_ERROR\"}");
    return;
  }
  const char* values[1] = {id.c_str()};
  QueryResult result(PQexecPrepared(conn, kStatementName, 1, values, nullptr, nullptr, 0));
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    const char* sqlstate = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
    if (sqlstate && std::string_view(sqlstate) == "22P02") {  // not a uuid
      Reply(request, "400 Bad Request", "{\"code\":\"VALIDATION_ERROR\"}");
      return;
    }
    Reply(request, "500 Internal Server Error", "{\"code\":\"INTERNAL\"}");
    if (PQstatus(conn) != CONNECTION_OK) PQreset(conn);
    return;
  }
  if (PQntuples(result.get()) != 1) {
    Reply(request, "404 Not Found", "{\"code\":\"NOT_FOUND\"}");
    return;
  }
  std::string body = "{\"id\":";
  AppendJsonString(body, PQgetvalue(result.get(), 0, 0));
  body += ",\"username\":";
  AppendJsonString(body, PQgetvalue(result.get(), 0, 1));
  body += '}';
  Reply(request, "200 OK", body);
}

[[noreturn]] void RunProcess(int listen_fd, int threads, const std::string& url) {
  FCGX_Init();
  std::mutex accept_mutex;
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&] {
      Connection conn = Connect(url);
      FCGX_Request request;
      FCGX_InitRequest(&request, listen_fd, 0);
      for (;;) {
        int rc;
        {
          std::lock_guard<std::mutex> lock(accept_mutex);
          rc = FCGX_Accept_r(&request);
        }
        if (rc < 0) continue;
        Answer(request, conn.get());
        FCGX_Finish_r(&request);
      }
    });
  }
  for (auto& t : pool) t.join();
  _exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s SOCKET_PATH PROCESSES THREADS DATABASE_URL\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  const int processes = std::atoi(argv[2]);
  const int threads = std::atoi(argv[3]);
  const std::string url = argv[4];
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
      RunProcess(listen_fd, threads, url);
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
