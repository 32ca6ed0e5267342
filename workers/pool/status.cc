// Status page and Prometheus exposition, both computed from one pass over the scoreboard.

#include "pool/status.h"

#include <cstdio>

#include "json/json.h"
#include "pool/master.h"

namespace chatd::pool {
namespace {

struct Totals {
  int processes = 0, active_processes = 0, idle_processes = 0;
  int threads = 0, busy_threads = 0, long_running = 0;
};

Totals Count(const Scoreboard& sb) {
  Totals t;
  for (const auto& ws : sb.shared().workers) {
    if (ws.state.load() == static_cast<uint8_t>(WorkerState::kFree)) continue;
    ++t.processes;
    int threads = ws.threads.load(), busy = 0;
    t.threads += threads;
    for (int i = 0; i < threads && i < kMaxThreadsPerWorker; ++i) {
      if (ws.thread[i].state.load() == static_cast<uint8_t>(ThreadState::kBusy)) {
        ++busy;
        if (ws.thread[i].flags.load() & kFlagLongRunning) ++t.long_running;
      }
    }
    t.busy_threads += busy;
    (busy > 0 ? t.active_processes : t.idle_processes)++;
  }
  return t;
}

const char* WorkerStateName(uint8_t s) {
  switch (static_cast<WorkerState>(s)) {
    case WorkerState::kFree:
      return "free";
    case WorkerState::kStarting:
      return "starting";
    case WorkerState::kRunning:
      return "running";
    case WorkerState::kStopping:
      return "stopping";
  }
  return "unknown";
}

void AppendLabelEscaped(std::string& out, const char* s) {
  for (; *s; ++s) {
    if (*s == '\\' || *s == '"') out += '\\';
    if (*s == '\n') {
      out += "\\n";
      continue;
    }
    out += *s;
  }
}

std::string FormatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", s);
  return buf;
}

}  // namespace

