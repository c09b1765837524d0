/* Mostrador (panel) — la lista de tickets: filtros, páginas, filas que se actualizan en su sitio cada 10 s. */
import { api, errorText } from '../lib/api.js';
import { $, $$, h } from '../lib/dom.js';
import { debounce, formatFull, relativeTime, truncate } from '../lib/format.js';
import { icon, withIcon } from '../lib/icons.js';
import { estadoBadge } from './estados.js';
import { labelChips, loadLabels, onLabelsChanged } from './labels.js';
import { isLoggedIn } from './session.js';

export { ESTADOS, estadoBadge, estadoLabel } from './estados.js';
export const CATEGORIAS = {
  Hardware: { label: 'Hardware', cls: 'badge-hardware' },
  Software: { label: 'Software', cls: 'badge-software' },
  unknown: { label: 'Sin clasificar', cls: 'badge-unknown' },
};

/** label: el nombre de la etiqueta elegida en «Etiqueta» ('' = todas); labelId: su id, para seguirla si la renombran. */
const filters = { estado: '', categoria: '', label: '', labelId: null, q: '', page: 1, pageSize: 20 };
let totalPages = 1;
let request = 0;
let timer = null;
/** Filas por id de ticket: {tr, key}; key es el JSON del ticket, para no redibujar lo que no cambió. */
const rows = new Map();
/** Los tickets vistos (lista, conversación), por id: el chat y los diálogos los leen de aquí. */
const known = new Map();

export function ticketById(id) { return known.get(id) || null; }
export function ticketByRoom(uuid) { for (const t of known.values()) if (t.uuid === uuid) return t; return null; }
export function remember(t) { known.set(t.id, t); }

/** Nombre y teléfono para los títulos de los diálogos. */
export function ticketLabel(t) {
  return { nombre: (t && t.nombre) || 'Cliente sin nombre', telefono: (t && t.telefono) || 'sin teléfono' };
}

/** La insignia de la categoría sola (Hardware, Software, Sin clasificar). */
export function categoriaBadge(categoria) {
  const c = CATEGORIAS[categoria] || CATEGORIAS.unknown;
  return h('span', { class: 'badge ' + c.cls, text: c.label });
}

/** «Fuera de horario»: el primer mensaje del cliente llegó fuera del horario de atención (`fuera_de_horario`). */
export function outOfHoursBadge() {
  return h('span', {
    class: 'badge badge-out-of-hours', title: 'El cliente escribió por primera vez fuera del horario de atención',
    text: 'Fuera de horario',
  });
}

export function categoriaBadges(t) {
  const c = CATEGORIAS[t.categoria] || CATEGORIAS.unknown;
  const title = t.confianza !== null ? 'Confianza ' + Math.round(t.confianza * 100) + '%' : 'Aún sin clasificación automática';
  return h('span', { class: 'badge-stack' },
    h('span', { class: 'badge ' + c.cls, title, text: c.label }),
    t.requiere_revision
      ? h('span', { class: 'badge tag-revisar', title: 'El clasificador no pudo decidir: requiere revisión de un técnico', text: 'revisar' })
      : null);
}

/** Query string con %20 para los espacios: el servidor no interpreta '+' como espacio. */
function query() {
  const parts = [];
  const add = (k, v) => parts.push(k + '=' + encodeURIComponent(v));
  if (filters.estado) add('estado', filters.estado);
  if (filters.categoria) add('categoria', filters.categoria);
  if (filters.label) add('label', filters.label);
  if (filters.q) add('q', filters.q);
  add('page', String(filters.page));
  add('page_size', String(filters.pageSize));
  return parts.join('&');
}

export async function loadTickets({ silent = false } = {}) {
  if (!isLoggedIn()) return;
  const my = ++request;
  const res = await api('/tickets?' + query());
  if (my !== request || !isLoggedIn()) return;
  const errBox = $('#tickets-error');
  $('#tickets-loading').hidden = true;
  if (!res.ok) {
    if (res.status === 401) return;
    errBox.textContent = 'No se pudo cargar la lista de tickets: ' + errorText(res) + (silent ? ' (se reintentará)' : '');
    errBox.hidden = false;
    return;
  }
  errBox.hidden = true;
  const list = res.data;
  const total = Number(res.headers.get('X-Total-Count'));
  totalPages = Number(res.headers.get('X-Total-Pages'));
  if (list.length === 0 && filters.page > totalPages) { filters.page = totalPages; loadTickets({ silent }); return; }
  render(list);
  renderPagination(list.length, total);
  $('#tickets-updated').textContent = 'Actualizado ' + new Date().toLocaleTimeString('es-MX') + ' · se actualiza cada 10 s';
}

