/* Mostrador (panel) — «Webhooks», solo para administradores: las URL que reciben nuestros eventos de dominio
 * (GET /api/webhooks), con los eventos que quiere cada una, si está activa, cómo fue su última entrega y los últimos
 * cuatro caracteres de su secreto. Se registran (POST /api/webhooks {url, events | ["*"], secret?, description?,
 * active?}), se cambian (PATCH /api/webhooks/{id}: url, eventos, descripción, activo; `secret` lo cambia) y se borran
 * (DELETE, tras confirmarlo). El secreto que firma las entregas (X-Mostrador-Signature: sha256=<HMAC-SHA256 del
 * cuerpo>) se muestra una sola vez, cuando se fija: al registrar el webhook y al generar uno nuevo; no queda en la
 * página al cerrar el diálogo. «Entregas» muestra las últimas de un webhook (GET /api/webhooks/{id}/deliveries). El
 * servidor dice qué falla: 400 (una URL que no es http(s) o que apunta a una dirección interna, eventos desconocidos,
 * un secreto corto), 409 (el máximo de webhooks); su `detail` se muestra tal cual. Todo lo que llega (la URL, la
 * descripción, el error de una entrega) se muestra solo con textContent. */
import { api, errorText } from '../lib/api.js';
import { $, $$, h, showText } from '../lib/dom.js';
import { formatDateTime, formatFull, relativeTime, truncate } from '../lib/format.js';
import { setLabel, withIcon } from '../lib/icons.js';
import { toast } from '../lib/toast.js';
import { openDialog } from './dialogs.js';
import * as session from './session.js';

/** Los eventos que se pueden recibir (los de `mostrador.events`, en el orden del servidor), dichos en español. */
export const EVENTS = {
  'ticket.created': 'Ticket creado',
  'ticket.description_updated': 'Descripción actualizada',
  'ticket.classified': 'Ticket clasificado',
  'message.created': 'Mensaje nuevo',
  'delivery.updated': 'Entrega de mensaje',
  'ticket.status_changed': 'Estado del ticket',
  'ticket.assigned': 'Ticket asignado',
  'chat.transferred': 'Chat transferido',
  'chat.participant_changed': 'Participantes del chat',
};
const EVENT_CODES = Object.keys(EVENTS);

/** Quién abrió el diálogo (el foco vuelve ahí al cerrarlo). */
let opener = null;
/** El webhook que se está editando en el formulario; null: el formulario registra uno nuevo. */
let editing = null;
let loading = null;
/** Lo último que se leyó de GET /api/webhooks. */
let webhooks = [];
/** El webhook cuyas entregas se muestran, el botón que las abrió y la lectura en curso. */
let deliveriesOf = null;
let deliveriesOpener = null;
let deliveriesLoading = null;

export function isAdmin() { return session.agent()?.role === 'admin'; }

/** El botón de la barra superior: solo para administradores. */
export function showWebhooksEntry() { $('#webhooks-btn').hidden = !isAdmin(); }

export function eventLabel(code) { return (Object.hasOwn(EVENTS, code || '') && EVENTS[code]) || code || '—'; }

function path(w) { return '/api/webhooks/' + encodeURIComponent(w.id); }

function isAll(events) { return EVENT_CODES.every((code) => events.includes(code)); }

/** 32 bytes al azar en hexadecimal (64 caracteres), como los que genera el servidor. */
function newSecret() {
  return Array.from(crypto.getRandomValues(new Uint8Array(32)), (n) => n.toString(16).padStart(2, '0')).join('');
}

/* ----- la lista ----- */

function eventChips(events) {
  if (isAll(events)) {
    return h('ul', { class: 'wh-events-list' },
      h('li', { class: 'wh-event wh-event-all', dataset: { event: '*' }, title: EVENT_CODES.join(', '), text: 'Todos los eventos' }));
  }
  return h('ul', { class: 'wh-events-list' },
    ...events.map((code) => h('li', { class: 'wh-event', dataset: { event: code }, title: code, text: eventLabel(code) })));
}

