/* Mostrador (panel) — asignación del chat abierto: tomar, transferir, resolver, cerrar (seed 002). */
import { api, errorText } from '../lib/api.js';
import { $, h } from '../lib/dom.js';
import { toast } from '../lib/toast.js';
import * as session from './session.js';
import { loadTickets } from './tickets.js';

const ACTIONS = ['take', 'transfer', 'resolve', 'close'];
const DONE = { take: 'Chat tomado', transfer: 'Chat transferido', resolve: 'Chat marcado como resuelto', close: 'Chat cerrado' };

/** Los agentes activos de GET /api/agents/ ({id (uuid), userId, name, available}); se piden una vez por sesión. */
let agents = null;
/** El chat al que se refieren los botones: {ticketId, ticket, changed()}; null sin chat abierto. */
let current = null;

function agentName(a) {
  return [a.user.first_name, a.user.last_name].filter(Boolean).join(' ').trim() || a.user.username;
}

/** fresh: volver a pedirlos aunque ya estén (un agente creado después de entrar). */
async function loadAgents(fresh = false) {
  if (agents && !fresh) return true;
  const res = await api('/api/agents/');
  if (!res.ok) return false;
  agents = res.data.map((a) => ({
    id: a.id, userId: a.user.id, name: agentName(a), available: a.is_available, active: a.is_active !== false,
  }));
  return true;
}

/** Los agentes de GET /api/agents/ (los mismos de «Transferir a…»); null si no se pudieron leer. */
export async function agentList(fresh = false) {
  return (await loadAgents(fresh)) ? agents : null;
}

/** Muestra los controles para el chat de `ticketId`; changed() se llama tras cada acción hecha. */
export async function showAssignment(ticketId, ticket, changed) {
  const me = { ticketId, ticket, changed };
  current = me;
  const ok = ticket && await loadAgents();
  if (current !== me) return;
  if (!ok) { hideAssignment(); return; }
  const myAgent = session.agent()?.id;
  $('#assign-agent').replaceChildren(h('option', { value: '', text: 'Transferir a…' }),
    ...agents.filter((a) => a.id !== myAgent)
      .map((a) => h('option', { value: a.id, text: a.name + (a.available ? '' : ' (no disponible)') })));
  updateAssignment(me.ticket);
  $('#assign-controls').hidden = false;
}

export function hideAssignment() {
  current = null;
  $('#assign-controls').hidden = true;
}

/** El ticket del chat cambió (estado, agente asignado). */
export function updateAssignment(ticket) {
  if (!current) return;
  current.ticket = ticket;
  const estado = ticket.estado;
  for (const k of ['take', 'transfer', 'close']) $('#assign-' + k).disabled = estado === 'closed';
  $('#assign-agent').disabled = estado === 'closed';
  $('#assign-resolve').disabled = estado === 'closed' || estado === 'resolved';
  const info = $('#assign-info');
  const uid = ticket.agente_asignado;
  // Un técnico que lee el chat de otro es un participante invitado (panel/participants.js): escribe, pero tomar,
  // transferir, resolver y cerrar son del responsable (la API se lo negaría).
  const participant = session.agent()?.role !== 'admin' && uid !== null && uid !== session.user()?.id;
  for (const k of ACTIONS) $('#assign-' + k).hidden = participant;
  $('#assign-agent').hidden = participant;
  if (uid === null) info.textContent = 'Sin asignar';
  else if (session.user()?.id === uid) info.textContent = 'Asignado a ti';
  else info.textContent = 'Asignado a ' + (agents?.find((a) => a.userId === uid)?.name || 'agente #' + uid);
}

async function act(kind) {
  const me = current;
  if (!me || !me.ticket) return;
  let body = {};
  if (kind === 'transfer') {
    const target = $('#assign-agent').value;
    if (!target) { toast('Elige el agente al que quieres transferir el chat.', 'warning'); $('#assign-agent').focus(); return; }
    body = { agent_id: target };
  }
  if (kind === 'close' && !window.confirm('¿Cerrar definitivamente el chat del ticket #' + me.ticketId + '?')) return;
  const btn = $('#assign-' + kind);
  btn.disabled = true;
  const res = await api('/api/chatrooms/' + encodeURIComponent(me.ticket.uuid) + '/' + kind + '/', { method: 'POST', body });
  btn.disabled = false;
  if (current !== me || res.status === 401) return;
  if (res.ok) {
    toast(DONE[kind] + ' (#' + me.ticketId + ').', 'success');
    me.changed();
    loadTickets({ silent: true });
    return;
  }
  toast(errorText(res, 'No se pudo completar la acción.'), 'error');
}

export function setupAssignment() {
  for (const k of ACTIONS) $('#assign-' + k).addEventListener('click', () => act(k));
}

/** Al cerrar sesión: otra sesión puede ver otros agentes. */
export function forgetAgents() {
  agents = null;
  current = null;
}
