/* Mostrador (panel) — varios técnicos en un chat (README, «Who may do what»). En la cabecera del chat: «Responsable:
 * <nombre>» y un chip por participante (con ✕ para quitarlo, si quien mira es el responsable o un administrador),
 * «Invitar» (responsable o administrador), «Unirme» (un administrador que no está en el chat) y «Salir del chat» (un
 * participante). En la conversación: el nombre del técnico sobre cada mensaje de técnico en cuanto en el chat hay o
 * hubo más de uno. Si el servidor deja de dejar leer el chat (quitaron al técnico, se lo reasignaron a otro), el chat
 * se cierra en este panel y se dice por qué, en lugar de reintentar sin fin.
 *
 * API: GET/POST /api/chatrooms/{room}/participants/ ({responsable, participantes: [{id (uuid), nombre, rol}]}),
 * DELETE …/participants/{agente}, POST …/join/ y …/leave/; quién escribió cada mensaje:
 * GET /api/soporte/tickets/{id}/chat/historial (`autor.nombre`, páginas de la más nueva a la más vieja) y las tramas
 * del WebSocket (`autor`). */
import { api, errorText } from '../lib/api.js';
import { $, h } from '../lib/dom.js';
import { icon } from '../lib/icons.js';
import { toast } from '../lib/toast.js';
import { agentList } from './assignment.js';
import * as session from './session.js';
import { loadTickets } from './tickets.js';

/** Las notas del sistema que dicen que alguien entró al chat, salió, lo quitaron o se lo pasaron. */
const PEOPLE_NOTE = /se unió al chat|dejó el chat|quitó a .+ del chat|^Chat transferido/;
/** Mensajes por página al leer quién escribió (el máximo del servidor) y cuántas páginas como mucho. */
const PAGE_SIZE = 200;
const MAX_PAGES = 10;

/** Lo que presta el chat (setupParticipants): close(c) → cerrar el chat `c` si sigue abierto. */
let hooks = null;
/**
 * Los técnicos del chat abierto: {c, people: {owner, members} o null (aún sin leer), authors: Map(id del mensaje →
 * nombre), named (¿se muestran los nombres?), seq, timer, authorTimer, busy (saliendo o uniéndose), agentsRead (ya se
 * pidió la lista de agentes para este chat), shown y offered (lo que muestran la tira y «Invitar a…»)}; null sin chat.
 */
let view = null;

const roomPath = (v) => '/api/chatrooms/' + encodeURIComponent(v.c.ticket.uuid) + '/';

/** ¿Es `v` el chat que sigue abierto? */
const live = (v) => view === v;

/* ----- quién escribió cada mensaje ----- */

/** El nombre del técnico que escribió `m` en el chat `c`, si el chat tiene (o tuvo) más de uno; null si no. */
export function technicianName(c, m) {
  const v = view;
  if (!v || v.c !== c || !v.named) return null;
  if (m.id !== null && v.authors.has(m.id)) return v.authors.get(m.id);
  if (m.autor) return m.autor;
  // Escrito desde este panel (lleva el client_id que le dio el compositor).
  if (m.clientId) return session.displayName();
  return null;
}

/** Los nombres se muestran con más de un técnico en el chat, o si ya escribieron técnicos distintos. */
function updateNamed(v) {
  const people = v.people ? (v.people.owner ? 1 : 0) + v.people.members.length : 0;
  const named = people > 1 || new Set(v.authors.values()).size > 1;
  v.named = named;
  v.c.conv.refreshAuthors();
}

/** Lee quién escribió los mensajes de técnico: todo (`all`, al abrir el chat) o solo la página más nueva. */
async function loadAuthors(v, all) {
  for (let page = 1; page <= (all ? MAX_PAGES : 1); page++) {
    const size = all ? PAGE_SIZE : 50;
    const res = await api('/api/soporte/tickets/' + v.c.id + '/chat/historial?page=' + page + '&size=' + size);
    if (!live(v) || !res.ok) return;
    for (const m of res.data.mensajes || []) {
      if (m.role === 'tecnico' && m.autor && m.autor.nombre) v.authors.set(m.id, m.autor.nombre);
    }
    if (!res.data.has_next) break;
  }
  updateNamed(v);
}

/** Mensajes nuevos en el chat `c`: se anotan sus autores y, si una nota dice que alguien entró o salió, se vuelve a
 * leer la lista de técnicos. */
export function noteTechnicians(c, added) {
  const v = view;
  if (!v || v.c !== c) return;
  let unknown = false;
  let authors = false;
  for (const m of added) {
    if (m.role === 'system' && PEOPLE_NOTE.test(m.content)) peopleChanged(c);
    if (m.role !== 'tecnico' || m.id === null || v.authors.has(m.id)) continue;
    if (m.autor) { v.authors.set(m.id, m.autor); authors = true; } else if (!m.clientId) unknown = true;
  }
  if (authors) updateNamed(v);
  if (unknown) {
    clearTimeout(v.authorTimer);
    v.authorTimer = setTimeout(() => { if (live(v)) loadAuthors(v, false); }, 300);
  }
}