function buildRow(t) {
  const cell = (label, cls, ...children) => h('td', { 'data-label': label, class: cls }, ...children);
  const last = t.last_message_at || t.updated_at || t.created_at;
  const desc = t.descripcion || '';
  return h('tr', { dataset: { ticketId: t.id, estado: t.estado } },
    cell('#', 'cell-id', h('span', { class: 'ticket-num', text: '#' + t.id })),
    cell('Cliente', 'cell-name', t.nombre ? h('span', { text: t.nombre }) : h('span', { class: 'muted', text: 'Sin nombre' })),
    cell('Teléfono', 'cell-phone', t.telefono || '—'),
    cell('Descripción', 'cell-desc', h('div', null,
      desc ? h('span', { class: 'desc-text', title: desc, text: truncate(desc, 90) })
        : h('span', { class: 'desc-text muted', text: '(sin descripción)' }),
      t.equipo ? h('span', { class: 'desc-equipo', title: t.equipo }, withIcon('laptop', truncate(t.equipo, 60))) : null)),
    // La categoría del clasificador y, aparte, las etiquetas que le pusieron los técnicos.
    cell('Categoría', 'cell-cat', categoriaBadges(t), labelChips(t.etiquetas, 'row-labels')),
    cell('Estado', 'cell-estado', t.fuera_de_horario
      ? h('span', { class: 'badge-stack' }, estadoBadge(t.estado), outOfHoursBadge()) : estadoBadge(t.estado)),
    cell('Última actividad', 'cell-time',
      h('time', { datetime: last || '', title: formatFull(last), dataset: { rel: last || '' }, text: relativeTime(last) })),
    cell('Acciones', 'cell-actions', h('div', { class: 'row-actions' },
      h('button', { type: 'button', class: 'btn btn-chat', 'aria-label': 'Chat en vivo del ticket #' + t.id }, icon('chat'), 'Chat en Vivo'),
      h('button', { type: 'button', class: 'btn btn-history', 'aria-label': 'Historial del ticket #' + t.id }, icon('history'), 'Historial'),
      h('button', { type: 'button', class: 'btn btn-notify', 'aria-label': 'Notificar al cliente del ticket #' + t.id }, icon('notify'), 'Notificar'))),
  );
}

const ACTIONS = ['btn-chat', 'btn-history', 'btn-notify'];

function render(list) {
  const tbody = $('#tickets-body');
  // Recordar el foco para no perderlo al redibujar una fila.
  const active = document.activeElement;
  let focusKey = null;
  if (active && tbody.contains(active)) {
    const tr = active.closest('tr[data-ticket-id]');
    const cls = ACTIONS.find((c) => active.classList.contains(c));
    if (tr && cls) focusKey = { id: tr.dataset.ticketId, cls };
  }
  const seen = new Set();
  list.forEach((t, i) => {
    remember(t);
    seen.add(t.id);
    const key = JSON.stringify(t);
    let row = rows.get(t.id);
    if (!row || row.key !== key) {
      const tr = buildRow(t);
      if (row) row.tr.replaceWith(tr);
      row = { tr, key };
      rows.set(t.id, row);
    }
    const at = tbody.children[i];
    if (at !== row.tr) tbody.insertBefore(row.tr, at || null);
  });
  for (const [id, row] of rows) if (!seen.has(id)) { row.tr.remove(); rows.delete(id); }
  $$('time[data-rel]', tbody).forEach((el) => { el.textContent = relativeTime(el.dataset.rel); });
  $('#tickets-empty').hidden = list.length > 0;
  if (focusKey && (!document.activeElement || document.activeElement === document.body)) {
    tbody.querySelector('tr[data-ticket-id="' + focusKey.id + '"] .' + focusKey.cls)?.focus();
  }
}

function renderPagination(count, total) {
  const first = count ? (filters.page - 1) * filters.pageSize + 1 : 0;
  const last = count ? first + count - 1 : 0;
  $('#tickets-total').textContent = total
    ? 'Mostrando ' + first + '–' + last + ' de ' + total + ' ticket' + (total === 1 ? '' : 's')
    : 'Sin tickets';
  $('#page-info').textContent = 'Página ' + filters.page + ' de ' + totalPages;
  $('#page-prev').disabled = filters.page <= 1;
  $('#page-next').disabled = filters.page >= totalPages;
}

function visible() { return !document.hidden && !$('#tab-tickets').hidden; }

/** El valor de #filter-estado de cada estado del servidor. */
const FILTER_VALUE = { new: 'nuevo', open: 'abierto', waiting: 'en_espera', resolved: 'resuelto', closed: 'cerrado' };

