-- wrk script: requests from a file of "<path> <token|-> <body|->" lines (a body of "-" makes
-- a GET), each thread taking its own stride through them (so two threads never send the same
-- booking).
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  ops = {}
  for line in io.lines(args[1]) do
    local path, token, body = line:match("^(%S+) (%S+) (.*)$")
    table.insert(ops, { path, token, body })
  end
  stride = tonumber(args[2])
  index = id - 1
end

function request()
  local op = ops[(index % #ops) + 1]
  index = index + stride
  local headers = { ["Content-Type"] = "application/json" }
  if op[2] ~= "-" then
    headers["Authorization"] = "Token " .. op[2]
  end
  if op[3] == "-" then
    return wrk.format("GET", op[1], headers)
  end
  return wrk.format("POST", op[1], headers, op[3])
end
