/* Mostrador — chat de invitados (/chat/), flujo de la seed 002:
 * start_chat → complete_chat → chat (send_message, mensajes por WebSocket o consulta cada 5 s,
 * get_chat_status, user-notifications). Los datos se muestran con textContent/createElement.
 * Las fotos y archivos del chat se ven y se descargan con la credencial de la sala (chat/attachments.js); resuelto el
 * chat, la encuesta de satisfacción (chat/rating.js). */
import { api, errorText, isTransient, liveUrl } from '../lib/api.js';
import { Conversation, PEOPLE, ROLE_LABEL, applyFrame, bindComposer, fromRoomMessage } from '../lib/conversation.js';
import { $, showText } from '../lib/dom.js';
import { attachEmojiPicker } from '../lib/emoji.js';
import { debounce } from '../lib/format.js';
import { placeIcons } from '../lib/icons.js';
import { LiveChannel, Typing, renderConnection } from '../lib/live-channel.js';
import { toast } from '../lib/toast.js';
import { GuestAttachments, setupLightbox } from './attachments.js';
import { setupRating, updateRating } from './rating.js';
import { Recaptcha } from './recaptcha.js';

const KEYS = {
  session: 'mostrador.guest.session_id',
  room: 'mostrador.guest.chat_room_id',
  token: 'mostrador.guest.room_token',
  name: 'mostrador.guest.user_name',
  initial: 'mostrador.guest.initial_message',
};
const INITIAL_MAX = 2000;
const PROFILE_LEAD = 'Por favor completa tus datos de contacto.';
const COMPOSER_HINT = 'Escribe tu mensaje… (Enter envía, Shift+Enter nueva línea)';
const CLOSED_HINT = 'El chat está cerrado: ya no se pueden enviar mensajes.';
/** Avisos del equipo que son parte de la conversación: una línea del sistema en el chat (también al volver a la
 * página), no un aviso efímero. */
const CHAT_NOTICES = new Set(['chat_resolved', 'chat_closed']);
/** Avisos que no hace falta mostrar: lo que anuncian ya está en la conversación. */
const QUIET_NOTICES = new Set(['new_message']);
/** Tras resolverse o cerrarse el chat, el aviso llega un momento después (lo crea el notificador): se consulta cada
 * NOTICE_POLL_MS, como mucho NOTICE_POLLS veces, hasta verlo. */
const NOTICE_POLL_MS = 2000;
const NOTICE_POLLS = 20;

/** La sesión de start_chat (antes de completar los datos). */
let sessionId = null;
/** La sala de complete_chat: {id, token}; null antes de entrar al chat. */
let room = null;
/** La conversación en pantalla, su canal y sus temporizadores (una por sala). */
let chat = null;
const typing = new Typing(document.getElementById('guest-typing'));
/** La verificación anti-robots del paso 2, si GET /api/chat/config la pide (chat/recaptcha.js). */
const captcha = new Recaptcha({
  field: document.getElementById('recaptcha-field'), widget: document.getElementById('recaptcha-widget'),
  label: document.getElementById('recaptcha-label'), note: document.getElementById('recaptcha-note'),
  error: document.getElementById('recaptcha-error'),
});

/* --------------------------------------------------------- almacenamiento */
function store(key, value) {
  try { if (value === null) localStorage.removeItem(key); else localStorage.setItem(key, String(value)); } catch (e) { /* sin almacenamiento */ }
}
function read(key) { try { return localStorage.getItem(key); } catch (e) { return null; } }

/** Las llamadas del invitado van con `Authorization: Room <token>`. */
function roomApi(path, opts = {}) {
  return api(path, { auth: 'Room ' + room.token, handle401: false, ...opts });
}

/* ------------------------------------------------------------------ pasos */
function showStep(name) {
  for (const s of ['start', 'profile', 'chat']) $('#step-' + s).hidden = s !== name;
  $('#guest-reset').hidden = name === 'start';
}

