-- wrk script for benchmarks/service_api.py: 50 connections, each request at random either a
-- page of runs (50, filtered by state) or one run (a random id of the sample), with the token.
local ids = {}
for line in io.lines(os.getenv("PW_BENCH_IDS")) do ids[#ids + 1] = line end
local auth = "Bearer " .. os.getenv("PW_BENCH_TOKEN")
local threads, counter = {}, 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(7919 * tonumber(seed))
  lists, reads = 0, 0
end

function request()
  if math.random() < 0.5 then
    lists = lists + 1
    return wrk.format("GET", "/api/v1/runs?limit=50&state=done", {["Authorization"] = auth})
  end
  reads = reads + 1
  return wrk.format("GET", "/api/v1/runs/" .. ids[math.random(#ids)], {["Authorization"] = auth})
end

function done(summary, latency, requests)
  local lists_sent, reads_sent = 0, 0
  for _, thread in ipairs(threads) do
    lists_sent = lists_sent + thread:get("lists")
    reads_sent = reads_sent + thread:get("reads")
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "non_2xx": %d, "socket_errors": %d, "lists": %d, "reads": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout, lists_sent, reads_sent))
end
