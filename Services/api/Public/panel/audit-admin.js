/* Mostrador (panel) — «Registro de auditoría», solo para administradores: quién hizo qué y cuándo (GET /api/audit),
 * lo más reciente primero, de 50 en 50. Filtros: usuario (`actor`), tipo de acción (la familia: `auth`, `ticket`,
 * `agent`, `label`, `template`, `message_template`, `webhook`, `export`, `settings`, `sla`, `customer`), número de
 * ticket (`ticket`) y días locales desde/hasta (se envían como instantes: el servidor entiende un día suelto en UTC).
 * El servidor dice qué falla con 400 (un número de ticket o una fecha que no valen): su `detail` se muestra tal cual.
 * Todo lo que hay en el registro lo escribió alguien (el usuario de un inicio de sesión fallido, el nombre de una
 * etiqueta): se muestra solo con textContent. Lo que hace el sistema solo (la asignación automática de un chat nuevo)
 * no tiene quién: «Sistema». */
import { api, errorText } from '../lib/api.js';
import { $, h, showText } from '../lib/dom.js';
import { debounce, formatFull, localDayStart } from '../lib/format.js';
import { openDialog } from './dialogs.js';
import { ESTADOS } from './estados.js';
import { paintLabel } from './labels.js';
import * as session from './session.js';
import { ESTADOS as TEMPLATE_ESTADOS } from './templates.js';
import { eventLabel } from './webhooks-admin.js';

const PAGE_SIZE = 50;

/** Cada acción del servidor dicha en español (una desconocida se muestra con su código). */
export const ACTIONS = {
  'auth.login': 'Inició sesión',
  'auth.login_failed': 'Intento de inicio de sesión fallido',
  'auth.login_blocked': 'Inicio de sesión bloqueado',
  'auth.logout': 'Cerró sesión',
  'auth.login_2fa_failed': 'Código de verificación incorrecto al entrar',
  'auth.2fa_enable': 'Activó la verificación en dos pasos',
  'auth.2fa_disable': 'Desactivó la verificación en dos pasos',
  'auth.2fa_reset': 'Restableció la verificación en dos pasos',
  'agent.2fa_required': 'Cambió si se le exige la verificación en dos pasos',
  'settings.two_factor': 'Cambió si se exige a todos la verificación en dos pasos',
  'ticket.take': 'Tomó el chat',
  'ticket.assign': 'Asignó el chat',
  'ticket.transfer': 'Transfirió el chat',
  'ticket.resolve': 'Resolvió el chat',
  'ticket.close': 'Cerró el chat',
  'ticket.auto_assign': 'Asignación automática',
  'ticket.unassign': 'Devolvió el chat a la cola',
  'agent.create': 'Creó un agente',
  'agent.update': 'Modificó un agente',
  'agent.deactivate': 'Desactivó un agente',
  'label.create': 'Creó una etiqueta',
  'label.update': 'Modificó una etiqueta',
  'label.delete': 'Eliminó una etiqueta',
  'template.create': 'Registró una plantilla de WhatsApp',
  'template.update': 'Cambió una plantilla de WhatsApp',
  'template.delete': 'Eliminó una plantilla de WhatsApp',
  'message_template.create': 'Agregó un mensaje listo',
  'message_template.update': 'Editó un mensaje listo',
  'message_template.delete': 'Eliminó un mensaje listo',
  'webhook.create': 'Creó un webhook',
  'webhook.update': 'Cambió un webhook',
  'webhook.delete': 'Borró un webhook',
  'export.tickets': 'Exportó tickets (CSV)',
  'export.dashboard': 'Exportó las cifras (CSV)',
  'settings.auto_assignment': 'Cambió la asignación automática',
  'settings.business_hours': 'Cambió el horario de atención',
  'sla.create': 'Creó una política de SLA',
  'sla.update': 'Cambió una política de SLA',
  'sla.delete': 'Eliminó una política de SLA',
  'customer.merge': 'Fusionó dos clientes',
};