function setFieldError(inputId, text) {
  const input = $('#' + inputId);
  if (text) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
  showText($('#' + inputId + '-error'), text);
}

function showStart(message) {
  leaveChat();
  showStep('start');
  captcha.prepare();
  const ta = $('#initial-message');
  if (!ta.value) ta.value = read(KEYS.initial) || '';
  updateCount();
  showText($('#start-error'), message);
  ta.focus();
}

function showProfile(lead) {
  showStep('profile');
  captcha.prepare();
  $('#profile-lead').textContent = lead || PROFILE_LEAD;
  showText($('#profile-error'), null);
  $('#full-name').focus();
}

function forgetSession() { store(KEYS.session, null); sessionId = null; }

function resetAll(message) {
  leaveChat();
  for (const k of [KEYS.session, KEYS.room, KEYS.token, KEYS.name, KEYS.initial]) store(k, null);
  sessionId = room = null;
  $('#guest-messages').replaceChildren();
  $('#initial-message').value = '';
  showStart(message);
}

/* ------------------------------------------------------ 1. mensaje inicial */
function updateCount() {
  $('#initial-count').textContent = $('#initial-message').value.length + ' / ' + INITIAL_MAX;
}

async function onStartSubmit(ev) {
  ev.preventDefault();
  const ta = $('#initial-message');
  const text = ta.value.trim();
  showText($('#start-error'), null);
  if (text.length < 3) { setFieldError('initial-message', 'Describe brevemente tu problema (al menos 3 caracteres).'); ta.focus(); return; }
  setFieldError('initial-message', null);
  const btn = $('#start-submit');
  btn.disabled = true; btn.textContent = 'Enviando…';
  const res = await api('/api/chat/start_chat/', { method: 'POST', body: { initial_message: text }, auth: false, handle401: false });
  btn.disabled = false; btn.textContent = 'Continuar';
  if (!res.ok) { showText($('#start-error'), errorText(res, 'No se pudo iniciar el chat.')); return; }
  const d = res.data;
  sessionId = d.session_id;
  store(KEYS.session, sessionId);
  store(KEYS.initial, text);
  let lead = d.message.trim();
  if (!/[.!?…]$/.test(lead)) lead += '.';
  lead += ' Tienes ' + Math.max(1, Math.round(d.expires_in / 60)) + ' minutos para completarlos.';
  showProfile(lead);
}

/* ------------------------------------------------------------- 2. perfil */
function normalizePhone(v) { return v.replace(/[\s().-]/g, ''); }

function validateProfile() {
  const name = $('#full-name').value.trim();
  const email = $('#email').value.trim();
  const phone = normalizePhone($('#phone').value);
  let first = null;
  const check = (id, msg) => { setFieldError(id, msg); if (msg && !first) first = id; };
  check('full-name', name.length < 2 ? 'Escribe tu nombre completo.' : null);
  check('email', !/^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/.test(email) ? 'Escribe un correo válido, por ejemplo nombre@correo.com.' : null);
  check('phone', !/^\+?[0-9]{7,15}$/.test(phone) ? 'Escribe un teléfono válido: solo números, de 7 a 15 dígitos (puede empezar con +).' : null);
  if (first) $('#' + first).focus();
  return first ? null : { full_name: name, email, phone_number: phone };
}

/** Errores por campo del servidor: 400 {fields: {full_name|email|phone_number: "…"}}. */
const FIELD_INPUT = { full_name: 'full-name', email: 'email', phone_number: 'phone' };
function applyServerFieldErrors(d) {
  for (const [k, text] of Object.entries((d && d.fields) || {})) if (FIELD_INPUT[k]) setFieldError(FIELD_INPUT[k], text);
}

