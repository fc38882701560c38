-- HTTP/1.1 pipelining for wrk: each write carries DEPTH GET requests for the URL's path, and
-- the connection reads all DEPTH responses before its next write.
--
--   wrk -t1 -c4 -d5s -s tests/peers/pipeline.lua http://127.0.0.1:PORT/ -- 16
--
-- The argument after `--` is DEPTH (default 16). At the end one line sums up, for tests
-- to check (`status` counts responses that are not 2xx or 3xx):
--   pipeline: requests N, errors connect 0 read 0 write 0 timeout 0 status 0

local DEFAULT_DEPTH = 16

-- Each wrk thread has its own Lua state: `init` builds that thread's batch.
local batch = nil

local function depth_of(args)
    local text = args and args[1]
    if text == nil then
        return DEFAULT_DEPTH
    end
    local n = tonumber(text)
    if n == nil or n < 1 or n ~= math.floor(n) then
        error("pipeline.lua: DEPTH must be a whole number >= 1, got " .. tostring(text))
    end
    return n
end

function init(args)
    local n = depth_of(args)
    -- wrk.format uses the URL's path and wrk.headers (Host among them).
    local one = wrk.format("GET", wrk.path)
    batch = string.rep(one, n)
end

function request()
    return batch
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "pipeline: requests %d, errors connect %d read %d write %d timeout %d status %d\n",
        summary.requests, e.connect, e.read, e.write, e.timeout, e.status))
end