/** La última entrega: «Entregado 204 · hace 2 min», «Error: HTTP 503 … · hace 1 min» o «Sin entregas». */
function lastDelivery(w) {
  if (!w.last_attempt_at) {
    return h('span', { class: 'badge wh-last wh-last-none', dataset: { state: 'none' }, text: 'Sin entregas' });
  }
  const when = relativeTime(w.last_attempt_at);
  const at = formatFull(w.last_attempt_at);
  const status = Number(w.last_status) || null;
  if (!w.last_error && status && status >= 200 && status < 300) {
    return h('span', {
      class: 'badge wh-last wh-last-ok', dataset: { state: 'ok' }, title: 'Último intento: ' + at,
      text: 'Entregado ' + status + ' · ' + when,
    });
  }
  const error = w.last_error || (status ? 'HTTP ' + status : 'sin respuesta');
  return [
    h('span', {
      class: 'badge wh-last wh-last-error', dataset: { state: 'error' }, title: error + ' (último intento: ' + at + ')',
      text: 'Error: ' + truncate(error, 70) + ' · ' + when,
    }),
    w.last_success_at
      ? h('span', { class: 'wh-last-success muted small', title: formatFull(w.last_success_at),
        text: 'Última entrega correcta: ' + relativeTime(w.last_success_at) })
      : null,
  ];
}

function row(w) {
  const name = 'el webhook ' + w.url;
  const marks = [editing && editing.id === w.id ? 'is-editing' : '', w.active ? '' : 'is-inactive'].filter(Boolean);
  return h('tr', { dataset: { webhookId: w.id }, class: marks.join(' ') || null },
    // Un solo hijo por celda: en pantallas angostas cada celda es una rejilla «etiqueta | valor».
    h('td', { 'data-label': 'URL', class: 'wh-target' }, h('div', null,
      h('span', { class: 'wh-url', text: w.url }),
      w.description ? h('span', { class: 'wh-description', text: w.description }) : null)),
    h('td', { 'data-label': 'Eventos', class: 'wh-events' }, eventChips(w.events || [])),
    h('td', { 'data-label': 'Activo', class: 'wh-active-cell' },
      h('label', { class: 'switch-wrap' },
        h('input', {
          type: 'checkbox', role: 'switch', class: 'switch wh-active', checked: !!w.active,
          'aria-label': 'Activo: ' + w.url, onchange: (ev) => setActive(w, ev.currentTarget),
        }),
        h('span', { class: 'switch-text', 'aria-hidden': 'true', text: w.active ? 'Activo' : 'Inactivo' }))),
    h('td', { 'data-label': 'Última entrega', class: 'wh-last-cell' }, h('div', null, lastDelivery(w))),
    h('td', { 'data-label': 'Secreto', class: 'wh-secret-cell' },
      h('code', { class: 'wh-hint', title: 'Los últimos cuatro caracteres del secreto', text: w.secret_hint })),
    h('td', { 'data-label': 'Acciones', class: 'wh-actions' }, h('div', { class: 'row-actions' },
      h('button', {
        type: 'button', class: 'btn btn-ghost btn-sm wh-edit', 'aria-label': 'Editar ' + name, title: 'Editar',
        onclick: () => startEdit(w),
      }, withIcon('pencil', 'Editar')),
      h('button', {
        type: 'button', class: 'btn btn-ghost btn-sm wh-deliveries', 'aria-label': 'Entregas del webhook ' + w.url,
        'aria-haspopup': 'dialog', 'aria-controls': 'webhook-deliveries-modal',
        onclick: (ev) => openDeliveries(w, ev.currentTarget),
      }, withIcon('history', 'Entregas')),
      h('button', {
        type: 'button', class: 'btn btn-ghost btn-sm wh-rotate', 'aria-label': 'Generar un secreto nuevo para ' + name,
        onclick: () => rotate(w),
      }, withIcon('key', 'Nuevo secreto')),
      h('button', {
        type: 'button', class: 'btn btn-ghost btn-sm wh-delete', 'aria-label': 'Eliminar ' + name,
        onclick: () => remove(w),
      }, withIcon('x-circle', 'Eliminar')))));
}

