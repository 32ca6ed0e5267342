// fork, waitpid and slot bookkeeping. See children.h.

#include "pool/children.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "pool/worker.h"

namespace chatd::pool {

bool Children::Spawn(uint32_t generation, const std::shared_ptr<const Config>& config) {
  int slot = -1;
  for (int i = 0; i < kMaxWorkerSlots; ++i) {
    if (sb_->shared().workers[i].state.load() == static_cast<uint8_t>(WorkerState::kFree)) {
      slot = i;
      break;
    }
  }
  if (slot < 0) {
    if (!out_of_slots_) LogError("no free worker slot: a worker starts when one exits");
    out_of_slots_ = true;
    return false;
  }
  out_of_slots_ = false;
  WorkerSlot& ws = sb_->shared().workers[slot];
  ws.state.store(static_cast<uint8_t>(WorkerState::kStarting));
  ws.generation.store(generation);
  ws.requests.store(0);
  ws.threads.store(0);
  ws.started_ms.store(NowMs());
  for (auto& t : ws.thread) {
    t.state.store(0);
    t.flags.store(0);
    t.requests.store(0);
    t.serial.store(0);
    t.slow_logged_serial.store(0);
  }
  // Signals stay blocked across fork until the child has its own handlers, so that a signal meant
  // for the new worker is never written into the master's self-pipe.
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  const pid_t master_pid = getpid();
  pid_t pid = fork();
  if (pid != 0) sigprocmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    ws.state.store(static_cast<uint8_t>(WorkerState::kFree));
    LogError("fork failed").Int("errno", errno);
    return false;
  }
  if (pid == 0) {
    ws.pid.store(getpid());
    RunWorkerProcess(hooks_, config, listen_fd_, ProcessInfo{slot, generation, master_pid});
  }
  ws.pid.store(pid);
  return true;
}

std::vector<ExitInfo> Children::Reap() {
  std::vector<ExitInfo> out;
  for (;;) {
    int wstatus = 0;
    pid_t pid = waitpid(-1, &wstatus, WNOHANG);
    if (pid <= 0) break;
    ExitInfo info;
    info.pid = pid;
    if (WIFSIGNALED(wstatus)) {
      info.abnormal = true;
      info.how = "signal " + std::to_string(WTERMSIG(wstatus));
    } else {
      int code = WEXITSTATUS(wstatus);
      info.abnormal = code != 0;
      info.how = "exit " + std::to_string(code);
    }
    for (int i = 0; i < kMaxWorkerSlots; ++i) {
      WorkerSlot& ws = sb_->shared().workers[i];
      if (ws.pid.load() == pid && ws.state.load() != static_cast<uint8_t>(WorkerState::kFree)) {
        info.slot = i;
        info.generation = ws.generation.load();
        ws.pid.store(0);
        ws.state.store(static_cast<uint8_t>(WorkerState::kFree));
        break;
      }
    }
    out.push_back(info);
  }
  return out;
}

void Children::SignalAll(int sig, std::optional<uint32_t> generation) {
  for (auto& ws : sb_->shared().workers) {
    if (ws.state.load() == static_cast<uint8_t>(WorkerState::kFree) || ws.pid.load() <= 0) continue;
    if (generation && ws.generation.load() != *generation) continue;
    kill(ws.pid.load(), sig);
  }
}

int Children::Count(std::optional<uint32_t> generation) const {
  int n = 0;
  for (const auto& ws : sb_->shared().workers) {
    if (ws.state.load() == static_cast<uint8_t>(WorkerState::kFree)) continue;
    if (generation && ws.generation.load() != *generation) continue;
    ++n;
  }
  return n;
}

int Children::CountAccepting(uint32_t generation) const {
  int n = 0;
  for (const auto& ws : sb_->shared().workers) {
    uint8_t state = ws.state.load();
    if ((state == static_cast<uint8_t>(WorkerState::kStarting) ||
         state == static_cast<uint8_t>(WorkerState::kRunning)) &&
        ws.generation.load() == generation) {
      ++n;
    }
  }
  return n;
}

int Children::CountRunning(uint32_t generation) const {
  int n = 0;
  for (const auto& ws : sb_->shared().workers) {
    if (ws.state.load() == static_cast<uint8_t>(WorkerState::kRunning) &&
        ws.generation.load() == generation)
      ++n;
  }
  return n;
}

bool Children::RecordAbnormalExit(int64_t now_ms, int threshold, int64_t interval_ms) {
  abnormal_exits_ms_.push_back(now_ms);
  while (!abnormal_exits_ms_.empty() && abnormal_exits_ms_.front() < now_ms - interval_ms) {
    abnormal_exits_ms_.pop_front();
  }
  return threshold > 0 && static_cast<int>(abnormal_exits_ms_.size()) > threshold;
}

}  // namespace chatd::pool