async function onProfileSubmit(ev) {
  ev.preventDefault();
  showText($('#profile-error'), null);
  const data = validateProfile();
  if (!data) return;
  if (!sessionId) { resetAll('Tu sesión expiró. Por favor inicia el chat nuevamente.'); return; }
  const btn = $('#profile-submit');
  btn.disabled = true; btn.textContent = 'Iniciando chat…';
  // Sin verificación el token va vacío, como siempre; con ella, un envío sin token no sale: se dice por qué.
  const check = await captcha.token();
  if (check.error) {
    btn.disabled = false; btn.textContent = 'Iniciar chat';
    captcha.showError(check.error);
    captcha.focus();
    return;
  }
  captcha.showError(null);
  const body = { session_id: sessionId, ...data, recaptcha_token: check.token };
  const res = await api('/api/chat/complete_chat/', { method: 'POST', body, auth: false, handle401: false });
  btn.disabled = false; btn.textContent = 'Iniciar chat';
  const text = res.ok ? '' : errorText(res, 'No se pudo iniciar el chat.');
  const refused = res.status === 400 && /recaptcha|robot/i.test(text);
  // Un token vale una vez: salvo un 400 por campos (llega antes de verificarlo), la casilla se vuelve a pedir.
  if (refused) captcha.rejected();
  else if (!(res.status === 400 && res.data && res.data.fields)) captcha.consumed();
  if (res.ok) {
    const d = res.data;
    room = { id: d.chat_room_id, token: d.room_token };
    store(KEYS.room, room.id); store(KEYS.token, room.token); store(KEYS.name, d.user_name);
    forgetSession();
    enterChat(d.message);
    return;
  }
  if (res.status === 400 && /sesi[oó]n|expir/i.test(text)) { forgetSession(); showStart(text); return; }
  // El rechazo de la verificación se dice junto a la casilla, y el foco va ahí.
  if (refused && captcha.shown) { captcha.showError(text); captcha.focus(); return; }
  if (res.status === 400) applyServerFieldErrors(res.data);
  showText($('#profile-error'), text);
}

/* --------------------------------------------------------------- 3. chat */
function setConn(mode) {
  renderConnection($('#connection-status'), mode);
  // «Reconectar»: sin WebSocket (consultando o sin conexión) y con el canal en marcha; un chat cerrado no lo ofrece.
  $('#guest-reconnect').hidden = mode === 'websocket' || !chat?.channel || chat.closed;
}

function showAlert(text) {
  $('#guest-alert-text').textContent = text || '';
  $('#guest-alert-wrap').hidden = !text;
}

/** Cómo se ve la conversación del invitado: sus mensajes a la derecha, con ✓ enviado y ✓✓ leído. */
const GUEST_VIEW = {
  own: 'user',
  status: (m) => m.localStatus || (m.leido ? 'read' : 'sent'),
  tracked: (m) => !m.leido,
  author: (m) => (m.role === 'user' ? 'Tú' : m.role === 'tecnico' ? m.autor || 'Agente' : ROLE_LABEL[m.role]),
  onRetry: (m) => { chat.conv.discard(m); sendMessage(m.content); },
};

/** Quién envió un adjunto, para el texto alternativo de una foto: «Foto enviada por …». */
function senderOf(m) {
  return m.role === 'user' ? 'ti' : GUEST_VIEW.author(m) || 'el agente';
}

function enterChat(welcome) {
  showStep('chat');
  // Los adjuntos de esta sala: se descargan con su credencial y sus blob: URL se liberan al salir (leaveChat).
  const files = new GuestAttachments('Room ' + room.token);
  const c = {
    conv: new Conversation($('#guest-messages'), { ...GUEST_VIEW, attachment: (m) => files.element(m, senderOf(m)) }),
    files, channel: null, statusTimer: null, notifTimer: null, shownNotifs: new Set(), closed: false, loadedOnce: false,
    status: null, expectNotice: null, noticePolls: 0,
  };
  chat = c;
  setClosedUI(false);
  setConn('polling');
  c.conv.placeholder('Cargando conversación…');
  showAlert(welcome);
  (async () => {
    const ok = await pollMessages(c);
    if (chat !== c) return;
    if (c.loadedOnce && !c.conv.size) c.conv.placeholder('Escribe tu primer mensaje cuando quieras.');
    if (!c.closed) startChannel(c, ok);
    // Los avisos, después de los mensajes: sus líneas van entre ellos, por fecha.
    pollNotifications(c);
  })();
  refreshStatus();
  c.statusTimer = setInterval(refreshStatus, 10000);
  $('#guest-input').focus();
}

