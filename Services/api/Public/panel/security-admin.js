/* Mostrador (panel) — «Seguridad», solo para administradores: la verificación en dos pasos de los agentes.
 *  - «Exigir a todos»: GET/PUT /api/settings/two-factor {required_for_all}; quien no la tenga la activa al entrar
 *    (también los administradores);
 *  - cada agente de GET /api/agents/: «Exigir» (PUT /api/agents/{uuid}/2fa {required}) y «Restablecer» (DELETE, tras
 *    confirmarlo: se desactiva, sus códigos de recuperación dejan de valer y sus sesiones terminan; para un teléfono
 *    perdido).
 * La lista de agentes no dice quién la tiene activada ni a quién se le exige: eso se sabe por las respuestas de PUT y
 * DELETE, y se muestra desde entonces (hasta cerrar sesión). Hasta ese momento el interruptor está «sin consultar».
 * Cada cambio queda en el registro de auditoría (`agent.2fa_required`, `auth.2fa_reset`, `settings.two_factor`). */
import { api, errorText } from '../lib/api.js';
import { $, h, showText } from '../lib/dom.js';
import { withIcon } from '../lib/icons.js';
import { toast } from '../lib/toast.js';
import { openDialog } from './dialogs.js';
import * as session from './session.js';

const POLICY = '/api/settings/two-factor';

/** Lo que se sabe de cada agente (uuid → {enabled, required, required_for_agent, recovery_codes_left}). */
const known = new Map();
/** La lectura en curso (una respuesta que llega tarde, de otra apertura, no pisa la actual). */
let loading = null;
let agents = [];

export function isAdmin() { return session.agent()?.role === 'admin'; }

/** El botón de la barra superior: solo para administradores. */
export function showSecurityEntry() { $('#security-btn').hidden = !isAdmin(); }

function codesText(n) { return n === 1 ? '1 código de recuperación' : n + ' códigos de recuperación'; }

/** Lo que dice la columna «Verificación» de un estado conocido (o que aún no se sabe). */
function stateText(st) {
  if (!st) return 'Sin consultar';
  if (st.enabled) return 'Activada · ' + codesText(st.recovery_codes_left);
  return st.required ? 'Desactivada · la activará al entrar' : 'Desactivada';
}

function paintAll() { $('#security-all-text').textContent = $('#security-all').checked ? 'Exigida' : 'No exigida'; }

/** El interruptor «Exigir» de una fila: como lo dijo el servidor, o a medias si aún no se sabe. */
function paintSwitch(box, text, st) {
  box.checked = !!st && st.required_for_agent;
  box.indeterminate = !st;
  text.textContent = !st ? '—' : st.required_for_agent ? 'Exigida' : 'No exigida';
}

function row(a) {
  const name = session.displayName(a.user);
  const mine = a.id === session.agent()?.id;
  const st = known.get(a.id);
  const box = h('input', {
    type: 'checkbox', role: 'switch', class: 'switch sec-require',
    'aria-label': 'Exigir la verificación en dos pasos a ' + name,
  });
  const text = h('span', { class: 'switch-text', 'aria-hidden': 'true' });
  paintSwitch(box, text, st);
  const state = h('span', { class: 'sec-state-text', text: stateText(st) });
  const tr = h('tr', { dataset: { agentId: a.id }, class: a.is_active === false ? 'is-inactive' : null },
    h('td', { 'data-label': 'Agente', class: 'sec-agent' },
      h('span', { class: 'sec-name', text: name + (mine ? ' (tú)' : '') }),
      h('span', { class: 'sec-username muted small', text: a.user.username })),
    h('td', { 'data-label': 'Rol', class: 'sec-role',
      text: (a.role === 'admin' ? 'Administrador' : 'Técnico') + (a.is_active === false ? ' · inactivo' : '') }),
    h('td', { 'data-label': 'Exigir', class: 'sec-require-cell' }, h('label', { class: 'switch-wrap' }, box, text)),
    h('td', { 'data-label': 'Verificación', class: 'sec-state' }, state),
    h('td', { 'data-label': 'Acciones', class: 'sec-actions' },
      h('button', {
        type: 'button', class: 'btn btn-ghost btn-sm sec-reset',
        'aria-label': 'Restablecer la verificación en dos pasos de ' + name, onclick: (ev) => reset(a, ev.currentTarget),
      }, withIcon('refresh', 'Restablecer'))));
  box.addEventListener('change', () => setRequired(a, box, text, state));
  return tr;
}

function render() {
  $('#security-body').replaceChildren(...agents.map(row));
  $('#security-table').hidden = !agents.length;
  $('#security-empty').hidden = !!agents.length;
}

function rowOf(a) { return $(`#security-body tr[data-agent-id="${CSS.escape(a.id)}"]`); }

/** Lo que contestó el servidor de un agente, en su fila. */
function showState(a, st) {
  known.set(a.id, st);
  const tr = rowOf(a);
  if (!tr) return;
  paintSwitch(tr.querySelector('.sec-require'), tr.querySelector('.sec-require-cell .switch-text'), st);
  tr.querySelector('.sec-state-text').textContent = stateText(st);
}

