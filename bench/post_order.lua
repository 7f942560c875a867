-- wrk script for the intake benchmark: POST /orders with a fixed order body.
--
--   wrk -t1 -c32 -d15s --latency -s bench/post_order.lua http://127.0.0.1:PORT/orders
--
-- At the end it prints a human summary and one machine-readable line,
--   RESULT rps=<n> requests=<n> non2xx=<n> errors=<n> p50_ms=<x> p90_ms=<x> p99_ms=<x> p999_ms=<x> max_ms=<x>
-- which bench/intake.sh parses.
--
-- Status counting: by default non-2xx is wrk's own count of responses with a
-- status >= 400 (free). With WRK_COUNT_STATUS=1 a response() hook counts
-- every status outside 200..299 exactly, and the per-status breakdown is
-- printed, with the number of those whose body is not the suite's JSON
-- error ({"error":{"code":...}}); the hook costs the load generator some CPU,
-- so it is off for the measured rounds of bench/intake.sh (bench/overload.sh
-- turns it on).

wrk.method = "POST"
wrk.body = '{"userId":"u1","items":[{"productId":"p1","quantity":2,"price":50}]}'
wrk.headers["Content-Type"] = "application/json"

local count_status = os.getenv("WRK_COUNT_STATUS") == "1"

-- Pacing: with WRK_DELAY_MS each connection waits that long between its
-- requests, so -c N gives about N * 1000 / (delay + latency) requests/s
-- (the end-to-end latency benchmark uses it for an open, steady rate).
local pace = tonumber(os.getenv("WRK_DELAY_MS") or "")
if pace then
   function delay()
      return pace
   end
end
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

if count_status then
   -- Per thread (each thread has its own Lua state): status -> count.
   statuses = {}
   nonjson = 0

   function response(status, headers, body)
      statuses[status] = (statuses[status] or 0) + 1
      if (status < 200 or status > 299) and not string.find(body, '^{"error":{"code":"') then
         nonjson = nonjson + 1
      end
   end
end

function done(summary, latency, requests)
   local secs = summary.duration / 1e6
   local e = summary.errors
   local socket_errors = e.connect + e.read + e.write + e.timeout
   local non2xx = e.status
   local by_status = {}
   local bad_json = 0

   if count_status then
      non2xx = 0
      for _, t in ipairs(threads) do
         local s = t:get("statuses")
         bad_json = bad_json + t:get("nonjson")
         for code, n in pairs(s) do
            by_status[code] = (by_status[code] or 0) + n
            if code < 200 or code > 299 then
               non2xx = non2xx + n
            end
         end
      end
   end

   local function ms(p)
      return latency:percentile(p) / 1000.0
   end

   io.write("------------------------------------------------------------\n")
   io.write(string.format("requests      %d in %.2f s = %.0f req/s\n",
                          summary.requests, secs, summary.requests / secs))
   io.write(string.format("latency ms    p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
                          ms(50), ms(90), ms(99), ms(99.9), latency.max / 1000.0))
   io.write(string.format("non-2xx       %d%s\n", non2xx,
                          count_status and "" or " (status >= 400, wrk's count)"))
   io.write(string.format("socket errors connect %d, read %d, write %d, timeout %d\n",
                          e.connect, e.read, e.write, e.timeout))
   if count_status then
      for code, n in pairs(by_status) do
         io.write(string.format("status %d      %d\n", code, n))
      end
      io.write(string.format("non-2xx bodies that are not a JSON error: %d\n", bad_json))
   end
   io.write(string.format(
      "RESULT rps=%.1f requests=%d non2xx=%d errors=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f nonjson=%d\n",
      summary.requests / secs, summary.requests, non2xx, socket_errors,
      ms(50), ms(90), ms(99), ms(99.9), latency.max / 1000.0, bad_json))
end
