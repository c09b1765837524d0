#!/usr/bin/env python3
"""Simulador del puente de WhatsApp para Mostrador (solo biblioteca estándar de Python 3.11).

Sustituye al puente real (Node.js/Baileys). Habla el mismo protocolo:

  Mostrador -> puente
    POST /enviar-mensaje   Authorization: Bearer <BRIDGE_TOKEN>, Idempotency-Key: <uuid>
                           {"numero": "...", "texto": "..."}
                           200 {"status": "enviado", "id": "SIM-000123"}   (una clave repetida devuelve el mismo id)
                           401 {"error": "No autorizado"} · 400 JSON inválido/campos · 503 desconectado · 500 modo error
    GET  /health           200 {"status": "ok", "whatsapp": "conectado"} · 503 {"status": "desconectado"}

  puente -> Mostrador
    POST <API_URL>/webhook Authorization: Bearer <WEBHOOK_TOKEN>
                           {"remitente": "5214771234567@s.whatsapp.net", "contenido": "...", "nombre": "...",
                            "id_mensaje": "SIMIN-<uuid>", "timestamp": 1700000000}

  Control y prueba
    GET/POST /control      {"modo": "normal|desconectado|lento|error", "retraso": 8}
    GET/DELETE /mensajes   mensajes salientes recibidos y contadores
    GET  /                 interfaz web (chat de teléfono)
    POST /ui/enviar        {"telefono", "nombre", "texto"} o {"telefono", "nombre", "imagen_base64", "mimetype",
                           "caption"}: reenvía al /webhook de Mostrador y devuelve su respuesta
    GET/DELETE /ui/entrantes, GET/POST /ui/contactos, GET /ui/imagen/<id_mensaje>

Uso:
    deploy/bridge-simulator.py [--port 8090] [--host 127.0.0.1] [--api-url http://127.0.0.1:8080]
                               [--bridge-token ...] [--webhook-token ...] [--modo normal] [--retraso 8] [--verbose]
Variables: SIM_PORT, MOSTRADOR_API_URL, MOSTRADOR_BRIDGE_TOKEN, MOSTRADOR_WEBHOOK_TOKEN (los flags ganan).
"""

import argparse
import base64
import binascii
import hmac
import json
import os
import signal
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
from collections import deque
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

MODOS = ("normal", "desconectado", "lento", "error")
MAX_CUERPO = 16 * 1024 * 1024          # bytes aceptados en una petición
MAX_MENSAJES = 5000                    # historial visible (los contadores siguen siendo exactos)
MAX_IMAGENES = 50                      # miniaturas guardadas en memoria
MAX_RETRASO = 600.0
MIMES_IMAGEN = {"image/png", "image/jpeg", "image/gif", "image/webp"}   # sin SVG: se sirven desde este origen
TIMEOUT_WEBHOOK = 30


# ---------------------------------------------------------------------------------------------------------------
# utilidades

def ahora_iso():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def solo_digitos(valor):
    """'+52 1 477-123-4567' o '5214771234567@s.whatsapp.net' -> '5214771234567'."""
    base = valor.split("@", 1)[0]
    return "".join(c for c in base if c in "0123456789")


def una_linea(texto, limite=500):
    """Texto apto para una sola línea de terminal: sin saltos ni secuencias de control."""
    partes = []
    for c in texto:
        if c == "\n":
            partes.append(" ⏎ ")
        elif c in "\r\t":
            partes.append(" ")
        elif ord(c) < 32 or 0x7F <= ord(c) < 0xA0:
            partes.append("\\x%02x" % ord(c))
        else:
            partes.append(c)
    salida = "".join(partes)
    return salida if len(salida) <= limite else salida[:limite] + "…"


class CuerpoInvalido(Exception):
    def __init__(self, codigo, mensaje):
        super().__init__(mensaje)
        self.codigo = codigo
        self.mensaje = mensaje


# ---------------------------------------------------------------------------------------------------------------
# estado compartido

