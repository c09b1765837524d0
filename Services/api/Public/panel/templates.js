/* Mostrador (panel) — las plantillas de WhatsApp registradas con Meta (GET /api/templates): una sola lista para el
 * chat (modo plantilla, cuando la ventana de 24 h está cerrada: panel/chat-window.js) y el diálogo de
 * administración (panel/templates-admin.js). Cada plantilla: {id, nombre, idioma, categoria, cuerpo (con {{1}},
 * {{2}}…), parametros (cuántos), estado: pending|approved|rejected|paused|disabled, updated_at}. */
import { api, errorText } from '../lib/api.js';

/** Los estados de Meta, en el orden en que se ofrecen, con su nombre en pantalla. */
export const ESTADOS = {
  pending: 'Pendiente', approved: 'Aprobada', rejected: 'Rechazada', paused: 'Pausada', disabled: 'Desactivada',
};
export const CATEGORIAS = { UTILITY: 'Utilidad', MARKETING: 'Marketing', AUTHENTICATION: 'Autenticación' };

/** La lista leída: {list, at (ms)}; null sin leer (o tras un cambio que obliga a releerla). */
let cache = null;
/** La lectura en curso, compartida por quien la pida mientras tanto. */
let inflight = null;
const listeners = new Set();

/**
 * Las plantillas, de la memoria si se leyeron hace menos de maxAge ms. Devuelve {ok, list, error}: list está
 * ordenada por nombre e idioma, como la da el servidor.
 */
export async function loadTemplates({ maxAge = 30000 } = {}) {
  if (cache && Date.now() - cache.at < maxAge) return { ok: true, list: cache.list };
  if (!inflight) {
    inflight = api('/api/templates?tipo=whatsapp').then((res) => {
      inflight = null;
      if (res.ok && Array.isArray(res.data)) {
        cache = { list: res.data, at: Date.now() };
        return { ok: true, list: res.data };
      }
      return { ok: false, list: cache ? cache.list : [], error: errorText(res, 'No se pudieron leer las plantillas'), status: res.status };
    });
  }
  return inflight;
}

/** Lo que el servidor devolvió tras registrar o cambiar una plantilla: la lista se actualiza y se avisa. */
export function templateSaved(t) {
  if (cache) {
    const list = cache.list.filter((x) => x.id !== t.id);
    list.push(t);
    list.sort((a, b) => (a.nombre < b.nombre ? -1 : a.nombre > b.nombre ? 1 : a.idioma < b.idioma ? -1 : a.idioma > b.idioma ? 1 : 0));
    cache = { list, at: cache.at };
  }
  for (const fn of listeners) fn();
}

/** fn() cada vez que cambia una plantilla desde este panel. */
export function onTemplatesChanged(fn) { listeners.add(fn); }

/** Al cerrar sesión. */
export function forgetTemplates() { cache = null; }

/** Sus plantillas aprobadas: las únicas que WhatsApp entrega fuera de la ventana de 24 h. */
export function approved(list) { return list.filter((t) => t.estado === 'approved'); }

/** «nombre (idioma)». */
export function templateLabel(t) { return t.nombre + ' (' + t.idioma + ')'; }

/**
 * El cuerpo con sus parámetros en su lugar, como lo hace el servidor (MessageTemplate.render: del último al primero).
 * Un valor vacío deja su {{n}} a la vista (la vista previa muestra qué falta).
 */
export function renderTemplate(body, values) {
  let text = String(body ?? '');
  for (let i = values.length - 1; i >= 0; i--) {
    if (values[i] === '' || values[i] === null || values[i] === undefined) continue;
    text = text.split('{{' + (i + 1) + '}}').join(values[i]);
  }
  return text;
}

/** Por qué un valor de parámetro no vale (las reglas del servidor: de 1 a 1024 caracteres, sin saltos de línea ni
 * tabuladores), o null. */
export function parameterProblem(value, n) {
  if (!value.trim()) return 'Escribe el valor de {{' + n + '}}.';
  if (/[\n\r\t\u2028\u2029]/.test(value)) return 'El valor de {{' + n + '}} no puede llevar saltos de línea ni tabuladores.';
  if (value.length > 1024) return 'El valor de {{' + n + '}} excede 1024 caracteres.';
  return null;
}
