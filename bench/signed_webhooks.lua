-- wrk script for bench/ingest.py: replays pre-generated, pre-signed FreshBooks webhooks.
--
-- The signing happens in Python (bench/ingest.py), once, before the run: LuaJIT has no HMAC, and
-- signing during the run would spend the CPU the servers need. Each wrk thread takes every
-- BENCH_THREADS-th request from BENCH_FIRST on, so no request is sent twice in a run: a repeat would
-- be a deduplicated no-op instead of an insert, and the stored-rows check would no longer hold.
--
-- Environment: BENCH_REQUESTS (file of "path<TAB>signature<TAB>body" lines), BENCH_FIRST (0-based
-- index of the first line to send), BENCH_THREADS (wrk's -t). done() prints one BENCH_JSON line.

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("tid", next_id)
   table.insert(threads, thread)
   next_id = next_id + 1
end

function init(args)
   local path = os.getenv("BENCH_REQUESTS")
   local first = tonumber(os.getenv("BENCH_FIRST") or "0")
   local stride = tonumber(os.getenv("BENCH_THREADS") or "1")
   requests = {}
   local index = 0
   for line in io.lines(path) do
      -- Keep only this thread's share; format it now so request() is a table lookup.
      if index >= first and (index - first) % stride == tid - 1 then
         local hook_path, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
         requests[#requests + 1] = wrk.format("POST", hook_path, {
            ["Content-Type"] = "application/x-www-form-urlencoded",
            ["User-Agent"] = "FreshBooks-Webhooks/bench",
            ["X-FreshBooks-Hmac-SHA256"] = signature,
         }, body)
      end
      index = index + 1
   end
   position = 0
   sent = 0
   wrapped = 0
   ok = 0
   other = 0
end

function request()
   position = position + 1
   if position > #requests then
      -- Out of fresh requests: resending is harmless for the bare app, but for ours it is a
      -- duplicate; ingest.py reports the run as invalid when this happens.
      position = 1
      wrapped = wrapped + 1
   end
   sent = sent + 1
   return requests[position]
end

function response(status, headers, body)
   if status == 200 then
      ok = ok + 1
   else
      other = other + 1
   end
end

function done(summary, latency, reqs)
   local sent_max, sent_total, wrapped_total, ok_total, other_total = 0, 0, 0, 0, 0
   for _, thread in ipairs(threads) do
      local s = thread:get("sent") or 0
      sent_total = sent_total + s
      if s > sent_max then sent_max = s end
      wrapped_total = wrapped_total + (thread:get("wrapped") or 0)
      ok_total = ok_total + (thread:get("ok") or 0)
      other_total = other_total + (thread:get("other") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"duration_us": %d, "completed": %d, "ok": %d, "other_status": %d, "sent": %d, ' ..
      '"sent_max_per_thread": %d, "wrapped": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
      '"status": %d, "timeout": %d}, "latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
      summary.duration, summary.requests, ok_total, other_total, sent_total, sent_max, wrapped_total,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
