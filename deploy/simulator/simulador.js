/* Simulador del puente de WhatsApp (deploy/bridge-simulator.py): la página de chat de teléfono. */
"use strict";
const $ = (id) => document.getElementById(id);
const st = { mensajes: [], entrantes: [], contactos: [], eventos: [], estado: null, contadores: {},
             seleccionado: null, firmaChat: "", firmaLista: "", firmaEventos: "", retrasoEditando: false };

function el(tag, clase, texto) {
  const e = document.createElement(tag);
  if (clase) e.className = clase;
  if (texto !== undefined && texto !== null) e.textContent = String(texto);
  return e;
}
function hora(ts) {
  const d = new Date(ts * 1000);
  return d.toLocaleTimeString("es-MX", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}
function soloDigitos(s) { return String(s).split("@")[0].replace(/[^0-9]/g, ""); }
function comoTexto(v) { return typeof v === "string" ? v : JSON.stringify(v); }

async function api(metodo, ruta, cuerpo) {
  const opciones = { method: metodo, headers: {} };
  if (cuerpo !== undefined) { opciones.headers["Content-Type"] = "application/json"; opciones.body = JSON.stringify(cuerpo); }
  const r = await fetch(ruta, opciones);
  let datos = null;
  try { datos = await r.json(); } catch (e) { datos = null; }
  return { status: r.status, datos };
}

function contactoActual() {
  if (!st.seleccionado) return null;
  return st.contactos.find((c) => c.telefono === st.seleccionado) || { telefono: st.seleccionado, nombre: "" };
}

function pintarCabecera() {
  const e = st.estado;
  if (!e) return;
  for (const b of document.querySelectorAll("#modos button")) b.classList.toggle("activo", b.dataset.modo === e.modo);
  if (!st.retrasoEditando && document.activeElement !== $("retraso")) $("retraso").value = e.retraso;
  $("c-recibidos").textContent = st.contadores.recibidos ?? 0;
  $("c-duplicados").textContent = st.contadores.duplicates_suppressed ?? 0;
  $("c-rechazados").textContent = st.contadores.rechazados ?? 0;
  $("c-entrantes").textContent = st.contadores.entrantes_enviados ?? 0;
  $("config").textContent = "Webhook: " + e.webhook_url + " · WhatsApp " + e.whatsapp;
}

function ultimoPorContacto() {
  const ultimo = {};
  for (const m of st.mensajes) ultimo[m.telefono] = { ts: m.ts, texto: "Mostrador: " + m.texto };
  for (const m of st.entrantes) {
    const previo = ultimo[m.telefono];
    if (!previo || m.ts >= previo.ts) ultimo[m.telefono] = { ts: m.ts, texto: "Tú: " + (m.tipo === "imagen" ? "📷 " + (m.contenido || "Imagen") : m.contenido) };
  }
  return ultimo;
}

function pintarLista() {
  const ultimo = ultimoPorContacto();
  const firma = JSON.stringify([st.seleccionado, st.contactos, ultimo]);
  if (firma === st.firmaLista) return;
  st.firmaLista = firma;
  const lista = $("lista");
  lista.replaceChildren();
  if (!st.contactos.length) { lista.appendChild(el("li", "vacio", "Aún no hay contactos. Añade uno arriba o espera un mensaje de Mostrador.")); return; }
  for (const c of st.contactos) {
    const li = el("li", c.telefono === st.seleccionado ? "sel" : "");
    li.dataset.telefono = c.telefono;
    const nombre = c.nombre || ("+" + c.telefono);
    li.appendChild(el("div", "avatar", (c.nombre || "#").trim().charAt(0).toUpperCase() || "#"));
    li.appendChild(el("div", "cnombre", nombre));
    const u = ultimo[c.telefono];
    li.appendChild(el("div", "chora", u ? hora(u.ts) : ""));
    li.appendChild(el("div", "cprevia", u ? u.texto.replace(/\s+/g, " ") : (c.nombre ? "+" + c.telefono : "Sin mensajes")));
    li.addEventListener("click", () => seleccionar(c.telefono));
    lista.appendChild(li);
  }
}

function burbujaMostrador(m) {
  const fila = el("div", "fila de-mostrador");
  const b = el("div", "burbuja");
  b.appendChild(el("div", "origen", "Mostrador"));
  b.appendChild(el("div", "texto", m.texto));
  let meta = m.id + " · " + hora(m.ts);
  if (m.duplicados > 0) meta += " · ↺ " + m.duplicados + (m.duplicados === 1 ? " reintento suprimido" : " reintentos suprimidos");
  const md = el("div", "meta", meta);
  md.title = "Idempotency-Key: " + (m.idempotency_key || "(ninguna)") + "\nnumero recibido: " + m.numero;
  b.appendChild(md);
  fila.appendChild(b);
  return fila;
}

function burbujaCliente(m) {
  const fila = el("div", "fila de-cliente");
  const b = el("div", "burbuja");
  if (m.tipo === "imagen") {
    const img = document.createElement("img");
    img.alt = "Imagen (" + m.mimetype + ")";
    img.src = "/ui/imagen/" + encodeURIComponent(m.id_mensaje);
    img.addEventListener("error", () => img.replaceWith(el("div", "texto", "📷 Imagen " + m.mimetype + ", " + m.tamano + " bytes")));
    b.appendChild(img);
    if (m.contenido) b.appendChild(el("div", "texto", m.contenido));
  } else {
    b.appendChild(el("div", "texto", m.contenido));
  }
  const md = el("div", "meta", hora(m.ts) + (m.estado === "entregado" ? " ✓✓" : m.estado === "enviando" ? " 🕓" : " ✗"));
  md.title = "id_mensaje: " + m.id_mensaje + "\nnombre: " + m.nombre;
  b.appendChild(md);
  let api;
  if (m.estado === "enviando") api = el("div", "api pend", "API: esperando respuesta…");
  else if (m.status_code === null) api = el("div", "api mal", "API: sin respuesta — " + (m.error || "error"));
  else api = el("div", "api " + (m.status_code >= 200 && m.status_code < 300 ? "ok" : "mal"), "API " + m.status_code + " " + comoTexto(m.respuesta));
  b.appendChild(api);
  fila.appendChild(b);
  return fila;
}

function pintarChat() {
  const c = contactoActual();
  const cont = $("burbujas");
  const deshabilitar = !c;
  $("texto").disabled = deshabilitar; $("enviar").disabled = deshabilitar; $("adjuntar").disabled = deshabilitar;
  if (!c) {
    if (st.firmaChat !== "") { cont.replaceChildren(); st.firmaChat = ""; }
    $("chat-titulo").textContent = "Elige o añade un contacto";
    $("chat-sub").textContent = "Escribe como si fueras el cliente; Mostrador responde a la izquierda.";
    return;
  }
  $("chat-titulo").textContent = c.nombre || ("+" + c.telefono);
  $("chat-sub").textContent = "+" + c.telefono + " · remitente " + c.telefono + "@s.whatsapp.net";
  const items = [];
  for (const m of st.mensajes) if (m.telefono === c.telefono) items.push({ ts: m.ts, dir: "out", m });
  for (const m of st.entrantes) if (m.telefono === c.telefono) items.push({ ts: m.ts, dir: "in", m });
  items.sort((a, b) => a.ts - b.ts);
  const firma = JSON.stringify([c.telefono, items]);
  if (firma === st.firmaChat) return;
  st.firmaChat = firma;
  const alFondo = cont.scrollHeight - cont.scrollTop - cont.clientHeight < 60;
  cont.replaceChildren();
  if (!items.length) cont.appendChild(el("div", "vacio", "Sin mensajes todavía con este contacto."));
  for (const it of items) cont.appendChild(it.dir === "out" ? burbujaMostrador(it.m) : burbujaCliente(it.m));
  if (alFondo || st.forzarFondo) { cont.scrollTop = cont.scrollHeight; st.forzarFondo = false; }
}

function pintarEventos() {
  const firma = st.eventos.length ? st.eventos.length + ":" + st.eventos[st.eventos.length - 1].ts : "";
  if (firma === st.firmaEventos) return;
  st.firmaEventos = firma;
  const ul = $("eventos");
  ul.replaceChildren();
  for (const ev of st.eventos.slice().reverse()) {
    const li = el("li", ev.tipo);
    li.appendChild(el("span", "h", hora(ev.ts)));
    li.appendChild(document.createTextNode(ev.texto));
    ul.appendChild(li);
  }
}

function pintar() {
  if (!st.seleccionado && st.contactos.length) { st.seleccionado = st.contactos[0].telefono; st.forzarFondo = true; }
  pintarCabecera(); pintarLista(); pintarChat(); pintarEventos();
}

function seleccionar(telefono) {
  st.seleccionado = telefono; st.forzarFondo = true;
  history.replaceState(null, "", "#" + telefono);
  pintar(); $("texto").focus();
}
if (soloDigitos(location.hash)) st.seleccionado = soloDigitos(location.hash);   // /#5214771234567 abre ese chat

let sondeoEnCurso = false;
async function sondear() {
  if (sondeoEnCurso) return;
  sondeoEnCurso = true;
  try {
    const [m, e] = await Promise.all([api("GET", "/mensajes"), api("GET", "/ui/entrantes")]);
    if (m.status !== 200 || e.status !== 200) throw new Error("HTTP " + m.status + "/" + e.status);
    st.mensajes = m.datos.mensajes;
    st.entrantes = e.datos.entrantes;
    st.contactos = e.datos.contactos;
    st.eventos = e.datos.eventos;
    st.estado = e.datos.estado;
    st.estado.modo = m.datos.modo; st.estado.retraso = m.datos.retraso;
    st.contadores = { recibidos: m.datos.recibidos, duplicates_suppressed: m.datos.duplicates_suppressed,
                      rechazados: m.datos.rechazados, entrantes_enviados: e.datos.entrantes_enviados };
    $("aviso").classList.remove("visible");
    pintar();
  } catch (err) {
    $("aviso").classList.add("visible");
  } finally {
    sondeoEnCurso = false;
  }
}

function avisoEnvio(texto, mal) {
  const d = $("estado-envio"); d.textContent = texto; d.classList.toggle("mal", !!mal);
}

function resultadoEnvio(r) {
  if (r.status === 200 && r.datos) {
    const d = r.datos;
    avisoEnvio("Webhook → API " + d.status_code + " " + comoTexto(d.respuesta), !d.ok);
  } else {
    avisoEnvio("Error " + r.status + ": " + ((r.datos && r.datos.error) || "sin detalle"), true);
  }
}

async function enviarTexto() {
  const c = contactoActual();
  const caja = $("texto");
  const texto = caja.value;
  if (!c || !texto.trim()) return;
  caja.value = "";
  st.forzarFondo = true;
  avisoEnvio("Enviando al webhook…");
  const envio = api("POST", "/ui/enviar", { telefono: c.telefono, nombre: c.nombre || "", texto });
  setTimeout(sondear, 150);
  try { resultadoEnvio(await envio); } catch (err) { avisoEnvio("No se pudo contactar al simulador: " + err, true); caja.value = texto; }
  sondear();
}

async function enviarImagen(archivo) {
  const c = contactoActual();
  if (!c || !archivo) return;
  if (!archivo.type.startsWith("image/")) { avisoEnvio("El archivo no es una imagen.", true); return; }
  if (archivo.size > 5 * 1024 * 1024) { avisoEnvio("La imagen pesa más de 5 MB.", true); return; }
  const dataUrl = await new Promise((ok, mal) => { const fr = new FileReader(); fr.onload = () => ok(fr.result); fr.onerror = mal; fr.readAsDataURL(archivo); });
  const base64 = String(dataUrl).slice(String(dataUrl).indexOf(",") + 1);
  const caption = $("texto").value;
  $("texto").value = "";
  st.forzarFondo = true;
  avisoEnvio("Enviando imagen al webhook…");
  try {
    resultadoEnvio(await api("POST", "/ui/enviar", { telefono: c.telefono, nombre: c.nombre || "", imagen_base64: base64, mimetype: archivo.type, caption }));
  } catch (err) { avisoEnvio("No se pudo contactar al simulador: " + err, true); }
  sondear();
}

async function cambiarModo(cuerpo) {
  try {
    const r = await api("POST", "/control", cuerpo);
    if (r.status !== 200) avisoEnvio("Control: " + ((r.datos && r.datos.error) || r.status), true);
  } catch (err) { avisoEnvio("No se pudo cambiar el modo: " + err, true); }
  sondear();
}

$("modos").addEventListener("click", (ev) => {
  const b = ev.target.closest("button[data-modo]");
  if (b) cambiarModo({ modo: b.dataset.modo });
});
$("retraso").addEventListener("focus", () => { st.retrasoEditando = true; });
$("retraso").addEventListener("blur", () => { st.retrasoEditando = false; });
$("retraso").addEventListener("change", () => {
  const v = Number($("retraso").value);
  if (Number.isFinite(v) && v >= 0 && v <= 600) cambiarModo({ retraso: v });
  else avisoEnvio("Retraso inválido: entre 0 y 600 segundos.", true);
});
$("limpiar").addEventListener("click", async () => {
  if (!confirm("¿Borrar todos los mensajes, contadores y claves de idempotencia?")) return;
  await api("DELETE", "/mensajes"); await api("DELETE", "/ui/entrantes");
  avisoEnvio(""); sondear();
});
$("nuevo-contacto").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const telefono = soloDigitos($("nc-telefono").value);
  if (!telefono) { avisoEnvio("Teléfono inválido: usa solo dígitos, p. ej. 5214771234567.", true); return; }
  const r = await api("POST", "/ui/contactos", { telefono, nombre: $("nc-nombre").value.trim() });
  if (r.status !== 200) { avisoEnvio("No se pudo añadir: " + ((r.datos && r.datos.error) || r.status), true); return; }
  $("nc-telefono").value = ""; $("nc-nombre").value = "";
  await sondear();
  seleccionar(telefono);
});
$("composer").addEventListener("submit", (ev) => { ev.preventDefault(); enviarTexto(); });
$("texto").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); enviarTexto(); }
});
$("adjuntar").addEventListener("click", () => $("archivo").click());
$("archivo").addEventListener("change", () => { const f = $("archivo").files[0]; $("archivo").value = ""; enviarImagen(f); });

sondear();
setInterval(sondear, 1000);