function startChannel(c, initialOk) {
  c.channel = new LiveChannel({
    url: () => liveUrl(room.id, { auth: 'Room ' + room.token, handle401: false }),
    poll: () => pollMessages(c),
    onFrame: (tipo, data) => onFrame(c, tipo, data),
    onMode: setConn,
    onOpen: () => pollMessages(c),
  });
  typing.channel = c.channel;
  c.channel.start(initialOk);
}

function leaveChat() {
  const c = chat;
  if (!c) return;
  chat = null;
  typing.reset();
  c.channel?.stop();
  clearInterval(c.statusTimer);
  clearTimeout(c.notifTimer);
  c.files.forget();
  updateRating(null);
}

function invalidRoom() {
  resetAll('Tu conversación ya no está disponible. Puedes iniciar una nueva.');
}

/** GET /api/chatrooms/{room}/messages/?desde=…: leerlos marca como leídos los del agente. */
async function pollMessages(c) {
  if (chat !== c) return true;
  const res = await roomApi('/api/chatrooms/' + encodeURIComponent(room.id) + '/messages/?desde=' + c.conv.cursor());
  if (chat !== c) return true;
  if (res.ok) {
    c.loadedOnce = true;
    onAdded(c, c.conv.merge(res.data.map(fromRoomMessage), true));
    return true;
  }
  if (res.status === 401 || res.status === 403) { invalidRoom(); return true; }
  if (isTransient(res)) return false;
  if (!c.loadedOnce) c.conv.placeholder(errorText(res));
  return true;
}

function onAdded(c, added) {
  if (added.some((m) => m.role === 'tecnico')) typing.hide();
  // Las notas del sistema acompañan cambios de estado (se unió, transferido, cerrado…).
  if (c.loadedOnce && added.some((m) => m.role === 'system')) refreshStatusSoon();
}

async function sendMessage(text) {
  const c = chat;
  text = text.trim();
  if (!text || !c || c.closed) return;
  const p = c.conv.addPending(text);
  typing.stop();
  const res = await roomApi('/api/chat/send_message/', { method: 'POST', body: { chat_room_id: room.id, content: text }, timeout: 30000 });
  if (chat !== c) return;
  if (res.ok) {
    c.conv.bind(p, res.data.id);
    c.channel?.pollNow();
    return;
  }
  if (res.status === 401 || res.status === 403) { invalidRoom(); return; }
  const reason = errorText(res, 'No se pudo enviar');
  const closed = res.status === 400 && /cerrad/i.test(reason);
  c.conv.fail(p, reason, { retryable: !closed, maybeSaved: isTransient(res) });
  if (closed) setClosed();
}

/** Tramas del WebSocket (guía 003). */
function onFrame(c, tipo, d) {
  if (chat !== c) return;
  const added = applyFrame(c.conv, typing, 'AGENTE', tipo, d);
  if (added) onAdded(c, added);
  else if (PEOPLE.has(tipo)) refreshStatus();
}

/* ----- estado del chat ----- */
const refreshStatusSoon = debounce(() => refreshStatus(), 300);

/** GET /api/chat/get_chat_status/: {status, agent_assigned, agent_name, …}. */
async function refreshStatus() {
  const c = chat;
  if (!c) return;
  const res = await roomApi('/api/chat/get_chat_status/?chat_room_id=' + encodeURIComponent(room.id));
  if (chat !== c) return;
  if (res.status === 401 || res.status === 403) { invalidRoom(); return; }
  if (res.ok) renderStatus(res.data);
}

