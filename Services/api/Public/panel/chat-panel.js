/* Mostrador (panel) — el chat en vivo de un ticket: conversación, envío con estado de entrega, WebSocket con
 * respaldo de consulta, «escribiendo…» y avisos de WhatsApp desconectado. Los archivos: chat-files.js; responder
 * citando un mensaje: chat-reply.js. */
import { api, errorText, isTransient, liveUrl } from '../lib/api.js';
import { Conversation, PEOPLE, ROLE_LABEL, applyFrame, autoGrow, bindComposer, fromConversation } from '../lib/conversation.js';
import { $, nearBottom } from '../lib/dom.js';
import { truncate, uuid } from '../lib/format.js';
import { setLabel } from '../lib/icons.js';
import { LiveChannel, Typing, renderConnection } from '../lib/live-channel.js';
import { toast } from '../lib/toast.js';
import { hideAssignment, showAssignment, updateAssignment } from './assignment.js';
import { attachmentEl } from './attachments.js';
import { refreshAttach, resetChatFiles, setupChatFiles } from './chat-files.js';
import { cancelReply, setupChatReply, startReply, takeReply } from './chat-reply.js';
import { openDialog } from './dialogs.js';
import { openEvidence } from './evidence.js';
import { categoriaBadges, estadoBadge, remember, ticketById, ticketLabel } from './tickets.js';

/** Estados de entrega que aún pueden cambiar: la consulta los vuelve a leer. */
const TRACKED = new Set(['queued', 'retrying', 'waiting_bridge', 'sent', 'delivered']);
/** Mientras quede alguno así, el aviso «WhatsApp desconectado / en cola» sigue a la vista. */
const UNDELIVERED = new Set(['queued', 'retrying', 'waiting_bridge']);

/** El chat abierto: {id, ticket, conv, channel, markTimer}; null si no hay ninguno. */
let chat = null;
/** Borradores por ticket: lo escrito y no enviado sigue ahí al volver a abrir el chat. */
const drafts = new Map();
const typing = new Typing(document.getElementById('typing-indicator'));

/** Quién escribió un mensaje citado, visto desde el panel: Cliente, Técnico (puede ser otro), Asistente. */
function quoteAuthor(role) { return ROLE_LABEL[role] || 'Sistema'; }

/** Cómo se ve una conversación en el panel (también el historial, sin onRetry ni onReply). */
export function panelView(getTicket, extra = {}) {
  return {
    own: 'tecnico',
    outgoing: ['tecnico', 'assistant'],
    status: (m) => m.localStatus || m.estado_entrega || 'stored',
    tracked: (m) => TRACKED.has(m.estado_entrega),
    author: (m) => (m.role === 'user' ? getTicket()?.nombre || ROLE_LABEL.user : ROLE_LABEL[m.role]),
    attachment: attachmentEl,
    quoteAuthor,
    onQuoteMissing: () => toast('El mensaje citado no está en la conversación cargada.', 'info'),
    ...extra,
  };
}

/** Tras un cambio hecho desde otro lugar (notificar, asignar): consultar ya. */
export function refreshChat(ticketId) { if (chat && chat.id === ticketId) chat.channel?.pollNow(); }

export async function openChat(ticketId, opener) {
  if (chat) closeChat();
  const c = { id: ticketId, ticket: ticketById(ticketId), channel: null, markTimer: null };
  c.conv = new Conversation($('#chat-messages'), panelView(() => c.ticket, {
    onRetry: (m) => retry(c, m),
    onStatus: () => clearSendAlertIfDelivered(c),
    onReply: (m) => { if (chat === c) startReply(m); },
  }));
  chat = c;
  c.conv.placeholder('Cargando conversación…');
  hideChatAlert();
  typing.hide();
  hideAssignment();
  const input = $('#chat-input');
  input.value = drafts.get(ticketId) || '';
  autoGrow(input);
  setConnMode('polling');
  updateHeader(c);
  openDialog($('#chat-modal'), opener || document.activeElement);
  input.focus();

  const res = await api('/ticket/' + ticketId + '/conversacion');
  if (chat !== c) return;
  if (res.ok) {
    applyConversation(c, res.data);
    c.conv.scrollToEnd();
    if (!c.conv.size) c.conv.placeholder('Aún no hay mensajes en este ticket.');
  } else {
    if (res.status === 401) return;
    c.conv.placeholder(res.status === 404 ? 'Ticket no encontrado.' : 'No se pudo cargar la conversación: ' + errorText(res));
    if (res.status === 404) { setConnMode('offline'); return; }
  }
  c.channel = new LiveChannel({
    url: () => liveUrl(ticketId),
    poll: () => poll(c),
    onFrame: (tipo, data) => onFrame(c, tipo, data),
    onMode: (mode) => { if (chat === c) setConnMode(mode); },
    onOpen: () => poll(c),
  });
  typing.channel = c.channel;
  c.channel.start(res.ok || !isTransient(res));
  showAssignment(c.id, c.ticket, () => c.channel.pollNow());
}