function render() {
  $('#webhooks-body').replaceChildren(...webhooks.map(row));
  $('#webhooks-table').hidden = !webhooks.length;
  $('#webhooks-empty').hidden = !!webhooks.length;
}

async function load() {
  const me = {};
  loading = me;
  $('#webhooks-loading').hidden = false;
  $('#webhooks-modal').setAttribute('aria-busy', 'true');
  const res = await api('/api/webhooks');
  if (loading !== me) return;
  loading = null;
  $('#webhooks-loading').hidden = true;
  $('#webhooks-modal').removeAttribute('aria-busy');
  if (res.status === 401) return;
  if (!res.ok || !Array.isArray(res.data)) {
    showText($('#webhooks-error'), 'No se pudieron leer los webhooks: ' + errorText(res));
    return;
  }
  showText($('#webhooks-error'), null);
  webhooks = res.data;
  render();
}

/** Un webhook como quedó en el servidor, en la lista (sin esperar a volver a leerla). */
function replace(saved) {
  webhooks = webhooks.map((w) => (w.id === saved.id ? { ...saved, secret: null } : w));
  if (editing && editing.id === saved.id) editing = { ...saved, secret: null };
  render();
}

async function setActive(w, input) {
  const active = input.checked;
  input.disabled = true;
  showText($('#webhooks-error'), null);
  const res = await api(path(w), { method: 'PATCH', body: { active } });
  if (res.status === 401) return;
  input.disabled = false;
  if (!res.ok) {
    input.checked = !active;
    showText($('#webhooks-error'), 'No se pudo ' + (active ? 'activar' : 'desactivar') + ' ' + w.url + ': ' + errorText(res));
    if (res.status === 404) load();
    return;
  }
  replace(res.data);
  if (editing && editing.id === w.id) $('#webhook-active').checked = res.data.active;
  $('#webhooks-status').textContent = 'Webhook ' + res.data.url + (res.data.active
    ? ' activado: recibe sus eventos desde ahora.' : ' desactivado: no recibe eventos hasta que se vuelva a activar.');
  $(`#webhooks-body tr[data-webhook-id="${CSS.escape(String(w.id))}"] .wh-active`)?.focus();
}

/* ----- el secreto, una sola vez ----- */

function showSecret(w, rotated) {
  $('#webhook-secret-title').textContent = (rotated ? 'Nuevo secreto de ' : 'Secreto de ') + w.url;
  const field = $('#webhook-secret-value');
  field.value = w.secret || '';
  $('#webhook-secret-box').hidden = false;
  field.focus();
  field.select();
}

/** Se quita de la página: no se puede volver a ver. */
function hideSecret() {
  $('#webhook-secret-value').value = '';
  $('#webhook-secret-title').textContent = '';
  $('#webhook-secret-box').hidden = true;
}

async function copySecret() {
  const field = $('#webhook-secret-value');
  if (!field.value) return;
  let copied = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(field.value);
      copied = true;
    }
  } catch (e) { /* sin permiso: se intenta con la selección */ }
  if (!copied) {
    field.focus();
    field.select();
    try { copied = document.execCommand('copy'); } catch (e) { copied = false; }
  }
  toast(copied ? 'Secreto copiado al portapapeles.' : 'No se pudo copiar: selecciónalo y cópialo con Ctrl+C.',
    copied ? 'success' : 'warning');
}

/* ----- el formulario: registrar o editar ----- */

function eventBoxes() { return $$('#webhook-events-list input[type=checkbox]'); }

function chosenEvents() { return eventBoxes().filter((b) => b.checked).map((b) => b.value); }

/** «Todos» marcado si lo están todos, a medias si solo algunos. */
function syncAll() {
  const boxes = eventBoxes();
  const on = boxes.filter((b) => b.checked).length;
  const all = $('#webhook-events-all');
  all.checked = on === boxes.length;
  all.indeterminate = on > 0 && on < boxes.length;
}