/** Las claves de `details`, en el orden en que se muestran y con su nombre en pantalla. */
const DETAIL_KEYS = {
  de: 'De', a: 'A', usuario: 'Usuario', nombre: 'Nombre', rol: 'Rol', contraseña: 'Contraseña', activo: 'Activo',
  disponible: 'Disponible', email: 'Correo', especialidad: 'Especialidad', estado_anterior: 'Estado anterior',
  estado: 'Estado', color: 'Color', fusionado: 'Cliente fusionado', evidencia: 'Evidencia', tickets: 'Tickets',
  // Verificación en dos pasos.
  obligatoria: 'Exigida', obligatoria_para_todos: 'Exigida a todos',
  // Webhooks (solo el servidor de la URL: su consulta puede llevar un token), exportaciones, asignación automática.
  servidor: 'Servidor', eventos: 'Eventos', secreto: 'Secreto', since: 'Desde', until: 'Hasta', categoria: 'Categoría',
  label: 'Etiqueta', activa: 'Activa', capacidad: 'Chats abiertos por técnico', zona: 'Zona horaria',
};
const ROLES = { admin: 'administrador', agent: 'técnico' };
const YES_NO = { true: 'sí', false: 'no' };

/** Fecha y hora local, con segundos: «5 dic 2026, 10:30:12». */
const fmtAt = new Intl.DateTimeFormat('es-MX', {
  day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});

/** Quién abrió el diálogo (el foco vuelve ahí al cerrarlo). */
let opener = null;
let loading = null;
let page = 1;
let pages = 1;
/** openTicket(id, opener): abre el chat de un ticket (main.js), encima de este diálogo. */
let hooks = { openTicket: () => {} };

export function isAdmin() { return session.agent()?.role === 'admin'; }

/** El botón de la barra superior: solo para administradores. */
export function showAuditEntry() { $('#audit-btn').hidden = !isAdmin(); }

export function actionLabel(action) { return (Object.hasOwn(ACTIONS, action || '') && ACTIONS[action]) || action || '—'; }

function formatAt(v) {
  const d = new Date(v);
  return isNaN(d.getTime()) ? String(v || '') : fmtAt.format(d);
}

/** El valor de un detalle, legible (el rol, sí/no, el nombre de un estado); lo demás tal cual. */
function detailValue(entry, key, value) {
  const known = (map) => (Object.hasOwn(map, value) ? map[value] : value);
  if (key === 'rol') return known(ROLES);
  if (key === 'activo' || key === 'disponible' || key === 'activa') return known(YES_NO);
  if (key === 'obligatoria' || key === 'obligatoria_para_todos') return known(YES_NO);
  // Los eventos de un webhook, con su nombre en español (los de webhooks-admin.js).
  if (key === 'eventos') {
    return value.split(',').filter(Boolean).map((code) => (code === '*' ? 'Todos' : eventLabel(code))).join(', ');
  }
  // El periodo de una exportación: un instante (el comienzo de un día local) en la hora local; un día, tal cual.
  if ((key === 'since' || key === 'until') && value.includes('T') && !isNaN(new Date(value).getTime())) {
    return formatAt(value);
  }
  if (key === 'estado_anterior') return known(ESTADOS);
  if (key === 'estado' && entry.action.startsWith('template.')) return known(TEMPLATE_ESTADOS);
  return value;
}

function detailOrder(a, b) {
  const keys = Object.keys(DETAIL_KEYS);
  const ia = keys.indexOf(a), ib = keys.indexOf(b);
  if (ia >= 0 || ib >= 0) return (ia < 0 ? keys.length : ia) - (ib < 0 ? keys.length : ib);
  return a.localeCompare(b);
}

/** Los detalles como pares «clave: valor» (<dl>), o «—». */
function detailsList(entry) {
  const details = entry.details && typeof entry.details === 'object' ? entry.details : {};
  const keys = Object.keys(details).sort(detailOrder);
  if (!keys.length) return h('span', { class: 'muted', text: '—' });
  return h('dl', { class: 'audit-details' }, ...keys.map((key) => {
    const value = String(details[key] ?? '');
    const dd = h('dd', { dataset: { key } });
    if (key === 'color' && /^#[0-9a-f]{6}$/i.test(value)) {
      dd.append(paintLabel(h('span', { class: 'label-swatch audit-swatch', 'aria-hidden': 'true' }), value));
    }
    dd.append(detailValue(entry, key, value));
    return h('div', { class: 'audit-detail' }, h('dt', { text: (Object.hasOwn(DETAIL_KEYS, key) ? DETAIL_KEYS[key] : key) + ':' }), ' ', dd);
  }));
}

