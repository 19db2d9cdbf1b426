-- wrk script for benchmarks/wrk.py: POST /v1/chat turns, cycling through the questions in the
-- file given after "--" (one JSON string per line) and through SESSIONS session ids, so that no
-- two connections are likely to hold the same session at once.  Prints one JSON line at the end.
local texts = {}
local n = 0
local sessions = 1000
local thread_no = 0

function setup(thread)
  thread:set("thread_no", thread_no)
  thread_no = thread_no + 1
end

function init(args)
  for line in io.lines(args[1]) do
    texts[#texts + 1] = line
  end
end

function request()
  n = n + 1
  local body = string.format('{"session_id":"wrk-%d-%d","text":%s}', thread_no, n % sessions, texts[n % #texts + 1])
  return wrk.format("POST", "/v1/chat", { ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_s": %.3f, "socket_errors": %d, "non_2xx": %d, "p50_ms": %.3f, "p99_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
