/* Mostrador — chat de invitados (/chat/), flujo de la seed 002:
 * start_chat → complete_chat → chat (send_message, mensajes por WebSocket o consulta cada 5 s,
 * get_chat_status, user-notifications). Los datos se muestran con textContent/createElement. */
(function () {
  'use strict';

  const M = window.Mostrador;
  const h = M.h, $ = M.$, $$ = M.$$, clear = M.clear;

  const KEYS = {
    session: 'mostrador.guest.session_id',
    room: 'mostrador.guest.chat_room_id',
    token: 'mostrador.guest.room_token',
    name: 'mostrador.guest.user_name',
    initial: 'mostrador.guest.initial_message',
  };
  const INITIAL_MAX = 2000;

  const G = {
    sessionId: null, roomId: null, roomToken: null, userName: null,
    msgs: new Map(), els: new Map(), pending: [], seq: 0,
    channel: null, statusTimer: null, notifTimer: null, notifMissing: false,
    shownNotifs: new Set(), closed: false, loadedOnce: false,
    typingSent: false, typingStopTimer: null, typingHideTimer: null,
  };

  /* --------------------------------------------------------- almacenamiento */
  function store(key, value) {
    try { if (value === null || value === undefined) localStorage.removeItem(key); else localStorage.setItem(key, String(value)); } catch (e) { /* nada */ }
  }
  function read(key) { try { return localStorage.getItem(key); } catch (e) { return null; } }

  function roomAuth() { return G.roomToken ? 'Room ' + G.roomToken : false; }
  function gapi(path, opts) {
    return M.api(path, Object.assign({ auth: roomAuth(), handle401: false }, opts || {}));
  }

  /* ------------------------------------------------------------------ pasos */
  function showStep(name) {
    for (const s of ['start', 'profile', 'chat']) $('#step-' + s).hidden = s !== name;
    $('#guest-reset').hidden = name === 'start';
  }

  function showFormError(id, text) {
    const el = $(id);
    if (text) { el.textContent = text; el.hidden = false; } else { el.textContent = ''; el.hidden = true; }
  }
  function setFieldError(inputId, text) {
    const input = $('#' + inputId);
    const err = $('#' + inputId + '-error');
    if (text) { input.setAttribute('aria-invalid', 'true'); err.textContent = text; err.hidden = false; }
    else { input.removeAttribute('aria-invalid'); err.textContent = ''; err.hidden = true; }
  }

  function showStart(message) {
    stopChat();
    showStep('start');
    const ta = $('#initial-message');
    if (!ta.value) ta.value = read(KEYS.initial) || '';
    updateCount();
    showFormError('#start-error', message || null);
    ta.focus();
  }

  function showProfile(lead) {
    showStep('profile');
    $('#profile-lead').textContent = lead || 'Por favor completa tus datos de contacto.';
    showFormError('#profile-error', null);
    $('#full-name').focus();
  }

  function resetAll(message) {
    stopChat();
    for (const k of [KEYS.session, KEYS.room, KEYS.token, KEYS.name]) store(k, null);
    G.sessionId = G.roomId = G.roomToken = G.userName = null;
    clear($('#guest-messages'));
    G.msgs.clear(); G.els.clear(); G.pending = []; G.shownNotifs.clear();
    G.closed = false; G.loadedOnce = false;
    $('#initial-message').value = '';
    store(KEYS.initial, null);
    showStart(message);
  }

  /* ------------------------------------------------------ 1. mensaje inicial */
  function updateCount() {
    const n = $('#initial-message').value.length;
    $('#initial-count').textContent = n + ' / ' + INITIAL_MAX;
  }

  async function onStartSubmit(ev) {
    ev.preventDefault();
    const ta = $('#initial-message');
    const text = ta.value.trim();
    showFormError('#start-error', null);
    if (text.length < 3) { setFieldError('initial-message', 'Describe brevemente tu problema (al menos 3 caracteres).'); ta.focus(); return; }
    setFieldError('initial-message', null);
    const btn = $('#start-submit');
    btn.disabled = true; btn.textContent = 'Enviando…';
    const res = await M.api('/api/chat/start_chat/', { method: 'POST', body: { initial_message: text }, auth: false, handle401: false });
    btn.disabled = false; btn.textContent = 'Continuar';
    const d = res.data || {};
    if (res.ok && d.session_id) {
      G.sessionId = String(d.session_id);
      store(KEYS.session, G.sessionId);
      store(KEYS.initial, text);
      let lead = String(d.message || 'Por favor completa tus datos de contacto.').trim();
      if (!/[.!?…]$/.test(lead)) lead += '.';
      if (d.expires_in) lead += ' Tienes ' + Math.max(1, Math.round(Number(d.expires_in) / 60)) + ' minutos para completarlos.';
      showProfile(lead);
      return;
    }
    let msg;
    if (res.status === 429) msg = M.errorText(res, 'Has creado demasiados chats recientemente. Por favor intenta más tarde.');
    else if (M.isMissingEndpoint(res)) msg = 'El chat web no está disponible por el momento. Intenta más tarde o escríbenos por WhatsApp.';
    else msg = M.errorText(res, 'No se pudo iniciar el chat.');
    showFormError('#start-error', msg);
  }

  /* ------------------------------------------------------------- 2. perfil */
  function normalizePhone(v) { return String(v || '').replace(/[\s().-]/g, ''); }

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

  /** Errores por campo del servidor: {fields: {email: "..."}} (o {errors: {...}}, {field, error}). */
  function applyServerFieldErrors(d) {
    const map = { full_name: 'full-name', email: 'email', phone_number: 'phone', phone: 'phone' };
    let any = false;
    const errs = d && (d.fields || d.errors || d.field_errors);
    if (errs && typeof errs === 'object') {
      for (const k of Object.keys(errs)) {
        if (!map[k]) continue;
        const v = Array.isArray(errs[k]) ? errs[k].join(' ') : String(errs[k]);
        setFieldError(map[k], v); any = true;
      }
    }
    if (d && typeof d.field === 'string' && map[d.field]) { setFieldError(map[d.field], M.errorText({ data: d })); any = true; }
    return any;
  }

  async function onProfileSubmit(ev) {
    ev.preventDefault();
    showFormError('#profile-error', null);
    const data = validateProfile();
    if (!data) return;
    if (!G.sessionId) { resetAll('Tu sesión expiró. Por favor inicia el chat nuevamente.'); return; }
    const btn = $('#profile-submit');
    btn.disabled = true; btn.textContent = 'Iniciando chat…';
    const body = {
      session_id: G.sessionId, email: data.email, full_name: data.full_name, phone_number: data.phone_number,
      recaptcha_token: $('#recaptcha-token').value || '',
    };
    const res = await M.api('/api/chat/complete_chat/', { method: 'POST', body, auth: false, handle401: false });
    btn.disabled = false; btn.textContent = 'Iniciar chat';
    const d = res.data || {};
    if (res.ok && d.chat_room_id) {
      G.roomId = String(d.chat_room_id);
      G.roomToken = d.room_token ? String(d.room_token) : null;
      G.userName = d.user_name || data.full_name;
      store(KEYS.room, G.roomId); store(KEYS.token, G.roomToken); store(KEYS.name, G.userName);
      store(KEYS.session, null); G.sessionId = null;
      enterChat(d.message || 'Chat iniciado correctamente. Un agente te contactará pronto.');
      return;
    }
    const text = M.errorText(res, 'No se pudo iniciar el chat.');
    if (res.status === 400 && /sesi[oó]n|expir/i.test(text)) {
      store(KEYS.session, null); G.sessionId = null;
      showStart(text);
      return;
    }
    if (res.status === 429) { showFormError('#profile-error', text); return; }
    if (M.isMissingEndpoint(res)) { showFormError('#profile-error', 'El chat web no está disponible por el momento. Intenta más tarde.'); return; }
    applyServerFieldErrors(d);
    showFormError('#profile-error', text);
  }

  /* --------------------------------------------------------------- 3. chat */
  function setConn(mode) { M.renderConnection($('#connection-status'), mode); }

  function showAlert(text, kind) {
    $('#guest-alert').className = 'banner banner-' + (kind || 'info');
    $('#guest-alert-text').textContent = text;
    $('#guest-alert-wrap').hidden = !text;
  }

  function enterChat(welcome) {
    showStep('chat');
    G.closed = false;
    setClosedUI(false);
    setConn('polling');
    const box = $('#guest-messages');
    if (!box.children.length) box.appendChild(h('div', { class: 'chat-placeholder', text: 'Cargando conversación…' }));
    if (welcome) showAlert(welcome, 'info'); else showAlert('', 'info');
    (async () => {
      const ok = await pollMessages();
      if (!G.roomId) return;
      const ph = box.querySelector('.chat-placeholder');
      if (ph && G.loadedOnce) ph.textContent = 'Escribe tu primer mensaje cuando quieras.';
      if (G.closed) return;
      startChannel(ok);
    })();
    refreshStatus();
    pollNotifications();
    $('#guest-input').focus();
  }

  function startChannel(initialOk) {
    if (G.channel) G.channel.stop();
    const roomId = G.roomId;
    G.channel = new M.LiveChannel({
      wsUrl: () => M.wsUrl('/ws/soporte/ticket/' + encodeURIComponent(roomId) + '/?token=' + encodeURIComponent(G.roomToken || '')),
      poll: pollMessages,
      onEvent: onEvent,
      onMode: setConn,
      onOpen: () => { pollMessages(); },
      pollInterval: 5000,
    });
    G.channel.start(initialOk);
    clearInterval(G.statusTimer);
    G.statusTimer = setInterval(refreshStatus, 10000);
  }

  function stopChat() {
    if (G.channel) { if (G.typingSent) G.channel.send('typing_stop'); G.channel.stop(); G.channel = null; }
    clearInterval(G.statusTimer); G.statusTimer = null;
    clearTimeout(G.notifTimer); G.notifTimer = null;
    clearTimeout(G.typingStopTimer); clearTimeout(G.typingHideTimer);
    G.typingSent = false;
  }

  function invalidRoom() {
    resetAll('Tu conversación ya no está disponible. Puedes iniciar una nueva.');
  }

  /** Normaliza un mensaje (formato de /api/chatrooms/{id}/messages/ o del WebSocket). */
  function normalize(raw) {
    if (!raw || typeof raw !== 'object') return null;
    const m = raw.mensaje && typeof raw.mensaje === 'object' ? raw.mensaje : raw;
    let role;
    const st = m.sender_type || m.role || (m.autor && m.autor.tipo) || '';
    const s = String(st).toLowerCase();
    if (s === 'user' || s === 'cliente' || s === 'usuario') role = 'user';
    else if (s === 'agent' || s === 'agente' || s === 'tecnico') role = 'agent';
    else if (s === 'assistant' || s === 'bot') role = 'assistant';
    else role = 'system';
    const id = m.id !== undefined && m.id !== null ? String(m.id) : (m.mensaje_id !== undefined ? String(m.mensaje_id) : null);
    let content = m.content !== undefined ? m.content : m.contenido !== undefined ? m.contenido : (typeof m.mensaje === 'string' ? m.mensaje : '');
    let agentName = null;
    const as = m.agent_sender;
    if (as && typeof as === 'object') {
      const u = as.user && typeof as.user === 'object' ? as.user : as;
      agentName = [u.first_name, u.last_name].filter(Boolean).join(' ').trim() || null;
    }
    if (!agentName && role === 'agent' && m.autor && typeof m.autor === 'object' && m.autor.nombre) agentName = String(m.autor.nombre);
    return {
      id, role, content: content === null || content === undefined ? '' : String(content),
      created_at: m.created_at || m.timestamp || null, is_read: !!m.is_read, agentName,
      message_type: m.message_type || 'text',
    };
  }

  async function pollMessages() {
    if (!G.roomId) return true;
    const roomId = G.roomId;
    const res = await gapi('/api/chatrooms/' + encodeURIComponent(roomId) + '/messages/?desde=' + computeDesde());
    if (G.roomId !== roomId) return true;
    if (res.ok) {
      const d = res.data;
      const list = Array.isArray(d) ? d : (d && (d.messages || d.results)) || [];
      G.loadedOnce = true;
      merge(list.map(normalize).filter(Boolean));
      return true;
    }
    if (res.status === 401 || res.status === 403) { invalidRoom(); return true; }
    if (res.networkError || res.status >= 500) return false;
    if (!G.loadedOnce) {
      const box = $('#guest-messages');
      const ph = box.querySelector('.chat-placeholder');
      if (ph) ph.textContent = M.isMissingEndpoint(res) ? 'No se pudieron cargar los mensajes todavía; seguiremos intentando.' : M.errorText(res);
    }
    return true;
  }

  /** Desde qué id pedir: el último visto, o antes si algún mensaje propio aún no está leído (para ✓✓). */
  function computeDesde() {
    const ids = Array.from(G.msgs.values()).map((m) => Number(m.id)).filter((n) => isFinite(n));
    if (!ids.length) return 0;
    let desde = Math.max.apply(null, ids);
    ids.sort((a, b) => b - a).slice(0, 40).forEach((id) => {
      const m = G.msgs.get(String(id));
      if (m && m.role === 'user' && !m.is_read && id - 1 < desde) desde = id - 1;
    });
    return Math.max(0, desde);
  }

  function nearBottom(box) { return box.scrollHeight - box.scrollTop - box.clientHeight < 150; }

  function merge(msgs) {
    const box = $('#guest-messages');
    const stick = nearBottom(box);
    let added = false;
    let systemNote = false;
    for (const m of msgs) {
      if (m.id === null) continue;
      const existing = G.msgs.get(m.id);
      if (existing) {
        if (existing.role === 'user' && m.is_read !== existing.is_read) {
          existing.is_read = m.is_read;
          const el = G.els.get(m.id);
          if (el) renderOwnStatus(el, existing.is_read ? 'read' : 'sent');
        }
        continue;
      }
      m.seq = ++G.seq;
      let el = null;
      if (m.role === 'user') {
        const i = G.pending.findIndex((p) => p.id === null && p.text === m.content.trim());
        if (i >= 0) { el = G.pending[i].el; G.pending.splice(i, 1); if (el.parentNode) el.parentNode.removeChild(el); }
      }
      if (!el) el = bubble(m);
      el.dataset.messageId = m.id;
      delete el.dataset.pending;
      if (m.role === 'user') renderOwnStatus(el, m.is_read ? 'read' : 'sent');
      G.msgs.set(m.id, m);
      G.els.set(m.id, el);
      insertOrdered(box, el, m);
      added = true;
      if (m.role === 'agent') hideTyping();
      if (m.role === 'system' && G.loadedOnce) systemNote = true;
    }
    // Las notas del sistema acompañan cambios de estado (se unió, transferido, cerrado…).
    if (systemNote) refreshStatusSoon();
    if (added) {
      const ph = box.querySelector('.chat-placeholder');
      if (ph) ph.parentNode.removeChild(ph);
      if (stick) box.scrollTop = box.scrollHeight;
    }
  }

  function tsOf(m) { const d = M.parseDate(m.created_at); return d ? d.getTime() : Infinity; }

  function insertOrdered(box, el, m) {
    const t = tsOf(m);
    let before = null;
    for (const child of Array.from(box.children)) {
      if (child === el || child.classList.contains('chat-placeholder')) continue;
      if (child.dataset.pending) { before = child; break; }
      const other = G.msgs.get(child.dataset.messageId);
      if (other && other !== m && tsOf(other) > t) { before = child; break; }
    }
    box.insertBefore(el, before);
  }

  const ROLE_INFO = {
    user: { icon: '👤', label: 'Tú' },
    agent: { icon: '👨‍💻', label: 'Agente' },
    assistant: { icon: '🤖', label: 'Asistente' },
  };

  function bubble(m) {
    const el = h('div', { class: 'message role-' + m.role, dataset: { role: m.role } });
    const time = h('time', { datetime: m.created_at || '', title: M.formatFull(m.created_at), text: M.formatTime(m.created_at) });
    if (m.role === 'system') {
      el.appendChild(h('div', { class: 'message-bubble' }, h('span', { class: 'message-text', text: m.content }), h('div', { class: 'message-meta' }, time)));
      return el;
    }
    const info = ROLE_INFO[m.role];
    const who = m.role === 'agent' && m.agentName ? m.agentName : info.label;
    el.appendChild(h('div', { class: 'message-head' },
      h('span', { class: 'message-icon', 'aria-hidden': 'true', text: info.icon }),
      h('span', { class: 'message-author', text: who })));
    el.appendChild(h('div', { class: 'message-bubble' },
      h('div', { class: 'message-text', text: m.content }),
      h('div', { class: 'message-meta' }, time)));
    return el;
  }

  const OWN_STATUS = {
    sending: ['⏳', 'Enviando…'],
    sent: ['✓', 'Enviado'],
    read: ['✓✓', 'Leído'],
    error: ['❌', 'No se pudo enviar'],
  };
  function renderOwnStatus(el, key, reason, onRetry) {
    const meta = el.querySelector('.message-meta');
    if (!meta) return;
    $$('.status, .status-reason, .btn-retry', meta).forEach((n) => n.parentNode.removeChild(n));
    const s = OWN_STATUS[key] || OWN_STATUS.sent;
    const title = reason ? s[1] + ': ' + reason : s[1];
    meta.appendChild(h('span', { class: 'status', dataset: { status: key }, title, 'aria-label': title, text: s[0] }));
    el.classList.toggle('is-pending', key === 'sending');
    el.classList.toggle('is-error', key === 'error');
    if (reason) meta.appendChild(h('span', { class: 'status-reason', text: reason }));
    if (onRetry) meta.appendChild(h('button', { type: 'button', class: 'btn-retry', text: '↻ Reintentar', onclick: onRetry }));
  }

  async function sendMessage(text) {
    text = String(text || '').trim();
    if (!text || !G.roomId || G.closed) return;
    const box = $('#guest-messages');
    const ph = box.querySelector('.chat-placeholder');
    if (ph) ph.parentNode.removeChild(ph);
    const m = { id: null, role: 'user', content: text, created_at: new Date().toISOString() };
    const el = bubble(m);
    el.dataset.pending = 'true';
    renderOwnStatus(el, 'sending');
    const p = { id: null, text, el };
    G.pending.push(p);
    box.appendChild(el);
    box.scrollTop = box.scrollHeight;
    stopTyping();
    const res = await gapi('/api/chat/send_message/', { method: 'POST', body: { chat_room_id: G.roomId, content: text }, timeout: 30000 });
    if (!el.isConnected && p.id === null && !G.pending.includes(p)) return; // ya adoptado o reiniciado
    if (res.ok) {
      const d = res.data || {};
      const rawId = d.id !== undefined ? d.id : d.message_id !== undefined ? d.message_id : (d.message && typeof d.message === 'object' ? d.message.id : undefined);
      if (rawId !== undefined && rawId !== null && G.pending.includes(p)) {
        const id = String(rawId);
        G.pending.splice(G.pending.indexOf(p), 1);
        if (G.els.has(id)) { if (G.els.get(id) !== el && el.parentNode) el.parentNode.removeChild(el); return; }
        p.id = id;
        m.id = id;
        el.dataset.messageId = id;
        delete el.dataset.pending;
        G.msgs.set(id, m);
        G.els.set(id, el);
      }
      if (el.dataset.pending !== undefined || el.querySelector('.status[data-status="sending"]')) renderOwnStatus(el, 'sent');
      if (G.channel) G.channel.pollNow();
      return;
    }
    const i = G.pending.indexOf(p);
    if (i >= 0) G.pending.splice(i, 1);
    if (res.status === 401 || res.status === 403) { invalidRoom(); return; }
    const reason = M.errorText(res, 'No se pudo enviar');
    if (res.status === 400 && /cerrad/i.test(reason)) {
      renderOwnStatus(el, 'error', reason);
      setClosed();
      return;
    }
    renderOwnStatus(el, 'error', reason, () => {
      if (el.parentNode) el.parentNode.removeChild(el);
      sendMessage(text);
    });
  }

  function submitGuest() {
    const input = $('#guest-input');
    if (input.disabled) return;
    const text = input.value;
    if (!text.trim()) return;
    input.value = '';
    autoGrow(input);
    sendMessage(text);
    input.focus();
  }
  function autoGrow(ta) { ta.style.height = 'auto'; ta.style.height = Math.min(ta.scrollHeight + 2, 160) + 'px'; }

  /* ----- escritura ----- */
  function onInput() {
    const input = $('#guest-input');
    autoGrow(input);
    if (!G.channel || !G.channel.isOpen()) return;
    if (!input.value.trim()) { stopTyping(); return; }
    if (!G.typingSent) G.typingSent = G.channel.send('typing_start');
    clearTimeout(G.typingStopTimer);
    G.typingStopTimer = setTimeout(stopTyping, 3000);
  }
  function stopTyping() {
    clearTimeout(G.typingStopTimer);
    if (G.typingSent && G.channel) G.channel.send('typing_stop');
    G.typingSent = false;
  }
  function showTyping() {
    $('#guest-typing').hidden = false;
    clearTimeout(G.typingHideTimer);
    G.typingHideTimer = setTimeout(hideTyping, 6000);
  }
  function hideTyping() { clearTimeout(G.typingHideTimer); $('#guest-typing').hidden = true; }

  function fromAgent(d) {
    const u = d && (d.usuario || d.user || d.autor);
    if (!u || typeof u !== 'object') return true;
    const t = String(u.tipo || u.type || u.role || '').toUpperCase();
    return t === 'AGENTE' || t === 'AGENT' || t === 'TECNICO';
  }

  function onEvent(ev) {
    const d = ev.data || {};
    switch (ev.type) {
      case 'connection_established':
        if (Array.isArray(d.historial_reciente)) merge(d.historial_reciente.map(normalize).filter(Boolean));
        break;
      case 'mensaje_recibido':
      case 'nuevo_mensaje': {
        const m = normalize(d.mensaje && typeof d.mensaje === 'object' ? d.mensaje : d);
        if (m) merge([m]);
        break;
      }
      case 'mensaje_confirmado':
        if (G.channel) G.channel.pollNow();
        break;
      case 'usuario_escribiendo':
        if (fromAgent(d)) showTyping();
        break;
      case 'usuario_dejo_escribir':
        if (fromAgent(d)) hideTyping();
        break;
      case 'chat_transferred':
      case 'agente_joined':
      case 'agente_left':
      case 'chat_status':
      case 'chat_closed':
        refreshStatus();
        break;
      default:
        break;
    }
  }

  /* ----- estado del chat ----- */
  const refreshStatusSoon = M.debounce(() => refreshStatus(), 300);

  async function refreshStatus() {
    if (!G.roomId) return;
    const roomId = G.roomId;
    const res = await gapi('/api/chat/get_chat_status/?chat_room_id=' + encodeURIComponent(roomId));
    if (G.roomId !== roomId) return;
    if (res.status === 401 || res.status === 403) { invalidRoom(); return; }
    if (!res.ok || !res.data) return;
    renderStatus(res.data);
  }

  function renderStatus(d) {
    const status = String(d.status || 'waiting');
    const box = $('#chat-status');
    box.dataset.status = status;
    let text;
    if (status === 'closed') text = 'El chat ha sido cerrado';
    else if (status === 'resolved') text = 'Tu consulta fue marcada como resuelta' + (d.agent_name ? ' por ' + d.agent_name : '');
    else if (d.agent_assigned && d.agent_name) text = 'Te atiende ' + d.agent_name;
    else if (d.agent_assigned) text = 'Un agente te está atendiendo';
    else text = 'Esperando a un agente…';
    $('#chat-status-text').textContent = text;
    if (status === 'closed') setClosed();
  }

  function setClosedUI(closed) {
    const input = $('#guest-input');
    input.disabled = closed;
    $('#guest-send').disabled = closed;
    input.placeholder = closed ? 'El chat ha sido cerrado' : 'Escribe tu mensaje… (Enter envía, Shift+Enter nueva línea)';
    $('#chat-closed-note').hidden = !closed;
    $('#guest-form').hidden = closed;
  }
  function setClosed() {
    if (G.closed) return;
    G.closed = true;
    setClosedUI(true);
    $('#chat-status').dataset.status = 'closed';
    $('#chat-status-text').textContent = 'El chat ha sido cerrado';
    hideTyping();
    if (G.channel) { G.channel.stop(); G.channel = null; }
    setConn('offline');
    $('#connection-status').hidden = true;
    clearInterval(G.statusTimer); G.statusTimer = null;
    pollMessages();
  }

  /* ----- notificaciones del usuario ----- */
  async function pollNotifications() {
    clearTimeout(G.notifTimer);
    if (!G.roomId) return;
    const roomId = G.roomId;
    const res = await gapi('/api/user-notifications/get_notifications/?chat_room_id=' + encodeURIComponent(roomId));
    if (G.roomId !== roomId) return;
    let next = 15000;
    if (M.isMissingEndpoint(res)) next = 60000;
    else if (res.ok && res.data) {
      const list = Array.isArray(res.data.notifications) ? res.data.notifications : Array.isArray(res.data) ? res.data : [];
      let fresh = 0;
      for (const n of list) {
        if (!n || typeof n !== 'object' || n.is_read) continue;
        const key = String(n.id);
        if (G.shownNotifs.has(key)) continue;
        G.shownNotifs.add(key);
        fresh++;
        M.toast(n.message || '', 'info', { title: n.title || 'Aviso' });
        if (n.type === 'agent_joined' || n.type === 'chat_closed' || n.type === 'chat_resolved') refreshStatus();
      }
      if (fresh) gapi('/api/user-notifications/mark_read/', { method: 'POST', body: { chat_room_id: roomId } });
    }
    if (!G.closed) G.notifTimer = setTimeout(pollNotifications, next);
  }

  /* ------------------------------------------------------------- arranque */
  async function init() {
    $('#start-form').addEventListener('submit', onStartSubmit);
    $('#initial-message').addEventListener('input', () => { updateCount(); setFieldError('initial-message', null); });
    $('#profile-form').addEventListener('submit', onProfileSubmit);
    ['full-name', 'email', 'phone'].forEach((id) => $('#' + id).addEventListener('input', () => setFieldError(id, null)));
    $('#profile-restart').addEventListener('click', () => { store(KEYS.session, null); G.sessionId = null; showStart(); });
    $('#guest-form').addEventListener('submit', (ev) => { ev.preventDefault(); submitGuest(); });
    $('#guest-input').addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); submitGuest(); }
    });
    $('#guest-input').addEventListener('input', onInput);
    $('#guest-alert-close').addEventListener('click', () => showAlert('', 'info'));
    $('#guest-new').addEventListener('click', () => resetAll());
    $('#guest-reset').addEventListener('click', () => {
      if (G.roomId && !G.closed && !window.confirm('¿Salir de esta conversación e iniciar una nueva?')) return;
      resetAll();
    });

    G.sessionId = read(KEYS.session);
    G.roomId = read(KEYS.room);
    G.roomToken = read(KEYS.token);
    G.userName = read(KEYS.name);

    if (G.roomId && G.roomToken) { enterChat(null); return; }
    if (G.roomId && !G.roomToken) { store(KEYS.room, null); G.roomId = null; }
    if (G.sessionId) {
      const res = await M.api('/api/chat/validate_session/', { method: 'POST', body: { session_id: G.sessionId }, auth: false, handle401: false });
      if (res.ok && res.data && res.data.valid) { showProfile(); return; }
      store(KEYS.session, null); G.sessionId = null;
      showStart(res.ok ? 'Tu sesión expiró. Por favor inicia el chat nuevamente.' : null);
      return;
    }
    showStart();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
