/* Mostrador (panel) — el chat en vivo de un ticket: conversación, envío con estado de entrega, WebSocket con
 * respaldo de consulta, «escribiendo…» y avisos de WhatsApp desconectado. Los archivos: chat-files.js; responder
 * citando un mensaje: chat-reply.js; la ventana de 24 h de WhatsApp y las plantillas: chat-window.js. */
import { api, errorText, isTransient, liveUrl } from '../lib/api.js';
import { Conversation, PEOPLE, ROLE_LABEL, applyFrame, autoGrow, bindComposer, fromConversation } from '../lib/conversation.js';
import { $, nearBottom } from '../lib/dom.js';
import { attachEmojiPicker } from '../lib/emoji.js';
import { truncate, uuid } from '../lib/format.js';
import { setLabel } from '../lib/icons.js';
import { LiveChannel, Typing, renderConnection } from '../lib/live-channel.js';
import { toast } from '../lib/toast.js';
import { hideAssignment, showAssignment, updateAssignment } from './assignment.js';
import { attachmentEl } from './attachments.js';
import { refreshAttach, resetChatFiles, setupChatFiles } from './chat-files.js';
import { setupChatLabels } from './chat-labels.js';
import { NOTE_PLACEHOLDER, isNoteMode, saveNote, setNoteMode, setupChatNotes } from './chat-notes.js';
import { cancelReply, setupChatReply, startReply, takeReply } from './chat-reply.js';
import { hideSla, refreshSla, showSla } from './chat-sla.js';
import {
  BLOCKED_PLACEHOLDER, applyWindow, isWindowRefusal, noteCustomerMessages, noteRefusals, noteWindow, resetChatWindow,
  setupChatWindow, windowRefused,
} from './chat-window.js';
import { openCustomerHistory } from './customer.js';
import { notifyCustomerMessage } from './desktop-notify.js';
import { openDialog } from './dialogs.js';
import { openEvidence } from './evidence.js';
import { labelChip } from './labels.js';
import { onLabelsEdited } from './labels-admin.js';
import {
  accessLost, hideParticipants, noteTechnicians, peopleChanged, setupParticipants, showParticipants, technicianName,
  updateParticipants,
} from './participants.js';
import * as session from './session.js';
import { renderTemplate } from './templates.js';
import { openTemplatesAdmin } from './templates-admin.js';
import {
  categoriaBadges, estadoBadge, loadTickets, outOfHoursBadge, remember, ticketById, ticketLabel,
} from './tickets.js';

/** Estados de entrega que aún pueden cambiar: la consulta los vuelve a leer. */
const TRACKED = new Set(['queued', 'retrying', 'waiting_bridge', 'sent', 'delivered']);
/** Mientras quede alguno así, el aviso «WhatsApp desconectado / en cola» sigue a la vista. */
const UNDELIVERED = new Set(['queued', 'retrying', 'waiting_bridge']);

/** El chat abierto: {id, ticket, conv, channel, markTimer, refreshTimer, window, refusedAt, sentTemplates, opener};
 * null si no hay ninguno. window: la ventana de 24 h (chat-window.js); refusedAt: cuándo WhatsApp rechazó por última
 * vez un mensaje por estar fuera de ella; sentTemplates: id del mensaje → {template, values} de las plantillas
 * enviadas desde aquí (para reintentarlas como plantilla); opener: adónde vuelve el foco al cerrar el chat. */
let chat = null;
/**
 * Borradores por ticket: lo escrito y no enviado sigue ahí al volver a abrir el chat y tras recargar la página
 * (localStorage, una clave por técnico y ticket: `mostrador.draft.<usuario>.<ticket>`). Se borra al enviar y todos
 * al cerrar sesión (o al arrancar sin sesión): nada queda guardado de una sesión cerrada.
 */
