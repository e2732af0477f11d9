-- wrk script: POST /v1/file_links with a form body, as the Stripe SDK sends
-- it (each request with its own Idempotency-Key, as the SDK does).
-- Set FILE_ID and KEY in the environment.
local file = os.getenv("FILE_ID")
local key = os.getenv("KEY")
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
function request()
  n = n + 1
  return wrk.format("POST", "/v1/file_links", {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Idempotency-Key"] = "wrk-" .. tostring(tid) .. "-" .. tostring(os.time()) .. "-" .. n,
  }, "file=" .. file .. "&metadata[order]=42")
end