function setEvents(events) {
  for (const b of eventBoxes()) b.checked = events.includes(b.value);
  syncAll();
}

function setMode(w) {
  editing = w;
  showText($('#webhook-form-error'), null);
  $('#webhook-form-title').textContent = w ? 'Editar el webhook ' + w.url : 'Registrar un webhook';
  setLabel($('#webhook-submit'), 'check', w ? 'Guardar cambios' : 'Registrar webhook');
  $('#webhook-cancel').hidden = !w;
  // El secreto se elige al registrar; después solo se cambia con «Nuevo secreto».
  $('#webhook-secret-field').hidden = !!w;
  $('#webhook-url').value = w ? w.url : '';
  $('#webhook-description').value = w ? w.description || '' : '';
  $('#webhook-secret').value = '';
  $('#webhook-active').checked = w ? !!w.active : true;
  setEvents(w ? w.events || [] : []);
  for (const tr of $$('#webhooks-body tr')) {
    tr.classList.toggle('is-editing', !!w && tr.dataset.webhookId === String(w.id));
  }
}

function startEdit(w) {
  setMode(w);
  $('#webhook-form').scrollIntoView({ block: 'nearest' });
  const url = $('#webhook-url');
  url.focus();
  url.select();
}

function cancelEdit() {
  setMode(null);
  $('#webhook-url').focus();
}

/** El campo del que habla un 400 del servidor. */
function fieldFor(detail) {
  if (/'events'|evento/i.test(detail)) return $('#webhook-events-all');
  if (/'secret'/i.test(detail)) return $('#webhook-secret');
  if (/'description'/i.test(detail)) return $('#webhook-description');
  return $('#webhook-url');
}

async function onSubmit(ev) {
  ev.preventDefault();
  const err = $('#webhook-form-error');
  showText(err, null);
  const url = $('#webhook-url').value.trim();
  const events = chosenEvents();
  const description = $('#webhook-description').value.trim();
  const secret = $('#webhook-secret').value.trim();
  const active = $('#webhook-active').checked;
  if (!url) {
    showText(err, 'Escribe la URL que recibirá los eventos.');
    $('#webhook-url').focus();
    return;
  }
  if (!events.length) {
    showText(err, 'Elige al menos un evento (o «Todos»).');
    $('#webhook-events-all').focus();
    return;
  }
  const all = events.length === EVENT_CODES.length;
  const w = editing;
  let body;
  if (!w) {
    body = { url, events: all ? ['*'] : events, active };
    if (description) body.description = description;
    if (secret) body.secret = secret;
  } else {
    // Al editar, solo lo que cambió (PATCH admite cada campo por separado).
    body = {};
    if (url !== w.url) body.url = url;
    const before = w.events || [];
    if (events.length !== before.length || events.some((e) => !before.includes(e))) body.events = all ? ['*'] : events;
    if (description !== (w.description || '')) body.description = description;
    if (active !== !!w.active) body.active = active;
    if (!Object.keys(body).length) { setMode(null); $('#webhook-url').focus(); return; }
  }
  const btn = $('#webhook-submit');
  btn.disabled = true;
  setLabel(btn, 'clock', 'Guardando…');
  const res = w
    ? await api(path(w), { method: 'PATCH', body })
    : await api('/api/webhooks', { method: 'POST', body });
  btn.disabled = false;
  setLabel(btn, 'check', editing ? 'Guardar cambios' : 'Registrar webhook');
  if (res.status === 401) return;
  if (!res.ok) {
    // 400: una URL, unos eventos o un secreto que no valen (el motivo, del servidor); 409: el máximo de webhooks;
    // 404: otro administrador lo borró.
    const detail = errorText(res, 'No se pudo guardar el webhook.');
    showText(err, detail);
    if (res.status === 404) { setMode(null); load(); }
    fieldFor(detail).focus();
    return;
  }
  const saved = res.data;
  setMode(null);
  toast('Webhook ' + saved.url + (w ? ' guardado.' : ' registrado.'), 'success');
  $('#webhooks-status').textContent = w ? 'Webhook ' + saved.url + ' guardado.'
    : 'Webhook ' + saved.url + ' registrado' + (saved.active ? ': recibirá sus eventos desde ahora.' : ' (inactivo).');
  await load();
  if (w) $('#webhook-url').focus();
  else showSecret(saved, false);
}

