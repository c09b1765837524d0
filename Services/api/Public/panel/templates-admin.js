/* Mostrador (panel) — «Plantillas de WhatsApp», solo para administradores: la lista de plantillas registradas con
 * Meta y su estado, el formulario para registrar una (POST /api/templates: nombre, idioma, categoría, cuerpo; el
 * servidor aplica las reglas de Meta y dice qué falla con 400, o 409 si ya existe) y el cambio de estado cuando Meta
 * decide (PATCH /api/templates/{id}). Mostrador no puede pedirle a Meta que apruebe una plantilla: se registra aquí
 * tal como se envió en WhatsApp Manager y se anota lo que Meta respondió. Los técnicos solo la ven en el chat. */
import { api, errorText } from '../lib/api.js';
import { $, h, showText } from '../lib/dom.js';
import { formatTime } from '../lib/format.js';
import { setLabel } from '../lib/icons.js';
import { toast } from '../lib/toast.js';
import { openDialog } from './dialogs.js';
import * as session from './session.js';
import { CATEGORIAS, ESTADOS, loadTemplates, templateLabel, templateSaved } from './templates.js';

/** Quién abrió el diálogo (el foco vuelve ahí al cerrarlo, también si el chat sigue abierto debajo). */
let opener = null;
let loading = null;

export function isAdmin() { return session.agent()?.role === 'admin'; }

/** El botón de la barra superior: solo para administradores. */
export function showTemplatesEntry() { $('#templates-btn').hidden = !isAdmin(); }

function estadoBadge(estado) {
  return h('span', { class: 'badge tpl-badge tpl-' + estado, dataset: { estado }, text: ESTADOS[estado] || estado });
}

/** Una fila: nombre, idioma, categoría, cuerpo, estado (insignia) y el selector para cambiarlo. */
function row(t) {
  const select = h('select', {
    class: 'select select-sm tpl-state', 'aria-label': 'Estado de ' + templateLabel(t), dataset: { templateId: t.id },
  }, ...Object.entries(ESTADOS).map(([value, text]) => h('option', { value, text })));
  select.value = t.estado;
  select.addEventListener('change', () => changeState(t, select));
  return h('tr', { dataset: { templateId: t.id, estado: t.estado } },
    h('td', { 'data-label': 'Nombre', class: 'tpl-name' }, h('code', { text: t.nombre })),
    h('td', { 'data-label': 'Idioma', text: t.idioma }),
    h('td', { 'data-label': 'Categoría', text: CATEGORIAS[t.categoria] || t.categoria }),
    h('td', { 'data-label': 'Cuerpo', class: 'tpl-body' },
      h('span', { class: 'tpl-body-text', text: t.cuerpo }),
      h('span', { class: 'tpl-params muted small', text: !t.parametros ? 'sin parámetros' : t.parametros === 1 ? '1 parámetro' : t.parametros + ' parámetros' })),
    h('td', { 'data-label': 'Estado', class: 'tpl-estado' }, estadoBadge(t.estado)),
    h('td', { 'data-label': 'Cambiar estado', class: 'tpl-change' }, select,
      h('span', { class: 'muted small tpl-updated', title: 'Último cambio', text: formatTime(t.updated_at) })));
}

function render(list) {
  const body = $('#templates-body');
  body.replaceChildren(...list.map(row));
  $('#templates-table').hidden = !list.length;
  $('#templates-empty').hidden = !!list.length;
}

async function load(maxAge = 0) {
  const me = {};
  loading = me;
  $('#templates-loading').hidden = false;
  const res = await loadTemplates({ maxAge });
  if (loading !== me) return;
  loading = null;
  $('#templates-loading').hidden = true;
  showText($('#templates-error'), res.ok ? null : 'No se pudieron leer las plantillas: ' + res.error);
  render(res.list);
}

/** Registra o cambia una plantilla en pantalla (la lista compartida avisa al chat). */
function saved(t) {
  templateSaved(t);
  const old = $('#templates-body tr[data-template-id="' + t.id + '"]');
  const fresh = row(t);
  if (old) old.replaceWith(fresh);
  else loadTemplates({ maxAge: Infinity }).then((res) => render(res.list));
  return fresh;
}

