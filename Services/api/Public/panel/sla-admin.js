/* Mostrador (panel) — «SLA», solo para administradores: las políticas de plazos (GET /api/sla-policies) con su
 * categoría y su etiqueta («Cualquiera» si no la tienen) y sus metas de primera respuesta y de resolución, en minutos
 * desde que se abre el ticket (tiempo corrido, no horario de atención). Se crean (POST /api/sla-policies {name,
 * category, label, first_response_minutes, resolution_minutes}), se cambian enteras (PUT /api/sla-policies/{id}) y se
 * borran (DELETE, tras confirmarlo). A cada ticket se le aplica la más específica (etiqueta y categoría, etiqueta,
 * categoría, general); un plazo vencido avisa al técnico del ticket o, si no tiene, a los administradores. El
 * servidor dice qué falla: 400 (sin nombre, sin metas, minutos fuera de 1–525600, resolución antes que primera
 * respuesta, una etiqueta que no existe), 409 (ya existe ese nombre); su `detail` se muestra tal cual. Cada técnico ve
 * los plazos de su chat en la cabecera (panel/chat-sla.js). */
import { api, errorText } from '../lib/api.js';
import { $, $$, h, showText } from '../lib/dom.js';
import { setLabel, withIcon } from '../lib/icons.js';
import { toast } from '../lib/toast.js';
import { openDialog } from './dialogs.js';
import { labelChip, labels, loadLabels, onLabelsChanged } from './labels.js';
import * as session from './session.js';

/** Las unidades del formulario, en minutos. */
const UNITS = [[1, 'minutos'], [60, 'horas'], [1440, 'días']];

/** Quién abrió el diálogo (el foco vuelve ahí al cerrarlo). */
let opener = null;
/** La política que se está editando en el formulario; null: el formulario crea una nueva. */
let editing = null;
let loading = null;
/** Lo último que se leyó de GET /api/sla-policies. */
let policies = [];

export function isAdmin() { return session.agent()?.role === 'admin'; }

/** El botón de la barra superior: solo para administradores. */
export function showSlaEntry() { $('#sla-btn').hidden = !isAdmin(); }

/** Minutos en la unidad más grande que los divide: «30 min», «8 h», «2 d», «1 h 30 min»; sin meta, «—». */
export function minutesText(minutes) {
  if (minutes === null || minutes === undefined || !Number.isFinite(Number(minutes))) return '—';
  const m = Number(minutes);
  if (m >= 1440 && m % 1440 === 0) return m / 1440 + ' d';
  if (m >= 60 && m % 60 === 0) return m / 60 + ' h';
  if (m > 60) return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  return m + ' min';
}

function path(p) { return '/api/sla-policies/' + encodeURIComponent(p.id); }

/* ----- la lista ----- */

function any() { return h('span', { class: 'sla-any', text: 'Cualquiera' }); }

/** La etiqueta de una política: su chip (con el color del catálogo) o su nombre. */
function labelCell(name) {
  if (!name) return any();
  const l = labels().find((x) => x.name.toLowerCase() === name.toLowerCase());
  return l ? labelChip(l) : h('span', { text: name });
}

function row(p) {
  const name = 'la política «' + p.name + '»';
  return h('tr', { dataset: { policyId: p.id }, class: editing && editing.id === p.id ? 'is-editing' : null },
    h('td', { 'data-label': 'Nombre', class: 'sla-name', text: p.name }),
    h('td', { 'data-label': 'Categoría', class: 'sla-category' }, p.category ? h('span', { text: p.category }) : any()),
    h('td', { 'data-label': 'Etiqueta', class: 'sla-label' }, labelCell(p.label)),
    h('td', { 'data-label': 'Primera respuesta', class: 'sla-time sla-first', text: minutesText(p.first_response_minutes) }),
    h('td', { 'data-label': 'Resolución', class: 'sla-time sla-resolution', text: minutesText(p.resolution_minutes) }),
    h('td', { 'data-label': 'Acciones', class: 'sla-actions' }, h('div', { class: 'row-actions' },
      h('button', {
        type: 'button', class: 'btn btn-ghost btn-sm sla-edit', 'aria-label': 'Editar ' + name,
        onclick: () => startEdit(p),
      }, withIcon('pencil', 'Editar')),
      h('button', {
        type: 'button', class: 'btn btn-ghost btn-sm sla-delete', 'aria-label': 'Eliminar ' + name,
        onclick: () => remove(p),
      }, withIcon('x-circle', 'Eliminar')))));
}

function render() {
  $('#sla-body').replaceChildren(...policies.map(row));
  $('#sla-table').hidden = !policies.length;
  $('#sla-empty').hidden = !!policies.length;
}