class Estado:
    def __init__(self, config):
        self.config = config
        self.lock = threading.Lock()
        self.modo = config.modo
        self.retraso = config.retraso
        self.secuencia = 0                 # ids SIM-000001… únicos durante toda la vida del proceso
        self.mensajes = deque(maxlen=MAX_MENSAJES)
        self.por_clave = {}                # Idempotency-Key -> registro del mensaje aceptado
        self.recibidos = 0
        self.duplicados = 0
        self.rechazados = 0
        self.conflictos = 0                # misma clave, distinto número/texto
        self.entrantes = deque(maxlen=MAX_MENSAJES)
        self.entrantes_enviados = 0
        self.contactos = {}                # dígitos -> {"telefono", "nombre", "ultimo_ts"}
        self.imagenes = {}                 # id_mensaje -> (mimetype, bytes)
        self.eventos = deque(maxlen=200)

    # -- registro: stdout + panel de eventos de la interfaz
    def registrar(self, texto, tipo="info"):
        try:
            print(texto, flush=True)
        except (OSError, ValueError):
            pass                       # stdout cerrado: la interfaz y /mensajes siguen funcionando
        with self.lock:
            self.eventos.append({"ts": time.time(), "hora": ahora_iso(), "tipo": tipo, "texto": una_linea(texto, 300)})

    def _tocar_contacto(self, telefono, nombre=None, ts=None):
        # llamar con self.lock tomado
        contacto = self.contactos.get(telefono)
        if contacto is None:
            contacto = {"telefono": telefono, "nombre": "", "ultimo_ts": 0.0}
            self.contactos[telefono] = contacto
        if nombre:
            contacto["nombre"] = nombre
        if ts is not None:
            contacto["ultimo_ts"] = max(contacto["ultimo_ts"], ts)
        elif contacto["ultimo_ts"] == 0.0:
            contacto["ultimo_ts"] = time.time()
        return contacto

    def estado_publico(self):
        with self.lock:
            return self._estado_publico()

    def _estado_publico(self):
        return {
            "modo": self.modo,
            "retraso": self.retraso,
            "whatsapp": "desconectado" if self.modo == "desconectado" else "conectado",
            "api_url": self.config.api_url,
            "webhook_url": self.config.webhook_url,
            "recibidos": self.recibidos,
            "duplicates_suppressed": self.duplicados,
            "rechazados": self.rechazados,
            "idempotency_conflicts": self.conflictos,
            "entrantes_enviados": self.entrantes_enviados,
        }


# ---------------------------------------------------------------------------------------------------------------
# reenvío al webhook de Mostrador

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # ignora http_proxy: el API suele ser local


def reenviar_webhook(config, carga):
    datos = json.dumps(carga, ensure_ascii=False).encode("utf-8")
    peticion = urllib.request.Request(
        config.webhook_url, data=datos, method="POST",
        headers={
            "Authorization": "Bearer " + config.webhook_token,
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "User-Agent": "mostrador-bridge-simulator",
        })
    try:
        with _opener.open(peticion, timeout=TIMEOUT_WEBHOOK) as respuesta:
            return respuesta.status, respuesta.read(), None
    except urllib.error.HTTPError as error:
        try:
            cuerpo = error.read()
        except OSError:
            cuerpo = b""
        return error.code, cuerpo, None
    except (urllib.error.URLError, OSError, ValueError) as error:
        motivo = getattr(error, "reason", error)
        return None, b"", str(motivo)


def interpretar_cuerpo(cuerpo):
    texto = cuerpo.decode("utf-8", errors="replace")
    try:
        return json.loads(texto)
    except ValueError:
        return texto[:4000]


# ---------------------------------------------------------------------------------------------------------------
# HTTP

