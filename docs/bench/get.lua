-- wrk script: GET /v1/file_links/:id with the API key. Set KEY.
local key = os.getenv("KEY")
request = function()
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. key})
end