/* ----- la lista de técnicos ----- */

/** Una trama `agente_joined` / `agente_left` / `chat_transferred`: la lista se vuelve a leer (una vez por ráfaga). */
export function peopleChanged(c) {
  const v = view;
  if (!v || v.c !== c) return;
  clearTimeout(v.timer);
  v.timer = setTimeout(() => { if (live(v)) loadPeople(v); }, 200);
}

async function loadPeople(v) {
  const seq = ++v.seq;
  const res = await api(roomPath(v) + 'participants/');
  if (!live(v) || seq !== v.seq) return;
  if (res.status === 403) { accessLost(v.c); return; }
  if (res.ok) applyPeople(v, res.data);
}

/** La respuesta de GET, POST o DELETE …/participants/: {responsable, participantes (el responsable primero)}. */
function applyPeople(v, data) {
  v.seq++; // una lectura anterior que llegue después no la deshace
  v.people = {
    owner: data.responsable || null,
    members: (data.participantes || []).filter((p) => p.rol === 'participante'),
  };
  render(v);
  updateNamed(v);
}

/** Quién es el técnico de esta sesión en el chat: admin, owner (responsable), member (participante). */
function standing(v) {
  const me = session.agent()?.id;
  const p = v.people;
  return {
    me,
    admin: session.agent()?.role === 'admin',
    owner: !!p.owner && p.owner.id === me,
    member: p.members.some((x) => x.id === me),
  };
}

function chipEl(v, person, s) {
  const mine = person.id === s.me;
  return h('li', { class: 'people-chip', dataset: { agentId: person.id } },
    icon('user'),
    h('span', { class: 'people-name', text: person.nombre }),
    mine ? h('span', { class: 'people-you', text: '(tú)' }) : null,
    (s.owner || s.admin) && !mine
      ? h('button', {
        type: 'button', class: 'people-remove', title: 'Quitar del chat',
        'aria-label': 'Quitar a ' + person.nombre + ' del chat', onclick: (ev) => remove(v, person, ev.currentTarget),
      }, icon('x'))
      : null);
}

/** Dibuja la tira. Solo toca lo que cambió: se llama tras cada consulta del chat, y rehacer los chips o la lista de
 * «Invitar a…» quitaría el foco (o cerraría la lista abierta) a quien los está usando. */
async function render(v) {
  const p = v.people;
  const box = $('#chat-people');
  if (!p) { box.hidden = true; return; }
  const s = standing(v);
  const closed = v.c.ticket?.estado === 'closed';
  const canInvite = (s.owner || s.admin) && !closed;
  const canJoin = s.admin && !s.owner && !s.member && !closed;
  const key = JSON.stringify([p, s, closed]);
  if (key !== v.shown) {
    v.shown = key;
    $('#people-owner').replaceChildren(icon('headset'), h('span', { text: 'Responsable:' }),
      h('strong', { class: 'people-owner-name', text: p.owner ? p.owner.nombre : 'sin asignar' }),
      ...(s.owner ? [h('span', { class: 'people-you', text: '(tú)' })] : []));
    $('#people-label').hidden = !p.members.length;
    $('#people-list').replaceChildren(...p.members.map((x) => chipEl(v, x, s)));
    $('#people-join').hidden = !canJoin;
    $('#people-leave').hidden = !s.member;
    box.hidden = !p.owner && !p.members.length && !canInvite && !canJoin;
  }
  const invite = $('#people-invite-box');
  if (!canInvite) { invite.hidden = true; return; }
  const agents = await agentList(!v.agentsRead); // una vez por chat abierto: los agentes creados después
  v.agentsRead = true;
  if (!live(v) || v.people !== p) return;
  const inChat = new Set([p.owner?.id, ...p.members.map((x) => x.id)]);
  const choices = (agents || []).filter((a) => a.active && a.id !== s.me && !inChat.has(a.id))
    .map((a) => ({ id: a.id, text: a.name + (a.available ? '' : ' (no disponible)') }));
  const choicesKey = JSON.stringify(choices);
  if (choicesKey !== v.offered) {
    v.offered = choicesKey;
    const select = $('#people-agent');
    const keep = select.value;
    select.replaceChildren(h('option', { value: '', text: 'Invitar a…' }),
      ...choices.map((a) => h('option', { value: a.id, text: a.text })));
    if (choices.some((a) => a.id === keep)) select.value = keep;
  }
  invite.hidden = !choices.length;
}

/* ----- acciones ----- */

