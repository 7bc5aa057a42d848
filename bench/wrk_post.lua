-- wrk script for bench/webhook.py: POST the JSON body in $BENCH_BODY (a file path) to the
-- target, then print one line "BENCHJSON {...}" with throughput, latency percentiles and errors.
local path = os.getenv("BENCH_BODY")
if path == nil or path == "" then error("BENCH_BODY must name the request body file") end
local fh = assert(io.open(path, "rb"))
local payload = fh:read("*a")
fh:close()

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = payload

local function ms(us) return us / 1000.0 end

function done(summary, latency, _requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  local fields = {
    string.format('"requests":%d', summary.requests),
    string.format('"duration_s":%.3f', secs),
    string.format('"rps":%.1f', summary.requests / secs),
    string.format('"p50_ms":%.3f', ms(latency:percentile(50))),
    string.format('"p90_ms":%.3f', ms(latency:percentile(90))),
    string.format('"p99_ms":%.3f', ms(latency:percentile(99))),
    string.format('"max_ms":%.3f', ms(latency.max)),
    string.format('"mean_ms":%.3f', ms(latency.mean)),
    string.format('"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}',
      e.connect, e.read, e.write, e.status, e.timeout),
  }
  io.write("BENCHJSON {" .. table.concat(fields, ",") .. "}\n")
end