function closeChat() {
  const c = chat;
  if (!c) return;
  resetChatFiles(); // antes de soltar el chat: un comentario sin enviar vuelve a su borrador
  cancelReply(); // la cita era de este chat
  chat = null;
  typing.reset();
  c.channel?.stop();
  clearTimeout(c.markTimer);
  for (const id of ['chat-modal', 'evidence-modal', 'lightbox']) {
    const d = document.getElementById(id);
    if (d.open) d.close();
  }
}

async function poll(c) {
  if (chat !== c) return true;
  const res = await api('/ticket/' + c.id + '/conversacion?desde=' + c.conv.cursor());
  if (chat !== c) return true;
  if (!res.ok) return !isTransient(res);
  applyConversation(c, res.data);
  return true;
}

/** La respuesta de GET /ticket/{id}/conversacion: {historial, ticket}. */
function applyConversation(c, data) {
  c.ticket = data.ticket;
  remember(data.ticket);
  updateHeader(c);
  onAdded(c, c.conv.merge(data.historial.map(fromConversation), true));
}

function onAdded(c, added) {
  if (added.some((m) => m.role === 'user')) {
    typing.hide();
    markRead(c);
  }
}

/** Los mensajes del cliente se marcan leídos mientras el chat está abierto (el cliente web ve ✓✓). */
function markRead(c) {
  if (document.hidden || !c.ticket) return;
  clearTimeout(c.markTimer);
  c.markTimer = setTimeout(() => {
    if (chat === c) api('/api/messages/mark_chat_read/', { method: 'POST', body: { chat_room_id: c.ticket.uuid } });
  }, 800);
}

/* ----- cabecera y avisos ----- */

function updateHeader(c) {
  const t = c.ticket || {};
  $('#chat-ticket-id').textContent = String(c.id);
  const lbl = ticketLabel(c.ticket);
  $('#chat-customer').textContent = lbl.nombre;
  $('#chat-phone').textContent = lbl.telefono;
  const equipo = $('#chat-equipo');
  if (t.equipo) setLabel(equipo, 'laptop', truncate(t.equipo, 80));
  equipo.title = t.equipo || '';
  equipo.hidden = !t.equipo;
  $('#chat-badges').replaceChildren(...(t.estado ? [estadoBadge(t.estado), categoriaBadges(t)] : []));
  const closed = t.estado === 'closed';
  if (closed) cancelReply();
  // Cerrado, no se puede responder: las burbujas no ofrecen «Responder» (styles.css).
  $('#chat-messages').classList.toggle('is-closed', closed);
  const input = $('#chat-input');
  input.disabled = closed;
  $('#chat-send').disabled = closed;
  input.placeholder = closed ? 'El ticket está cerrado; no se pueden enviar mensajes.' : 'Escribe un mensaje para el cliente…';
  refreshAttach();
  if (c.ticket) updateAssignment(c.ticket);
}

function setConnMode(mode) {
  renderConnection($('#connection-status'), mode);
  refreshAttach();
}

/** tag 'send': el aviso es del envío y se quita solo cuando todo se entregó; 'file': de un archivo, se quita
 * cuando se elige o se envía uno. */
function showChatAlert(text, kind, tag) {
  // El aviso le quita altura a la conversación: que el último mensaje (y su estado) siga a la vista.
  const log = $('#chat-messages');
  const stick = nearBottom(log);
  const box = $('#chat-alert');
  box.className = 'banner banner-' + kind;
  box.dataset.kind = tag || '';
  $('#chat-alert-text').textContent = text;
  $('#chat-alert-wrap').hidden = false;
  if (stick) log.scrollTop = log.scrollHeight;
}

function hideChatAlert() { $('#chat-alert-wrap').hidden = true; }

function alertShown(tag) { return !$('#chat-alert-wrap').hidden && $('#chat-alert').dataset.kind === tag; }

function sendAlertShown() { return alertShown('send'); }

function clearSendAlertIfDelivered(c) {
  if (chat !== c || !sendAlertShown()) return;
  for (const m of c.conv.messages()) if (c.conv.isOutgoing(m) && UNDELIVERED.has(c.conv.view.status(m))) return;
  hideChatAlert();
}

/* ----- envío ----- */

/** Un texto que no se envió vuelve al compositor (delante de lo que se haya escrito después) y a su borrador. */
function giveBack(c, text) {
  const input = $('#chat-input');
  input.value = [text, input.value].filter((t) => t.trim()).join('\n');
  autoGrow(input);
  drafts.set(c.id, input.value);
}

/** quote: la cita ({id, role, contenido}) si responde a un mensaje; viaja como `responde_a` y se conserva al
 * reintentar (la burbuja la guarda). */
