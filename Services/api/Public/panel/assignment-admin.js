/* Mostrador (panel) — «Asignación automática», solo para administradores: si los chats nuevos se reparten solos y
 * cuántos chats abiertos puede tener cada técnico (GET/PUT /api/settings/assignment {enabled, capacity}). Con ella
 * activa, un chat nuevo va por turnos al siguiente técnico disponible con sitio (menos chats abiertos que la
 * capacidad); los que no encuentran a nadie esperan en la cola y se reparten en cuanto alguien tiene sitio. El
 * servidor dice qué falla con 400 (una capacidad fuera de 1–200): su `detail` se muestra tal cual. Cada cambio queda en
 * el registro de auditoría (`settings.auto_assignment`). */
import { api, errorText } from '../lib/api.js';
import { $, showText } from '../lib/dom.js';
import { setLabel } from '../lib/icons.js';
import { toast } from '../lib/toast.js';
import { openDialog } from './dialogs.js';
import * as session from './session.js';

const PATH = '/api/settings/assignment';

/** La lectura en curso (una respuesta que llega tarde, de otra apertura, no pisa lo que se está editando). */
let loading = null;

export function isAdmin() { return session.agent()?.role === 'admin'; }

/** El botón de la barra superior: solo para administradores. */
export function showAssignmentEntry() { $('#assignment-btn').hidden = !isAdmin(); }

function chatsText(n) { return n === 1 ? '1 chat abierto' : n + ' chats abiertos'; }

/** El interruptor dice cómo está: «Activada» / «Desactivada». */
function paintSwitch() {
  $('#assignment-enabled-text').textContent = $('#assignment-enabled').checked ? 'Activada' : 'Desactivada';
}

/** {enabled, capacity} del servidor, en el formulario. */
function fill(policy) {
  $('#assignment-enabled').checked = !!policy.enabled;
  $('#assignment-capacity').value = String(policy.capacity);
  paintSwitch();
}

function setBusy(on) {
  for (const sel of ['#assignment-enabled', '#assignment-capacity', '#assignment-submit']) $(sel).disabled = on;
  if (on) $('#assignment-modal').setAttribute('aria-busy', 'true');
  else $('#assignment-modal').removeAttribute('aria-busy');
}

async function load() {
  const me = {};
  loading = me;
  showText($('#assignment-error'), null);
  $('#assignment-loading').hidden = false;
  setBusy(true);
  const res = await api(PATH);
  if (loading !== me) return;
  loading = null;
  $('#assignment-loading').hidden = true;
  if (res.status === 401) return;
  if (!res.ok || !res.data || typeof res.data.enabled !== 'boolean') {
    // El formulario queda sin poder guardarse: no se sabe cómo está.
    showText($('#assignment-error'), 'No se pudo leer la asignación automática: ' + errorText(res));
    $('#assignment-modal').removeAttribute('aria-busy');
    return;
  }
  setBusy(false);
  fill(res.data);
}

async function onSubmit(ev) {
  ev.preventDefault();
  if (loading) return;
  const err = $('#assignment-error');
  showText(err, null);
  const field = $('#assignment-capacity');
  const text = field.value.trim();
  // Un número entero se envía tal cual (fuera de 1–200 lo rechaza el servidor, que dice por qué).
  if (!/^-?\d+$/.test(text)) {
    showText(err, 'Escribe cuántos chats abiertos puede tener cada técnico: un número entero de 1 a 200.');
    field.setAttribute('aria-invalid', 'true');
    field.focus();
    return;
  }
  const body = { enabled: $('#assignment-enabled').checked, capacity: Number(text) };
  const btn = $('#assignment-submit');
  setBusy(true);
  setLabel(btn, 'clock', 'Guardando…');
  const res = await api(PATH, { method: 'PUT', body });
  setBusy(false);
  setLabel(btn, 'check', 'Guardar');
  if (res.status === 401) return;
  if (!res.ok) {
    // 400: la capacidad fuera de 1–200 (el `detail` del servidor); 403: ya no es administrador.
    showText(err, res.status === 400 ? errorText(res) : 'No se pudo guardar: ' + errorText(res));
    if (res.status === 400) {
      field.setAttribute('aria-invalid', 'true');
      field.focus();
      field.select();
    }
    return;
  }
  field.removeAttribute('aria-invalid');
  fill(res.data);
  $('#assignment-modal').close();
  toast(res.data.enabled
    ? 'Asignación automática activada: hasta ' + chatsText(res.data.capacity) + ' por técnico.'
    : 'Asignación automática desactivada: los chats nuevos esperan a que un técnico los tome.', 'success');
}

/** Abre «Asignación automática» (desde la barra superior) con lo que dice el servidor ahora. */
export function openAssignmentAdmin(from) {
  if (!isAdmin()) return;
  $('#assignment-capacity').removeAttribute('aria-invalid');
  openDialog($('#assignment-modal'), from || document.activeElement);
  load().then(() => {
    if ($('#assignment-modal').open && !$('#assignment-enabled').disabled) $('#assignment-enabled').focus();
  });
}

export function setupAssignmentAdmin() {
  $('#assignment-btn').addEventListener('click', (ev) => openAssignmentAdmin(ev.currentTarget));
  $('#assignment-form').addEventListener('submit', onSubmit);
  $('#assignment-enabled').addEventListener('change', paintSwitch);
  $('#assignment-capacity').addEventListener('input', (ev) => ev.currentTarget.removeAttribute('aria-invalid'));
  $('#assignment-modal').addEventListener('close', () => { loading = null; });
}

/** Al cerrar sesión. */
export function forgetAssignmentAdmin() {
  loading = null;
  $('#assignment-btn').hidden = true;
  $('#assignment-enabled').checked = false;
  $('#assignment-capacity').value = '';
  showText($('#assignment-error'), null);
  paintSwitch();
}