async function invite() {
  const v = view;
  if (!v || !v.people) return;
  const select = $('#people-agent');
  const target = select.value;
  if (!target) { toast('Elige el técnico que quieres invitar al chat.', 'warning'); select.focus(); return; }
  const name = select.selectedOptions[0]?.textContent.replace(/ \(no disponible\)$/, '') || 'El técnico';
  const btn = $('#people-invite');
  btn.disabled = true;
  const res = await api(roomPath(v) + 'participants/', { method: 'POST', body: { agent_id: target } });
  btn.disabled = false;
  if (!live(v) || res.status === 401) return;
  if (!res.ok) { toast(errorText(res, 'No se pudo invitar al técnico.'), 'error'); return; }
  select.value = '';
  applyPeople(v, res.data);
  toast(res.status === 201 ? name + ' se unió al chat (#' + v.c.id + ').' : name + ' ya estaba en el chat.', 'success');
}

async function remove(v, person, btn) {
  if (!live(v)) return;
  btn.disabled = true;
  const res = await api(roomPath(v) + 'participants/' + encodeURIComponent(person.id) + '/', { method: 'DELETE' });
  btn.disabled = false;
  if (!live(v) || res.status === 401) return;
  if (!res.ok) { toast(errorText(res, 'No se pudo quitar al técnico del chat.'), 'error'); return; }
  applyPeople(v, res.data);
  toast(person.nombre + ' ya no participa en el chat (#' + v.c.id + ').', 'success');
}

async function join() {
  const v = view;
  if (!v || v.busy) return;
  v.busy = true;
  const res = await api(roomPath(v) + 'join/', { method: 'POST', body: {} });
  if (!live(v)) return;
  v.busy = false;
  if (res.status === 401) return;
  if (!res.ok) { toast(errorText(res, 'No se pudo unir al chat.'), 'error'); return; }
  applyPeople(v, res.data);
  toast('Te uniste al chat del ticket #' + v.c.id + '.', 'success');
}

async function leave() {
  const v = view;
  if (!v || v.busy) return;
  const admin = session.agent()?.role === 'admin'; // un administrador lo sigue viendo
  const why = admin ? '' : ' Dejarás de verlo hasta que te vuelvan a invitar.';
  if (!window.confirm('¿Salir del chat del ticket #' + v.c.id + '?' + why)) return;
  v.busy = true; // el servidor cierra el WebSocket de quien sale: ese cierre no es «te quitaron»
  const res = await api(roomPath(v) + 'leave/', { method: 'POST', body: {} });
  if (!live(v)) return;
  v.busy = false;
  if (res.status === 401) return;
  if (!res.ok) { toast(errorText(res, 'No se pudo salir del chat.'), 'error'); return; }
  toast('Saliste del chat del ticket #' + v.c.id + '.', 'success');
  if (admin) { applyPeople(v, res.data); return; }
  hooks.close(v.c);
  loadTickets({ silent: true });
}

/**
 * El servidor ya no deja leer el chat `c` (403: quitaron a este técnico, o el chat pasó a otro): se cierra aquí, se
 * dice por qué y la lista deja de mostrarlo, en lugar de consultar y reconectar sin fin.
 */
export function accessLost(c) {
  const v = view;
  if (v && v.c === c && v.busy) return; // salió él mismo: leave() termina
  if (!hooks.close(c)) return;
  toast('Ya no participas en el chat del ticket #' + c.id + '.', 'warning', { title: 'Chat cerrado' });
  loadTickets({ silent: true });
}

/* ----- el chat abierto ----- */

/** El chat `c` se abrió y su conversación está cargada (c.ticket tiene su uuid). */
export function showParticipants(c) {
  hideParticipants();
  if (!c.ticket || !c.ticket.uuid) return;
  const v = {
    c, people: null, authors: new Map(), named: false, seq: 0, timer: null, authorTimer: null, busy: false,
    agentsRead: false, shown: null, offered: null,
  };
  view = v;
  loadPeople(v);
  loadAuthors(v, true);
}

/** El ticket del chat cambió (estado, responsable): los controles se recalculan. */
export function updateParticipants(c) {
  if (view && view.c === c && view.people) render(view);
}

/** Al cerrar el chat. */
export function hideParticipants() {
  if (view) { clearTimeout(view.timer); clearTimeout(view.authorTimer); }
  view = null;
  $('#chat-people').hidden = true;
  $('#people-list').replaceChildren();
  $('#people-owner').replaceChildren();
}

/** hooks: {close(c) → true si `c` era el chat abierto y se cerró}. */
export function setupParticipants(chatHooks) {
  hooks = chatHooks;
  $('#people-invite').addEventListener('click', invite);
  $('#people-join').addEventListener('click', join);
  $('#people-leave').addEventListener('click', leave);
}
