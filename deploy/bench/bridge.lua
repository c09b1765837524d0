-- POST /enviar-mensaje straight at the counting bridge: its own rate is the outbound ceiling.
local counter = 0
local token = os.getenv("MOSTRADOR_BRIDGE_TOKEN") or "bench-bridge"
local prefix = tostring(os.time()) .. "-" .. tostring(math.floor(os.clock() * 1000000))

request = function()
    counter = counter + 1
    local body = string.format('{"numero":"5215500%05d","texto":"respuesta del tecnico %d"}',
        math.random(0, 999), counter)
    return wrk.format("POST", "/enviar-mensaje",
        { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json",
          ["Idempotency-Key"] = "ceiling-" .. prefix .. "-" .. tostring(counter) .. "-" .. tostring(math.random()) },
        body)
end