const DRAFT_PREFIX = 'mostrador.draft.';
const drafts = {
  key(id) { const u = session.user(); return u ? DRAFT_PREFIX + u.id + '.' + id : null; },
  get(id) {
    const k = this.key(id);
    try { return (k && localStorage.getItem(k)) || ''; } catch (e) { return ''; }
  },
  set(id, value) {
    const k = this.key(id);
    if (!k) return;
    try { if (value) localStorage.setItem(k, value); else localStorage.removeItem(k); } catch (e) { /* sin almacenamiento */ }
  },
  delete(id) { this.set(id, ''); },
};

/** Borra todos los borradores guardados (de cualquier técnico) de este navegador. */
export function clearDrafts() {
  try {
    const keys = [];
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (k && k.startsWith(DRAFT_PREFIX)) keys.push(k);
    }
    keys.forEach((k) => localStorage.removeItem(k));
  } catch (e) { /* sin almacenamiento */ }
}
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
    // extra.technician(m): el nombre del técnico, cuando el chat tiene más de uno (panel/participants.js).
    author: (m) => (m.role === 'user' ? getTicket()?.nombre || ROLE_LABEL.user
      : (m.role === 'tecnico' && extra.technician?.(m)) || ROLE_LABEL[m.role]),
    attachment: attachmentEl,
    quoteAuthor,
    onQuoteMissing: () => toast('El mensaje citado no está en la conversación cargada.', 'info'),
    ...extra,
  };
}

/** Abre el chat del ticket si no es el que ya está abierto (un aviso de escritorio pulsado). */
export function showChat(ticketId) {
  if (chat && chat.id === ticketId && $('#chat-modal').open) return;
  openChat(ticketId, null);
}

/** Tras un cambio hecho desde otro lugar (notificar, asignar): consultar ya. */
export function refreshChat(ticketId) { if (chat && chat.id === ticketId) chat.channel?.pollNow(); }