/** A qué se hizo: el ticket (un enlace a su chat), el agente, la etiqueta, la plantilla, el webhook, el cliente. */
function target(entry) {
  const d = entry.details || {};
  if (entry.ticket_id) {
    const id = entry.ticket_id;
    return h('button', {
      type: 'button', class: 'btn-link audit-ticket', dataset: { ticketId: id },
      'aria-label': 'Abrir el chat del ticket #' + id, title: 'Abrir el chat del ticket #' + id,
      onclick: (ev) => hooks.openTicket(id, ev.currentTarget),
    }, '#' + id);
  }
  const named = (what, name) => (name ? what + ' «' + name + '»' : what + (entry.target_id ? ' #' + entry.target_id : ''));
  switch (entry.target_type) {
    case 'agent': return h('span', { text: d.usuario ? 'Agente «' + d.usuario + '»' : 'Agente' });
    case 'label': return h('span', { text: named('Etiqueta', d.nombre) });
    case 'template': return h('span', { text: named('Plantilla', d.nombre) });
    case 'message_template': return h('span', { text: named('Mensaje listo', d.nombre) });
    case 'customer': return h('span', { text: 'Cliente #' + (entry.target_id || '') });
    case 'webhook': return h('span', { text: 'Webhook #' + (entry.target_id || '') });
    case 'sla': return h('span', { text: named('Política de SLA', d.nombre) });
    case null: case undefined: case '': return h('span', { class: 'muted', text: '—' });
    default: return h('span', { text: entry.target_type + (entry.target_id ? ' #' + entry.target_id : '') });
  }
}

/** Quién: el usuario del agente; en un inicio de sesión fallido o bloqueado, el que se intentó; nadie: «Sistema». */
function actor(entry) {
  if (!entry.actor) return h('span', { class: 'muted', text: 'Sistema' });
  const tried = entry.action === 'auth.login_failed' || entry.action === 'auth.login_blocked';
  return h('span', { class: 'audit-actor-wrap' },
    h('span', { class: 'audit-actor-name', text: entry.actor }),
    tried ? h('span', { class: 'audit-tried muted small', text: 'usuario intentado' }) : null);
}

function row(entry) {
  const family = String(entry.action || '').split('.')[0];
  return h('tr', { dataset: { auditId: entry.id, action: entry.action } },
    h('td', { 'data-label': 'Fecha y hora', class: 'audit-at' },
      h('time', { datetime: entry.at || '', title: formatFull(entry.at), text: formatAt(entry.at) })),
    h('td', { 'data-label': 'Acción', class: 'audit-action' },
      h('span', { class: 'audit-action-text audit-family-' + family, title: entry.action, text: actionLabel(entry.action) })),
    h('td', { 'data-label': 'Quién', class: 'audit-actor' }, actor(entry)),
    h('td', { 'data-label': 'Objetivo', class: 'audit-target' }, target(entry)),
    h('td', { 'data-label': 'Detalles', class: 'audit-details-cell' }, detailsList(entry)),
    h('td', { 'data-label': 'Dirección', class: 'audit-address' },
      entry.address ? h('span', { text: entry.address }) : h('span', { class: 'muted', text: '—' })));
}

/* ----- filtros ----- */

function filtersActive() {
  return ['#audit-actor', '#audit-action', '#audit-ticket', '#audit-since', '#audit-until']
    .some((sel) => $(sel).value.trim() !== '');
}

/** La consulta de GET /api/audit; null (con el aviso puesto) si las fechas no tienen sentido. */
function query() {
  const q = new URLSearchParams();
  const actorName = $('#audit-actor').value.trim();
  const action = $('#audit-action').value;
  const ticket = $('#audit-ticket').value.trim();
  const since = $('#audit-since').value;
  const until = $('#audit-until').value;
  if (since && until && since > until) {
    showText($('#audit-error'), '«Desde» no puede ser posterior a «Hasta».');
    return null;
  }
  if (actorName) q.set('actor', actorName);
  if (action) q.set('action', action);
  if (ticket) q.set('ticket', ticket);
  if (since) q.set('since', localDayStart(since, false));
  // «Hasta» incluye ese día entero: hasta el comienzo del día siguiente (el servidor no incluye ese instante).
  if (until) q.set('until', localDayStart(until, true));
  q.set('page', String(page));
  q.set('page_size', String(PAGE_SIZE));
  return q;
}

function showPager(total, count) {
  const first = count ? (page - 1) * PAGE_SIZE + 1 : 0;
  $('#audit-total').textContent = total
    ? 'Mostrando ' + first + '–' + (first + count - 1) + ' de ' + total + (total === 1 ? ' registro' : ' registros')
    : '';
  $('#audit-page').textContent = 'Página ' + page + ' de ' + pages;
  $('#audit-prev').disabled = page <= 1;
  $('#audit-next').disabled = page >= pages;
  $('#audit-pager').hidden = !total;
}