async function send(c, text, clientId, quote = null) {
  text = text.trim();
  if (!text) return;
  if (text.length > 4096) { showChatAlert('El mensaje excede 4096 caracteres.', 'error'); return; }
  const cid = clientId || uuid();
  const p = c.conv.addPending(text, cid, quote);
  typing.stop();

  const body = { mensaje: text, client_id: cid };
  if (quote) body.responde_a = quote.id;
  const res = await api('/ticket/' + c.id + '/enviar-mensaje', { method: 'POST', body, timeout: 30000 });
  if (chat !== c || res.status === 401) return;
  const d = res.data || {};
  const id = d.mensaje_id;
  if (res.ok) {
    // Web: sin estado de entrega (guardado); WhatsApp: el veredicto del puente.
    c.conv.bind(p, id, { estado_entrega: d.estado_entrega ?? null });
    if (sendAlertShown()) hideChatAlert();
    return;
  }
  if (d.guardado && res.status === 503) {
    c.conv.bind(p, id, { estado_entrega: d.estado_entrega });
    showChatAlert('WhatsApp desconectado: el mensaje se guardó y se reenviará automáticamente.', 'warning', 'send');
    return;
  }
  if (d.guardado && res.status === 504) {
    c.conv.bind(p, id, { estado_entrega: d.estado_entrega });
    showChatAlert('WhatsApp no respondió a tiempo: el mensaje sigue en cola y se enviará automáticamente.', 'info', 'send');
    return;
  }
  if (d.guardado && res.status === 502) {
    const reason = errorText(res, 'WhatsApp rechazó el mensaje');
    c.conv.bind(p, id, { estado_entrega: 'failed', error_entrega: reason });
    toast(reason, 'error', { title: 'Mensaje no entregado' });
    return;
  }
  if (quote && res.status === 400 && !/cerrado/i.test(errorText(res))) {
    // El servidor no aceptó la cita (p. ej. el mensaje citado no es de este ticket) y no guardó nada: el aviso
    // dice por qué y el texto vuelve al compositor, sin la cita, para enviarlo como mensaje normal.
    c.conv.discard(p.msg);
    giveBack(c, text);
    showChatAlert(errorText(res, 'No se pudo enviar la respuesta'), 'error');
    return;
  }
  // No se guardó (o no se sabe): ❌ con el motivo. Un corte de red o un 5xx pudo haberlo guardado:
  // reintentar con el mismo client_id es seguro.
  const maybeSaved = isTransient(res) || res.status === 429;
  c.conv.fail(p, errorText(res, 'No se pudo enviar'), { retryable: maybeSaved, maybeSaved });
  if (res.status === 400 && /cerrado/i.test(errorText(res))) c.channel?.pollNow();
}

function retry(c, m) {
  if (chat !== c) return;
  if (m.localStatus === 'error') {
    // Nunca llegó al historial (o no se sabe): reenviar con el mismo client_id (idempotente) y la misma cita.
    c.conv.discard(m);
    send(c, m.content, m.clientId, m.responde_a);
    return;
  }
  // Rechazado por WhatsApp: es un mensaje nuevo, con un client_id nuevo (y la misma cita).
  c.conv.markRetried(m);
  send(c, m.content, null, m.responde_a);
}

/* ----- tramas del WebSocket (guía 003) ----- */

function onFrame(c, tipo, d) {
  if (chat !== c) return;
  const added = applyFrame(c.conv, typing, 'CLIENTE', tipo, d);
  if (added) onAdded(c, added);
  else if (tipo === 'estado_entrega') {
    const fields = { estado_entrega: d.estado_entrega, intento: d.intento, error_entrega: d.error_entrega };
    if (!c.conv.updateStatus(d.mensaje_id, fields)) c.channel.pollNow();
  } else if (PEOPLE.has(tipo)) c.channel.pollNow();
}

/* ----- arranque ----- */

export function setupChatPanel() {
  bindComposer($('#chat-form'), $('#chat-input'), {
    send: (text) => {
      if (!chat) return;
      drafts.delete(chat.id);
      send(chat, text, null, takeReply());
    },
    input: (value) => {
      if (!chat) return;
      if (value) drafts.set(chat.id, value); else drafts.delete(chat.id);
      typing.input(value);
    },
  });
  setupChatReply({ author: quoteAuthor });
  setupChatFiles({
    current: () => chat,
    alert: (text, kind) => showChatAlert(text, kind, 'file'),
    clearAlert: () => { if (alertShown('file')) hideChatAlert(); },
  });
  $('#chat-close').addEventListener('click', closeChat);
  $('#chat-modal').addEventListener('close', () => { if (chat && !$('#chat-modal').open) closeChat(); });
  $('#chat-alert-close').addEventListener('click', hideChatAlert);
  $('#chat-evidence-btn').addEventListener('click', (ev) => { if (chat) openEvidence(chat.id, chat.ticket, ev.currentTarget); });
}

/** Al cerrar sesión. */
export function forgetChats() {
  closeChat();
  drafts.clear();
}