async function load() {
  const me = {};
  loading = me;
  $('#sla-loading').hidden = false;
  $('#sla-modal').setAttribute('aria-busy', 'true');
  const [res] = await Promise.all([api('/api/sla-policies'), loadLabels({ maxAge: 0 })]);
  if (loading !== me) return;
  loading = null;
  $('#sla-loading').hidden = true;
  $('#sla-modal').removeAttribute('aria-busy');
  if (res.status === 401) return;
  if (!res.ok || !Array.isArray(res.data)) {
    showText($('#sla-error'), 'No se pudieron leer las políticas de SLA: ' + errorText(res));
    return;
  }
  showText($('#sla-error'), null);
  policies = res.data;
  render();
}

/* ----- el formulario: crear o editar ----- */

/** Las opciones de «Etiqueta»: «Cualquiera» y el catálogo (más la de la política editada si ya no está en él). */
function fillLabelSelect(list = labels()) {
  const select = $('#sla-label');
  const chosen = select.value;
  const names = list.map((l) => l.name);
  const keep = [chosen, editing && editing.label].filter((n) => n && !names.some((x) => x.toLowerCase() === n.toLowerCase()));
  select.replaceChildren(h('option', { value: '', text: 'Cualquiera' }),
    ...names.map((name) => h('option', { value: name, text: name })),
    ...[...new Set(keep)].map((name) => h('option', { value: name, text: name + ' (ya no existe)' })));
  select.value = chosen;
}

/** Un número de minutos en los campos «número + unidad» (la unidad más grande que lo divide). */
function setMinutes(prefix, minutes) {
  const field = $('#' + prefix), unit = $('#' + prefix + '-unit');
  if (minutes === null || minutes === undefined) { field.value = ''; unit.value = '60'; return; }
  const [size] = [...UNITS].reverse().find(([u]) => minutes % u === 0);
  field.value = String(minutes / size);
  unit.value = String(size);
}

/** Lo escrito en «número + unidad»: {minutes} (null si está vacío) o {error}. */
function readMinutes(prefix, what) {
  const text = $('#' + prefix).value.trim();
  if (!text) return { minutes: null };
  if (!/^-?\d+$/.test(text)) return { error: 'Escribe ' + what + ' como un número entero (o déjalo vacío: sin meta).' };
  return { minutes: Number(text) * Number($('#' + prefix + '-unit').value) };
}

function setMode(p) {
  editing = p;
  showText($('#sla-form-error'), null);
  $('#sla-form-title').textContent = p ? 'Editar la política «' + p.name + '»' : 'Crear una política';
  setLabel($('#sla-submit'), 'check', p ? 'Guardar cambios' : 'Crear política');
  $('#sla-cancel').hidden = !p;
  $('#sla-name').value = p ? p.name : '';
  $('#sla-category').value = p && p.category ? p.category : '';
  $('#sla-label').value = '';
  fillLabelSelect();
  $('#sla-label').value = p && p.label ? p.label : '';
  setMinutes('sla-first', p ? p.first_response_minutes : null);
  setMinutes('sla-resolution', p ? p.resolution_minutes : null);
  for (const field of $$('#sla-form .input')) field.removeAttribute('aria-invalid');
  for (const tr of $$('#sla-body tr')) tr.classList.toggle('is-editing', !!p && tr.dataset.policyId === String(p.id));
}

function startEdit(p) {
  setMode(p);
  $('#sla-form').scrollIntoView({ block: 'nearest' });
  const name = $('#sla-name');
  name.focus();
  name.select();
}

function cancelEdit() {
  setMode(null);
  $('#sla-name').focus();
}

/** El campo del que habla un 400/409 del servidor. */
function fieldFor(detail) {
  if (/^Indique/.test(detail)) return $('#sla-first');
  if (/^'resolution_minutes'/.test(detail)) return $('#sla-resolution');
  if (/^'first_response_minutes'/.test(detail)) return $('#sla-first');
  if (/etiqueta|'label'/i.test(detail)) return $('#sla-label');
  if (/'category'/i.test(detail)) return $('#sla-category');
  return $('#sla-name');
}