async function rotate(w) {
  if (!window.confirm('¿Generar un secreto nuevo para ' + w.url + '? El actual deja de valer en cuanto se guarde: '
    + 'el receptor tendrá que usar el nuevo para comprobar las firmas.')) return;
  showText($('#webhooks-error'), null);
  const res = await api(path(w), { method: 'PATCH', body: { secret: newSecret() } });
  if (res.status === 401) return;
  if (!res.ok) {
    showText($('#webhooks-error'), 'No se pudo cambiar el secreto de ' + w.url + ': ' + errorText(res));
    if (res.status === 404) load();
    return;
  }
  replace(res.data);
  $('#webhooks-status').textContent = 'Secreto de ' + w.url + ' cambiado: el anterior ya no vale.';
  showSecret(res.data, true);
}

async function remove(w) {
  if (!window.confirm('¿Eliminar el webhook ' + w.url + '? Dejará de recibir eventos y se borra su registro de entregas.')) return;
  showText($('#webhooks-error'), null);
  const res = await api(path(w), { method: 'DELETE' });
  if (res.status === 401) return;
  if (!res.ok && res.status !== 404) {
    showText($('#webhooks-error'), 'No se pudo eliminar ' + w.url + ': ' + errorText(res));
    return;
  }
  if (editing && editing.id === w.id) setMode(null);
  $('#webhooks-status').textContent = 'Webhook ' + w.url + ' eliminado.';
  await load();
  $('#webhook-url').focus();
}

/* ----- las entregas de un webhook ----- */

function deliveryRow(d) {
  const status = Number(d.status) || null;
  const badge = d.delivered
    ? h('span', { class: 'badge wh-last wh-last-ok', text: 'Entregado' + (status ? ' ' + status : '') })
    : h('span', { class: 'badge wh-last wh-last-error', text: 'No entregado' + (status ? ' · HTTP ' + status : '') });
  const at = d.delivered && d.delivered_at ? d.delivered_at : d.updated_at;
  return h('tr', { dataset: { eventId: d.event_id, event: d.event } },
    h('td', { 'data-label': 'Evento', class: 'whd-event' }, h('div', null,
      h('span', { class: 'whd-event-name', title: d.event, text: eventLabel(d.event) }),
      h('code', { class: 'whd-event-id', title: 'X-Mostrador-Delivery: ' + d.event_id, text: String(d.event_id || '').slice(0, 8) }))),
    h('td', { 'data-label': 'Intentos', class: 'whd-attempts', text: String(d.attempts) }),
    h('td', { 'data-label': 'Estado', class: 'whd-status' }, badge),
    h('td', { 'data-label': 'Error', class: 'whd-error' },
      d.error ? h('span', { text: d.error }) : h('span', { class: 'muted', text: '—' })),
    h('td', { 'data-label': 'Fecha', class: 'whd-at' },
      h('time', {
        datetime: at || '', title: (d.delivered ? 'Entregado: ' : 'Último intento: ') + formatFull(at),
        text: formatDateTime(at),
      })));
}

function clearDeliveries() {
  $('#webhook-deliveries-body').replaceChildren();
  $('#webhook-deliveries-table').hidden = true;
  $('#webhook-deliveries-empty').hidden = true;
  showText($('#webhook-deliveries-error'), null);
}