class Manejador(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MostradorBridgeSimulator/1.0"
    estado: Estado = None      # se asigna al crear el servidor

    # -- infraestructura
    def log_message(self, formato, *args):
        if self.estado.config.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), formato % args))

    def leer_cuerpo(self):
        codificacion = self.headers.get("Transfer-Encoding", "")
        if "chunked" in codificacion.lower():
            partes, total = [], 0
            while True:
                linea = self.rfile.readline(65537)
                try:
                    tamano = int(linea.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    self.close_connection = True
                    raise CuerpoInvalido(400, "Cuerpo chunked inválido")
                if tamano == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += tamano
                if total > MAX_CUERPO:
                    self.close_connection = True
                    raise CuerpoInvalido(413, "Cuerpo demasiado grande")
                partes.append(self.rfile.read(tamano))
                self.rfile.readline(3)
            return b"".join(partes)
        longitud = self.headers.get("Content-Length")
        if longitud is None:
            return b""
        try:
            n = int(longitud)
            if n < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            raise CuerpoInvalido(400, "Content-Length inválido")
        if n > MAX_CUERPO:
            self.close_connection = True
            raise CuerpoInvalido(413, "Cuerpo demasiado grande")
        return self.rfile.read(n) if n else b""

    def json_cuerpo(self, crudo):
        try:
            valor = json.loads(crudo.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise CuerpoInvalido(400, "JSON inválido")
        if not isinstance(valor, dict):
            raise CuerpoInvalido(400, "Se esperaba un objeto JSON")
        return valor

    def responder(self, codigo, cuerpo, tipo="application/json; charset=utf-8", extra=None):
        if not isinstance(cuerpo, (bytes, bytearray)):
            cuerpo = json.dumps(cuerpo, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(codigo)
            self.send_header("Content-Type", tipo)
            self.send_header("Content-Length", str(len(cuerpo)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            for clave, valor in (extra or {}).items():
                self.send_header(clave, valor)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(cuerpo)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            if self.estado.config.verbose:
                sys.stderr.write("el cliente cerró la conexión antes de recibir la respuesta %d\n" % codigo)

    def despachar(self, metodo):
        ruta = urlsplit(self.path).path
        try:
            crudo = self.leer_cuerpo() if metodo in ("POST", "PUT", "PATCH", "DELETE") else b""
            rutas = {
                "/enviar-mensaje": {"POST": self.enviar_mensaje},
                "/health": {"GET": self.health},
                "/control": {"GET": self.control_get, "POST": self.control_post},
                "/mensajes": {"GET": self.mensajes_get, "DELETE": self.mensajes_delete},
                "/": {"GET": self.pagina},
                "/index.html": {"GET": self.pagina},
                "/ui/enviar": {"POST": self.ui_enviar},
                "/ui/entrantes": {"GET": self.ui_entrantes_get, "DELETE": self.ui_entrantes_delete},
                "/ui/contactos": {"GET": self.ui_contactos_get, "POST": self.ui_contactos_post},
            }
            if ruta.startswith("/ui/imagen/") and metodo == "GET":
                return self.ui_imagen(unquote(ruta[len("/ui/imagen/"):]))
            metodos = rutas.get(ruta)
            if metodos is None:
                return self.responder(404, {"error": "No encontrado"})
            funcion = metodos.get(metodo)
            if funcion is None:
                return self.responder(405, {"error": "Método no permitido"}, extra={"Allow": ", ".join(metodos)})
            funcion(crudo)
        except CuerpoInvalido as error:
            if ruta == "/enviar-mensaje":
                with self.estado.lock:
                    self.estado.rechazados += 1
                self.estado.registrar("✗ /enviar-mensaje %d: %s" % (error.codigo, error.mensaje), "error")
            self.responder(error.codigo, {"error": error.mensaje})
        except Exception:
            traceback.print_exc()
            self.close_connection = True
            self.responder(500, {"error": "Error interno del simulador"})

    def do_GET(self):
        self.despachar("GET")

    def do_POST(self):
        self.despachar("POST")

    def do_DELETE(self):
        self.despachar("DELETE")

    def do_PUT(self):
        self.despachar("PUT")

    def do_PATCH(self):
        self.despachar("PATCH")

    # -- protocolo del puente
    def autorizado(self, token):
        cabecera = self.headers.get("Authorization", "")
        esquema, _, valor = cabecera.strip().partition(" ")
        if esquema.lower() != "bearer":
            return False
        return hmac.compare_digest(valor.strip().encode("utf-8"), token.encode("utf-8"))

    def rechazar(self, codigo, cuerpo, motivo):
        with self.estado.lock:
            self.estado.rechazados += 1
        self.estado.registrar("✗ /enviar-mensaje %d: %s" % (codigo, motivo), "error")
        self.responder(codigo, cuerpo)

    def enviar_mensaje(self, crudo):
        estado = self.estado
        if not self.autorizado(estado.config.bridge_token):
            return self.rechazar(401, {"error": "No autorizado"}, "token ausente o incorrecto")
        datos = self.json_cuerpo(crudo)
        numero, texto = datos.get("numero"), datos.get("texto")
        faltan = [c for c, v in (("numero", numero), ("texto", texto)) if not isinstance(v, str) or not v.strip()]
        if faltan:
            raise CuerpoInvalido(400, "Faltan campos o no son texto: " + ", ".join(faltan))
        telefono = solo_digitos(numero)
        if not telefono:
            raise CuerpoInvalido(400, "numero inválido")
        clave = (self.headers.get("Idempotency-Key") or "").strip() or None

        with estado.lock:
            modo, retraso = estado.modo, estado.retraso
            if modo not in ("desconectado", "error"):
                previo = estado.por_clave.get(clave) if clave else None
                if previo is not None:
                    estado.duplicados += 1
                    previo["duplicados"] += 1
                    conflicto = previo["numero"] != numero or previo["texto"] != texto
                    if conflicto:
                        estado.conflictos += 1
                    ident = previo["id"]
                else:
                    estado.secuencia += 1
                    estado.recibidos += 1
                    ident = "SIM-%06d" % estado.secuencia
                    ts = time.time()
                    registro = {
                        "id": ident, "numero": numero, "telefono": telefono, "texto": texto,
                        "received_at": ahora_iso(), "ts": ts, "idempotency_key": clave, "duplicados": 0,
                    }
                    estado.mensajes.append(registro)
                    if clave:
                        estado.por_clave[clave] = registro
                    estado._tocar_contacto(telefono, ts=ts)

        if modo == "desconectado":
            return self.rechazar(503, {"error": "WhatsApp desconectado"}, "modo desconectado (%s)" % telefono)
        if modo == "error":
            return self.rechazar(500, {"error": "Error simulado del puente"}, "modo error (%s)" % telefono)
        if previo is not None:
            estado.registrar("↺ duplicado suprimido %s (Idempotency-Key %s)%s" % (
                ident, una_linea(clave, 120), " — ¡OJO: número o texto distintos al original!" if conflicto else ""),
                "error" if conflicto else "duplicado")
        else:
            estado.registrar("→ %s: %s" % (telefono, una_linea(texto)), "salida")
            tipo = self.headers.get("Content-Type", "")
            if tipo.split(";", 1)[0].strip().lower() != "application/json":
                estado.registrar("⚠ %s llegó con Content-Type %r: el puente real (express.json) no leería el cuerpo"
                                 % (ident, una_linea(tipo, 80) or "(ninguno)"), "error")
        if modo == "lento" and retraso > 0:
            time.sleep(retraso)
        self.responder(200, {"status": "enviado", "id": ident})

    def health(self, _crudo):
        if self.estado.estado_publico()["modo"] == "desconectado":
            return self.responder(503, {"status": "desconectado"})
        self.responder(200, {"status": "ok", "whatsapp": "conectado"})

    # -- control
    def control_get(self, _crudo):
        self.responder(200, self.estado.estado_publico())

    def control_post(self, crudo):
        datos = self.json_cuerpo(crudo) if crudo.strip() else {}
        modo = datos.get("modo")
        retraso = datos.get("retraso")
        if modo is not None and modo not in MODOS:
            return self.responder(400, {"error": "modo inválido", "modos_validos": list(MODOS)})
        if retraso is not None:
            if isinstance(retraso, bool) or not isinstance(retraso, (int, float)) or not 0 <= retraso <= MAX_RETRASO:
                return self.responder(400, {"error": "retraso inválido: segundos entre 0 y %d" % MAX_RETRASO})
        estado = self.estado
        with estado.lock:
            antes = (estado.modo, estado.retraso)
            if modo is not None:
                estado.modo = modo
            if retraso is not None:
                estado.retraso = retraso
            despues = (estado.modo, estado.retraso)
            publico = estado._estado_publico()
        if despues[0] != antes[0]:
            detalle = " (%g s)" % despues[1] if despues[0] == "lento" else ""
            estado.registrar("● modo: %s%s (antes: %s)" % (despues[0], detalle, antes[0]), "estado")
        elif despues[1] != antes[1]:
            estado.registrar("● retraso del modo lento: %g s (modo actual: %s)" % (despues[1], despues[0]), "estado")
        self.responder(200, publico)

    def mensajes_get(self, _crudo):
        estado = self.estado
        with estado.lock:
            cuerpo = {
                "mensajes": [dict(m) for m in estado.mensajes],
                "recibidos": estado.recibidos,
                "duplicates_suppressed": estado.duplicados,
                "rechazados": estado.rechazados,
                "idempotency_conflicts": estado.conflictos,
                "modo": estado.modo,
                "retraso": estado.retraso,
            }
        self.responder(200, cuerpo)

    def mensajes_delete(self, _crudo):
        estado = self.estado
        with estado.lock:
            estado.mensajes.clear()
            estado.por_clave.clear()
            estado.recibidos = estado.duplicados = estado.rechazados = estado.conflictos = 0
        estado.registrar("● mensajes salientes, claves de idempotencia y contadores borrados", "estado")
        self.responder(200, {"status": "borrado"})

    # -- interfaz
    def pagina(self, _crudo):
        self.responder(200, PAGINA.encode("utf-8"), "text/html; charset=utf-8", extra={
            "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                       "img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; "
                                       "form-action 'none'; frame-ancestors 'none'",
            "Referrer-Policy": "no-referrer",
        })

    def ui_enviar(self, crudo):
        estado = self.estado
        datos = self.json_cuerpo(crudo)
        telefono_crudo = datos.get("telefono")
        if not isinstance(telefono_crudo, str) or not solo_digitos(telefono_crudo):
            return self.responder(400, {"error": "telefono inválido"})
        telefono = solo_digitos(telefono_crudo)
        nombre = datos.get("nombre")
        nombre = nombre.strip() if isinstance(nombre, str) else ""
        with estado.lock:
            if not nombre and telefono in estado.contactos:
                nombre = estado.contactos[telefono]["nombre"]
        nombre = nombre or "Cliente simulado"
        ahora = time.time()
        id_mensaje = "SIMIN-" + str(uuid.uuid4())
        remitente = telefono + "@s.whatsapp.net"
        carga = {"remitente": remitente}
        imagen = datos.get("imagen_base64")
        if imagen is not None:
            mimetype = datos.get("mimetype")
            caption = datos.get("caption") or ""
            if not isinstance(imagen, str) or not isinstance(mimetype, str) or not mimetype.startswith("image/") \
                    or not isinstance(caption, str):
                return self.responder(400, {"error": "imagen_base64, mimetype (image/*) y caption deben ser texto"})
            try:
                binario = base64.b64decode(imagen, validate=True)
            except (binascii.Error, ValueError):
                return self.responder(400, {"error": "imagen_base64 no es base64 válido"})
            carga.update({"tipo": "imagen", "imagen_base64": imagen, "mimetype": mimetype, "caption": caption})
            registro = {"tipo": "imagen", "contenido": caption, "mimetype": mimetype, "tamano": len(binario)}
        else:
            texto = datos.get("texto")
            if not isinstance(texto, str) or not texto.strip():
                return self.responder(400, {"error": "texto vacío"})
            carga["contenido"] = texto
            registro = {"tipo": "texto", "contenido": texto}
        carga.update({"nombre": nombre, "id_mensaje": id_mensaje, "timestamp": int(ahora)})
        registro.update({
            "id_mensaje": id_mensaje, "telefono": telefono, "remitente": remitente, "nombre": nombre,
            "ts": ahora, "sent_at": ahora_iso(), "estado": "enviando",
            "status_code": None, "respuesta": None, "error": None,
        })
        with estado.lock:
            estado.entrantes.append(registro)
            estado.entrantes_enviados += 1
            estado._tocar_contacto(telefono, nombre, ahora)
            if imagen is not None and registro["mimetype"] in MIMES_IMAGEN:
                estado.imagenes[id_mensaje] = (registro["mimetype"], binario)
                while len(estado.imagenes) > MAX_IMAGENES:
                    estado.imagenes.pop(next(iter(estado.imagenes)))

        codigo, cuerpo, error = reenviar_webhook(estado.config, carga)
        respuesta = interpretar_cuerpo(cuerpo) if codigo is not None else None
        with estado.lock:
            registro["status_code"] = codigo
            registro["respuesta"] = respuesta
            registro["error"] = error
            registro["estado"] = "error" if codigo is None else ("entregado" if 200 <= codigo < 300 else "rechazado")
            copia = dict(registro)
        descripcion = "📷 imagen (%s, %d bytes) %s" % (registro["mimetype"], registro["tamano"], registro["contenido"]) \
            if imagen is not None else registro["contenido"]
        if codigo is None:
            estado.registrar("← %s: %s  [webhook sin respuesta: %s]" % (telefono, una_linea(descripcion), error), "error")
            return self.responder(502, {"ok": False, "status_code": None, "respuesta": None,
                                        "error": "No se pudo contactar %s: %s" % (estado.config.webhook_url, error),
                                        "mensaje": copia})
        estado.registrar("← %s: %s  [API %d %s]" % (
            telefono, una_linea(descripcion), codigo,
            una_linea(json.dumps(respuesta, ensure_ascii=False) if not isinstance(respuesta, str) else respuesta, 200)),
            "entrada" if 200 <= codigo < 300 else "error")
        self.responder(200, {"ok": 200 <= codigo < 300, "status_code": codigo, "respuesta": respuesta,
                             "error": None, "mensaje": copia})

    def _contactos(self):
        # llamar con el lock tomado
        return sorted((dict(c) for c in self.estado.contactos.values()), key=lambda c: -c["ultimo_ts"])

    def ui_entrantes_get(self, _crudo):
        estado = self.estado
        with estado.lock:
            cuerpo = {
                "entrantes": [dict(m) for m in estado.entrantes],
                "entrantes_enviados": estado.entrantes_enviados,
                "contactos": self._contactos(),
                "eventos": list(estado.eventos),
                "estado": estado._estado_publico(),
            }
        self.responder(200, cuerpo)

    def ui_entrantes_delete(self, _crudo):
        estado = self.estado
        with estado.lock:
            estado.entrantes.clear()
            estado.imagenes.clear()
            estado.entrantes_enviados = 0
        estado.registrar("● mensajes del cliente borrados", "estado")
        self.responder(200, {"status": "borrado"})

    def ui_contactos_get(self, _crudo):
        with self.estado.lock:
            contactos = self._contactos()
        self.responder(200, {"contactos": contactos})

    def ui_contactos_post(self, crudo):
        datos = self.json_cuerpo(crudo)
        telefono = datos.get("telefono")
        nombre = datos.get("nombre")
        if not isinstance(telefono, str) or not solo_digitos(telefono):
            return self.responder(400, {"error": "telefono inválido"})
        if nombre is not None and not isinstance(nombre, str):
            return self.responder(400, {"error": "nombre debe ser texto"})
        telefono = solo_digitos(telefono)
        with self.estado.lock:
            contacto = dict(self.estado._tocar_contacto(telefono, (nombre or "").strip()[:100], time.time()))
        self.responder(200, contacto)

    def ui_imagen(self, id_mensaje):
        with self.estado.lock:
            imagen = self.estado.imagenes.get(id_mensaje)
        if imagen is None:
            return self.responder(404, {"error": "No encontrado"})
        self.responder(200, imagen[1], imagen[0])


# ---------------------------------------------------------------------------------------------------------------
# página

PAGINA = r"""<!doctype html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Simulador de WhatsApp · Mostrador</title>
<style>
  * { box-sizing: border-box; }
  html, body { margin: 0; height: 100%; font: 14px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111b21; }
  body { display: flex; flex-direction: column; background: #d1d7db; }
  header { display: flex; align-items: center; gap: 14px; flex-wrap: wrap; padding: 8px 14px; background: #008069; color: #fff; }
  header h1 { font-size: 16px; margin: 0 8px 0 0; font-weight: 600; }
  .modos { display: flex; gap: 4px; }
  .modos button { border: 1px solid rgba(255,255,255,.5); background: transparent; color: #fff; padding: 5px 10px; border-radius: 14px; cursor: pointer; font: inherit; }
  .modos button.activo { background: #fff; color: #008069; font-weight: 600; }
  .modos button.activo[data-modo="desconectado"], .modos button.activo[data-modo="error"] { color: #c0392b; }
  .modos button.activo[data-modo="lento"] { color: #b9770e; }
  label.retraso { display: flex; align-items: center; gap: 4px; }
  label.retraso input { width: 56px; padding: 3px 4px; border-radius: 4px; border: 0; font: inherit; }
  .contadores { display: flex; gap: 10px; margin-left: auto; font-size: 13px; }
  .contadores span b { font-size: 15px; }
  header button.limpiar { background: rgba(0,0,0,.2); color: #fff; border: 0; border-radius: 4px; padding: 5px 9px; cursor: pointer; font: inherit; }
  #aviso { display: none; background: #c0392b; color: #fff; padding: 6px 14px; }
  #aviso.visible { display: block; }
  main { flex: 1; display: flex; min-height: 0; }
  aside.contactos { width: 290px; background: #fff; border-right: 1px solid #d1d7db; display: flex; flex-direction: column; min-height: 0; }
  aside.contactos form { padding: 10px; border-bottom: 1px solid #e9edef; display: grid; grid-template-columns: 1fr 1fr auto; gap: 6px; background: #f0f2f5; }
  aside.contactos input { padding: 6px; border: 1px solid #d1d7db; border-radius: 6px; font: inherit; min-width: 0; }
  aside.contactos button, .composer button { background: #008069; color: #fff; border: 0; border-radius: 6px; padding: 6px 10px; cursor: pointer; font: inherit; }
  #lista { list-style: none; margin: 0; padding: 0; overflow-y: auto; flex: 1; }
  #lista li { padding: 10px 12px; border-bottom: 1px solid #f0f2f5; cursor: pointer; display: grid; grid-template-columns: 40px 1fr auto; gap: 2px 10px; align-items: center; }
  #lista li:hover { background: #f5f6f6; }
  #lista li.sel { background: #e9edef; }
  .avatar { grid-row: span 2; width: 40px; height: 40px; border-radius: 50%; background: #dfe5e7; color: #54656f; display: flex; align-items: center; justify-content: center; font-weight: 600; }
  .cnombre { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .chora { font-size: 11px; color: #667781; }
  .cprevia { font-size: 12.5px; color: #667781; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; grid-column: 2 / span 2; }
  .vacio { padding: 16px; color: #667781; }
  section.chat { flex: 1; display: flex; flex-direction: column; min-width: 0; background: #efeae2; }
  .chat-cab { padding: 10px 16px; background: #f0f2f5; border-bottom: 1px solid #d1d7db; min-height: 52px; }
  .chat-cab .titulo { font-weight: 600; }
  .chat-cab .sub { font-size: 12px; color: #667781; }
  #burbujas { flex: 1; overflow-y: auto; padding: 14px 6%; display: flex; flex-direction: column; gap: 6px; }
  .fila { display: flex; }
  .fila.de-mostrador { justify-content: flex-start; }
  .fila.de-cliente { justify-content: flex-end; }
  .burbuja { max-width: 65%; padding: 6px 9px 4px; border-radius: 8px; box-shadow: 0 1px .5px rgba(11,20,26,.13); background: #fff; word-wrap: break-word; overflow-wrap: anywhere; }
  .de-cliente .burbuja { background: #d9fdd3; }
  .burbuja .texto { white-space: pre-wrap; }
  .burbuja img { display: block; max-width: 260px; max-height: 260px; border-radius: 6px; margin-bottom: 4px; }
  .burbuja .meta { font-size: 11px; color: #667781; text-align: right; margin-top: 2px; }
  .burbuja .origen { font-size: 11px; color: #008069; font-weight: 600; }
  .api { font-size: 11.5px; margin-top: 4px; padding: 3px 6px; border-radius: 4px; background: rgba(0,0,0,.05); font-family: ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
  .api.ok { color: #1e7e34; }
  .api.mal { color: #c0392b; background: rgba(192,57,43,.08); }
  .api.pend { color: #667781; }
  .composer { display: flex; gap: 8px; padding: 8px 12px; background: #f0f2f5; align-items: flex-end; }
  .composer textarea { flex: 1; resize: none; border: 0; border-radius: 8px; padding: 9px 12px; font: inherit; height: 40px; max-height: 120px; }
  .composer button.adjuntar { background: transparent; color: #54656f; font-size: 20px; padding: 4px 6px; }
  .composer button:disabled, .composer textarea:disabled { opacity: .5; cursor: not-allowed; }
  #estado-envio { font-size: 12px; color: #667781; padding: 0 14px 6px; background: #f0f2f5; min-height: 18px; }
  #estado-envio.mal { color: #c0392b; }
  aside.registro { width: 300px; background: #fff; border-left: 1px solid #d1d7db; display: flex; flex-direction: column; min-height: 0; }
  aside.registro h2 { font-size: 13px; margin: 0; padding: 10px 12px; background: #f0f2f5; border-bottom: 1px solid #d1d7db; }
  #eventos { list-style: none; margin: 0; padding: 6px 8px; overflow-y: auto; flex: 1; font: 12px/1.35 ui-monospace, Menlo, Consolas, monospace; }
  #eventos li { padding: 3px 0; border-bottom: 1px dotted #e9edef; overflow-wrap: anywhere; }
  #eventos li .h { color: #8696a0; margin-right: 4px; }
  #eventos li.error { color: #c0392b; }
  #eventos li.estado { color: #b9770e; }
  #eventos li.salida { color: #1f4e79; }
  #eventos li.entrada { color: #1e7e34; }
  #eventos li.duplicado { color: #6c3483; }
  .config { font-size: 11px; color: #667781; padding: 6px 12px; border-top: 1px solid #e9edef; overflow-wrap: anywhere; }
  @media (max-width: 1000px) { aside.registro { display: none; } }
</style>
</head>
<body>
<header>
  <h1>📱 Simulador de WhatsApp · Mostrador</h1>
  <div class="modos" id="modos">
    <button type="button" data-modo="normal" title="Acepta los mensajes">Normal</button>
    <button type="button" data-modo="desconectado" title="/enviar-mensaje y /health responden 503">Desconectado</button>
    <button type="button" data-modo="lento" title="Espera antes de responder 200">Lento</button>
    <button type="button" data-modo="error" title="/enviar-mensaje responde 500">Error</button>
  </div>
  <label class="retraso" title="Segundos de espera en modo lento">Retraso <input id="retraso" type="number" min="0" max="600" step="0.5"> s</label>
  <div class="contadores">
    <span title="Mensajes de Mostrador aceptados">Recibidos <b id="c-recibidos">0</b></span>
    <span title="Reintentos con una Idempotency-Key ya aceptada">Duplicados suprimidos <b id="c-duplicados">0</b></span>
    <span title="Respuestas 4xx/5xx en /enviar-mensaje">Rechazados <b id="c-rechazados">0</b></span>
    <span title="Mensajes del cliente enviados al webhook">Del cliente <b id="c-entrantes">0</b></span>
  </div>
  <button type="button" class="limpiar" id="limpiar" title="Borra mensajes, contadores y claves de idempotencia">Limpiar</button>
</header>
<div id="aviso">Sin conexión con el simulador; reintentando…</div>
<main>
  <aside class="contactos">
    <form id="nuevo-contacto" autocomplete="off">
      <input id="nc-telefono" placeholder="Teléfono (5214771234567)" inputmode="tel" required>
      <input id="nc-nombre" placeholder="Nombre">
      <button type="submit">Añadir</button>
    </form>
    <ul id="lista"></ul>
    <div class="config" id="config"></div>
  </aside>
  <section class="chat">
    <div class="chat-cab"><div class="titulo" id="chat-titulo">Elige o añade un contacto</div><div class="sub" id="chat-sub">Escribe como si fueras el cliente; Mostrador responde a la izquierda.</div></div>
    <div id="burbujas"></div>
    <form class="composer" id="composer" autocomplete="off">
      <button type="button" class="adjuntar" id="adjuntar" title="Enviar una imagen (el texto escrito va como pie)">📎</button>
      <input type="file" id="archivo" accept="image/*" hidden>
      <textarea id="texto" placeholder="Escribe como el cliente… (Enter envía)" title="Enter envía; Mayús+Enter, salto de línea" rows="1"></textarea>
      <button type="submit" id="enviar">Enviar</button>
    </form>
    <div id="estado-envio"></div>
  </section>
  <aside class="registro">
    <h2>Registro</h2>
    <ul id="eventos"></ul>
  </aside>
</main>
<script>
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
</script>
</body>
</html>
"""


# ---------------------------------------------------------------------------------------------------------------
# arranque

class Parar(Exception):
    pass


def leer_config(argv=None):
    def entorno(nombre, defecto):
        valor = os.environ.get(nombre)
        return valor if valor not in (None, "") else defecto

    p = argparse.ArgumentParser(
        description="Simulador del puente de WhatsApp para Mostrador (recibe /enviar-mensaje, envía al /webhook).")
    p.add_argument("--host", default="127.0.0.1", help="dirección de escucha (por defecto 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="puerto (env SIM_PORT, por defecto 8090; 0 = uno libre)")
    p.add_argument("--api-url", default=entorno("MOSTRADOR_API_URL", "http://127.0.0.1:8080"),
                   help="URL base del API de Mostrador (env MOSTRADOR_API_URL)")
    p.add_argument("--bridge-token", default=entorno("MOSTRADOR_BRIDGE_TOKEN", "dev-bridge-token"),
                   help="token que Mostrador debe enviar a /enviar-mensaje (env MOSTRADOR_BRIDGE_TOKEN)")
    p.add_argument("--webhook-token", default=entorno("MOSTRADOR_WEBHOOK_TOKEN", "dev-webhook-token"),
                   help="token que se envía al /webhook de Mostrador (env MOSTRADOR_WEBHOOK_TOKEN)")
    p.add_argument("--modo", choices=MODOS, default="normal", help="modo inicial")
    p.add_argument("--retraso", type=float, default=8.0, help="segundos de espera en modo lento (por defecto 8)")
    p.add_argument("--verbose", action="store_true", help="registra cada petición HTTP en stderr")
    config = p.parse_args(argv)
    if config.port is None:
        try:
            config.port = int(entorno("SIM_PORT", "8090"))
        except ValueError:
            p.error("SIM_PORT no es un número: %r" % os.environ.get("SIM_PORT"))
    if not 0 <= config.port <= 65535:
        p.error("puerto fuera de rango: %d" % config.port)
    if not 0 <= config.retraso <= MAX_RETRASO:
        p.error("--retraso debe estar entre 0 y %d" % MAX_RETRASO)
    if not config.api_url.startswith(("http://", "https://")):
        p.error("--api-url debe empezar por http:// o https://: %r" % config.api_url)
    if not config.bridge_token or not config.webhook_token:
        p.error("los tokens no pueden estar vacíos")
    config.api_url = config.api_url.rstrip("/")
    config.webhook_url = config.api_url + "/webhook"
    return config


def main(argv=None):
    try:
        sys.stdout.reconfigure(errors="backslashreplace", line_buffering=True)
        sys.stderr.reconfigure(errors="backslashreplace")
    except (AttributeError, ValueError):
        pass
    config = leer_config(argv)
    estado = Estado(config)
    Manejador.estado = estado
    try:
        servidor = ThreadingHTTPServer((config.host, config.port), Manejador)
    except OSError as error:
        print("No se pudo escuchar en %s:%d: %s" % (config.host, config.port, error), file=sys.stderr)
        return 1
    servidor.daemon_threads = True
    puerto = servidor.server_address[1]

    def al_recibir_senal(signum, _frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Parar(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, al_recibir_senal)
    signal.signal(signal.SIGINT, al_recibir_senal)

    print("Simulador del puente WhatsApp escuchando en http://%s:%d/" % (config.host, puerto), flush=True)
    print("  webhook de Mostrador: %s · modo: %s%s" % (
        config.webhook_url, config.modo, " (%g s)" % config.retraso if config.modo == "lento" else ""), flush=True)
    motivo = "fin"
    try:
        servidor.serve_forever(poll_interval=0.5)
    except Parar as senal:
        motivo = str(senal)
    except KeyboardInterrupt:
        motivo = "SIGINT"
    finally:
        servidor.server_close()
    print("Simulador detenido (%s)." % motivo, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
