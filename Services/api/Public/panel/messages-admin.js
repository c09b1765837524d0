/* Mostrador (panel) — «Mensajes listos», solo para administradores: los textos que envía «Notificar» por WhatsApp
 * (GET /api/templates?tipo=mensaje), cada uno por nombre e idioma (es, en), con {nombre} y {ticket} que el servidor
 * llena al enviar. Se agregan (POST /api/templates con `tipo: mensaje`), se editan (PUT /api/templates/{id}: nombre,
 * idioma y texto) y se borran (DELETE); el servidor dice qué falla (400) o que ya existe ese nombre en ese idioma
 * (409). Los técnicos solo los eligen en «Notificar» (panel/notify.js). */
import { api, errorText } from '../lib/api.js';
import { $, h, showText } from '../lib/dom.js';
import { setLabel, withIcon } from '../lib/icons.js';
import { toast } from '../lib/toast.js';
import { openDialog } from './dialogs.js';
import * as session from './session.js';

export const IDIOMAS = { es: 'Español', en: 'Inglés' };

/** Quién abrió el diálogo (el foco vuelve ahí al cerrarlo, también si «Notificar» sigue abierto debajo). */
let opener = null;
/** El mensaje que se está editando en el formulario; null: el formulario agrega uno nuevo. */
let editing = null;
let loading = null;
const listeners = new Set();

export function isAdmin() { return session.agent()?.role === 'admin'; }

/** El botón de la barra superior: solo para administradores. */
export function showMessagesEntry() { $('#messages-btn').hidden = !isAdmin(); }

/** fn() cada vez que un mensaje listo se agrega, cambia o se borra desde este panel. */
export function onMessagesChanged(fn) { listeners.add(fn); }

/** «nombre (idioma)». */
function messageLabel(t) { return '«' + t.nombre + '» (' + t.idioma + ')'; }

function row(t) {
  const label = messageLabel(t);
  return h('tr', { dataset: { templateId: t.id }, class: editing && editing.id === t.id ? 'is-editing' : null },
    h('td', { 'data-label': 'Nombre', class: 'msg-name', text: t.nombre }),
    h('td', { 'data-label': 'Idioma', class: 'msg-language', text: IDIOMAS[t.idioma] || t.idioma }),
    h('td', { 'data-label': 'Texto', class: 'tpl-body' }, h('span', { class: 'tpl-body-text msg-body', text: t.cuerpo })),
    h('td', { 'data-label': 'Acciones', class: 'msg-actions' }, h('div', { class: 'row-actions' },
      h('button', {
        type: 'button', class: 'btn btn-ghost btn-sm msg-edit', 'aria-label': 'Editar ' + label,
        onclick: () => startEdit(t),
      }, withIcon('pencil', 'Editar')),
      h('button', {
        type: 'button', class: 'btn btn-ghost btn-sm msg-delete', 'aria-label': 'Eliminar ' + label,
        onclick: () => remove(t),
      }, withIcon('x-circle', 'Eliminar')))));
}

function render(list) {
  $('#messages-body').replaceChildren(...list.map(row));
  $('#messages-table').hidden = !list.length;
  $('#messages-empty').hidden = !!list.length;
}

async function load() {
  const me = {};
  loading = me;
  $('#messages-loading').hidden = false;
  const res = await api('/api/templates?tipo=mensaje');
  if (loading !== me) return;
  loading = null;
  $('#messages-loading').hidden = true;
  if (res.status === 401) return;
  const ok = res.ok && Array.isArray(res.data);
  showText($('#messages-error'), ok ? null : 'No se pudieron leer los mensajes listos: ' + errorText(res));
  if (ok) render(res.data);
}

function changed(status) {
  $('#messages-status').textContent = status;
  load();
  for (const fn of listeners) fn();
}

/* ----- el formulario: agregar o editar ----- */

function setMode(t) {
  editing = t;
  showText($('#message-form-error'), null);
  $('#message-form-title').textContent = t ? 'Editar ' + messageLabel(t) : 'Agregar un mensaje';
  setLabel($('#message-submit'), 'check', t ? 'Guardar cambios' : 'Agregar mensaje');
  $('#message-cancel').hidden = !t;
  $('#message-name').value = t ? t.nombre : '';
  $('#message-language').value = t ? t.idioma : 'es';
  $('#message-body').value = t ? t.cuerpo : '';
  for (const tr of document.querySelectorAll('#messages-body tr')) {
    tr.classList.toggle('is-editing', !!t && tr.dataset.templateId === String(t.id));
  }
}