std::string RenderStatusJson(const Scoreboard& sb, bool full) {
  const auto& c = sb.shared().counters;
  Totals t = Count(sb);
  int64_t now = NowMs();
  json::Writer w;
  w.StartObject()
      .Field("pool", "chatd-workers")
      .Field("process_manager", "static")
      .Field("state", MasterStateName(static_cast<MasterState>(c.master_state.load())))
      .Field("generation", static_cast<int64_t>(c.generation.load()))
      .Field("start_time_ms", c.start_ms.load())
      .Field("start_since_s", (now - c.start_ms.load()) / 1000)
      .Field("accepted_requests", static_cast<int64_t>(c.accepted.load()))
      .Field("desired_processes", c.desired_workers.load())
      .Field("total_processes", t.processes)
      .Field("active_processes", t.active_processes)
      .Field("idle_processes", t.idle_processes)
      .Field("threads_per_process", c.threads_per_worker.load())
      .Field("total_threads", t.threads)
      .Field("busy_threads", t.busy_threads)
      .Field("idle_threads", t.threads - t.busy_threads)
      .Field("long_running_requests", t.long_running)
      .Field("max_busy_threads", c.max_threads_busy.load())
      .Field("respawns", static_cast<int64_t>(c.respawns.load()))
      .Field("abnormal_exits", static_cast<int64_t>(c.abnormal_exits.load()))
      .Field("recycles", static_cast<int64_t>(c.recycles.load()))
      .Field("reloads", static_cast<int64_t>(c.reloads.load()))
      .Field("slow_requests", static_cast<int64_t>(c.slow_requests.load()))
      .Field("terminated_requests", static_cast<int64_t>(c.terminated_requests.load()))
      .Field("emergency_backoffs", static_cast<int64_t>(c.emergency_backoffs.load()));
  if (full) {
    w.Key("processes").StartArray();
    for (const auto& ws : sb.shared().workers) {
      if (ws.state.load() == static_cast<uint8_t>(WorkerState::kFree)) continue;
      w.StartObject()
          .Field("pid", ws.pid.load())
          .Field("state", WorkerStateName(ws.state.load()))
          .Field("generation", static_cast<int64_t>(ws.generation.load()))
          .Field("start_time_ms", ws.started_ms.load())
          .Field("requests", static_cast<int64_t>(ws.requests.load()));
      w.Key("busy_requests").StartArray();
      int threads = ws.threads.load();
      for (int i = 0; i < threads && i < kMaxThreadsPerWorker; ++i) {
        const ThreadSlot& ts = ws.thread[i];
        if (ts.state.load() != static_cast<uint8_t>(ThreadState::kBusy)) continue;
        std::string request, request_id;
        Scoreboard::ReadThreadRequest(ts, &request, &request_id);
        w.StartObject()
            .Field("thread", i)
            .Field("request", request)
            .Field("request_id", request_id)
            .Field("duration_ms", now - ts.since_ms.load())
            .Field("long_running", (ts.flags.load() & kFlagLongRunning) != 0)
            .EndObject();
      }
      w.EndArray().EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return w.Take();
}

std::string RenderMetrics(const Scoreboard& sb) {
  const auto& sh = sb.shared();
  const auto& c = sh.counters;
  Totals t = Count(sb);
  std::string out;
  out.reserve(16384);
  auto metric = [&](const char* name, const char* type, const char* help, double value) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
    out += name;
    out += ' ';
    out += FormatSeconds(value);
    out += '\n';
  };
  metric("chatd_pool_processes", "gauge", "Worker processes alive.", t.processes);
  metric("chatd_pool_processes_desired", "gauge", "Worker processes configured (WORKERS).",
         c.desired_workers.load());
  metric("chatd_pool_threads_busy", "gauge", "Request threads serving a request.", t.busy_threads);
  metric("chatd_pool_threads_idle", "gauge", "Request threads waiting for a request.",
         t.threads - t.busy_threads);
  metric("chatd_pool_long_running_requests", "gauge",
         "Requests in flight marked long-running (streams).", t.long_running);
  metric("chatd_pool_respawns_total", "counter", "Workers started to replace one that died.",
         static_cast<double>(c.respawns.load()));
  metric("chatd_pool_abnormal_exits_total", "counter",
         "Workers that crashed, were killed or exited non-zero.",
         static_cast<double>(c.abnormal_exits.load()));
  metric("chatd_pool_recycles_total", "counter", "Workers replaced after MAX_REQUESTS.",
         static_cast<double>(c.recycles.load()));
  metric("chatd_pool_reloads_total", "counter", "Graceful reloads (SIGHUP) applied.",
         static_cast<double>(c.reloads.load()));
  metric("chatd_pool_slow_requests_total", "counter",
         "Requests that ran past REQUEST_SLOWLOG_TIMEOUT.",
         static_cast<double>(c.slow_requests.load()));
  metric("chatd_pool_terminated_requests_total", "counter",
         "Workers replaced for a request past REQUEST_TERMINATE_TIMEOUT.",
         static_cast<double>(c.terminated_requests.load()));
  metric("chatd_pool_emergency_backoffs_total", "counter",
         "Times the emergency restart threshold made the master back off.",
         static_cast<double>(c.emergency_backoffs.load()));

  out += "# HELP chatd_http_requests_total Requests served, by route and status.\n";
  out += "# TYPE chatd_http_requests_total counter\n";
  for (int r = 0; r < sh.num_routes; ++r) {
    const RouteStats& rs = sh.routes[r];
    for (int s = 0; s < kNumStatusBuckets; ++s) {
      uint64_t n = rs.by_status[s].load();
      if (n == 0) continue;
      out += "chatd_http_requests_total{route=\"";
      AppendLabelEscaped(out, rs.label);
      out += "\",status=\"";
      out += s < kNumStatusBuckets - 1 ? std::to_string(kCountedStatuses[s]) : "other";
      out += "\"} " + std::to_string(n) + "\n";
    }
  }
  out += "# HELP chatd_http_request_duration_seconds Time to serve a request, by route.\n";
  out += "# TYPE chatd_http_request_duration_seconds histogram\n";
  for (int r = 0; r < sh.num_routes; ++r) {
    const RouteStats& rs = sh.routes[r];
    uint64_t count = rs.count.load();
    if (count == 0) continue;
    uint64_t cumulative = 0;
    for (int b = 0; b < kNumDurationBuckets; ++b) {
      cumulative += rs.duration_buckets[b].load();
      out += "chatd_http_request_duration_seconds_bucket{route=\"";
      AppendLabelEscaped(out, rs.label);
      out += "\",le=\"";
      out += b < kNumDurationBuckets - 1 ? FormatSeconds(kDurationBucketsMs[b] / 1000.0) : "+Inf";
      out += "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "chatd_http_request_duration_seconds_sum{route=\"";
    AppendLabelEscaped(out, rs.label);
    out += "\"} " + FormatSeconds(static_cast<double>(rs.duration_sum_us.load()) / 1e6) + "\n";
    out += "chatd_http_request_duration_seconds_count{route=\"";
    AppendLabelEscaped(out, rs.label);
    out += "\"} " + std::to_string(count) + "\n";
  }
  for (int i = 0; i < sh.num_app_metrics; ++i) {
    const AppMetric& m = sh.app_metrics[i];
    metric(m.name, m.type == MetricType::kCounter ? "counter" : "gauge", m.help,
           static_cast<double>(m.value.load()));
  }
  return out;
}

bool ServePoolEndpoint(http::Request& request, http::ResponseWriter& writer, const Scoreboard& sb) {
  bool metrics = request.path == "/metrics";
  bool status = request.path == "/api/v1/status";
  if (!metrics && !status) return false;
  request.route =
      std::string(request.method == "HEAD" ? "GET" : request.method) + " " + request.path;
  if (request.method != "GET" && request.method != "HEAD") {
    http::Response r = http::Problem(
        Status(ErrorCode::kMethodNotAllowed, "Only GET is allowed here."), request.request_id);
    r.headers.emplace_back("Allow", "GET");
    writer.Send(r);
    return true;
  }
  http::Response r;
  r.headers.emplace_back("Cache-Control", "no-store");
  if (metrics) {
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = RenderMetrics(sb);
  } else {
    r.body = RenderStatusJson(sb, request.HasQueryParam("full"));
  }
  writer.Send(r);
  return true;
}

}  // namespace chatd::pool