function renderStatus(d) {
  const c = chat;
  const before = c.status;
  c.status = d.status;
  // Resuelto ahora mismo (no al abrir la página): su aviso llega en un momento.
  if (d.status === 'resolved' && before && before !== 'resolved') expectNotice(c, 'chat_resolved');
  $('#chat-status').dataset.status = d.status;
  let text;
  if (d.status === 'closed') text = 'El chat ha sido cerrado';
  else if (d.status === 'resolved') text = 'Tu consulta fue marcada como resuelta' + (d.agent_name ? ' por ' + d.agent_name : '');
  else if (d.agent_assigned && d.agent_name) text = 'Te atiende ' + d.agent_name;
  else if (d.agent_assigned) text = 'Un agente te está atendiendo';
  else text = 'Esperando a un agente…';
  $('#chat-status-text').textContent = text;
  // Resuelto: la encuesta de satisfacción (chat/rating.js), si esta sala no se calificó aún.
  updateRating(room.id, d.status);
  if (d.status === 'closed') setClosed();
}

/** Cerrado: el compositor sigue a la vista, deshabilitado, con el porqué y «Nueva conversación». */
function setClosedUI(closed) {
  const input = $('#guest-input');
  const hadFocus = closed && $('#guest-form').contains(document.activeElement);
  input.disabled = closed;
  $('#guest-send').disabled = closed;
  input.placeholder = closed ? CLOSED_HINT : COMPOSER_HINT;
  if (closed) input.setAttribute('aria-describedby', 'chat-closed-text'); else input.removeAttribute('aria-describedby');
  $('#guest-form').classList.toggle('is-closed', closed);
  $('#chat-closed-note').hidden = !closed;
  $('#connection-status').hidden = closed;
  if (closed) $('#guest-reconnect').hidden = true;
  // Quien estaba escribiendo no pierde el foco en la nada: pasa a «Nueva conversación».
  if (hadFocus) $('#guest-new').focus();
}

/** El chat se cerró: sin compositor ni canal; una última consulta trae la nota de cierre, y el aviso de cierre del
 * equipo se espera un rato. */
function setClosed() {
  const c = chat;
  if (!c || c.closed) return;
  c.closed = true;
  setClosedUI(true);
  expectNotice(c, 'chat_closed');
  $('#chat-status').dataset.status = 'closed';
  $('#chat-status-text').textContent = 'El chat ha sido cerrado';
  updateRating(room.id, 'closed');
  typing.reset();
  c.channel?.stop();
  c.channel = null;
  setConn('offline');
  clearInterval(c.statusTimer);
  pollMessages(c);
}

/* ----- notificaciones del usuario ----- */
/**
 * GET /api/user-notifications/get_notifications/: {notifications: [{id, type, title, message, is_read, created_at}],
 * unread_count}. Resuelto y cerrado (chat_resolved, chat_closed) son una línea del sistema en la conversación, en su
 * lugar por fecha (también las ya leídas: son parte de la historia del chat); «nuevo mensaje» no se muestra (el
 * mensaje ya está en el chat); las demás nuevas, como avisos. Cada 15 s mientras el chat sigue abierto.
 */