function render(entries, total) {
  $('#audit-body').replaceChildren(...entries.map(row));
  $('#audit-table').hidden = !entries.length;
  const empty = $('#audit-empty');
  empty.hidden = !!entries.length;
  empty.textContent = filtersActive() ? 'No hay registros que coincidan con los filtros.' : 'Aún no hay registros.';
  showPager(total, entries.length);
}

/** Sin resultados que mostrar (un error): nada de la consulta anterior queda como si fuera de esta. */
function clearResults() {
  $('#audit-body').replaceChildren();
  $('#audit-table').hidden = true;
  $('#audit-empty').hidden = true;
  $('#audit-pager').hidden = true;
}

async function load() {
  showText($('#audit-error'), null);
  const q = query();
  if (!q) { loading = null; $('#audit-loading').hidden = true; clearResults(); return; }
  const me = {};
  loading = me;
  $('#audit-loading').hidden = false;
  $('#audit-modal').setAttribute('aria-busy', 'true');
  const res = await api('/api/audit?' + q.toString());
  if (loading !== me) return;
  loading = null;
  $('#audit-loading').hidden = true;
  $('#audit-modal').removeAttribute('aria-busy');
  if (res.status === 401) return;
  const ok = res.ok && res.data && Array.isArray(res.data.entries);
  if (!ok) {
    clearResults();
    // 400: un filtro que el servidor no acepta (su `detail` dice cuál); 403: ya no es administrador.
    showText($('#audit-error'), res.status === 400 ? errorText(res)
      : 'No se pudo leer el registro de auditoría: ' + errorText(res));
    return;
  }
  pages = Math.max(1, Number(res.data.pages) || 1);
  const total = Number(res.data.total) || 0;
  // La página pedida ya no existe (el filtro dejó menos): la última que sí.
  if (!res.data.entries.length && total && page > pages) { page = pages; load(); return; }
  render(res.data.entries, total);
}

/** Desde la primera página, con los filtros como estén. */
function reload() {
  page = 1;
  load();
}

function clearFilters() {
  for (const sel of ['#audit-actor', '#audit-action', '#audit-ticket', '#audit-since', '#audit-until']) $(sel).value = '';
  reload();
  $('#audit-actor').focus();
}

/** Abre «Registro de auditoría» (desde la barra superior), en la primera página y con los filtros que tenía. */
export function openAuditAdmin(from) {
  if (!isAdmin()) return;
  opener = from || document.activeElement;
  openDialog($('#audit-modal'), opener);
  reload();
  $('#audit-actor').focus();
}

/** actions: openTicket(id, opener), el chat de un ticket del registro. */
export function setupAuditAdmin(actions = {}) {
  hooks = { ...hooks, ...actions };
  // Lo que se escribe (usuario, ticket) se aplica al dejar de escribir o con Intro; lo que se elige, al momento.
  const typed = debounce(reload, 400);
  $('#audit-btn').addEventListener('click', (ev) => openAuditAdmin(ev.currentTarget));
  $('#audit-filters').addEventListener('submit', (ev) => { ev.preventDefault(); typed.cancel(); reload(); });
  $('#audit-actor').addEventListener('input', typed);
  $('#audit-ticket').addEventListener('input', typed);
  for (const sel of ['#audit-action', '#audit-since', '#audit-until']) {
    $(sel).addEventListener('change', () => { typed.cancel(); reload(); });
  }
  $('#audit-clear').addEventListener('click', () => { typed.cancel(); clearFilters(); });
  $('#audit-refresh').addEventListener('click', () => { typed.cancel(); load(); });
  $('#audit-prev').addEventListener('click', () => { if (page > 1) { page--; load(); } });
  $('#audit-next').addEventListener('click', () => { if (page < pages) { page++; load(); } });
  $('#audit-modal').addEventListener('close', () => {
    typed.cancel();
    opener = null;
  });
}

/** Al cerrar sesión: ni filas ni filtros de esta sesión quedan para la siguiente. */
export function forgetAuditAdmin() {
  opener = null;
  loading = null;
  page = 1;
  pages = 1;
  $('#audit-btn').hidden = true;
  for (const sel of ['#audit-actor', '#audit-action', '#audit-ticket', '#audit-since', '#audit-until']) $(sel).value = '';
  clearResults();
  showText($('#audit-error'), null);
}