export async function openChat(ticketId, opener) {
  let back = opener || document.activeElement;
  // Otro ticket abierto desde el propio chat (el historial del cliente): al cerrar, el foco vuelve adonde estaba
  // antes del primero (la fila de la lista, la campana), no a un botón de un diálogo ya cerrado.
  if (chat && back?.closest?.('dialog')) back = chat.opener;
  if (chat) closeChat();
  const c = {
    id: ticketId, ticket: ticketById(ticketId), channel: null, markTimer: null, refreshTimer: null, window: null,
    refusedAt: null, sentTemplates: new Map(), opener: back,
  };
  c.conv = new Conversation($('#chat-messages'), panelView(() => c.ticket, {
    onRetry: (m) => retry(c, m),
    onStatus: (m) => { clearSendAlertIfDelivered(c); onDeliveryStatus(c, m); },
    onReply: (m) => { if (chat === c) startReply(m); },
    technician: (m) => technicianName(c, m),
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
  showSla(c); // los plazos de la política de SLA del ticket (panel/chat-sla.js)
  openDialog($('#chat-modal'), back);
  input.focus();

  const res = await api('/ticket/' + ticketId + '/conversacion');
  if (chat !== c) return;
  if (res.ok) {
    applyConversation(c, res.data);
    c.conv.scrollToEnd();
    c.loaded = true;
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
  if (res.ok) showParticipants(c);
}

function closeChat() {
  const c = chat;
  if (!c) return;
  resetChatFiles(); // antes de soltar el chat: un comentario sin enviar vuelve a su borrador
  cancelReply(); // la cita era de este chat
  setNoteMode(false); // cada chat empieza escribiendo al cliente
  resetChatWindow();
  hideParticipants();
  hideSla();
  chat = null;
  typing.reset();
  c.channel?.stop();
  clearTimeout(c.markTimer);
  clearTimeout(c.refreshTimer);
  for (const id of ['chat-modal', 'evidence-modal', 'customer-modal', 'lightbox', 'ticket-labels-modal']) {
    const d = document.getElementById(id);
    if (d.open) d.close();
  }
}

async function poll(c) {
  if (chat !== c) return true;
  const res = await api('/ticket/' + c.id + '/conversacion?desde=' + c.conv.cursor());
  if (chat !== c) return true;
  if (res.status === 403) { accessLost(c); return true; } // ya no participa en el chat (panel/participants.js)
  if (!res.ok) return !isTransient(res);
  applyConversation(c, res.data);
  c.loaded = true;
  return true;
}

/** La respuesta de GET /ticket/{id}/conversacion: {historial, ticket, ventana_whatsapp (WhatsApp)}. */
function applyConversation(c, data) {
  const before = c.ticket?.estado;
  c.ticket = data.ticket;
  remember(data.ticket);
  // El estado cambió (respondió el técnico o el cliente, se resolvió, se cerró): la lista también lo dice ya.
  if (before && before !== data.ticket.estado) {
    loadTickets({ silent: true });
    refreshSla(c); // una primera respuesta o una resolución pueden haber cumplido un plazo
  }
  noteWindow(c, data.ventana_whatsapp, data.historial);
  updateHeader(c);
  onAdded(c, c.conv.merge(data.historial.map(fromConversation), true));
}

function onAdded(c, added) {
  noteTechnicians(c, added);
  const fromCustomer = added.filter((m) => m.role === 'user');
  if (fromCustomer.length) {
    // Lo que ya estaba al abrir el chat no es «nuevo»: solo avisan los que llegan después (y con la pestaña oculta).
    if (c.loaded) notifyCustomerMessage(c.id, c.ticket?.nombre, fromCustomer[fromCustomer.length - 1].content);
    typing.hide();
    markRead(c);
    // El cliente escribió: la ventana de 24 h vuelve a abrirse.
    if (noteCustomerMessages(c, added)) updateComposer(c);
  }
  if (added.some((m) => m.role === 'tecnico' && m.estado_entrega === 'failed')) {
    noteRefusals(c, added);
    updateComposer(c);
  }
}

/** Un mensaje del técnico cambió de estado: si WhatsApp lo rechazó por estar fuera de la ventana de 24 h, el
 * compositor pasa a plantillas. */
function onDeliveryStatus(c, m) {
  if (chat !== c || m.role !== 'tecnico' || m.estado_entrega !== 'failed' || !isWindowRefusal(m.error_entrega)) return;
  windowRefused(c, m.timestamp);
  updateComposer(c);
}

/**
 * Un mensaje nuevo por el WebSocket puede cambiar el estado del ticket (el técnico escribió: esperando al cliente;
 * el cliente respondió: abierto; la nota de resuelto o cerrado): la trama no trae el ticket, así que se vuelve a
 * leer la conversación en un momento (una sola vez por ráfaga) y la cabecera se redibuja con `ticket.estado`.
 */
function refreshTicketSoon(c) {
  clearTimeout(c.refreshTimer);
  c.refreshTimer = setTimeout(() => { if (chat === c) c.channel?.pollNow(); }, 250);
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
  // What the intake read: the device, its asset or serial number, where the customer is.
  const equipo = $('#chat-equipo');
  const detalle = [t.equipo, t.activo && 'Activo/serie ' + t.activo, t.ubicacion].filter(Boolean).join(' · ');
  if (detalle) setLabel(equipo, 'laptop', truncate(detalle, 120));
  equipo.title = detalle;
  equipo.hidden = !detalle;
  // «Fuera de horario»: el primer mensaje del cliente llegó fuera del horario de atención (panel/hours-admin.js).
  $('#chat-badges').replaceChildren(...(t.estado ? [estadoBadge(t.estado), categoriaBadges(t)] : []),
    ...(t.fuera_de_horario ? [outOfHoursBadge()] : []));
  // Las etiquetas del ticket (panel/labels.js); «Etiquetas» las cambia (panel/chat-labels.js).
  const etiquetas = Array.isArray(t.etiquetas) ? t.etiquetas : [];
  $('#chat-labels').replaceChildren(...etiquetas.map(labelChip));
  $('#chat-labels').hidden = !etiquetas.length;
  $('#chat-labels-btn').disabled = !c.ticket;
  // «Historial del cliente»: en cuanto se sabe quién es (cliente_id llega con el ticket).
  $('#chat-customer-btn').disabled = t.cliente_id === undefined || t.cliente_id === null;
  updateComposer(c);
  if (c.ticket) { updateAssignment(c.ticket); updateParticipants(c); }
}

/** El compositor según el ticket (cerrado: nada se envía) y la ventana de 24 h (cerrada: solo plantillas). */
function updateComposer(c) {
  if (chat !== c) return;
  const closed = c.ticket?.estado === 'closed';
  const templatesOnly = applyWindow(c, closed);
  if (closed || templatesOnly) cancelReply();
  // Cerrado, no se puede responder: las burbujas no ofrecen «Responder» (styles.css); con solo plantillas tampoco
  // (una plantilla no cita).
  $('#chat-messages').classList.toggle('is-closed', closed);
  const input = $('#chat-input');
  // Una nota no sale a WhatsApp: se escribe también con la ventana cerrada o el ticket cerrado.
  const note = isNoteMode();
  input.disabled = !note && (closed || templatesOnly);
  $('#chat-send').disabled = !note && (closed || templatesOnly);
  input.placeholder = note ? NOTE_PLACEHOLDER : closed ? 'El ticket está cerrado; no se pueden enviar mensajes.'
    : templatesOnly ? BLOCKED_PLACEHOLDER : 'Escribe un mensaje para el cliente…';
  // Con solo plantillas, el lector de pantalla dice por qué el texto está deshabilitado (la línea de la ventana).
  input.setAttribute('aria-describedby', templatesOnly ? 'chat-window chat-hint' : 'chat-hint');
  c.templatesOnly = templatesOnly;
  refreshAttach();
}

const WINDOW_FILES = 'Ventana de 24 h cerrada: WhatsApp no entregaría el archivo; solo se pueden enviar plantillas aprobadas.';
const WINDOW_TEXT = 'Ventana de 24 h cerrada: WhatsApp no entregaría este texto; envía una plantilla aprobada.';

function setConnMode(mode) {
  renderConnection($('#connection-status'), mode);
  // «Reconectar»: solo sin WebSocket (consultando cada 5 s o sin conexión), y solo con el canal ya en marcha.
  $('#chat-reconnect').hidden = mode === 'websocket' || !chat?.channel;
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
  if (isNoteMode()) { await sendNote(c, text); return; }
  const cid = clientId || uuid();
  const p = c.conv.addPending(text, cid, quote);
  typing.stop();

  const body = { mensaje: text, client_id: cid };
  if (quote) body.responde_a = quote.id;
  const res = await api('/ticket/' + c.id + '/enviar-mensaje', { method: 'POST', body, timeout: 30000 });
  if (chat !== c || res.status === 401) return;
  if (settle(c, p, res)) return;
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

/**
 * El mensaje pendiente `p` quedó guardado según la respuesta `res` de enviar-mensaje o enviar-plantilla (200, o
 * 502/503/504 con `guardado`): la burbuja toma su id y su estado. false si no se guardó (o no se sabe).
 */
function settle(c, p, res) {
  const d = res.data || {};
  const id = d.mensaje_id;
  if (res.ok) {
    // Web: sin estado de entrega (guardado); WhatsApp: el veredicto del puente.
    c.conv.bind(p, id, { estado_entrega: d.estado_entrega ?? null });
    if (sendAlertShown()) hideChatAlert();
    refreshTicketSoon(c); // el ticket pasa a «Esperando al cliente»
    return true;
  }
  if (d.guardado && res.status === 503) {
    c.conv.bind(p, id, { estado_entrega: d.estado_entrega });
    showChatAlert('WhatsApp desconectado: el mensaje se guardó y se reenviará automáticamente.', 'warning', 'send');
    return true;
  }
  if (d.guardado && res.status === 504) {
    c.conv.bind(p, id, { estado_entrega: d.estado_entrega });
    showChatAlert('WhatsApp no respondió a tiempo: el mensaje sigue en cola y se enviará automáticamente.', 'info', 'send');
    return true;
  }
  if (d.guardado && res.status === 502) {
    const reason = errorText(res, 'WhatsApp rechazó el mensaje');
    c.conv.bind(p, id, { estado_entrega: 'failed', error_entrega: reason });
    toast(reason, 'error', { title: 'Mensaje no entregado' });
    if (isWindowRefusal(reason)) {
      // Fuera de la ventana de 24 h: desde ahora solo plantillas (la línea bajo la cabecera dice por qué).
      windowRefused(c, p.msg.timestamp, true);
      updateComposer(c);
    }
    return true;
  }
  return false;
}

/**
 * Envía la plantilla aprobada `t` con sus valores (POST /ticket/{id}/enviar-plantilla): una burbuja del técnico con
 * el texto final, que sigue como la de un texto (enviando, ✓, ⏸, ❌). Devuelve {keep: true} si no se guardó y los
 * datos deben quedarse en el formulario, {reload: true} si la lista de plantillas ya no es la del servidor.
 */
async function sendTemplate(c, t, values, clientId = null) {
  const text = renderTemplate(t.cuerpo, values).trim();
  const cid = clientId || uuid();
  const p = c.conv.addPending(text, cid);
  p.msg.plantilla = { template: t, values };
  typing.stop();
  const body = { plantilla_id: t.id, parametros: values, client_id: cid };
  const res = await api('/ticket/' + c.id + '/enviar-plantilla', { method: 'POST', body, timeout: 30000 });
  if (chat !== c || res.status === 401) return { keep: true };
  if (settle(c, p, res)) {
    if (res.data && res.data.mensaje_id !== undefined) c.sentTemplates.set(res.data.mensaje_id, p.msg.plantilla);
    return {};
  }
  if ([400, 404, 409].includes(res.status)) {
    // No se guardó nada (una plantilla que ya no está aprobada, un dato que no vale, el ticket cerrado): el aviso
    // dice por qué, como en los demás envíos, y los datos siguen en el formulario para corregirlos.
    c.conv.discard(p.msg);
    showChatAlert(errorText(res, 'No se pudo enviar la plantilla'), 'error');
    if (res.status === 400 && /cerrado/i.test(errorText(res))) c.channel?.pollNow();
    return { keep: true, reload: res.status !== 400 };
  }
  // No se guardó (o no se sabe): ❌ con el motivo; reintentar con el mismo client_id es seguro.
  const maybeSaved = isTransient(res) || res.status === 429;
  c.conv.fail(p, errorText(res, 'No se pudo enviar la plantilla'), { retryable: maybeSaved, maybeSaved });
  return {};
}

function retry(c, m) {
  if (chat !== c) return;
  const template = m.plantilla || c.sentTemplates.get(m.id);
  if (template) {
    if (m.localStatus === 'error') {
      c.conv.discard(m);
      sendTemplate(c, template.template, template.values, m.clientId);
    } else {
      c.conv.markRetried(m);
      sendTemplate(c, template.template, template.values);
    }
    return;
  }
  if (c.templatesOnly) {
    // Fuera de la ventana de 24 h un texto volvería a rechazarse: se dice por qué y no se reenvía.
    showChatAlert(WINDOW_TEXT, 'warning', 'window');
    $('#chat-template-form').querySelector('select, input, button')?.focus();
    return;
  }
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
  if (added) {
    onAdded(c, added);
    if (added.length) refreshTicketSoon(c);
  } else if (tipo === 'estado_entrega') {
    const fields = { estado_entrega: d.estado_entrega, intento: d.intento, error_entrega: d.error_entrega };
    if (!c.conv.updateStatus(d.mensaje_id, fields)) c.channel.pollNow();
  } else if (PEOPLE.has(tipo)) {
    c.channel.pollNow();
    peopleChanged(c);
  }
}

/** Guarda una nota privada: aparece en la conversación (solo para técnicos) al llegar del servidor. */
async function sendNote(c, text) {
  const saved = await saveNote(c, text);
  if (chat !== c) return;
  if (!saved.ok) {
    giveBack(c, text);
    showChatAlert(saved.reason, 'error');
    return;
  }
  toast(saved.mentioned.length ? 'Nota guardada; se avisó a ' + saved.mentioned.map((u) => '@' + u).join(', ')
    : 'Nota privada guardada', 'success');
  c.channel?.pollNow();
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
      // Escribir una nota no es «escribiendo…» para el cliente.
      if (!isNoteMode()) typing.input(value);
    },
  });
  attachEmojiPicker($('#chat-input'));
  setupChatNotes(() => { if (chat) updateComposer(chat); });
  setupChatReply({ author: quoteAuthor });
  setupChatFiles({
    current: () => chat,
    alert: (text, kind) => showChatAlert(text, kind, 'file'),
    clearAlert: () => { if (alertShown('file')) hideChatAlert(); },
    blocked: (c) => (c && c.templatesOnly ? WINDOW_FILES : null),
  });
  setupChatWindow({
    current: () => chat,
    refresh: (c) => updateComposer(c),
    send: (c, t, values) => sendTemplate(c, t, values),
    isAdmin: () => session.agent()?.role === 'admin',
    manage: (opener) => openTemplatesAdmin(opener),
  });
  setupParticipants({ close: (c) => { if (!c || chat !== c) return false; closeChat(); return true; } });
  setupChatLabels({
    current: () => chat,
    // Guardadas: la cabecera ya las muestra y la lista también (su fila se vuelve a dibujar).
    saved: (c, etiquetas) => {
      if (chat !== c) return;
      c.ticket = { ...c.ticket, etiquetas };
      remember(c.ticket);
      updateHeader(c);
      loadTickets({ silent: true });
    },
  });
  // Un administrador renombró, recoloreó o borró una etiqueta: la cabecera la muestra como quedó.
  onLabelsEdited(() => chat?.channel?.pollNow());
  $('#chat-reconnect').addEventListener('click', () => {
    chat?.channel?.reconnectNow();
  });
  // Lo que llegó con la pestaña oculta se marca leído al volver a ella.
  document.addEventListener('visibilitychange', () => { if (chat && !document.hidden) markRead(chat); });
  $('#chat-close').addEventListener('click', closeChat);
  $('#chat-modal').addEventListener('close', () => { if (chat && !$('#chat-modal').open) closeChat(); });
  $('#chat-alert-close').addEventListener('click', hideChatAlert);
  $('#chat-evidence-btn').addEventListener('click', (ev) => { if (chat) openEvidence(chat.id, chat.ticket, ev.currentTarget); });
  $('#chat-customer-btn').addEventListener('click', (ev) => {
    const c = chat;
    if (!c || !c.ticket || c.ticket.cliente_id === undefined || c.ticket.cliente_id === null) return;
    openCustomerHistory(c.ticket.cliente_id, {
      current: c.id,
      opener: ev.currentTarget,
      // Un ticket del historial: su chat, en lugar del que estaba abierto.
      openTicket: (id) => { if (id !== c.id || chat !== c) openChat(id, c.opener); },
    });
  });
}

/** Al cerrar sesión. */
export function forgetChats() {
  closeChat();
  clearDrafts();
  const input = $('#chat-input');
  input.value = ''; // lo escrito en la sesión que se cerró no se queda en la página
  autoGrow(input);
}
