/* Mostrador — panel de técnicos (/).
 * Contratos: seeds 000/001 (chat en vivo), 002 (auth, notificaciones, asignación), 003 (WebSocket)
 * y Resources/openapi.yaml. Regla: los datos se muestran con textContent/createElement, nunca innerHTML. */
(function () {
  'use strict';

  const M = window.Mostrador;
  const h = M.h, $ = M.$, $$ = M.$$, clear = M.clear;

  const SESSION_KEY = 'mostrador.session';
  const DEFAULT_TEMPLATES = ['equipo listo', 'en revision', 'esperando refaccion', 'presupuesto', 'ticket resuelto'];

  const ESTADOS = {
    new: 'Nuevo', open: 'Abierto', waiting: 'En espera', resolved: 'Resuelto', closed: 'Cerrado',
  };
  const CATEGORIAS = {
    Hardware: { label: 'Hardware', cls: 'badge-hardware', icon: '🖥️' },
    Software: { label: 'Software', cls: 'badge-software', icon: '💾' },
    unknown: { label: 'Sin clasificar', cls: 'badge-unknown', icon: '❔' },
  };
  const ROLES = {
    user: { icon: '👤', label: 'Cliente' },
    assistant: { icon: '🤖', label: 'Asistente' },
    tecnico: { icon: '👨‍💻', label: 'Técnico' },
    system: { icon: 'ℹ️', label: 'Sistema' },
  };
  /** Estados de entrega: icono y texto. */
  const STATUS = {
    sending: { icon: '⏳', label: 'Enviando…' },
    queued: { icon: '⏳', label: 'En cola' },
    sent: { icon: '✓', label: 'Enviado' },
    delivered: { icon: '✓✓', label: 'Entregado' },
    read: { icon: '✓✓', label: 'Leído' },
    retrying: { icon: '🔁', label: 'Reintentando' },
    waiting_bridge: { icon: '⏸', label: 'Esperando WhatsApp' },
    failed: { icon: '❌', label: 'No entregado' },
    error: { icon: '❌', label: 'Error al enviar' },
    stored: { icon: '✓', label: 'Guardado' },
  };
  /** Estados que todavía pueden cambiar: se vuelven a consultar. */
  const TRACKED_STATUS = new Set(['queued', 'retrying', 'waiting_bridge', 'sent', 'delivered']);
  const STATUS_RANK = { sending: 0, queued: 1, retrying: 2, waiting_bridge: 2, sent: 3, delivered: 4, read: 5, failed: 5 };

  const S = {
    token: null, user: null, agent: null,
    page: 1, pageSize: 20, estado: '', categoria: '', q: '',
    total: 0, totalPages: 1,
    rows: new Map(), tickets: new Map(), ticketsReq: 0, ticketsTimer: null,
    tab: 'tickets',
    notif: { available: null, timer: null, open: false, count: 0 },
    templates: DEFAULT_TEMPLATES.slice(),
    agents: null, assignAvailable: null,
    chat: null, chatSeq: 0,
    blobs: new Map(), drafts: new Map(),
    dashboardTimer: null, charts: [], chartLib: null,
  };

  /* ================================================================ Sesión */

  function loadSession() {
    try {
      const raw = sessionStorage.getItem(SESSION_KEY);
      if (!raw) return false;
      const s = JSON.parse(raw);
      if (!s || typeof s.token !== 'string' || !s.token) return false;
      S.token = s.token; S.user = s.user || null; S.agent = s.agent || null;
      return true;
    } catch (e) { return false; }
  }
  function saveSession() {
    try { sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: S.token, user: S.user, agent: S.agent })); } catch (e) { /* nada */ }
  }
  function clearSession() {
    S.token = null; S.user = null; S.agent = null;
    try { sessionStorage.removeItem(SESSION_KEY); } catch (e) { /* nada */ }
  }
  M.setAuthProvider(() => (S.token ? 'Token ' + S.token : null));
  M.onUnauthorized = function () {
    if (!S.token) return;
    logoutLocal('Tu sesión expiró o no es válida. Vuelve a iniciar sesión.');
  };

  function userDisplayName(u) {
    if (!u) return '';
    const full = [u.first_name, u.last_name].filter(Boolean).join(' ').trim();
    return full || u.username || '';
  }

  function showLogin(message) {
    $('#app').hidden = true;
    $('#login-view').hidden = false;
    const err = $('#login-error');
    if (message) { err.textContent = message; err.hidden = false; } else { err.hidden = true; }
    const pw = $('#password');
    pw.value = '';
    const user = $('#username');
    (user.value ? pw : user).focus();
  }

  function showApp() {
    $('#login-view').hidden = true;
    $('#app').hidden = false;
    $('#current-user').textContent = userDisplayName(S.user);
    selectTab('tickets', false, true);
    loadTickets();
    clearInterval(S.ticketsTimer);
    S.ticketsTimer = setInterval(() => {
      if (!document.hidden && S.tab === 'tickets') loadTickets({ silent: true });
    }, 10000);
    startNotifications();
  }

  function stopEverything() {
    clearInterval(S.ticketsTimer); S.ticketsTimer = null;
    clearTimeout(S.notif.timer); S.notif.timer = null;
    clearInterval(S.dashboardTimer); S.dashboardTimer = null;
    closeChat();
    $$('dialog[open]').forEach((d) => d.close());
    closeNotifPanel();
    S.rows.clear(); S.tickets.clear();
    clear($('#tickets-body'));
    S.agents = null; S.assignAvailable = null; S.notif.available = null;
    for (const p of S.blobs.values()) p.then((u) => { if (u) URL.revokeObjectURL(u); });
    S.blobs.clear();
  }

  function logoutLocal(message) {
    clearSession();
    stopEverything();
    showLogin(message);
  }

  async function onLoginSubmit(ev) {
    ev.preventDefault();
    const username = $('#username').value.trim();
    const password = $('#password').value;
    const err = $('#login-error');
    err.hidden = true;
    if (!username || !password) {
      err.textContent = 'Escribe tu usuario y contraseña.';
      err.hidden = false;
      (username ? $('#password') : $('#username')).focus();
      return;
    }
    const btn = $('#login-submit');
    btn.disabled = true; btn.textContent = 'Entrando…';
    const res = await M.api('/api/auth/login/', { method: 'POST', body: { username, password }, auth: false, handle401: false });
    btn.disabled = false; btn.textContent = 'Entrar';
    if (res.ok && res.data && res.data.token) {
      S.token = res.data.token; S.user = res.data.user || null; S.agent = res.data.agent || null;
      saveSession();
      $('#password').value = '';
      showApp();
      return;
    }
    err.textContent = res.status === 401 ? 'Usuario o contraseña incorrectos.' : M.errorText(res, 'No se pudo iniciar sesión.');
    err.hidden = false;
    $('#password').focus();
    $('#password').select();
  }

  async function onLogout() {
    const btn = $('#logout-btn');
    btn.disabled = true;
    await M.api('/api/auth/logout/', { method: 'POST', handle401: false, timeout: 5000 });
    btn.disabled = false;
    logoutLocal('Sesión cerrada.');
  }

  /* ================================================================= Tabs */

  function selectTab(name, focus, skipLoad) {
    S.tab = name;
    for (const t of ['tickets', 'dashboard']) {
      const btn = $('#tab-btn-' + t);
      const on = t === name;
      btn.setAttribute('aria-selected', on ? 'true' : 'false');
      btn.tabIndex = on ? 0 : -1;
      $('#tab-' + t).hidden = !on;
      if (on && focus) btn.focus();
    }
    clearInterval(S.dashboardTimer); S.dashboardTimer = null;
    if (name === 'dashboard') {
      loadDashboard();
      S.dashboardTimer = setInterval(() => { if (!document.hidden) loadDashboard(true); }, 60000);
    } else if (S.token && !skipLoad) {
      loadTickets({ silent: true });
    }
  }

  /* ============================================================== Badges */

  function estadoBadge(estado) {
    return h('span', { class: 'badge estado-' + (ESTADOS[estado] ? estado : 'closed'), text: ESTADOS[estado] || estado || '—' });
  }
  function categoriaBadges(t) {
    const c = CATEGORIAS[t.categoria] || CATEGORIAS.unknown;
    const wrap = h('span', { class: 'badge-stack' });
    const title = t.confianza !== null && t.confianza !== undefined && isFinite(t.confianza)
      ? 'Confianza ' + Math.round(Number(t.confianza) * 100) + '%' : 'Aún sin clasificación automática';
    wrap.appendChild(h('span', { class: 'badge ' + c.cls, title, text: c.label }));
    if (t.requiere_revision) wrap.appendChild(h('span', { class: 'badge tag-revisar', title: 'El clasificador no pudo decidir: requiere revisión de un técnico', text: 'revisar' }));
    return wrap;
  }

  /* ============================================================= Tickets */

  /** Query string con %20 para los espacios: el servidor no interpreta '+' como espacio. */
  function ticketParams() {
    const parts = [];
    const add = (k, v) => parts.push(k + '=' + encodeURIComponent(v));
    if (S.estado) add('estado', S.estado);
    if (S.categoria) add('categoria', S.categoria);
    if (S.q) add('q', S.q);
    add('page', String(S.page));
    add('page_size', String(S.pageSize));
    return parts.join('&');
  }

  async function loadTickets(opts) {
    opts = opts || {};
    if (!S.token) return;
    const my = ++S.ticketsReq;
    const res = await M.api('/tickets?' + ticketParams());
    if (my !== S.ticketsReq || !S.token) return;
    const errBox = $('#tickets-error');
    $('#tickets-loading').hidden = true;
    if (!res.ok) {
      if (res.status === 401) return;
      errBox.textContent = 'No se pudo cargar la lista de tickets: ' + M.errorText(res) + (opts.silent ? ' (se reintentará)' : '');
      errBox.hidden = false;
      return;
    }
    errBox.hidden = true;
    const list = Array.isArray(res.data) ? res.data.filter((t) => t && typeof t === 'object' && t.id !== undefined) : [];
    S.total = parseInt(res.headers.get('X-Total-Count'), 10);
    if (!isFinite(S.total)) S.total = list.length;
    S.totalPages = Math.max(1, parseInt(res.headers.get('X-Total-Pages'), 10) || 1);
    if (list.length === 0 && S.page > S.totalPages) { S.page = S.totalPages; loadTickets(opts); return; }
    renderTickets(list);
    renderPagination(list.length);
    const now = new Date();
    $('#tickets-updated').textContent = 'Actualizado ' + now.toLocaleTimeString('es-MX') + ' · se actualiza cada 10 s';
  }

  function buildRow(t) {
    const id = Number(t.id);
    const desc = t.descripcion || '';
    const cell = (label, cls, ...children) => h('td', { 'data-label': label, class: cls }, ...children);
    const last = t.last_message_at || t.updated_at || t.created_at;
    const nombre = t.nombre || '';
    return h('tr', { dataset: { ticketId: id, estado: t.estado } },
      cell('#', 'cell-id', h('span', { class: 'ticket-num', text: '#' + id })),
      cell('Cliente', 'cell-name', nombre ? h('span', { text: nombre }) : h('span', { class: 'muted', text: 'Sin nombre' })),
      cell('Teléfono', 'cell-phone', t.telefono || '—'),
      cell('Descripción', 'cell-desc', h('div', null,
        desc ? h('span', { class: 'desc-text', title: desc, text: M.truncate(desc, 90) })
          : h('span', { class: 'desc-text muted', text: '(sin descripción)' }),
        t.equipo ? h('span', { class: 'desc-equipo', title: t.equipo, text: '💻 ' + M.truncate(t.equipo, 60) }) : null)),
      cell('Categoría', 'cell-cat', categoriaBadges(t)),
      cell('Estado', 'cell-estado', estadoBadge(t.estado)),
      cell('Última actividad', 'cell-time',
        h('time', { datetime: last || '', title: M.formatFull(last), dataset: { rel: last || '' }, text: M.relativeTime(last) })),
      cell('Acciones', 'cell-actions', h('div', { class: 'row-actions' },
        h('button', { type: 'button', class: 'btn btn-chat', 'aria-label': 'Chat en vivo del ticket #' + id, text: '💬 Chat en Vivo' }),
        h('button', { type: 'button', class: 'btn btn-history', 'aria-label': 'Historial del ticket #' + id, text: '📋 Historial' }),
        h('button', { type: 'button', class: 'btn btn-notify', 'aria-label': 'Notificar al cliente del ticket #' + id, text: '✅ Notificar' }))),
    );
  }

  function renderTickets(list) {
    const tbody = $('#tickets-body');
    // Recordar el foco para no perderlo al actualizar.
    const active = document.activeElement;
    let focusKey = null;
    if (active && tbody.contains(active)) {
      const tr = active.closest('tr[data-ticket-id]');
      const cls = ['btn-chat', 'btn-history', 'btn-notify'].find((c) => active.classList.contains(c));
      if (tr && cls) focusKey = { id: tr.dataset.ticketId, cls };
    }
    const seen = new Set();
    list.forEach((t, i) => {
      const id = Number(t.id);
      S.tickets.set(id, t);
      seen.add(id);
      const key = JSON.stringify(t);
      let row = S.rows.get(id);
      if (!row || row.key !== key) {
        const tr = buildRow(t);
        if (row && row.tr.parentNode) row.tr.parentNode.replaceChild(tr, row.tr);
        row = { tr, key };
        S.rows.set(id, row);
      }
      const at = tbody.children[i];
      if (at !== row.tr) tbody.insertBefore(row.tr, at || null);
    });
    for (const [id, row] of Array.from(S.rows.entries())) {
      if (!seen.has(id)) { if (row.tr.parentNode) row.tr.parentNode.removeChild(row.tr); S.rows.delete(id); }
    }
    $$('time[data-rel]', tbody).forEach((el) => { el.textContent = M.relativeTime(el.dataset.rel); });
    $('#tickets-empty').hidden = list.length > 0;
    if (focusKey && (!document.activeElement || document.activeElement === document.body)) {
      const again = tbody.querySelector('tr[data-ticket-id="' + focusKey.id + '"] .' + focusKey.cls);
      if (again) again.focus();
    }
  }

  function renderPagination(count) {
    const first = count ? (S.page - 1) * S.pageSize + 1 : 0;
    const last = count ? first + count - 1 : 0;
    $('#tickets-total').textContent = S.total
      ? 'Mostrando ' + first + '–' + last + ' de ' + S.total + ' ticket' + (S.total === 1 ? '' : 's')
      : 'Sin tickets';
    $('#page-info').textContent = 'Página ' + S.page + ' de ' + S.totalPages;
    $('#page-prev').disabled = S.page <= 1;
    $('#page-next').disabled = S.page >= S.totalPages;
  }

  function onTableClick(ev) {
    const btn = ev.target.closest('button');
    if (!btn) return;
    const tr = btn.closest('tr[data-ticket-id]');
    if (!tr) return;
    const id = Number(tr.dataset.ticketId);
    if (btn.classList.contains('btn-chat')) openChat(id, btn);
    else if (btn.classList.contains('btn-history')) openHistory(id, btn);
    else if (btn.classList.contains('btn-notify')) openNotify(id, btn);
  }

  /* ========================================================== Diálogos */

  let dialogReturnFocus = new WeakMap();
  function openDialog(dlg, opener) {
    if (opener) dialogReturnFocus.set(dlg, opener);
    if (!dlg.open) {
      if (typeof dlg.showModal === 'function') dlg.showModal();
      else dlg.setAttribute('open', '');
    }
  }
  function onDialogClosed(dlg) {
    if (dlg.open) return; // se volvió a abrir antes de que llegara el evento
    const back = dialogReturnFocus.get(dlg);
    dialogReturnFocus.delete(dlg);
    if (back && document.contains(back) && !$$('dialog[open]').length) back.focus();
  }
  function setupDialogs() {
    $$('dialog').forEach((dlg) => {
      dlg.addEventListener('close', () => onDialogClosed(dlg));
      // Clic en el fondo cierra el diálogo.
      dlg.addEventListener('mousedown', (ev) => {
        if (ev.target !== dlg) return;
        const r = dlg.getBoundingClientRect();
        const inside = ev.clientX >= r.left && ev.clientX <= r.right && ev.clientY >= r.top && ev.clientY <= r.bottom;
        if (!inside) dlg.close();
      });
    });
    document.addEventListener('click', (ev) => {
      const b = ev.target.closest('[data-close-dialog]');
      if (b) { const d = b.closest('dialog'); if (d) d.close(); }
    });
  }

  /* ======================================================= Mensajes (DOM) */

  function normalizeMessage(raw) {
    if (!raw || typeof raw !== 'object') return null;
    const m = raw.mensaje && typeof raw.mensaje === 'object' ? raw.mensaje : raw;
    let role = typeof m.role === 'string' ? m.role : null;
    if (!role && m.autor && typeof m.autor === 'object') {
      const t = String(m.autor.tipo || '').toUpperCase();
      role = t === 'CLIENTE' || t === 'USER' || t === 'USUARIO' ? 'user'
        : t === 'AGENTE' || t === 'TECNICO' || t === 'AGENT' ? 'tecnico'
          : t === 'SISTEMA' || t === 'SYSTEM' ? 'system' : 'assistant';
    }
    if (!role && m.sender_type) {
      role = m.sender_type === 'user' ? 'user' : m.sender_type === 'agent' ? 'tecnico' : m.sender_type === 'system' ? 'system' : 'assistant';
    }
    if (!ROLES[role]) role = 'system';
    const idRaw = m.id !== undefined ? m.id : m.mensaje_id;
    const id = Number(idRaw);
    let content = m.content !== undefined ? m.content : m.contenido !== undefined ? m.contenido : (typeof m.mensaje === 'string' ? m.mensaje : '');
    content = content === null || content === undefined ? '' : String(content);
    // tipo: text|image|file (conversación) o TEXTO|IMAGEN|ARCHIVO (tramas de la guía 003).
    let tipo = String(m.tipo || 'text').toLowerCase();
    tipo = { texto: 'text', imagen: 'image', archivo: 'file' }[tipo] || tipo;
    const archivo = Array.isArray(m.archivos) && m.archivos[0] && typeof m.archivos[0] === 'object' ? m.archivos[0] : null;
    const rawUrl = m.adjunto_url || (archivo && archivo.url);
    const url = typeof rawUrl === 'string' && /^\/attachments\/\d+$/.test(rawUrl) ? rawUrl : null;
    const adjTipo = m.adjunto_tipo || (archivo && archivo.tipo_mime) || null;
    return {
      id: isFinite(id) && id > 0 ? id : null,
      role, content,
      timestamp: m.timestamp || m.created_at || null,
      tipo, adjunto_url: url, adjunto_tipo: adjTipo, adjunto_id: m.adjunto_id || null,
      estado_entrega: typeof m.estado_entrega === 'string' ? m.estado_entrega : null,
      intento: m.intento !== undefined ? m.intento : null,
      error_entrega: m.error_entrega !== undefined ? m.error_entrega : null,
    };
  }

  function isOutgoing(m) { return m.role === 'tecnico' || m.role === 'assistant'; }

  /** Construye la burbuja de un mensaje. ctx: {ticket, onRetry, readOnly}. */
  function buildBubble(m, ctx) {
    const el = h('div', { class: 'message role-' + m.role, dataset: { role: m.role } });
    if (m.id !== null) el.dataset.messageId = String(m.id);
    if (m.role === 'system') {
      el.appendChild(h('div', { class: 'message-bubble' },
        h('span', { class: 'message-text', text: m.content }),
        h('div', { class: 'message-meta' }, timeEl(m.timestamp))));
      return el;
    }
    const r = ROLES[m.role];
    const who = m.role === 'user' ? ((ctx.ticket && ctx.ticket.nombre) || r.label) : r.label;
    el.appendChild(h('div', { class: 'message-head' },
      h('span', { class: 'message-icon', 'aria-hidden': 'true', text: r.icon }),
      h('span', { class: 'message-author', text: who })));
    const bubble = h('div', { class: 'message-bubble' });
    if (m.adjunto_url) bubble.appendChild(attachmentEl(m));
    bubble.appendChild(h('div', { class: 'message-text', text: m.content }));
    const meta = h('div', { class: 'message-meta' }, timeEl(m.timestamp));
    bubble.appendChild(meta);
    el.appendChild(bubble);
    if (isOutgoing(m)) renderStatus(el, m, ctx);
    return el;
  }

  function timeEl(ts) {
    return h('time', { datetime: ts || '', title: M.formatFull(ts), text: M.formatTime(ts) });
  }

  function statusKey(m) {
    if (m.localStatus) return m.localStatus;
    return m.estado_entrega || 'stored';
  }

  /** Dibuja (o actualiza) el estado de entrega dentro de la burbuja. */
  function renderStatus(el, m, ctx) {
    const meta = el.querySelector('.message-meta');
    if (!meta) return;
    $$('.status, .status-reason, .btn-retry', meta).forEach((n) => n.parentNode.removeChild(n));
    const key = statusKey(m);
    const info = STATUS[key] || { icon: '•', label: key };
    let label = info.label;
    let text = info.icon;
    if (key === 'retrying') { text += ' reintentando' + (m.intento ? ' (intento ' + m.intento + ')' : ''); label += m.intento ? ' (intento ' + m.intento + ')' : ''; }
    if (key === 'waiting_bridge') text += ' esperando WhatsApp';
    const reason = key === 'failed' ? (m.error_entrega || 'WhatsApp rechazó el mensaje') : key === 'error' ? (m.localError || 'Error al enviar') : null;
    const title = reason ? label + ': ' + reason : label;
    meta.appendChild(h('span', { class: 'status', dataset: { status: key }, title, 'aria-label': title, text }));
    el.classList.toggle('is-pending', key === 'sending');
    el.classList.toggle('is-error', key === 'failed' || key === 'error');
    if (reason) meta.appendChild(h('span', { class: 'status-reason', text: reason }));
    const canRetry = ctx && ctx.onRetry && !ctx.readOnly && !m.retried &&
      (key === 'failed' || (key === 'error' && m.retryable));
    if (canRetry) {
      meta.appendChild(h('button', {
        type: 'button', class: 'btn-retry', text: '↻ Reintentar', 'aria-label': 'Reintentar el envío del mensaje',
        onclick: () => ctx.onRetry(m, el),
      }));
    }
  }

  function attachmentEl(m) {
    const isImage = m.tipo === 'image' || /^image\//.test(m.adjunto_tipo || '');
    const displayable = isImage && m.adjunto_tipo !== 'image/heic';
    if (displayable) {
      const btn = h('button', { type: 'button', class: 'attachment-thumb', 'aria-label': 'Ver foto ampliada' },
        h('span', { class: 'thumb-loading', text: 'Cargando foto…' }));
      loadBlobUrl(m.adjunto_url).then((url) => {
        clear(btn);
        if (!url) { btn.appendChild(h('span', { class: 'thumb-loading', text: '⚠️ No se pudo cargar la foto' })); return; }
        const box = btn.closest('.chat-messages');
        const stick = box ? nearBottom(box) : false;
        const img = h('img', { src: url, alt: m.content && m.content !== '📷 Foto' ? m.content : 'Foto enviada por el cliente', loading: 'lazy' });
        img.addEventListener('load', () => { if (stick && box) box.scrollTop = box.scrollHeight; });
        btn.appendChild(img);
      });
      btn.addEventListener('click', () => openLightbox(m.adjunto_url, m.content, null));
      return btn;
    }
    const label = m.adjunto_tipo === 'application/pdf' ? '📄 Descargar PDF' : '📎 Descargar archivo';
    return h('button', {
      type: 'button', class: 'attachment-file', text: label,
      onclick: () => downloadWithAuth(m.adjunto_url, null),
    });
  }

  function nearBottom(box) { return box.scrollHeight - box.scrollTop - box.clientHeight < 150; }

  /* ============================================= Archivos con autorización */

  function loadBlobUrl(url) {
    if (!url || !/^\/attachments\/\d+$/.test(url)) return Promise.resolve(null);
    if (S.blobs.has(url)) return S.blobs.get(url);
    const p = M.api(url, { blob: true, timeout: 60000 }).then((res) => {
      if (!res.ok || !(res.data instanceof Blob)) { S.blobs.delete(url); return null; }
      return URL.createObjectURL(res.data);
    });
    S.blobs.set(url, p);
    return p;
  }

  async function downloadWithAuth(url, filename) {
    const objUrl = await loadBlobUrl(url);
    if (!objUrl) { M.toast('No se pudo descargar el archivo.', 'error'); return; }
    const a = h('a', { href: objUrl, download: filename || ('evidencia-' + url.split('/').pop()) });
    document.body.appendChild(a);
    a.click();
    a.parentNode.removeChild(a);
  }

  async function openLightbox(url, caption, filename) {
    const dlg = $('#lightbox');
    const img = $('#lightbox-img');
    img.removeAttribute('src');
    img.alt = caption || 'Foto';
    $('#lightbox-title').textContent = caption || 'Foto';
    $('#lightbox-download').onclick = () => downloadWithAuth(url, filename);
    openDialog(dlg, document.activeElement);
    const objUrl = await loadBlobUrl(url);
    if (objUrl) img.src = objUrl;
    else $('#lightbox-title').textContent = 'No se pudo cargar la foto';
  }

  /* ================================================================ Chat */

  function ticketLabel(t, id) {
    return { nombre: (t && t.nombre) || 'Cliente sin nombre', telefono: (t && t.telefono) || 'sin teléfono' };
  }

  function updateChatHeader(chat) {
    const t = chat.ticket || {};
    $('#chat-ticket-id').textContent = String(chat.id);
    const lbl = ticketLabel(t);
    $('#chat-customer').textContent = lbl.nombre;
    $('#chat-phone').textContent = lbl.telefono;
    $('#chat-equipo').textContent = t.equipo ? '💻 ' + M.truncate(t.equipo, 80) : '';
    $('#chat-equipo').title = t.equipo || '';
    $('#chat-equipo').hidden = !t.equipo;
    const badges = clear($('#chat-badges'));
    if (t.estado) badges.appendChild(estadoBadge(t.estado));
    if (t.categoria) badges.appendChild(categoriaBadges(t));
    const closed = t.estado === 'closed';
    const input = $('#chat-input');
    input.disabled = closed;
    $('#chat-send').disabled = closed;
    input.placeholder = closed ? 'El ticket está cerrado; no se pueden enviar mensajes.' : 'Escribe un mensaje para el cliente…';
    renderAssignInfo(chat);
  }

  function setConnMode(mode) { M.renderConnection($('#connection-status'), mode); }

  function showChatAlert(text, kind, tag) {
    const wrap = $('#chat-alert-wrap');
    const box = $('#chat-alert');
    // El aviso le quita altura a la conversación: que el último mensaje (y su estado) siga a la vista.
    const log = $('#chat-messages');
    const stick = nearBottom(log);
    box.className = 'banner banner-' + (kind || 'warning');
    box.dataset.kind = tag || '';
    $('#chat-alert-text').textContent = text;
    wrap.hidden = false;
    if (stick) log.scrollTop = log.scrollHeight;
  }
  function hideChatAlert() { $('#chat-alert-wrap').hidden = true; }

  /** El aviso «WhatsApp desconectado / en cola» se quita cuando ya no queda ningún mensaje retenido ni en cola. */
  const UNDELIVERED_STATUS = new Set(['queued', 'retrying', 'waiting_bridge']);
  function clearSendAlertIfDelivered(chat) {
    if ($('#chat-alert-wrap').hidden || $('#chat-alert').dataset.kind !== 'send') return;
    for (const m of chat.msgs.values()) if (isOutgoing(m) && UNDELIVERED_STATUS.has(statusKey(m))) return;
    hideChatAlert();
  }

  async function openChat(ticketId, opener) {
    ticketId = Number(ticketId);
    if (!ticketId) return;
    if (S.chat) closeChat();
    const dlg = $('#chat-modal');
    const chat = {
      seq: ++S.chatSeq, id: ticketId, ticket: S.tickets.get(ticketId) || null,
      msgs: new Map(), els: new Map(), pending: [], lastId: 0, channel: null,
      typingSent: false, typingStopTimer: null, typingHideTimer: null,
    };
    S.chat = chat;
    const box = clear($('#chat-messages'));
    box.appendChild(h('div', { class: 'chat-placeholder', text: 'Cargando conversación…' }));
    hideChatAlert();
    $('#typing-indicator').hidden = true;
    $('#assign-controls').hidden = true;
    const input = $('#chat-input');
    input.value = S.drafts.get(ticketId) || '';
    autoGrow(input);
    setConnMode('polling');
    updateChatHeader(chat);
    openDialog(dlg, opener || document.activeElement);
    input.focus();

    const res = await M.api('/ticket/' + ticketId + '/conversacion');
    if (S.chat !== chat) return;
    clear(box);
    let ok = true;
    if (res.ok && res.data) {
      applyConversation(chat, res.data);
      box.scrollTop = box.scrollHeight;
      if (!chat.msgs.size) box.appendChild(h('div', { class: 'chat-placeholder', text: 'Aún no hay mensajes en este ticket.' }));
    } else {
      if (res.status === 401) return;
      ok = !res.networkError && res.status < 500;
      box.appendChild(h('div', { class: 'chat-placeholder', text: res.status === 404 ? 'Ticket no encontrado.' : 'No se pudo cargar la conversación: ' + M.errorText(res) }));
      if (res.status === 404) { setConnMode('offline'); return; }
    }
    chat.channel = new M.LiveChannel({
      wsUrl: () => M.wsUrl('/ws/soporte/ticket/' + ticketId + '/?token=' + encodeURIComponent(S.token || '')),
      poll: () => pollChat(chat),
      onEvent: (ev) => onChatEvent(chat, ev),
      onMode: (mode) => { if (S.chat === chat) setConnMode(mode); },
      onOpen: () => { if (S.chat === chat) pollChat(chat); },
      pollInterval: 5000,
    });
    chat.channel.start(ok);
    loadAssignment(chat);
  }

  function closeChat() {
    const chat = S.chat;
    if (!chat) return;
    S.chat = null;
    if (chat.channel) {
      if (chat.typingSent) chat.channel.send('typing_stop');
      chat.channel.stop();
    }
    clearTimeout(chat.typingStopTimer);
    clearTimeout(chat.typingHideTimer);
    clearTimeout(chat.markTimer);
    const dlg = $('#chat-modal');
    if (dlg.open) dlg.close();
    ['evidence-modal', 'lightbox'].forEach((id) => { const d = document.getElementById(id); if (d.open) d.close(); });
  }

  /** Desde qué id consultar: el último conocido, o antes si hay estados de entrega que pueden cambiar. */
  function computeDesde(chat) {
    let desde = chat.lastId;
    const ids = Array.from(chat.msgs.keys()).sort((a, b) => b - a).slice(0, 40);
    for (const id of ids) {
      const m = chat.msgs.get(id);
      if (isOutgoing(m) && TRACKED_STATUS.has(m.estado_entrega) && id - 1 < desde) desde = id - 1;
    }
    return Math.max(0, desde);
  }

  async function pollChat(chat) {
    if (S.chat !== chat) return true;
    const res = await M.api('/ticket/' + chat.id + '/conversacion?desde=' + computeDesde(chat));
    if (S.chat !== chat) return true;
    if (!res.ok) return !(res.networkError || res.status >= 500);
    applyConversation(chat, res.data || {});
    return true;
  }

  function applyConversation(chat, data) {
    if (data.ticket && typeof data.ticket === 'object') {
      chat.ticket = data.ticket;
      S.tickets.set(chat.id, data.ticket);
      updateChatHeader(chat);
    }
    const list = Array.isArray(data.historial) ? data.historial : [];
    mergeMessages(chat, list.map(normalizeMessage).filter(Boolean), true);
  }

  function chatCtx(chat) { return { ticket: chat.ticket, onRetry: (m, el) => retryMessage(chat, m, el) }; }

  /** Inserta mensajes nuevos (por id, sin duplicar) y actualiza en su sitio los existentes. */
  function mergeMessages(chat, msgs, advanceCursor) {
    const box = $('#chat-messages');
    const stick = nearBottom(box);
    let added = false;
    let userAdded = false;
    for (const m of msgs) {
      if (m.id === null) continue;
      const existing = chat.msgs.get(m.id);
      if (existing) { updateExisting(chat, existing, m); continue; }
      const p = adoptPending(chat, m);
      let el;
      if (p) {
        el = p.el;
        el.dataset.messageId = String(m.id);
        delete el.dataset.pending;
        if (el.parentNode) el.parentNode.removeChild(el);
      } else {
        el = buildBubble(m, chatCtx(chat));
      }
      chat.msgs.set(m.id, m);
      chat.els.set(m.id, el);
      insertOrdered(box, el, m.id);
      if (p) renderStatus(el, m, chatCtx(chat));
      if (advanceCursor !== false && m.id > chat.lastId) chat.lastId = m.id;
      added = true;
      if (m.role === 'user') { hideTyping(chat); userAdded = true; }
    }
    if (userAdded) markChatRead(chat);
    if (added) {
      const ph = box.querySelector('.chat-placeholder');
      if (ph) ph.parentNode.removeChild(ph);
      if (stick) box.scrollTop = box.scrollHeight;
    }
  }

  /** Marca como leídos los mensajes del cliente mientras el chat está abierto (✓✓ para el cliente web). */
  function markChatRead(chat) {
    if (S.markReadMissing || document.hidden || !chat.ticket || !chat.ticket.uuid) return;
    clearTimeout(chat.markTimer);
    chat.markTimer = setTimeout(async () => {
      if (S.chat !== chat) return;
      const res = await M.api('/api/messages/mark_chat_read/', { method: 'POST', body: { chat_room_id: chat.ticket.uuid } });
      if (M.isMissingEndpoint(res) && /recurso no encontrado/i.test(M.errorText(res, ''))) S.markReadMissing = true;
    }, 800);
  }

  function updateExisting(chat, existing, m) {
    const before = statusKey(existing) + '|' + existing.intento + '|' + existing.error_entrega;
    if (m.estado_entrega) {
      existing.estado_entrega = m.estado_entrega;
      existing.intento = m.intento;
      existing.error_entrega = m.error_entrega;
      delete existing.localStatus;
    }
    if (m.content && m.content !== existing.content && !existing.contentLocked) existing.content = m.content;
    const after = statusKey(existing) + '|' + existing.intento + '|' + existing.error_entrega;
    const el = chat.els.get(existing.id);
    if (el && before !== after && isOutgoing(existing)) {
      renderStatus(el, existing, chatCtx(chat));
      if (S.chat === chat) clearSendAlertIfDelivered(chat);
    }
  }

  /** Un mensaje del técnico que llega por consulta antes que la respuesta del POST: usar la burbuja pendiente. */
  function adoptPending(chat, m) {
    if (m.role !== 'tecnico') return null;
    const i = chat.pending.findIndex((p) => p.id === null && p.text === m.content.trim());
    if (i < 0) return null;
    const p = chat.pending[i];
    p.id = m.id;
    chat.pending.splice(i, 1);
    return p;
  }

  function insertOrdered(box, el, id) {
    let before = null;
    for (const child of Array.from(box.children)) {
      if (child === el) continue;
      if (child.classList.contains('chat-placeholder')) continue;
      const cid = child.dataset.messageId ? Number(child.dataset.messageId) : null;
      if (cid === null || cid > id) { before = child; break; }
    }
    box.insertBefore(el, before);
  }

  /* ----- envío ----- */

  async function sendChatMessage(text, clientId) {
    const chat = S.chat;
    if (!chat) return;
    text = String(text || '').trim();
    if (!text) return;
    if (text.length > 4096) { showChatAlert('El mensaje excede 4096 caracteres.', 'error'); return; }
    const cid = clientId || M.uuid();
    const m = {
      id: null, role: 'tecnico', content: text, timestamp: new Date().toISOString(), tipo: 'text',
      estado_entrega: null, localStatus: 'sending', intento: null, error_entrega: null, contentLocked: true,
    };
    const box = $('#chat-messages');
    const ph = box.querySelector('.chat-placeholder');
    if (ph) ph.parentNode.removeChild(ph);
    const el = buildBubble(m, chatCtx(chat));
    el.dataset.pending = 'true';
    el.dataset.clientId = cid;
    const p = { cid, text, el, id: null, msg: m };
    chat.pending.push(p);
    box.appendChild(el);
    box.scrollTop = box.scrollHeight;
    stopTyping(chat);

    const res = await M.api('/ticket/' + chat.id + '/enviar-mensaje', {
      method: 'POST', body: { mensaje: text, client_id: cid }, timeout: 30000,
    });
    if (S.chat !== chat) return;
    if (res.status === 401) return;
    const d = (res.data && typeof res.data === 'object') ? res.data : {};
    const mid = Number(d.mensaje_id);
    const fields = { estado_entrega: typeof d.estado_entrega === 'string' ? d.estado_entrega : null };

    if (res.ok) {
      if (!fields.estado_entrega) fields.estado_entrega = chat.ticket && chat.ticket.channel === 'web' ? null : 'sent';
      bindPending(chat, p, mid, fields);
      if ($('#chat-alert').dataset.kind === 'send') hideChatAlert();
      return;
    }
    if (res.status === 503 && d.guardado) {
      bindPending(chat, p, mid, { estado_entrega: fields.estado_entrega || 'waiting_bridge' });
      showChatAlert('WhatsApp desconectado: el mensaje se guardó y se reenviará automáticamente.', 'warning', 'send');
      return;
    }
    if (res.status === 504 && d.guardado) {
      bindPending(chat, p, mid, { estado_entrega: fields.estado_entrega || 'queued' });
      showChatAlert('WhatsApp no respondió a tiempo: el mensaje sigue en cola y se enviará automáticamente.', 'info', 'send');
      return;
    }
    if (res.status === 502 && d.guardado) {
      bindPending(chat, p, mid, { estado_entrega: 'failed', error_entrega: M.errorText(res, 'WhatsApp rechazó el mensaje') });
      M.toast(M.errorText(res, 'WhatsApp rechazó el mensaje'), 'error', { title: 'Mensaje no entregado' });
      return;
    }
    // Error sin mensaje guardado (o de red): ❌ con el motivo.
    const idx = chat.pending.indexOf(p);
    if (isFinite(mid) && mid > 0) { bindPending(chat, p, mid, { estado_entrega: fields.estado_entrega || 'failed', error_entrega: M.errorText(res) }); return; }
    m.localStatus = 'error';
    m.localError = M.errorText(res, 'No se pudo enviar');
    // Un corte de red o un 5xx puede haber guardado el mensaje: reintentar con el mismo client_id es seguro.
    m.retryable = res.networkError || res.status >= 500 || res.status === 429;
    m.retryClientId = cid;
    m.pendingRef = p;
    // Si pudo haberse guardado, la burbuja sigue disponible para que la consulta la adopte.
    if (!m.retryable && idx >= 0) chat.pending.splice(idx, 1);
    renderStatus(el, m, chatCtx(chat));
    if (res.status === 400 && /cerrado/i.test(m.localError)) chat.channel && chat.channel.pollNow();
  }

  /** Asocia la burbuja pendiente al id guardado en el servidor. */
  function bindPending(chat, p, mid, fields) {
    const idx = chat.pending.indexOf(p);
    if (idx >= 0) chat.pending.splice(idx, 1);
    const m = p.msg;
    if (!(isFinite(mid) && mid > 0)) {
      // Sin id: mostrar el estado de todos modos; la consulta lo adoptará.
      Object.assign(m, fields); delete m.localStatus;
      renderStatus(p.el, m, chatCtx(chat));
      return;
    }
    const existing = chat.msgs.get(mid);
    if (existing) {
      const el = chat.els.get(mid);
      if (el !== p.el && p.el.parentNode) p.el.parentNode.removeChild(p.el);
      if ((STATUS_RANK[fields.estado_entrega] || 0) > (STATUS_RANK[existing.estado_entrega] || 0) || fields.estado_entrega === 'failed') {
        updateExisting(chat, existing, Object.assign({}, existing, fields));
      }
      return;
    }
    m.id = mid;
    Object.assign(m, fields);
    delete m.localStatus;
    p.id = mid;
    p.el.dataset.messageId = String(mid);
    delete p.el.dataset.pending;
    chat.msgs.set(mid, m);
    chat.els.set(mid, p.el);
    const box = $('#chat-messages');
    if (p.el.parentNode) p.el.parentNode.removeChild(p.el);
    insertOrdered(box, p.el, mid);
    renderStatus(p.el, m, chatCtx(chat));
    box.scrollTop = box.scrollHeight;
  }

  function retryMessage(chat, m, el) {
    if (S.chat !== chat) return;
    if (m.localStatus === 'error') {
      // Nunca llegó al historial (o no se sabe): reenviar con el mismo client_id (idempotente).
      const i = chat.pending.indexOf(m.pendingRef);
      if (i >= 0) chat.pending.splice(i, 1);
      if (el.parentNode) el.parentNode.removeChild(el);
      sendChatMessage(m.content, m.retryClientId);
      return;
    }
    // failed en el servidor: nuevo mensaje con un client_id NUEVO.
    m.retried = true;
    renderStatus(el, m, chatCtx(chat));
    sendChatMessage(m.content, null);
  }

  /* ----- escritura ----- */

  function onChatInput() {
    const input = $('#chat-input');
    autoGrow(input);
    const chat = S.chat;
    if (!chat) return;
    if (input.value) S.drafts.set(chat.id, input.value); else S.drafts.delete(chat.id);
    if (!chat.channel || !chat.channel.isOpen()) return;
    if (!input.value.trim()) { stopTyping(chat); return; }
    if (!chat.typingSent) chat.typingSent = chat.channel.send('typing_start');
    clearTimeout(chat.typingStopTimer);
    chat.typingStopTimer = setTimeout(() => stopTyping(chat), 3000);
  }
  function stopTyping(chat) {
    clearTimeout(chat.typingStopTimer);
    if (chat.typingSent && chat.channel) chat.channel.send('typing_stop');
    chat.typingSent = false;
  }
  function showTyping(chat) {
    if (S.chat !== chat) return;
    $('#typing-indicator').hidden = false;
    clearTimeout(chat.typingHideTimer);
    chat.typingHideTimer = setTimeout(() => hideTyping(chat), 6000);
  }
  function hideTyping(chat) {
    clearTimeout(chat.typingHideTimer);
    if (S.chat === chat) $('#typing-indicator').hidden = true;
  }
  function autoGrow(ta) {
    ta.style.height = 'auto';
    ta.style.height = Math.min(ta.scrollHeight + 2, 160) + 'px';
  }

  function onChatKeydown(ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && !ev.altKey && !ev.ctrlKey && !ev.metaKey) {
      ev.preventDefault();
      submitChat();
    }
  }
  function submitChat() {
    const input = $('#chat-input');
    if (input.disabled) return;
    const text = input.value;
    if (!text.trim()) return;
    input.value = '';
    if (S.chat) S.drafts.delete(S.chat.id);
    autoGrow(input);
    sendChatMessage(text);
    input.focus();
  }

  /* ----- eventos del WebSocket (guía 003) ----- */

  function isCustomer(d) {
    const u = d && (d.usuario || d.user || d.autor);
    if (!u || typeof u !== 'object') return d && d.role ? d.role === 'user' : true;
    const t = String(u.tipo || u.type || u.role || '').toUpperCase();
    return !(t === 'AGENTE' || t === 'AGENT' || t === 'TECNICO');
  }

  function onChatEvent(chat, ev) {
    if (S.chat !== chat) return;
    const d = ev.data || {};
    switch (ev.type) {
      case 'connection_established':
        if (Array.isArray(d.historial_reciente)) mergeMessages(chat, d.historial_reciente.map(normalizeMessage).filter(Boolean), false);
        if (d.ticket && typeof d.ticket === 'object') { chat.ticket = d.ticket; updateChatHeader(chat); }
        break;
      case 'mensaje_recibido':
      case 'nuevo_mensaje':
      case 'mensaje_actualizado': {
        const m = normalizeMessage(d.mensaje && typeof d.mensaje === 'object' ? d.mensaje : d);
        if (m) mergeMessages(chat, [m], false);
        break;
      }
      case 'mensaje_confirmado': {
        const mid = Number(d.mensaje_id !== undefined ? d.mensaje_id : d.id);
        const p = chat.pending.find((x) => x.cid === d.client_id);
        if (p) bindPending(chat, p, mid, { estado_entrega: d.estado_entrega || p.msg.estado_entrega || 'queued' });
        break;
      }
      case 'estado_entrega':
      case 'delivery_status': {
        const mid = Number(d.mensaje_id !== undefined ? d.mensaje_id : d.id);
        const estado = d.estado_entrega || d.estado || d.status;
        const existing = chat.msgs.get(mid);
        if (existing && estado) {
          updateExisting(chat, existing, {
            estado_entrega: estado,
            intento: d.intento !== undefined ? d.intento : null,
            error_entrega: d.error_entrega !== undefined ? d.error_entrega : null,
          });
        } else if (!existing) {
          chat.channel && chat.channel.pollNow();
        }
        break;
      }
      case 'usuario_escribiendo':
        if (isCustomer(d)) showTyping(chat);
        break;
      case 'usuario_dejo_escribir':
        if (isCustomer(d)) hideTyping(chat);
        break;
      case 'ticket_actualizado':
      case 'chat_transferred':
      case 'agente_joined':
      case 'agente_left':
        if (d.ticket && typeof d.ticket === 'object') { chat.ticket = d.ticket; updateChatHeader(chat); }
        if (chat.channel) chat.channel.pollNow();
        break;
      case 'heartbeat':
      default:
        break;
    }
  }

  /* ========================================================= Asignación */

  function normalizeAgents(data) {
    const list = Array.isArray(data) ? data : (data && (data.agents || data.results || data.items)) || [];
    return list.filter((a) => a && typeof a === 'object' && a.id !== undefined).map((a) => {
      const u = a.user && typeof a.user === 'object' ? a.user : a;
      const name = [u.first_name, u.last_name].filter(Boolean).join(' ').trim() || a.full_name || a.name || u.username || String(a.id);
      return { id: a.id, userId: u.id !== undefined && u !== a ? u.id : a.user_id, name, available: a.is_available !== false };
    });
  }

  async function loadAssignment(chat) {
    const ctl = $('#assign-controls');
    if (S.assignAvailable === false || !chat.ticket || !chat.ticket.uuid) { ctl.hidden = true; return; }
    if (!S.agents) {
      const res = await M.api('/api/agents/');
      if (S.chat !== chat) return;
      if (M.isMissingEndpoint(res)) { S.assignAvailable = false; ctl.hidden = true; return; }
      if (!res.ok) { ctl.hidden = true; return; }
      S.agents = normalizeAgents(res.data);
      S.assignAvailable = true;
    }
    const sel = clear($('#assign-agent'));
    sel.appendChild(h('option', { value: '', text: 'Transferir a…' }));
    const myAgentId = S.agent && S.agent.id;
    for (const a of S.agents) {
      if (a.id === myAgentId) continue;
      sel.appendChild(h('option', { value: String(a.id), text: a.name + (a.available ? '' : ' (no disponible)') }));
    }
    renderAssignInfo(chat);
    ctl.hidden = false;
  }

  function renderAssignInfo(chat) {
    const info = $('#assign-info');
    if (!info || !chat || !chat.ticket) return;
    const estado = chat.ticket.estado;
    $('#assign-take').disabled = estado === 'closed';
    $('#assign-transfer').disabled = estado === 'closed';
    $('#assign-agent').disabled = estado === 'closed';
    $('#assign-resolve').disabled = estado === 'closed' || estado === 'resolved';
    $('#assign-close').disabled = estado === 'closed';
    const uid = chat.ticket.agente_asignado;
    if (uid === null || uid === undefined) { info.textContent = 'Sin asignar'; return; }
    if (S.user && S.user.id === uid) { info.textContent = 'Asignado a ti'; return; }
    const a = (S.agents || []).find((x) => x.userId === uid);
    info.textContent = 'Asignado a ' + (a ? a.name : 'agente #' + uid);
  }

  async function assignAction(kind) {
    const chat = S.chat;
    if (!chat || !chat.ticket || !chat.ticket.uuid) return;
    const uuid = encodeURIComponent(chat.ticket.uuid);
    let body;
    if (kind === 'transfer') {
      const v = $('#assign-agent').value;
      if (!v) { M.toast('Elige el agente al que quieres transferir el chat.', 'warning'); $('#assign-agent').focus(); return; }
      const a = (S.agents || []).find((x) => String(x.id) === v);
      body = { agent_id: a ? a.id : v };
    }
    if (kind === 'close' && !window.confirm('¿Cerrar definitivamente el chat del ticket #' + chat.id + '?')) return;
    const labels = { take: 'Chat tomado', transfer: 'Chat transferido', resolve: 'Chat marcado como resuelto', close: 'Chat cerrado' };
    const btn = $('#assign-' + kind);
    btn.disabled = true;
    const res = await M.api('/api/chatrooms/' + uuid + '/' + kind + '/', { method: 'POST', body: body || {} });
    btn.disabled = false;
    if (S.chat !== chat) return;
    if (res.ok) {
      M.toast(labels[kind] + ' (#' + chat.id + ').', 'success');
      if (chat.channel) chat.channel.pollNow();
      loadTickets({ silent: true });
      return;
    }
    if (res.status === 401) return;
    if (M.isMissingEndpoint(res) && /recurso no encontrado/i.test(M.errorText(res, ''))) {
      S.assignAvailable = false;
      $('#assign-controls').hidden = true;
      M.toast('La asignación de chats todavía no está disponible en el servidor.', 'info');
      return;
    }
    M.toast(M.errorText(res, 'No se pudo completar la acción.'), 'error');
  }

  /* ========================================================== Historial */

  async function openHistory(ticketId, opener) {
    const dlg = $('#history-modal');
    const box = clear($('#history-messages'));
    const t = S.tickets.get(ticketId);
    $('#history-title').textContent = '📋 Historial · Ticket #' + ticketId;
    const lbl = ticketLabel(t);
    $('#history-sub').textContent = lbl.nombre + ' · ' + lbl.telefono;
    box.appendChild(h('div', { class: 'chat-placeholder', text: 'Cargando historial…' }));
    openDialog(dlg, opener);
    const res = await M.api('/ticket/' + ticketId + '/conversacion');
    if (!dlg.open) return;
    clear(box);
    if (!res.ok) {
      if (res.status === 401) return;
      box.appendChild(h('div', { class: 'chat-placeholder', text: 'No se pudo cargar el historial: ' + M.errorText(res) }));
      return;
    }
    const ticket = (res.data && res.data.ticket) || t;
    if (ticket) {
      const l2 = ticketLabel(ticket);
      $('#history-sub').textContent = l2.nombre + ' · ' + l2.telefono + (ticket.estado ? ' · ' + (ESTADOS[ticket.estado] || ticket.estado) : '');
    }
    const msgs = (Array.isArray(res.data && res.data.historial) ? res.data.historial : []).map(normalizeMessage).filter(Boolean);
    if (!msgs.length) box.appendChild(h('div', { class: 'chat-placeholder', text: 'Este ticket no tiene mensajes.' }));
    const ctx = { ticket, readOnly: true };
    msgs.sort((a, b) => (a.id || 0) - (b.id || 0)).forEach((m) => box.appendChild(buildBubble(m, ctx)));
    box.scrollTop = box.scrollHeight;
  }

  /* ========================================================== Notificar */

  let notifyTicketId = null;
  function fillTemplates(selected) {
    const sel = clear($('#notify-template'));
    for (const name of S.templates) {
      sel.appendChild(h('option', { value: name, text: name.charAt(0).toUpperCase() + name.slice(1) }));
    }
    const pick = S.templates.includes(selected) ? selected : (S.templates.includes('equipo listo') ? 'equipo listo' : S.templates[0]);
    if (pick) sel.value = pick;
  }
  function openNotify(ticketId, opener) {
    notifyTicketId = ticketId;
    const t = S.tickets.get(ticketId);
    const lbl = ticketLabel(t);
    $('#notify-sub').textContent = 'Ticket #' + ticketId + ' · ' + lbl.nombre + ' · ' + lbl.telefono;
    fillTemplates('equipo listo');
    const r = $('#notify-result');
    r.hidden = true;
    $('#notify-submit').disabled = false;
    openDialog($('#notify-modal'), opener);
    $('#notify-template').focus();
  }
  async function onNotifySubmit(ev) {
    ev.preventDefault();
    const id = notifyTicketId;
    if (!id) return;
    const plantilla = $('#notify-template').value || 'equipo listo';
    const btn = $('#notify-submit');
    const r = $('#notify-result');
    btn.disabled = true;
    btn.textContent = 'Enviando…';
    r.hidden = true;
    const res = await M.api('/ticket/' + id + '/notificar', { method: 'POST', body: { plantilla, client_id: M.uuid() }, timeout: 30000 });
    btn.disabled = false;
    btn.textContent = '✅ Enviar notificación';
    if (res.status === 401) return;
    const d = res.data || {};
    const show = (kind, text) => { r.className = 'banner banner-' + kind; r.textContent = text; r.hidden = false; };
    if (res.ok) {
      show('success', 'Notificación «' + plantilla + '» enviada al cliente.');
      M.toast('Notificación enviada al ticket #' + id + '.', 'success');
    } else if (res.status === 503 && d.guardado) {
      show('warning', 'WhatsApp desconectado: la notificación se guardó y se reenviará automáticamente.');
    } else if (res.status === 504 && d.guardado) {
      show('info', 'WhatsApp no respondió a tiempo: la notificación sigue en cola y se enviará automáticamente.');
    } else if (res.status === 400 && Array.isArray(d.plantillas) && d.plantillas.length) {
      S.templates = d.plantillas.map(String);
      fillTemplates(plantilla);
      show('error', M.errorText(res) + '. Elige una de las plantillas disponibles.');
    } else {
      show('error', M.errorText(res, 'No se pudo enviar la notificación.'));
    }
    if (S.chat && S.chat.id === id && S.chat.channel) S.chat.channel.pollNow();
    loadTickets({ silent: true });
  }

  /* ========================================================= Evidencias */

  async function openEvidence() {
    const chat = S.chat;
    if (!chat) return;
    const dlg = $('#evidence-modal');
    const grid = clear($('#evidence-grid'));
    const lbl = ticketLabel(chat.ticket);
    $('#evidence-sub').textContent = 'Ticket #' + chat.id + ' · ' + lbl.nombre;
    grid.appendChild(h('p', { class: 'muted', text: 'Cargando evidencias…' }));
    openDialog(dlg, $('#chat-evidence-btn'));
    const res = await M.api('/ticket/' + chat.id + '/evidencias');
    if (!dlg.open) return;
    clear(grid);
    if (!res.ok) {
      if (res.status === 401) return;
      grid.appendChild(h('p', { class: 'muted', text: 'No se pudieron cargar las evidencias: ' + M.errorText(res) }));
      return;
    }
    const list = Array.isArray(res.data && res.data.evidencias) ? res.data.evidencias : [];
    if (!list.length) { grid.appendChild(h('p', { class: 'muted', text: 'El cliente aún no ha enviado fotos ni archivos.' })); return; }
    for (const ev of list) {
      if (!ev || !/^\/attachments\/\d+$/.test(ev.url || '')) continue;
      const tipo = String(ev.tipo || '');
      const caption = ev.caption || ev.nombre || 'Evidencia #' + ev.id;
      const info = h('div', { class: 'evidence-info' },
        h('span', { class: 'evidence-caption', text: caption }),
        h('span', { class: 'muted', text: [ev.nombre && ev.nombre !== caption ? ev.nombre : null, M.formatBytes(ev.tamano), M.formatTime(ev.created_at)].filter(Boolean).join(' · ') }));
      let item;
      if (/^image\//.test(tipo) && tipo !== 'image/heic') {
        const open = h('button', { type: 'button', class: 'evidence-open', 'aria-label': 'Ampliar: ' + caption }, h('span', { class: 'muted small', text: 'Cargando…' }));
        open.addEventListener('click', () => openLightbox(ev.url, caption, ev.nombre));
        loadBlobUrl(ev.url).then((u) => {
          clear(open);
          if (u) open.appendChild(h('img', { src: u, alt: caption, loading: 'lazy' }));
          else open.appendChild(h('span', { class: 'muted small', text: '⚠️ No disponible' }));
        });
        item = h('figure', { class: 'evidence-item', dataset: { evidenceId: ev.id } }, open, info);
      } else {
        const isPdf = tipo === 'application/pdf';
        item = h('figure', { class: 'evidence-item', dataset: { evidenceId: ev.id } },
          h('div', { class: 'evidence-file', 'aria-hidden': 'true', text: isPdf ? '📄' : '🖼️' }),
          info,
          h('div', { class: 'evidence-actions' }, h('button', {
            type: 'button', class: 'btn btn-ghost btn-sm', text: isPdf ? '⬇ Descargar PDF' : '⬇ Descargar',
            onclick: () => downloadWithAuth(ev.url, ev.nombre),
          })));
      }
      grid.appendChild(item);
    }
  }

  /* ====================================================== Notificaciones */

  function startNotifications() {
    clearTimeout(S.notif.timer);
    pollUnread();
  }
  function scheduleUnread(ms) {
    clearTimeout(S.notif.timer);
    if (S.token) S.notif.timer = setTimeout(pollUnread, ms);
  }
  function setBellAvailable(on) {
    S.notif.available = on;
    $('#notifications-wrap').hidden = !on;
    if (!on) closeNotifPanel();
  }
  function setUnreadCount(n) {
    n = Math.max(0, Number(n) || 0);
    S.notif.count = n;
    const c = $('#notifications-count');
    c.textContent = n > 99 ? '99+' : String(n);
    c.hidden = n === 0;
    $('#notifications-bell').setAttribute('aria-label', n ? 'Notificaciones (' + n + ' sin leer)' : 'Notificaciones');
  }
  async function pollUnread() {
    if (!S.token) return;
    const res = await M.api('/api/notifications/unread_count/', { timeout: 10000 });
    if (!S.token) return;
    if (M.isMissingEndpoint(res)) { setBellAvailable(false); scheduleUnread(60000); return; }
    if (res.ok && res.data && typeof res.data === 'object') {
      setBellAvailable(true);
      setUnreadCount(res.data.unread_count);
    }
    scheduleUnread(15000);
  }

  function closeNotifPanel() {
    S.notif.open = false;
    const p = $('#notifications-panel');
    if (p) p.hidden = true;
    const b = $('#notifications-bell');
    if (b) b.setAttribute('aria-expanded', 'false');
  }
  async function toggleNotifPanel() {
    if (S.notif.open) { closeNotifPanel(); return; }
    S.notif.open = true;
    $('#notifications-panel').hidden = false;
    $('#notifications-bell').setAttribute('aria-expanded', 'true');
    await loadNotifications();
  }
  const NOTIF_ICONS = { new_chat: '💬', new_message: '✉️', chat_assigned: '🙋', chat_transferred: '↪', chat_resolved: '✔', chat_closed: '🔒' };
  async function loadNotifications() {
    const list = clear($('#notifications-list'));
    list.appendChild(h('li', { class: 'notif-empty', text: 'Cargando…' }));
    const res = await M.api('/api/notifications/');
    if (!S.notif.open) return;
    clear(list);
    if (M.isMissingEndpoint(res)) { setBellAvailable(false); return; }
    if (!res.ok) { list.appendChild(h('li', { class: 'notif-empty', text: 'No se pudieron cargar: ' + M.errorText(res) })); return; }
    const d = res.data || {};
    const items = Array.isArray(d.notifications) ? d.notifications : Array.isArray(d) ? d : [];
    if (d.unread_count !== undefined) setUnreadCount(d.unread_count);
    if (!items.length) { list.appendChild(h('li', { class: 'notif-empty', text: 'No tienes notificaciones.' })); return; }
    for (const n of items) {
      if (!n || typeof n !== 'object') continue;
      const li = h('li', { class: 'notif-item' + (n.is_read ? '' : ' unread'), dataset: { notificationId: n.id } },
        h('button', { type: 'button', onclick: () => onNotificationClick(n) },
          h('span', { 'aria-hidden': 'true', text: NOTIF_ICONS[n.type] || '🔔' }),
          h('span', null,
            h('span', { class: 'notif-title', text: (n.is_read ? '' : '● ') + (n.title || 'Notificación') }),
            n.message ? h('span', { class: 'notif-msg', text: n.message }) : null,
            h('time', { class: 'notif-time', datetime: n.created_at || '', title: M.formatFull(n.created_at), text: M.relativeTime(n.created_at) }))));
      list.appendChild(li);
    }
  }
  async function onNotificationClick(n) {
    if (!n.is_read) {
      const res = await M.api('/api/notifications/mark_read/', { method: 'POST', body: { notification_ids: [n.id] } });
      if (res.ok) { n.is_read = true; setUnreadCount(S.notif.count - 1); }
    }
    let ticketId = Number(n.ticket_id) || null;
    if (!ticketId && n.chat_room_id) {
      for (const t of S.tickets.values()) if (t.uuid === n.chat_room_id) { ticketId = t.id; break; }
    }
    closeNotifPanel();
    if (ticketId) openChat(ticketId, $('#notifications-bell'));
    pollUnread();
  }
  async function markAllRead() {
    const res = await M.api('/api/notifications/mark_all_read/', { method: 'POST', body: {} });
    if (res.ok) { setUnreadCount(0); if (S.notif.open) loadNotifications(); }
    else if (res.status !== 401) M.toast(M.errorText(res, 'No se pudieron marcar como leídas.'), 'error');
  }

  /* ========================================================= Indicadores */

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = src;
      s.async = true;
      s.onload = () => resolve();
      s.onerror = () => { s.parentNode && s.parentNode.removeChild(s); reject(new Error('no disponible')); };
      document.head.appendChild(s);
    });
  }
  /** Chart.js solo si el servidor lo sirve (libjs-chart.js de Debian). Nunca desde un CDN. */
  function getChartLib() {
    if (window.Chart) return Promise.resolve(window.Chart);
    if (!S.chartLib) {
      S.chartLib = loadScript('/vendor/chart.js/chart.umd.min.js')
        .catch(() => loadScript('/vendor/chart.js/chart.min.js'))
        .then(() => window.Chart || null)
        .catch(() => null);
    }
    return S.chartLib;
  }

  function lastNDays(n) {
    const out = [];
    const d = new Date();
    d.setHours(12, 0, 0, 0);
    d.setDate(d.getDate() - (n - 1));
    for (let i = 0; i < n; i++) {
      out.push(d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0'));
      d.setDate(d.getDate() + 1);
    }
    return out;
  }

  async function loadDashboard(silent) {
    const box = $('#dashboard-content');
    if (!silent) { clear(box); box.appendChild(h('div', { class: 'card no-data', text: 'Cargando indicadores…' })); }
    const res = await M.api('/api/dashboard/?days=14');
    if (S.tab !== 'dashboard') return;
    destroyCharts();
    clear(box);
    if (!res.ok || !res.data || typeof res.data !== 'object') {
      if (res.status === 401) return;
      box.appendChild(h('div', { class: 'card no-data' },
        h('div', null, h('div', { style: { fontSize: '32px' }, 'aria-hidden': 'true', text: '📊' }),
          h('strong', { text: 'Sin datos' }),
          h('div', { class: 'small', text: M.isMissingEndpoint(res) ? 'Los indicadores todavía no están disponibles en el servidor.' : M.errorText(res) }))));
      return;
    }
    const d = res.data;
    const perDayRaw = Array.isArray(d.tickets_per_day) ? d.tickets_per_day : [];
    const byDate = new Map(perDayRaw.filter((x) => x && x.date).map((x) => [String(x.date).slice(0, 10), Number(x.count) || 0]));
    let days = lastNDays(14);
    if (perDayRaw.length && !perDayRaw.some((x) => days.includes(String(x.date).slice(0, 10)))) {
      days = perDayRaw.map((x) => String(x.date).slice(0, 10)).sort();
    }
    const perDay = days.map((k) => ({ date: k, count: byDate.get(k) || 0 }));
    const cats = d.categories && typeof d.categories === 'object' ? d.categories : {};
    const hw = Number(cats.Hardware) || 0, sw = Number(cats.Software) || 0, unk = Number(cats.unknown) || 0;
    const fr = d.first_response && typeof d.first_response === 'object' ? d.first_response : {};
    const frDaysRaw = Array.isArray(fr.per_day) ? fr.per_day : [];
    const frBy = new Map(frDaysRaw.filter((x) => x && x.date).map((x) => [String(x.date).slice(0, 10), x.average_seconds]));
    const frDays = days.map((k) => ({ date: k, value: frBy.has(k) && frBy.get(k) !== null ? Number(frBy.get(k)) : null }));
    const total = perDay.reduce((s, x) => s + x.count, 0);

    const kpi = (label, value) => h('div', { class: 'card kpi' }, h('div', { class: 'kpi-label', text: label }), h('div', { class: 'kpi-value', text: value }));
    box.appendChild(h('div', { class: 'kpis' },
      kpi('Tickets (14 días)', String(total)),
      kpi('Hardware', String(hw)),
      kpi('Software', String(sw)),
      kpi('Sin clasificar', String(unk)),
      kpi('1ª respuesta · promedio', M.formatDuration(fr.average_seconds)),
      kpi('1ª respuesta · mediana', M.formatDuration(fr.median_seconds))));

    const c1 = h('div', { class: 'chart-box', id: 'chart-tickets' });
    const c2 = h('div', { class: 'chart-box', id: 'chart-categories' });
    const c3 = h('div', { class: 'chart-box', id: 'chart-first-response' });
    box.appendChild(h('div', { class: 'charts' },
      h('section', { class: 'card chart-card', 'aria-labelledby': 'ch1' }, h('h2', { id: 'ch1', text: 'Tickets por día' }), c1),
      h('section', { class: 'card chart-card', 'aria-labelledby': 'ch2' }, h('h2', { id: 'ch2', text: 'Hardware vs Software' }), c2),
      h('section', { class: 'card chart-card', 'aria-labelledby': 'ch3' }, h('h2', { id: 'ch3', text: 'Tiempo de primera respuesta (promedio por día)' }), c3)));

    const labels = days.map(M.formatDay);
    const catData = [
      { label: 'Hardware', value: hw, color: '#ea580c' },
      { label: 'Software', value: sw, color: '#7c3aed' },
      { label: 'Sin clasificar', value: unk, color: '#94a3b8' },
    ];
    const frMax = Math.max.apply(null, frDays.map((x) => (x.value === null || !isFinite(x.value) ? 0 : x.value)).concat([0]));
    const frInSeconds = frMax < 120;
    const frScaled = frDays.map((x) => (x.value === null || !isFinite(x.value) ? null
      : frInSeconds ? Math.round(x.value * 10) / 10 : Math.round(x.value / 6) / 10));
    const Chart = await getChartLib();
    if (S.tab !== 'dashboard') return;
    if (Chart) {
      chartJsBar(Chart, c1, labels, perDay.map((x) => x.count), '#2563eb', 'Tickets');
      chartJsDoughnut(Chart, c2, catData);
      chartJsBar(Chart, c3, labels, frScaled, '#059669', frInSeconds ? 'Segundos' : 'Minutos');
    } else {
      svgBarChart(c1, labels, perDay.map((x) => x.count), { color: '#2563eb', integer: true, unit: (v) => v + ' ticket' + (v === 1 ? '' : 's') });
      hBars(c2, catData);
      svgBarChart(c3, labels, frScaled, {
        color: '#059669',
        unit: (v) => M.formatDuration(frInSeconds ? v : v * 60),
        axis: (v) => v + (frInSeconds ? ' s' : ' min'),
      });
    }
  }

  function destroyCharts() {
    for (const c of S.charts) { try { c.destroy(); } catch (e) { /* nada */ } }
    S.charts = [];
  }
  function chartJsBar(Chart, box, labels, values, color, label) {
    const canvas = h('canvas', { role: 'img', 'aria-label': label + ' por día' });
    box.appendChild(canvas);
    S.charts.push(new Chart(canvas.getContext('2d'), {
      type: 'bar',
      data: { labels, datasets: [{ label, data: values, backgroundColor: color, borderRadius: 4 }] },
      options: { responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
    }));
    box.style.height = '240px';
  }
  function chartJsDoughnut(Chart, box, items) {
    const canvas = h('canvas', { role: 'img', 'aria-label': items.map((i) => i.label + ': ' + i.value).join(', ') });
    box.appendChild(canvas);
    S.charts.push(new Chart(canvas.getContext('2d'), {
      type: 'doughnut',
      data: { labels: items.map((i) => i.label), datasets: [{ data: items.map((i) => i.value), backgroundColor: items.map((i) => i.color) }] },
      options: { responsive: true, maintainAspectRatio: false, plugins: { legend: { position: 'bottom' } } },
    }));
    box.style.height = '240px';
  }

  /** Barras verticales en SVG puro (sin dependencias). */
  function svgBarChart(box, labels, values, opts) {
    const NS = 'http://www.w3.org/2000/svg';
    const s = (tag, attrs, text) => {
      const el = document.createElementNS(NS, tag);
      for (const k of Object.keys(attrs || {})) el.setAttribute(k, String(attrs[k]));
      if (text !== undefined) el.textContent = text;
      return el;
    };
    const nums = values.map((v) => (v === null || !isFinite(v) ? 0 : v));
    if (!nums.some((v) => v > 0)) { box.appendChild(h('div', { class: 'no-data', text: 'Sin datos en este periodo' })); return; }
    const W = 560, H = 240, L = 44, R = 8, T = 12, B = 34;
    const top = Math.max.apply(null, nums);
    const max = opts.integer ? Math.max(4, Math.ceil(top / 4) * 4) : niceMax(top);
    const cw = (W - L - R) / labels.length;
    const svg = s('svg', { class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', preserveAspectRatio: 'xMidYMid meet' });
    svg.appendChild(s('title', {}, labels.map((l, i) => l + ': ' + (values[i] === null ? 'sin datos' : opts.unit(values[i]))).join('; ')));
    for (let i = 0; i <= 4; i++) {
      const v = (max / 4) * i;
      const y = T + (H - T - B) * (1 - v / max);
      svg.appendChild(s('line', { class: 'grid', x1: L, x2: W - R, y1: y, y2: y }));
      svg.appendChild(s('text', { x: L - 6, y: y + 4, 'text-anchor': 'end' }, opts.axis ? opts.axis(Math.round(v * 10) / 10) : String(Math.round(v * 10) / 10)));
    }
    labels.forEach((lab, i) => {
      const v = nums[i];
      const bh = (H - T - B) * (v / max);
      const x = L + i * cw + cw * 0.18;
      const rect = s('rect', { class: 'bar', x, y: H - B - bh, width: cw * 0.64, height: Math.max(bh, v > 0 ? 1 : 0), rx: 3, fill: opts.color });
      rect.appendChild(s('title', {}, lab + ': ' + (values[i] === null ? 'sin datos' : opts.unit(values[i]))));
      svg.appendChild(rect);
      const every = labels.length > 8 ? 2 : 1;
      if ((labels.length - 1 - i) % every === 0) {
        svg.appendChild(s('text', { x: L + i * cw + cw / 2, y: H - B + 16, 'text-anchor': 'middle' }, lab));
      }
    });
    box.appendChild(svg);
  }
  function niceMax(v) {
    if (v <= 0) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }
  function hBars(box, items) {
    const total = items.reduce((s, i) => s + i.value, 0);
    if (!total) { box.appendChild(h('div', { class: 'no-data', text: 'Sin datos en este periodo' })); return; }
    const wrap = h('div', { class: 'hbars', role: 'list' });
    for (const it of items) {
      const pct = Math.round((it.value / total) * 100);
      wrap.appendChild(h('div', { class: 'hbar-row', role: 'listitem', 'aria-label': it.label + ': ' + it.value + ' (' + pct + '%)' },
        h('span', { text: it.label }),
        h('div', { class: 'hbar-track' }, h('div', { class: 'hbar-fill', style: { width: pct + '%', background: it.color } })),
        h('span', { class: 'hbar-value', text: it.value + ' · ' + pct + '%' })));
    }
    box.appendChild(wrap);
  }

  /* ============================================================ Inicio */

  function init() {
    setupDialogs();
    $('#login-form').addEventListener('submit', onLoginSubmit);
    $('#logout-btn').addEventListener('click', onLogout);

    // Pestañas (flechas para moverse entre ellas).
    $('#tab-btn-tickets').addEventListener('click', () => selectTab('tickets'));
    $('#tab-btn-dashboard').addEventListener('click', () => selectTab('dashboard'));
    $('.tabs').addEventListener('keydown', (ev) => {
      if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') {
        ev.preventDefault();
        selectTab(S.tab === 'tickets' ? 'dashboard' : 'tickets', true);
      }
    });
    $('#dashboard-refresh').addEventListener('click', () => loadDashboard());

    // Filtros.
    $('#tickets-filters').addEventListener('submit', (ev) => ev.preventDefault());
    $('#filter-estado').addEventListener('change', (ev) => { S.estado = ev.target.value; S.page = 1; loadTickets(); });
    $('#filter-categoria').addEventListener('change', (ev) => { S.categoria = ev.target.value; S.page = 1; loadTickets(); });
    $('#page-size').addEventListener('change', (ev) => { S.pageSize = Number(ev.target.value) || 20; S.page = 1; loadTickets(); });
    const search = M.debounce(() => { S.q = $('#filter-q').value.trim(); S.page = 1; loadTickets(); }, 350);
    $('#filter-q').addEventListener('input', search);
    $('#filter-q').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); search.cancel(); S.q = ev.target.value.trim(); S.page = 1; loadTickets(); } });
    $('#page-prev').addEventListener('click', () => { if (S.page > 1) { S.page--; loadTickets(); } });
    $('#page-next').addEventListener('click', () => { if (S.page < S.totalPages) { S.page++; loadTickets(); } });
    $('#tickets-body').addEventListener('click', onTableClick);

    // Chat.
    $('#chat-form').addEventListener('submit', (ev) => { ev.preventDefault(); submitChat(); });
    $('#chat-input').addEventListener('keydown', onChatKeydown);
    $('#chat-input').addEventListener('input', onChatInput);
    $('#chat-close').addEventListener('click', () => closeChat());
    $('#chat-modal').addEventListener('close', () => { if (S.chat && !$('#chat-modal').open) closeChat(); });
    $('#chat-alert-close').addEventListener('click', hideChatAlert);
    $('#chat-evidence-btn').addEventListener('click', openEvidence);
    ['take', 'transfer', 'resolve', 'close'].forEach((k) => $('#assign-' + k).addEventListener('click', () => assignAction(k)));

    // Notificar.
    $('#notify-form').addEventListener('submit', onNotifySubmit);

    // Notificaciones.
    $('#notifications-bell').addEventListener('click', toggleNotifPanel);
    $('#notifications-mark-all').addEventListener('click', markAllRead);
    document.addEventListener('click', (ev) => {
      if (S.notif.open && !ev.target.closest('#notifications-wrap')) closeNotifPanel();
    });
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && S.notif.open) { closeNotifPanel(); $('#notifications-bell').focus(); }
    });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && S.token && S.tab === 'tickets') loadTickets({ silent: true });
    });

    if (loadSession()) showApp();
    else showLogin();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
