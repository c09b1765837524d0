/* Mostrador (panel) — las etiquetas de los tickets (Garantía, Urgente…), aparte de la categoría del clasificador
 * (Hardware/Software). El catálogo: GET /api/labels → [{id, name, color (#rrggbb), tickets}], por nombre; se guarda
 * aquí y se vuelve a leer tras cada cambio hecho desde este panel (panel/labels-admin.js) o si pasó un rato. Cada
 * ticket trae las suyas en `etiquetas`: [{id, nombre, color}]. Un chip: <span class="label-chip"> con el color de
 * fondo (propiedad CSS --label-bg, puesta desde JS: la CSP no deja escribir `style=`) y un texto que se lee sobre él. */
import { api, errorText } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { isLoggedIn } from './session.js';

/** Cuánto vale el catálogo leído antes de volver a pedirlo (al abrir un selector o el diálogo de un ticket). */
const MAX_AGE = 30000;

let list = [];
let readAt = 0;
let pending = null;
let generation = 0;
const listeners = new Set();

const HEX = /^#[0-9a-f]{6}$/i;

/** El catálogo tal como se leyó por última vez (puede estar vacío si aún no se leyó). */
export function labels() { return list; }

/** fn(list) cada vez que el catálogo cambia: se volvió a leer con algo distinto o un administrador lo editó aquí. */
export function onLabelsChanged(fn) { listeners.add(fn); }

/**
 * Lee el catálogo (o devuelve el guardado si tiene menos de maxAge ms). {ok, list, error}: si falla, `list` es el
 * último leído. Dos llamadas a la vez comparten la misma petición.
 */
export async function loadLabels({ maxAge = MAX_AGE } = {}) {
  if (readAt && Date.now() - readAt < maxAge) return { ok: true, list };
  if (pending) return pending;
  const gen = generation;
  pending = (async () => {
    const res = await api('/api/labels');
    if (gen !== generation) return { ok: false, list, error: 'sesión cerrada' };
    pending = null;
    if (!res.ok || !Array.isArray(res.data)) return { ok: false, list, error: errorText(res) };
    const before = JSON.stringify(list);
    list = res.data;
    readAt = Date.now();
    if (JSON.stringify(list) !== before) for (const fn of listeners) fn(list);
    return { ok: true, list };
  })();
  return pending;
}

/** Tras un cambio hecho desde este panel: leer ya el catálogo y avisar a quien lo muestra. */
export function labelsChanged() {
  if (!isLoggedIn()) return Promise.resolve({ ok: false, list });
  readAt = 0;
  return loadLabels({ maxAge: 0 });
}

/** Al cerrar sesión: nada del catálogo queda en memoria. */
export function forgetLabels() {
  generation++;
  pending = null;
  list = [];
  readAt = 0;
}

/** El nombre de una etiqueta, venga del catálogo (`name`) o de un ticket (`nombre`). */
export function labelName(l) { return (l && (l.name ?? l.nombre)) || ''; }

/** ¿Texto oscuro sobre este color? (luminancia relativa de WCAG: el contraste mayor de los dos). */
export function darkText(color) {
  if (!HEX.test(color || '')) return true;
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(color.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  // Contraste con el texto oscuro (#0f172a, luminancia ≈ 0.0079) frente al blanco.
  return (lum + 0.05) / 0.0579 >= 1.05 / (lum + 0.05);
}

/** Pinta un elemento con el color de una etiqueta (--label-bg y --label-fg, que styles.css usa). */
export function paintLabel(el, color) {
  if (HEX.test(color || '')) el.style.setProperty('--label-bg', color);
  else el.style.removeProperty('--label-bg');
  el.style.setProperty('--label-fg', darkText(color) ? '#0f172a' : '#ffffff');
  return el;
}

/** Un chip: <span class="label-chip" data-label-id data-color>Nombre</span>. */
export function labelChip(l) {
  const name = labelName(l);
  const chip = h('span', { class: 'label-chip', title: 'Etiqueta: ' + name, dataset: { labelId: l.id, color: l.color }, text: name });
  return paintLabel(chip, l.color);
}

/** Los chips de un ticket (t.etiquetas) en un contenedor; null si no tiene. */
export function labelChips(etiquetas, cls = '') {
  if (!Array.isArray(etiquetas) || !etiquetas.length) return null;
  return h('span', { class: ('label-stack ' + cls).trim() }, ...etiquetas.map(labelChip));
}

/** Las etiquetas de PUT /api/tickets/{id}/labels ({id, name, color}) con las claves de un ticket ({id, nombre, color}). */
export function asTicketLabels(set) {
  return (set || []).map((l) => ({ id: l.id, nombre: labelName(l), color: l.color }));
}