async function loadDeliveries() {
  const w = deliveriesOf;
  if (!w) return;
  const me = {};
  deliveriesLoading = me;
  $('#webhook-deliveries-loading').hidden = false;
  const res = await api(path(w) + '/deliveries');
  if (deliveriesLoading !== me) return;
  deliveriesLoading = null;
  $('#webhook-deliveries-loading').hidden = true;
  if (res.status === 401) return;
  clearDeliveries();
  if (!res.ok || !Array.isArray(res.data)) {
    showText($('#webhook-deliveries-error'), 'No se pudieron leer las entregas: ' + errorText(res));
    return;
  }
  $('#webhook-deliveries-body').replaceChildren(...res.data.map(deliveryRow));
  $('#webhook-deliveries-table').hidden = !res.data.length;
  $('#webhook-deliveries-empty').hidden = !!res.data.length;
}

function openDeliveries(w, from) {
  deliveriesOf = w;
  deliveriesOpener = from;
  $('#webhook-deliveries-url').textContent = w.url;
  clearDeliveries();
  openDialog($('#webhook-deliveries-modal'), from);
  loadDeliveries();
  $('#webhook-deliveries-refresh').focus();
}

/* ----- abrir, cerrar, sesión ----- */

/** Abre «Webhooks» (desde la barra superior): la lista recién leída, el formulario vacío, ningún secreto. */
export function openWebhooksAdmin(from) {
  if (!isAdmin()) return;
  opener = from || document.activeElement;
  hideSecret();
  setMode(null);
  showText($('#webhooks-error'), null);
  $('#webhooks-status').textContent = '';
  openDialog($('#webhooks-modal'), opener);
  load();
  $('#webhook-url').focus();
}

export function setupWebhooksAdmin() {
  $('#webhook-events-list').replaceChildren(...EVENT_CODES.map((code, i) => h('li', { class: 'wh-event-option' },
    h('input', { type: 'checkbox', id: 'webhook-event-' + i, value: code, onchange: syncAll }),
    h('label', { for: 'webhook-event-' + i },
      h('span', { class: 'wh-event-option-name', text: EVENTS[code] }),
      h('code', { class: 'wh-event-option-code', text: code })))));
  $('#webhook-events-all').addEventListener('change', (ev) => {
    for (const b of eventBoxes()) b.checked = ev.currentTarget.checked;
    syncAll();
  });
  $('#webhooks-btn').addEventListener('click', (ev) => openWebhooksAdmin(ev.currentTarget));
  $('#webhooks-refresh').addEventListener('click', () => load());
  $('#webhook-form').addEventListener('submit', onSubmit);
  $('#webhook-cancel').addEventListener('click', cancelEdit);
  $('#webhook-secret-copy').addEventListener('click', copySecret);
  $('#webhook-secret-done').addEventListener('click', () => { hideSecret(); $('#webhook-url').focus(); });
  $('#webhook-deliveries-refresh').addEventListener('click', () => loadDeliveries());
  // Al cerrar el diálogo el secreto sale de la página: no se puede volver a ver.
  $('#webhooks-modal').addEventListener('close', () => {
    hideSecret();
    opener = null;
  });
  // Las entregas se abren encima de «Webhooks»: al cerrarlas, el foco vuelve a su botón (o a su fila, si se redibujó).
  $('#webhook-deliveries-modal').addEventListener('close', () => {
    const w = deliveriesOf;
    let back = deliveriesOpener;
    deliveriesOf = null;
    deliveriesOpener = null;
    deliveriesLoading = null;
    if (back && !back.isConnected && w) {
      back = $(`#webhooks-body tr[data-webhook-id="${CSS.escape(String(w.id))}"] .wh-deliveries`);
    }
    if (back && back.isConnected && back.closest('dialog[open]')) back.focus();
  });
}

/** Al cerrar sesión: nada de esta sesión (ni un secreto) queda para la siguiente. */
export function forgetWebhooksAdmin() {
  opener = null;
  loading = null;
  editing = null;
  webhooks = [];
  deliveriesOf = null;
  deliveriesOpener = null;
  deliveriesLoading = null;
  $('#webhooks-btn').hidden = true;
  $('#webhooks-body').replaceChildren();
  clearDeliveries();
  hideSecret();
}