async function changeState(t, select) {
  const estado = select.value;
  if (estado === t.estado) return;
  select.disabled = true;
  showText($('#templates-error'), null);
  const res = await api('/api/templates/' + encodeURIComponent(t.id), { method: 'PATCH', body: { estado } });
  if (res.status === 401) return;
  if (!res.ok) {
    select.disabled = false;
    select.value = t.estado;
    showText($('#templates-error'), 'No se pudo cambiar el estado de «' + templateLabel(t) + '»: ' + errorText(res));
    select.focus();
    return;
  }
  const fresh = saved(res.data);
  $('#templates-status').textContent = '«' + templateLabel(res.data) + '» ahora está ' + (ESTADOS[res.data.estado] || res.data.estado).toLowerCase() + '.';
  fresh.querySelector('select.tpl-state')?.focus();
}

/** Los {{n}} del cuerpo que se escribe: cuántos datos llevará. */
function paramsHint() {
  const text = $('#template-body').value;
  const numbers = Array.from(text.matchAll(/\{\{(\d+)\}\}/g), (m) => Number(m[1])).filter((n) => n > 0 && n <= 100);
  const max = numbers.length ? Math.max(...numbers) : 0;
  $('#template-body-count').textContent = text.length + '/1024 · '
    + (max ? max + (max === 1 ? ' parámetro' : ' parámetros') : 'sin parámetros');
}

async function onSubmit(ev) {
  ev.preventDefault();
  const err = $('#template-form-error');
  showText(err, null);
  const body = {
    nombre: $('#template-name').value.trim(),
    idioma: $('#template-language').value.trim(),
    categoria: $('#template-category').value,
    cuerpo: $('#template-body').value,
  };
  const missing = !body.nombre ? '#template-name' : !body.idioma ? '#template-language' : !body.cuerpo.trim() ? '#template-body' : null;
  if (missing) {
    showText(err, 'Completa el nombre, el idioma y el cuerpo de la plantilla.');
    $(missing).focus();
    return;
  }
  const btn = $('#template-submit');
  btn.disabled = true;
  setLabel(btn, 'clock', 'Registrando…');
  const res = await api('/api/templates', { method: 'POST', body });
  btn.disabled = false;
  setLabel(btn, 'template', 'Registrar plantilla');
  if (res.status === 401) return;
  if (!res.ok) {
    // 400: las reglas de Meta (nombre, idioma, cuerpo, {{n}}); 409: ya existe con ese nombre e idioma.
    showText(err, errorText(res, 'No se pudo registrar la plantilla.'));
    (res.status === 409 || /nombre/i.test(errorText(res)) ? $('#template-name')
      : /idioma/i.test(errorText(res)) ? $('#template-language') : $('#template-body')).focus();
    return;
  }
  saved(res.data);
  toast('Plantilla «' + templateLabel(res.data) + '» registrada.', 'success');
  $('#templates-status').textContent = 'Plantilla «' + templateLabel(res.data) + '» registrada como '
    + (ESTADOS[res.data.estado] || res.data.estado).toLowerCase() + '. Cambia su estado cuando Meta la apruebe.';
  $('#template-name').value = '';
  $('#template-body').value = '';
  paramsHint();
  $('#template-name').focus();
}

/** Abre «Plantillas de WhatsApp» (desde la barra superior o desde el chat, encima de él). */
export function openTemplatesAdmin(from) {
  if (!isAdmin()) return;
  opener = from || document.activeElement;
  showText($('#template-form-error'), null);
  showText($('#templates-error'), null);
  $('#templates-status').textContent = '';
  openDialog($('#templates-modal'), opener);
  load(0);
  $('#template-name').focus();
}

export function setupTemplatesAdmin() {
  $('#templates-btn').addEventListener('click', (ev) => openTemplatesAdmin(ev.currentTarget));
  $('#template-form').addEventListener('submit', onSubmit);
  $('#template-body').addEventListener('input', paramsHint);
  $('#templates-refresh').addEventListener('click', () => load(0));
  paramsHint();
  // dialogs.js devuelve el foco solo si no queda otro diálogo abierto; abierto desde el chat, vuelve al chat.
  $('#templates-modal').addEventListener('close', () => {
    const back = opener;
    opener = null;
    if (back && back.isConnected && !back.closest('[hidden]') && back.closest('dialog[open]')) back.focus();
  });
}

/** Al cerrar sesión. */
export function forgetTemplatesAdmin() {
  opener = null;
  loading = null;
  $('#templates-btn').hidden = true;
  $('#templates-body').replaceChildren();
}
