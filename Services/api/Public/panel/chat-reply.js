/* Mostrador (panel) — responder citando un mensaje. «Responder» en una burbuja (lib/conversation.js) abre la
 * franja «Respondiendo a: …» sobre el compositor; el próximo texto que se envíe lleva `responde_a` (el id del
 * mensaje citado) y la franja se quita. También se quita con su ✕, con Esc y al cambiar de chat. Por WhatsApp el
 * cliente ve la cita como una respuesta normal de WhatsApp. Los archivos no llevan cita: la franja espera al texto. */
import { quoteOf } from '../lib/conversation.js';
import { $ } from '../lib/dom.js';

/** La cita del próximo mensaje: {id, role, contenido}; null si no se está respondiendo. */
let replying = null;
/** Lo que presta el chat (setupChatReply): author(role) → quién escribió el mensaje citado. */
let hooks = null;

/** La cita que llevará el próximo mensaje, o null. */
export function replyQuote() { return replying; }

/** Responder a `m` (un mensaje ya guardado): muestra la franja y deja el foco en el compositor. */
export function startReply(m) {
  const input = $('#chat-input');
  if (input.disabled || m.id === null || m.role === 'system') return;
  replying = quoteOf(m);
  $('#chat-reply-author').textContent = hooks.author(m.role);
  $('#chat-reply-text').textContent = replying.contenido.trim() || '(sin texto)';
  const strip = $('#chat-reply');
  strip.dataset.role = m.role;
  strip.hidden = false;
  input.focus();
}

/** Quita la franja: cancelada (✕, Esc), enviada (takeReply), otro chat o ticket cerrado. */
export function cancelReply() {
  replying = null;
  $('#chat-reply').hidden = true;
  $('#chat-reply-author').textContent = '';
  $('#chat-reply-text').textContent = '';
}

/** La cita del mensaje que se envía ahora (o null): se devuelve y la franja se quita. */
export function takeReply() {
  const quote = replying;
  cancelReply();
  return quote;
}

/** Esc en el compositor o en la franja cancela la respuesta (y no cierra el chat); sin respuesta, cierra. */
function onEscape(ev) {
  if (ev.key !== 'Escape' || !replying || ev.isComposing) return;
  ev.preventDefault();
  ev.stopPropagation();
  cancelReply();
  $('#chat-input').focus();
}

/** hooks: {author(role)} (ver arriba). */
export function setupChatReply(chatHooks) {
  hooks = chatHooks;
  $('#chat-reply-cancel').addEventListener('click', () => {
    cancelReply();
    $('#chat-input').focus();
  });
  $('#chat-input').addEventListener('keydown', onEscape);
  $('#chat-reply').addEventListener('keydown', onEscape);
}