function startEdit(t) {
  setMode(t);
  const body = $('#message-body');
  body.focus();
  body.setSelectionRange(body.value.length, body.value.length);
}

function cancelEdit() {
  setMode(null);
  $('#message-name').focus();
}

async function onSubmit(ev) {
  ev.preventDefault();
  const err = $('#message-form-error');
  showText(err, null);
  const body = {
    tipo: 'mensaje',
    nombre: $('#message-name').value.trim(),
    idioma: $('#message-language').value,
    cuerpo: $('#message-body').value,
  };
  const missing = !body.nombre ? '#message-name' : !body.cuerpo.trim() ? '#message-body' : null;
  if (missing) {
    showText(err, 'Escribe el nombre y el texto del mensaje.');
    $(missing).focus();
    return;
  }
  const t = editing;
  const btn = $('#message-submit');
  btn.disabled = true;
  setLabel(btn, 'clock', 'Guardando…');
  const res = t
    ? await api('/api/templates/' + encodeURIComponent(t.id), { method: 'PUT', body })
    : await api('/api/templates', { method: 'POST', body });
  btn.disabled = false;
  setLabel(btn, 'check', t ? 'Guardar cambios' : 'Agregar mensaje');
  if (res.status === 401) return;
  if (!res.ok) {
    // 400: nombre, idioma o texto (p. ej. un {campo} que no existe); 409: ya existe en ese idioma; 404: lo borraron.
    showText(err, errorText(res, 'No se pudo guardar el mensaje.'));
    if (res.status === 404) { setMode(null); load(); }
    (res.status === 409 || /'nombre'/.test(errorText(res)) ? $('#message-name') : $('#message-body')).focus();
    return;
  }
  const saved = messageLabel(res.data);
  toast('Mensaje ' + saved + (t ? ' guardado.' : ' agregado.'), 'success');
  setMode(null);
  changed('Mensaje ' + saved + (t ? ' guardado' : ' agregado') + ': «Notificar» ya envía este texto.');
  $('#message-name').focus();
}

async function remove(t) {
  if (!window.confirm('¿Eliminar el mensaje ' + messageLabel(t) + '? «Notificar» dejará de ofrecerlo.')) return;
  showText($('#messages-error'), null);
  const res = await api('/api/templates/' + encodeURIComponent(t.id), { method: 'DELETE' });
  if (res.status === 401) return;
  if (!res.ok && res.status !== 404) {
    showText($('#messages-error'), 'No se pudo eliminar ' + messageLabel(t) + ': ' + errorText(res));
    return;
  }
  if (editing && editing.id === t.id) setMode(null);
  changed('Mensaje ' + messageLabel(t) + ' eliminado.');
  $('#message-name').focus();
}

/** Abre «Mensajes listos» (desde la barra superior o desde «Notificar», encima de él). */
export function openMessagesAdmin(from) {
  if (!isAdmin()) return;
  opener = from || document.activeElement;
  setMode(null);
  showText($('#messages-error'), null);
  $('#messages-status').textContent = '';
  openDialog($('#messages-modal'), opener);
  load();
  $('#message-name').focus();
}

export function setupMessagesAdmin() {
  $('#messages-btn').addEventListener('click', (ev) => openMessagesAdmin(ev.currentTarget));
  $('#message-form').addEventListener('submit', onSubmit);
  $('#message-cancel').addEventListener('click', cancelEdit);
  // dialogs.js devuelve el foco solo si no queda otro diálogo abierto; abierto desde «Notificar», vuelve ahí.
  $('#messages-modal').addEventListener('close', () => {
    const back = opener;
    opener = null;
    if (back && back.isConnected && !back.closest('[hidden]') && back.closest('dialog[open]')) back.focus();
  });
}

/** Al cerrar sesión. */
export function forgetMessagesAdmin() {
  opener = null;
  loading = null;
  editing = null;
  $('#messages-btn').hidden = true;
  $('#messages-body').replaceChildren();
}