/** Muestra solo los tickets en `estado` (new, waiting… o un valor de #filter-estado; '' = todos), desde la primera
 * página; la lista se vuelve a cargar al mostrarla. */
export function filterByEstado(estado) {
  estado = FILTER_VALUE[estado] ?? estado;
  const select = $('#filter-estado');
  if (![...select.options].some((o) => o.value === estado)) return;
  select.value = estado;
  filters.estado = estado;
  filters.page = 1;
}

/* ----- filtro «Etiqueta» ----- */

/** Las opciones del filtro: «Todas» y una por etiqueta del catálogo. La elegida sigue elegida aunque la renombren
 * (se sigue por id); si la borraron, el filtro vuelve a «Todas» y la lista se vuelve a cargar. */
function fillLabelFilter(list) {
  const select = $('#filter-label');
  const still = filters.labelId !== null ? list.find((l) => l.id === filters.labelId) : null;
  select.replaceChildren(h('option', { value: '', text: 'Todas' }),
    ...list.map((l) => h('option', { value: l.name, dataset: { labelId: l.id }, text: l.name })));
  const before = filters.label;
  filters.label = still ? still.name : '';
  filters.labelId = still ? still.id : null;
  select.value = filters.label;
  if (filters.label !== before && isLoggedIn()) { filters.page = 1; loadTickets({ silent: true }); }
}

/** Muestra solo los tickets con la etiqueta `name` ('' = todos), desde la primera página. */
export function filterByLabel(name) {
  const option = [...$('#filter-label').options].find((o) => o.value === name);
  if (!option) return;
  $('#filter-label').value = name;
  filters.label = name;
  filters.labelId = name ? Number(option.dataset.labelId) : null;
  filters.page = 1;
}

/** Empieza a mostrar y refrescar la lista (tras iniciar sesión). */
export function startTickets() {
  loadTickets();
  loadLabels({ maxAge: 0 }).then((res) => fillLabelFilter(res.list));
  clearInterval(timer);
  timer = setInterval(() => { if (visible()) loadTickets({ silent: true }); }, 10000);
}

/** Al cerrar sesión: nada de la lista queda en pantalla ni en memoria. */
export function stopTickets() {
  clearInterval(timer);
  timer = null;
  request++;
  rows.clear();
  known.clear();
  $('#tickets-body').replaceChildren();
  // Las etiquetas de la sesión que se cerró no se quedan en el filtro.
  filters.label = '';
  filters.labelId = null;
  fillLabelFilter([]);
}

/** actions: {chat(id, opener), history(id, opener), notify(id, opener)}: los botones de cada fila. */
export function setupTickets(actions) {
  const reload = () => { filters.page = 1; loadTickets(); };
  $('#tickets-filters').addEventListener('submit', (ev) => ev.preventDefault());
  $('#filter-estado').addEventListener('change', (ev) => { filters.estado = ev.target.value; reload(); });
  $('#filter-categoria').addEventListener('change', (ev) => { filters.categoria = ev.target.value; reload(); });
  $('#filter-label').addEventListener('change', () => { filterByLabel($('#filter-label').value); loadTickets(); });
  // Al ir a elegir, el catálogo se vuelve a leer si pasó un rato (otro administrador pudo crear etiquetas).
  $('#filter-label').addEventListener('focus', () => { loadLabels(); });
  onLabelsChanged(fillLabelFilter);
  $('#page-size').addEventListener('change', (ev) => { filters.pageSize = Number(ev.target.value); reload(); });
  const search = debounce(() => { filters.q = $('#filter-q').value.trim(); reload(); }, 350);
  $('#filter-q').addEventListener('input', search);
  $('#filter-q').addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter') return;
    ev.preventDefault();
    search.cancel();
    filters.q = ev.target.value.trim();
    reload();
  });
  $('#page-prev').addEventListener('click', () => { if (filters.page > 1) { filters.page--; loadTickets(); } });
  $('#page-next').addEventListener('click', () => { if (filters.page < totalPages) { filters.page++; loadTickets(); } });
  $('#tickets-body').addEventListener('click', (ev) => {
    const btn = ev.target.closest('button');
    const tr = btn && btn.closest('tr[data-ticket-id]');
    if (!tr) return;
    const id = Number(tr.dataset.ticketId);
    if (btn.classList.contains('btn-chat')) actions.chat(id, btn);
    else if (btn.classList.contains('btn-history')) actions.history(id, btn);
    else if (btn.classList.contains('btn-notify')) actions.notify(id, btn);
  });
  document.addEventListener('visibilitychange', () => { if (isLoggedIn() && visible()) loadTickets({ silent: true }); });
}