async function pollNotifications(c) {
  clearTimeout(c.notifTimer);
  const res = await roomApi('/api/user-notifications/get_notifications/?chat_room_id=' + encodeURIComponent(room.id));
  if (chat !== c) return;
  if (res.ok) {
    let fresh = 0;
    let status = false;
    const list = [...res.data.notifications].sort((a, b) => a.id - b.id);
    for (const n of list) {
      if (c.shownNotifs.has(n.id)) continue;
      if (n.is_read && !CHAT_NOTICES.has(n.type)) continue;
      // Sin los mensajes cargados no se sabe dónde va la línea: en la próxima consulta.
      if (CHAT_NOTICES.has(n.type) && !c.loadedOnce) continue;
      c.shownNotifs.add(n.id);
      if (!n.is_read) fresh++;
      if (CHAT_NOTICES.has(n.type)) {
        c.conv.notice('notification-' + n.id, n.message, n.created_at);
        if (c.expectNotice === n.type) c.expectNotice = null;
        status = true;
      } else if (!n.is_read && !QUIET_NOTICES.has(n.type)) {
        toast(n.message, 'info', { title: n.title });
        if (n.type === 'agent_joined') status = true;
      }
    }
    if (fresh) roomApi('/api/user-notifications/mark_read/', { method: 'POST', body: { chat_room_id: room.id } });
    if (status && !c.closed) refreshStatus();
  }
  scheduleNotifications(c);
}

function scheduleNotifications(c) {
  clearTimeout(c.notifTimer);
  if (chat !== c) return;
  if (c.expectNotice && c.noticePolls < NOTICE_POLLS) {
    c.noticePolls++;
    c.notifTimer = setTimeout(() => pollNotifications(c), NOTICE_POLL_MS);
  } else if (!c.closed) c.notifTimer = setTimeout(() => pollNotifications(c), 15000);
}

/** El chat se acaba de resolver o cerrar: su aviso (`type`) se consulta ya y seguido hasta que llegue. */
function expectNotice(c, type) {
  c.expectNotice = type;
  c.noticePolls = 0;
  // Antes de cargar los mensajes no: la primera consulta de avisos va tras ellos (enterChat) y sigue desde ahí.
  if (!c.loadedOnce) return;
  clearTimeout(c.notifTimer);
  c.notifTimer = setTimeout(() => pollNotifications(c), 300);
}

/* ------------------------------------------------------------- arranque */
async function init() {
  placeIcons();
  setupLightbox();
  setupRating(roomApi);
  // Al dejar la página (no al guardarla en la caché de ida y vuelta), se liberan las fotos y archivos descargados.
  window.addEventListener('pagehide', (ev) => { if (!ev.persisted) chat?.files.forget(); });
  $('#start-form').addEventListener('submit', onStartSubmit);
  $('#initial-message').addEventListener('input', () => { updateCount(); setFieldError('initial-message', null); });
  $('#profile-form').addEventListener('submit', onProfileSubmit);
  for (const id of ['full-name', 'email', 'phone']) $('#' + id).addEventListener('input', () => setFieldError(id, null));
  $('#profile-restart').addEventListener('click', () => { forgetSession(); showStart(); });
  bindComposer($('#guest-form'), $('#guest-input'), { send: sendMessage, input: (value) => typing.input(value) });
  attachEmojiPicker($('#guest-input'));
  $('#guest-alert-close').addEventListener('click', () => showAlert(null));
  $('#guest-reconnect').addEventListener('click', () => { if (chat && !chat.closed) chat.channel?.reconnectNow(); });
  $('#guest-new').addEventListener('click', () => resetAll());
  $('#guest-reset').addEventListener('click', () => {
    if (chat && !chat.closed && !window.confirm('¿Salir de esta conversación e iniciar una nueva?')) return;
    resetAll();
  });

  captcha.configure();
  sessionId = read(KEYS.session);
  const roomId = read(KEYS.room);
  const roomToken = read(KEYS.token);
  if (roomId && roomToken) { room = { id: roomId, token: roomToken }; enterChat(null); return; }
  if (roomId) store(KEYS.room, null);
  if (sessionId) {
    const res = await api('/api/chat/validate_session/', { method: 'POST', body: { session_id: sessionId }, auth: false, handle401: false });
    if (res.ok && res.data.valid) { showProfile(); return; }
    forgetSession();
    showStart(res.ok ? 'Tu sesión expiró. Por favor inicia el chat nuevamente.' : null);
    return;
  }
  showStart();
}

init();
