/* Mostrador (panel) — «Etiquetas», solo para administradores: el catálogo de etiquetas de los tickets (GET /api/labels)
 * con su color y cuántos tickets la llevan. Se crean (POST /api/labels {name, color}), se renombran o cambian de color
 * (PATCH /api/labels/{id}) y se borran (DELETE, tras confirmarlo: se quita de todos los tickets). El servidor dice qué
 * falla: 400 (nombre de 1 a 40 caracteres, color #rrggbb), 409 (ya existe ese nombre, sin distinguir mayúsculas).
 * Los técnicos solo las ponen y quitan en sus tickets (panel/chat-labels.js). */
import { api, errorText } from '../lib/api.js';
import { $, h, showText } from '../lib/dom.js';
import { setLabel, withIcon } from '../lib/icons.js';
import { toast } from '../lib/toast.js';
import { openDialog } from './dialogs.js';
import { labelChip, labelsChanged, loadLabels, paintLabel } from './labels.js';
import * as session from './session.js';

/** El color de una etiqueta nueva. */
const DEFAULT_COLOR = '#2563eb';

/** Quién abrió el diálogo (el foco vuelve ahí al cerrarlo, también si el chat sigue abierto debajo). */
let opener = null;
/** La etiqueta que se está editando en el formulario; null: el formulario crea una nueva. */
let editing = null;
let loading = null;
const listeners = new Set();

export function isAdmin() { return session.agent()?.role === 'admin'; }

/** El botón de la barra superior: solo para administradores. */
export function showLabelsEntry() { $('#labels-btn').hidden = !isAdmin(); }

/** fn() cada vez que una etiqueta se crea, cambia o se borra desde este panel (ya con el catálogo releído). */
export function onLabelsEdited(fn) { listeners.add(fn); }

function ticketsText(n) { return !n ? 'ningún ticket' : n === 1 ? '1 ticket' : n + ' tickets'; }

function row(l) {
  const label = '«' + l.name + '»';
  return h('tr', { dataset: { labelId: l.id }, class: editing && editing.id === l.id ? 'is-editing' : null },
    h('td', { 'data-label': 'Etiqueta', class: 'lbl-name' }, labelChip(l)),
    h('td', { 'data-label': 'Color', class: 'lbl-color' },
      paintLabel(h('span', { class: 'label-swatch', 'aria-hidden': 'true' }), l.color),
      h('code', { text: l.color })),
    h('td', { 'data-label': 'Tickets', class: 'lbl-count', text: ticketsText(l.tickets) }),
    h('td', { 'data-label': 'Acciones', class: 'lbl-actions' }, h('div', { class: 'row-actions' },
      h('button', {
        type: 'button', class: 'btn btn-ghost btn-sm lbl-edit', 'aria-label': 'Editar la etiqueta ' + label,
        onclick: () => startEdit(l),
      }, withIcon('pencil', 'Editar')),
      h('button', {
        type: 'button', class: 'btn btn-ghost btn-sm lbl-delete', 'aria-label': 'Eliminar la etiqueta ' + label,
        onclick: () => remove(l),
      }, withIcon('x-circle', 'Eliminar')))));
}

function render(list) {
  $('#labels-body').replaceChildren(...list.map(row));
  $('#labels-table').hidden = !list.length;
  $('#labels-empty').hidden = !!list.length;
}

async function load(maxAge = 0) {
  const me = {};
  loading = me;
  $('#labels-loading').hidden = false;
  const res = await loadLabels({ maxAge });
  if (loading !== me) return;
  loading = null;
  $('#labels-loading').hidden = true;
  showText($('#labels-error'), res.ok ? null : 'No se pudieron leer las etiquetas: ' + res.error);
  render(res.list);
}

/** Tras un cambio: el catálogo se vuelve a leer (la lista de tickets, su filtro y el chat abierto lo muestran). */
async function changed(status) {
  $('#labels-status').textContent = status;
  await labelsChanged();
  load(Infinity);
  for (const fn of listeners) fn();
}

/* ----- el formulario: crear o editar ----- */

/** La vista previa del chip con lo escrito y el color elegido. */
function preview() {
  const name = $('#label-name').value.trim();
  const chip = labelChip({ id: editing ? editing.id : '', name: name || 'Vista previa', color: $('#label-color').value });
  $('#label-preview').replaceChildren(chip);
}

