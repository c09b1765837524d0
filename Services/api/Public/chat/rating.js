/* Mostrador — chat de invitados: la encuesta de satisfacción (CSAT). Cuando el chat queda resuelto (el estado de
 * get_chat_status, que la página ya consulta y vuelve a pedir con los avisos chat_resolved), se ofrece una tarjeta
 * «¿Cómo calificarías la atención?» con cinco estrellas (botones «1 de 5»…«5 de 5»), un comentario opcional y
 * «Enviar»: POST /api/chat/rate/ {chat_room_id, rating, comment?} con la credencial de la sala. Un 200 la cambia por
 * «¡Gracias por tu calificación!»; un 409 (sin encuesta pendiente: ya se calificó) la oculta. En los dos casos la
 * sala queda marcada en sessionStorage y la tarjeta no vuelve al recargar. Solo textContent. */
import { errorText } from '../lib/api.js';
import { $, $$, showText } from '../lib/dom.js';

const RATED_KEY = 'mostrador.guest.rated.';
const THANKS = '¡Gracias por tu calificación!';

/** roomApi(path, opts) de la página: las llamadas con `Authorization: Room <token>`. */
let call = null;
/** La sala de la tarjeta: {id}; null sin chat. */
let current = null;
/** La calificación elegida (1–5) o 0; el envío en curso; si ya se agradeció en esta sala. */
let chosen = 0;
let sending = null;
let thanked = false;

function rated(roomId) {
  try { return sessionStorage.getItem(RATED_KEY + roomId) === '1'; } catch (e) { return false; }
}
function markRated(roomId) {
  try { sessionStorage.setItem(RATED_KEY + roomId, '1'); } catch (e) { /* sin almacenamiento: solo esta vista */ }
}

function choose(value) {
  chosen = value;
  for (const b of $$('#rating-stars .rating-star')) {
    const n = Number(b.dataset.rating);
    b.setAttribute('aria-pressed', n === value ? 'true' : 'false');
    b.classList.toggle('is-on', n <= value);
  }
  if (value) showText($('#rating-error'), null);
}

/** Vacía la tarjeta para otra sala. */
function reset() {
  choose(0);
  thanked = false;
  sending = null;
  $('#rating-comment').value = '';
  $('#rating-form').hidden = false;
  $('#rating-thanks').textContent = '';
  $('#rating-submit').disabled = false;
  $('#rating-submit').textContent = 'Enviar';
  showText($('#rating-error'), null);
}

/** El estado del chat `status` de la sala `roomId` (o null al salir del chat): la tarjeta se muestra mientras está
 * resuelto y sin calificar; el agradecimiento sigue a la vista mientras siga resuelto. */
export function updateRating(roomId, status) {
  const card = $('#guest-rating');
  if (!roomId) { current = null; card.hidden = true; return; }
  if (!current || current.id !== roomId) { current = { id: roomId }; reset(); }
  card.hidden = status !== 'resolved' || (rated(roomId) && !thanked);
}

async function submit(ev) {
  ev.preventDefault();
  const room = current;
  if (!room || sending) return;
  if (!chosen) {
    showText($('#rating-error'), 'Elige de 1 a 5 estrellas.');
    $('#rating-stars .rating-star').focus();
    return;
  }
  const comment = $('#rating-comment').value.trim();
  const body = { chat_room_id: room.id, rating: chosen };
  if (comment) body.comment = comment;
  const btn = $('#rating-submit');
  const me = {};
  sending = me;
  btn.disabled = true;
  btn.textContent = 'Enviando…';
  showText($('#rating-error'), null);
  const res = await call('/api/chat/rate/', { method: 'POST', body });
  if (current !== room || sending !== me) return;
  sending = null;
  btn.disabled = false;
  btn.textContent = 'Enviar';
  const hadFocus = $('#guest-rating').contains(document.activeElement);
  if (res.ok || res.status === 409) {
    markRated(room.id);
    if (res.status === 409) {
      // Sin encuesta pendiente: ya se había calificado (en otra pestaña, o desde otra vista).
      $('#guest-rating').hidden = true;
      if (hadFocus) $('#guest-input').focus();
      return;
    }
    thanked = true;
    $('#rating-form').hidden = true;
    const thanks = $('#rating-thanks');
    thanks.textContent = THANKS;
    if (hadFocus) thanks.focus();
    return;
  }
  showText($('#rating-error'), errorText(res, 'No se pudo enviar tu calificación.'));
}

/** Una vez, al arrancar la página: roomApi es la función de llamadas con la credencial de la sala. */
export function setupRating(roomApi) {
  call = roomApi;
  for (const b of $$('#rating-stars .rating-star')) {
    b.addEventListener('click', () => choose(Number(b.dataset.rating)));
  }
  $('#rating-form').addEventListener('submit', submit);
}
