-- POST /ticket/{id}/enviar-mensaje over tickets 1..TICKETS with the admin token.
local counter = 0
local token = os.getenv("BENCH_AGENT_TOKEN")
local tickets = tonumber(os.getenv("BENCH_TICKETS") or "1000")

request = function()
    counter = counter + 1
    local ticket = math.random(1, tickets)
    local body = string.format('{"mensaje":"respuesta del tecnico %d"}', counter)
    return wrk.format("POST", "/ticket/" .. ticket .. "/enviar-mensaje",
        { ["Authorization"] = "Token " .. token, ["Content-Type"] = "application/json" }, body)
end
