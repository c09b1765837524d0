// Notas privadas: el compositor del chat cambia a «nota» (solo la ven los técnicos; nunca llega al cliente).
import { api, errorText } from '../lib/api.js';
import { $ } from '../lib/dom.js';

let noteMode = false;

export const NOTE_PLACEHOLDER = 'Nota privada: solo la ven los técnicos (usa @usuario para avisar a un compañero)…';

export function isNoteMode() { return noteMode; }

/** Activa o desactiva el modo nota; onChange() vuelve a dibujar el compositor. */
export function setNoteMode(on, onChange = () => {}) {
  noteMode = on;
  const toggle = $('#chat-note-toggle');
  toggle.setAttribute('aria-pressed', String(on));
  toggle.classList.toggle('is-active', on);
  $('#chat-form').classList.toggle('is-note', on);
  $('#chat-send').lastChild.textContent = on ? ' Guardar nota' : ' Enviar';
  onChange();
}

export function setupChatNotes(onChange) {
  $('#chat-note-toggle').addEventListener('click', () => {
    setNoteMode(!noteMode, onChange);
    $('#chat-input').focus();
  });
}

/** Guarda la nota del ticket `c`; devuelve null si se guardó o el motivo si no. */
export async function saveNote(c, text) {
  const res = await api('/api/tickets/' + c.id + '/notes', { method: 'POST', body: { content: text }, timeout: 15000 });
  if (res.ok) {
    const mentioned = res.data?.mencionados || [];
    return { ok: true, mentioned };
  }
  return { ok: false, reason: errorText(res, 'No se pudo guardar la nota') };
}
