/* Mostrador — fetch con JSON y la cabecera Authorization. Nunca lanza. */

let authorization = () => null;
let unauthorized = () => {};

/** La cabecera Authorization por defecto (el panel: `Token …`). */
export function setAuthorization(fn) { authorization = fn; }
/** Qué hacer con un 401 (el panel: volver al inicio de sesión). */
export function onUnauthorized(fn) { unauthorized = fn; }

/**
 * Devuelve {ok, status, data, headers, networkError, timedOut}.
 * opts: method, body (objeto → JSON), form (FormData → multipart/form-data; el navegador pone el límite),
 * auth (cadena; false = sin cabecera; sin definir = la por defecto),
 * timeout (ms, 20 s), blob (true → data es un Blob si ok), handle401 (false = no avisar del 401).
 */
export async function api(path, opts = {}) {
  const headers = { Accept: 'application/json' };
  let body;
  if (opts.form !== undefined) body = opts.form;
  else if (opts.body !== undefined) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(opts.body); }
  const auth = opts.auth === undefined ? authorization() : opts.auth;
  if (auth) headers.Authorization = auth;
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), opts.timeout || 20000);
  try {
    const res = await fetch(path, {
      method: opts.method || 'GET', headers, body, cache: 'no-store', credentials: 'same-origin', signal: ctrl.signal,
    });
    let data = null;
    if (opts.blob && res.ok) data = await res.blob();
    else {
      const text = await res.text();
      // Un error que no es JSON (un proxy, un 404 de archivo) se muestra como texto.
      if (text) { try { data = JSON.parse(text); } catch (e) { data = { detail: text.slice(0, 300) }; } }
    }
    if (res.status === 401 && opts.handle401 !== false) unauthorized();
    return { ok: res.ok, status: res.status, data, headers: res.headers, networkError: false };
  } catch (e) {
    return { ok: false, status: 0, data: null, headers: new Headers(), networkError: true, timedOut: e.name === 'AbortError' };
  } finally {
    clearTimeout(timer);
  }
}

/** Texto legible de un error de api(): el `detail` que manda el servidor. */
export function errorText(res, fallback) {
  if (res.networkError) return res.timedOut ? 'El servidor tardó demasiado en responder' : 'No se pudo conectar con el servidor';
  const detail = res.data && res.data.detail;
  return (typeof detail === 'string' && detail) || fallback || ('Error ' + res.status);
}

/** ¿Vale la pena reintentar? (red caída o error del servidor) */
export function isTransient(res) { return res.networkError || res.status >= 500; }

/** URL ws:// o wss:// relativa a la página. */
export function wsUrl(path) {
  return (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + path;
}

/**
 * URL del WebSocket de un ticket con un ticket de conexión de un solo uso (POST /api/auth/ws-ticket/, vale 30 s):
 * el token de la sesión nunca va en la URL, que los proxies registran. opts: las de api() (p. ej. `auth`).
 * null si no se pudo pedir (se reintentará).
 */
export async function liveUrl(ticketId, opts = {}) {
  const res = await api('/api/auth/ws-ticket/', { method: 'POST', body: { ticket_id: ticketId }, ...opts });
  if (!res.ok || !res.data || typeof res.data.ticket !== 'string') return null;
  return wsUrl('/ws/soporte/ticket/' + encodeURIComponent(ticketId) + '/?ticket=' + encodeURIComponent(res.data.ticket));
}