async function onSubmit(ev) {
  ev.preventDefault();
  const err = $('#sla-form-error');
  showText(err, null);
  for (const field of $$('#sla-form .input')) field.removeAttribute('aria-invalid');
  const name = $('#sla-name').value.trim();
  if (!name) {
    showText(err, 'Escribe el nombre de la política.');
    $('#sla-name').focus();
    return;
  }
  const first = readMinutes('sla-first', 'la primera respuesta');
  const resolution = readMinutes('sla-resolution', 'la resolución');
  for (const [read, id] of [[first, 'sla-first'], [resolution, 'sla-resolution']]) {
    if (!read.error) continue;
    showText(err, read.error);
    $('#' + id).setAttribute('aria-invalid', 'true');
    $('#' + id).focus();
    return;
  }
  if (first.minutes === null && resolution.minutes === null) {
    showText(err, 'Indica al menos un plazo: la primera respuesta, la resolución o ambos.');
    $('#sla-first').focus();
    return;
  }
  // La política entera (PUT la reemplaza): lo que quede vacío, sin meta.
  const body = {
    name, category: $('#sla-category').value || null, label: $('#sla-label').value || null,
    first_response_minutes: first.minutes, resolution_minutes: resolution.minutes,
  };
  const p = editing;
  const btn = $('#sla-submit');
  btn.disabled = true;
  setLabel(btn, 'clock', 'Guardando…');
  const res = p ? await api(path(p), { method: 'PUT', body }) : await api('/api/sla-policies', { method: 'POST', body });
  btn.disabled = false;
  setLabel(btn, 'check', editing ? 'Guardar cambios' : 'Crear política');
  if (res.status === 401) return;
  if (!res.ok) {
    // 400: datos que no valen (el motivo, del servidor); 409: ya existe ese nombre; 404: otro administrador la borró.
    const detail = errorText(res, 'No se pudo guardar la política.');
    showText(err, detail);
    if (res.status === 404) { setMode(null); load(); }
    const field = fieldFor(detail);
    if (field.classList.contains('input')) field.setAttribute('aria-invalid', 'true');
    field.focus();
    return;
  }
  const saved = '«' + res.data.name + '»';
  setMode(null);
  toast('Política de SLA ' + saved + (p ? ' guardada.' : ' creada.'), 'success');
  $('#sla-status').textContent = 'Política ' + saved + (p ? ' guardada.' : ' creada: se aplica desde ahora a los tickets que le corresponden.');
  await load();
  $('#sla-name').focus();
}

async function remove(p) {
  if (!window.confirm('¿Eliminar la política de SLA «' + p.name + '»? Los tickets a los que se aplicaba pasan a la '
    + 'siguiente más específica (o a ninguna).')) return;
  showText($('#sla-error'), null);
  const res = await api(path(p), { method: 'DELETE' });
  if (res.status === 401) return;
  if (!res.ok && res.status !== 404) {
    showText($('#sla-error'), 'No se pudo eliminar «' + p.name + '»: ' + errorText(res));
    return;
  }
  if (editing && editing.id === p.id) setMode(null);
  $('#sla-status').textContent = 'Política «' + p.name + '» eliminada.';
  await load();
  $('#sla-name').focus();
}

/* ----- abrir, cerrar, sesión ----- */

/** Abre «SLA» (desde la barra superior): la lista recién leída y el formulario vacío. */
export function openSlaAdmin(from) {
  if (!isAdmin()) return;
  opener = from || document.activeElement;
  setMode(null);
  showText($('#sla-error'), null);
  $('#sla-status').textContent = '';
  openDialog($('#sla-modal'), opener);
  load().then(() => { if ($('#sla-modal').open) fillLabelSelect(); });
  $('#sla-name').focus();
}

export function setupSlaAdmin() {
  for (const id of ['#sla-first-unit', '#sla-resolution-unit']) {
    $(id).replaceChildren(...UNITS.map(([size, text]) => h('option', { value: String(size), text })));
    $(id).value = '60';
  }
  $('#sla-btn').addEventListener('click', (ev) => openSlaAdmin(ev.currentTarget));
  $('#sla-form').addEventListener('submit', onSubmit);
  $('#sla-cancel').addEventListener('click', cancelEdit);
  for (const id of ['#sla-name', '#sla-first', '#sla-resolution']) {
    $(id).addEventListener('input', (ev) => ev.currentTarget.removeAttribute('aria-invalid'));
  }
  // El catálogo de etiquetas cambió (otro diálogo, otra lectura): las opciones y los chips de la lista lo siguen.
  onLabelsChanged((list) => {
    if (!$('#sla-modal').open) return;
    fillLabelSelect(list);
    render();
  });
  $('#sla-modal').addEventListener('close', () => { opener = null; loading = null; });
}

/** Al cerrar sesión. */
export function forgetSlaAdmin() {
  opener = null;
  loading = null;
  editing = null;
  policies = [];
  $('#sla-btn').hidden = true;
  $('#sla-body').replaceChildren();
  $('#sla-label').replaceChildren(h('option', { value: '', text: 'Cualquiera' }));
}
