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
                           X-Mostrador-Signature: t=<unix>,v1=<hex HMAC-SHA256(clave, "<t>." + cuerpo)>
                           (solo con MOSTRADOR_WEBHOOK_HMAC_KEY)
                           {"remitente": "5214771234567@s.whatsapp.net", "contenido": "...", "nombre": "...",
                            "id_mensaje": "SIMIN-<uuid>", "timestamp": 1700000000}

  Control y prueba
    GET/POST /control      {"modo": "normal|desconectado|lento|error", "retraso": 8}
    GET/DELETE /mensajes   mensajes salientes recibidos y contadores
    GET  /                 interfaz web (chat de teléfono): deploy/simulator/index.html, /simulador.css, /simulador.js
    POST /ui/enviar        {"telefono", "nombre", "texto"} o {"telefono", "nombre", "imagen_base64", "mimetype",
                           "caption"}: reenvía al /webhook de Mostrador y devuelve su respuesta
    GET/DELETE /ui/entrantes, GET/POST /ui/contactos, GET /ui/imagen/<id_mensaje>

Uso:
    deploy/bridge-simulator.py [--port 8090] [--host 127.0.0.1] [--api-url http://127.0.0.1:8080]
                               [--bridge-token ...] [--webhook-token ...] [--modo normal] [--retraso 8] [--verbose]
Variables: SIM_PORT, MOSTRADOR_API_URL, MOSTRADOR_BRIDGE_TOKEN, MOSTRADOR_WEBHOOK_TOKEN (los flags ganan),
MOSTRADOR_WEBHOOK_HMAC_KEY (firma cada webhook, como la api espera cuando la tiene).
"""

import argparse
import base64
import binascii
import hashlib
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
# La página se lee de disco en cada petición (se puede editar sin reiniciar): ruta → (archivo, tipo).
PAGINA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "simulator")
PAGINA_ARCHIVOS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/simulador.css": ("simulador.css", "text/css; charset=utf-8"),
    "/simulador.js": ("simulador.js", "text/javascript; charset=utf-8"),
}


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
    cabeceras = {
        "Authorization": "Bearer " + config.webhook_token,
        "Content-Type": "application/json; charset=utf-8",
        "Accept": "application/json",
        "User-Agent": "mostrador-bridge-simulator",
    }
    clave = os.environ.get("MOSTRADOR_WEBHOOK_HMAC_KEY", "")
    if clave:
        t = str(int(time.time()))
        firma = hmac.new(clave.encode("utf-8"), t.encode("ascii") + b"." + datos, hashlib.sha256).hexdigest()
        cabeceras["X-Mostrador-Signature"] = "t=%s,v1=%s" % (t, firma)
    peticion = urllib.request.Request(config.webhook_url, data=datos, method="POST", headers=cabeceras)
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
                **{ruta_pagina: {"GET": self.pagina} for ruta_pagina in PAGINA_ARCHIVOS},
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
        archivo, tipo = PAGINA_ARCHIVOS[urlsplit(self.path).path]
        try:
            with open(os.path.join(PAGINA_DIR, archivo), "rb") as f:
                contenido = f.read()
        except OSError as error:
            return self.responder(500, {"error": "No se pudo leer la página del simulador: %s" % error})
        self.responder(200, contenido, tipo, extra={
            "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
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