function setMode(l) {
  editing = l;
  showText($('#label-form-error'), null);
  $('#label-form-title').textContent = l ? 'Editar la etiqueta «' + l.name + '»' : 'Crear una etiqueta';
  setLabel($('#label-submit'), 'check', l ? 'Guardar cambios' : 'Crear etiqueta');
  $('#label-cancel').hidden = !l;
  $('#label-name').value = l ? l.name : '';
  $('#label-color').value = l ? l.color : DEFAULT_COLOR;
  preview();
  for (const tr of document.querySelectorAll('#labels-body tr')) {
    tr.classList.toggle('is-editing', !!l && tr.dataset.labelId === String(l.id));
  }
}

function startEdit(l) {
  setMode(l);
  const name = $('#label-name');
  name.focus();
  name.select();
}

function cancelEdit() {
  setMode(null);
  $('#label-name').focus();
}

async function onSubmit(ev) {
  ev.preventDefault();
  const err = $('#label-form-error');
  showText(err, null);
  const name = $('#label-name').value.trim();
  const color = $('#label-color').value.toLowerCase();
  if (!name) {
    showText(err, 'Escribe el nombre de la etiqueta.');
    $('#label-name').focus();
    return;
  }
  const l = editing;
  // Al editar, solo lo que cambió (PATCH admite name, color o ambos).
  const body = l ? {} : { name, color };
  if (l && name !== l.name) body.name = name;
  if (l && color !== l.color) body.color = color;
  if (l && !Object.keys(body).length) { setMode(null); $('#label-name').focus(); return; }
  const btn = $('#label-submit');
  btn.disabled = true;
  setLabel(btn, 'clock', 'Guardando…');
  const res = l
    ? await api('/api/labels/' + encodeURIComponent(l.id), { method: 'PATCH', body })
    : await api('/api/labels', { method: 'POST', body });
  btn.disabled = false;
  setLabel(btn, 'check', l ? 'Guardar cambios' : 'Crear etiqueta');
  if (res.status === 401) return;
  if (!res.ok) {
    // 400: nombre o color que no valen; 409: ya existe ese nombre; 404: otro administrador la borró.
    showText(err, errorText(res, 'No se pudo guardar la etiqueta.'));
    if (res.status === 404) { setMode(null); load(); }
    (/color/i.test(errorText(res)) ? $('#label-color') : $('#label-name')).focus();
    return;
  }
  const saved = '«' + res.data.name + '»';
  toast('Etiqueta ' + saved + (l ? ' guardada.' : ' creada.'), 'success');
  setMode(null);
  await changed('Etiqueta ' + saved + (l ? ' guardada.' : ' creada: ya se puede poner en los tickets.'));
  $('#label-name').focus();
}

async function remove(l) {
  const uses = l.tickets ? ' Se quitará de ' + ticketsText(l.tickets) + '.' : '';
  if (!window.confirm('¿Eliminar la etiqueta «' + l.name + '»?' + uses)) return;
  showText($('#labels-error'), null);
  const res = await api('/api/labels/' + encodeURIComponent(l.id), { method: 'DELETE' });
  if (res.status === 401) return;
  if (!res.ok && res.status !== 404) {
    showText($('#labels-error'), 'No se pudo eliminar «' + l.name + '»: ' + errorText(res));
    return;
  }
  if (editing && editing.id === l.id) setMode(null);
  await changed('Etiqueta «' + l.name + '» eliminada.');
  $('#label-name').focus();
}

/** Abre «Etiquetas» (desde la barra superior o desde las etiquetas de un ticket, encima de ellas). */
export function openLabelsAdmin(from) {
  if (!isAdmin()) return;
  opener = from || document.activeElement;
  setMode(null);
  showText($('#labels-error'), null);
  $('#labels-status').textContent = '';
  openDialog($('#labels-modal'), opener);
  load(0);
  $('#label-name').focus();
}

export function setupLabelsAdmin() {
  $('#labels-btn').addEventListener('click', (ev) => openLabelsAdmin(ev.currentTarget));
  $('#label-form').addEventListener('submit', onSubmit);
  $('#label-cancel').addEventListener('click', cancelEdit);
  $('#label-name').addEventListener('input', preview);
  $('#label-color').addEventListener('input', preview);
  // dialogs.js devuelve el foco solo si no queda otro diálogo abierto; abierto desde otro diálogo, vuelve ahí.
  $('#labels-modal').addEventListener('close', () => {
    const back = opener;
    opener = null;
    if (back && back.isConnected && !back.closest('[hidden]') && back.closest('dialog[open]')) back.focus();
  });
}

/** Al cerrar sesión. */
export function forgetLabelsAdmin() {
  opener = null;
  loading = null;
  editing = null;
  $('#labels-btn').hidden = true;
  $('#labels-body').replaceChildren();
}
