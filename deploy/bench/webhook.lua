-- POST /webhook from 1,000 different senders, each request a new bridge message id.
local counter = 0
local token = os.getenv("MOSTRADOR_WEBHOOK_TOKEN") or "bench-webhook"
-- Every run and thread gets ids of its own (wrk seeds math.random the same way each run).
local prefix = tostring(os.time()) .. "-" .. tostring(math.floor(os.clock() * 1000000))
local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("id", tostring(threads))
end

request = function()
    counter = counter + 1
    local sender = string.format("5215500%05d@s.whatsapp.net", math.random(0, 999))
    local body = string.format(
        '{"remitente":"%s","contenido":"la impresora no imprime, mensaje %d","nombre":"Cliente %d","id_mensaje":"B-%s-%s-%d"}',
        sender, counter, counter % 1000, prefix, id or "0", counter)
    return wrk.format("POST", "/webhook",
        { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)
end