async function load() {
  const me = {};
  loading = me;
  showText($('#security-error'), null);
  $('#security-loading').hidden = false;
  $('#security-all').disabled = true;
  const [policy, list] = await Promise.all([api(POLICY), api('/api/agents/')]);
  if (loading !== me) return;
  loading = null;
  $('#security-loading').hidden = true;
  if (policy.status === 401 || list.status === 401) return;
  const problems = [];
  if (policy.ok && typeof policy.data?.required_for_all === 'boolean') {
    $('#security-all').checked = policy.data.required_for_all;
    $('#security-all').disabled = false;
    paintAll();
  } else problems.push('la política: ' + errorText(policy));
  if (list.ok && Array.isArray(list.data)) {
    agents = list.data.slice().sort((x, y) => session.displayName(x.user).localeCompare(session.displayName(y.user), 'es'));
    render();
  } else problems.push('los agentes: ' + errorText(list));
  if (problems.length) showText($('#security-error'), 'No se pudo leer ' + problems.join('; '));
}

async function onAllChange() {
  const box = $('#security-all');
  const required = box.checked;
  showText($('#security-error'), null);
  $('#security-status').textContent = '';
  box.disabled = true;
  paintAll();
  const res = await api(POLICY, { method: 'PUT', body: { required_for_all: required } });
  box.disabled = false;
  if (res.status === 401) return;
  if (!res.ok || typeof res.data?.required_for_all !== 'boolean') {
    box.checked = !required;
    paintAll();
    showText($('#security-error'), 'No se pudo cambiar «Exigir a todos»: ' + errorText(res));
    box.focus();
    return;
  }
  box.checked = res.data.required_for_all;
  paintAll();
  // Lo que se sabía de cada agente ya no dice si se le exige: `required` depende también de esto.
  for (const [id, st] of known) known.set(id, { ...st, required: st.required_for_agent || res.data.required_for_all });
  render();
  const msg = res.data.required_for_all
    ? 'Verificación en dos pasos exigida a todos: quien no la tenga la activará al entrar.'
    : 'Ya no se exige a todos: solo a quien se le exija por separado.';
  $('#security-status').textContent = msg;
  toast(msg, 'success');
  box.focus();
}

async function setRequired(a, box, text, state) {
  const name = session.displayName(a.user);
  const required = box.checked;
  showText($('#security-error'), null);
  $('#security-status').textContent = '';
  box.disabled = true;
  const res = await api('/api/agents/' + encodeURIComponent(a.id) + '/2fa', { method: 'PUT', body: { required } });
  box.disabled = false;
  if (res.status === 401) return;
  if (!res.ok || typeof res.data?.enabled !== 'boolean') {
    paintSwitch(box, text, known.get(a.id));
    state.textContent = stateText(known.get(a.id));
    showText($('#security-error'), 'No se pudo cambiar lo que se exige a ' + name + ': ' + errorText(res));
    box.focus();
    return;
  }
  showState(a, res.data);
  const msg = res.data.required_for_agent
    ? 'Verificación en dos pasos exigida a ' + name + (res.data.enabled ? '.' : ': la activará al entrar.')
    : 'Ya no se exige la verificación en dos pasos a ' + name + '.';
  $('#security-status').textContent = msg;
  toast(msg, 'success');
}

async function reset(a, btn) {
  const name = session.displayName(a.user);
  const mine = a.id === session.agent()?.id;
  if (!window.confirm('¿Restablecer la verificación en dos pasos de ' + name + '? Se desactiva, sus códigos de '
    + 'recuperación dejan de valer y se cierran sus sesiones' + (mine ? ' (también esta)' : '')
    + '. Si se le exige, la volverá a activar al entrar.')) return;
  showText($('#security-error'), null);
  $('#security-status').textContent = '';
  btn.disabled = true;
  const res = await api('/api/agents/' + encodeURIComponent(a.id) + '/2fa', { method: 'DELETE' });
  btn.disabled = false;
  if (res.status === 401) return;
  if (!res.ok || typeof res.data?.enabled !== 'boolean') {
    showText($('#security-error'), 'No se pudo restablecer la verificación de ' + name + ': ' + errorText(res));
    return;
  }
  showState(a, res.data);
  const msg = 'Verificación en dos pasos de ' + name + ' restablecida: sus sesiones se cerraron.';
  $('#security-status').textContent = msg;
  toast(msg, 'success');
  btn.focus();
}

/** Abre «Seguridad» (desde la barra superior) con lo que dice el servidor ahora. */
export function openSecurityAdmin(from) {
  if (!isAdmin()) return;
  $('#security-status').textContent = '';
  openDialog($('#security-modal'), from || document.activeElement);
  load().then(() => { if ($('#security-modal').open && !$('#security-all').disabled) $('#security-all').focus(); });
}

export function setupSecurityAdmin() {
  $('#security-btn').addEventListener('click', (ev) => openSecurityAdmin(ev.currentTarget));
  $('#security-refresh').addEventListener('click', () => load());
  $('#security-all').addEventListener('change', onAllChange);
  $('#security-modal').addEventListener('close', () => { loading = null; });
}

/** Al cerrar sesión. */
export function forgetSecurityAdmin() {
  loading = null;
  agents = [];
  known.clear();
  $('#security-btn').hidden = true;
  $('#security-body').replaceChildren();
  $('#security-all').checked = false;
  showText($('#security-error'), null);
  $('#security-status').textContent = '';
  paintAll();
}
