/* Mostrador (panel) — la campana: notificaciones del técnico (seed 002), contador cada 15 s. */
import { api, errorText } from '../lib/api.js';
import { $, h } from '../lib/dom.js';
import { formatFull, relativeTime } from '../lib/format.js';
import { icon } from '../lib/icons.js';
import { toast } from '../lib/toast.js';
import { openChat } from './chat-panel.js';
import { isLoggedIn } from './session.js';
import { ticketByRoom } from './tickets.js';

const ICONS = {
  new_chat: 'chat', new_message: 'mail', chat_assigned: 'take', chat_transferred: 'transfer', chat_resolved: 'check',
  chat_closed: 'lock', chat_invited: 'user-plus', chat_removed: 'user-minus',
};

let timer = null;
let open = false;
let unread = 0;

function schedule() {
  clearTimeout(timer);
  if (isLoggedIn()) timer = setTimeout(pollUnread, 15000);
}

function setUnread(n) {
  unread = Math.max(0, n);
  const c = $('#notifications-count');
  c.textContent = unread > 99 ? '99+' : String(unread);
  c.hidden = unread === 0;
  $('#notifications-bell').setAttribute('aria-label', unread ? 'Notificaciones (' + unread + ' sin leer)' : 'Notificaciones');
}

async function pollUnread() {
  if (!isLoggedIn()) return;
  const res = await api('/api/notifications/unread_count/', { timeout: 10000 });
  if (!isLoggedIn()) return;
  if (res.ok) setUnread(res.data.unread_count);
  schedule();
}

function closePanel() {
  open = false;
  $('#notifications-panel').hidden = true;
  $('#notifications-bell').setAttribute('aria-expanded', 'false');
}

async function togglePanel() {
  if (open) { closePanel(); return; }
  open = true;
  $('#notifications-panel').hidden = false;
  $('#notifications-bell').setAttribute('aria-expanded', 'true');
  await loadList();
}

function itemEl(n) {
  return h('li', { class: 'notif-item' + (n.is_read ? '' : ' unread'), dataset: { notificationId: n.id } },
    h('button', { type: 'button', onclick: () => onItemClick(n) },
      icon(ICONS[n.type] || 'bell'),
      h('span', null,
        h('span', { class: 'notif-title' },
          n.is_read ? null : [h('span', { class: 'notif-dot', 'aria-hidden': 'true' }), h('span', { class: 'sr-only', text: 'Sin leer: ' })],
          n.title),
        n.message ? h('span', { class: 'notif-msg', text: n.message }) : null,
        h('time', { class: 'notif-time', datetime: n.created_at, title: formatFull(n.created_at), text: relativeTime(n.created_at) }))));
}

/** GET /api/notifications/: {notifications, unread_count, total_count}. */
async function loadList() {
  const list = $('#notifications-list');
  list.replaceChildren(h('li', { class: 'notif-empty', text: 'Cargando…' }));
  const res = await api('/api/notifications/');
  if (!open) return;
  if (!res.ok) { list.replaceChildren(h('li', { class: 'notif-empty', text: 'No se pudieron cargar: ' + errorText(res) })); return; }
  setUnread(res.data.unread_count);
  const items = res.data.notifications;
  list.replaceChildren(...(items.length ? items.map(itemEl) : [h('li', { class: 'notif-empty', text: 'No tienes notificaciones.' })]));
}

async function onItemClick(n) {
  if (!n.is_read) {
    const res = await api('/api/notifications/mark_read/', { method: 'POST', body: { notification_ids: [n.id] } });
    if (res.ok) { n.is_read = true; setUnread(unread - 1); }
  }
  const ticketId = n.ticket_id ?? (n.chat_room_id ? ticketByRoom(n.chat_room_id)?.id : null);
  closePanel();
  // A quien quitaron de un chat ya no lo puede abrir (chat_removed): el aviso basta.
  if (ticketId && n.type !== 'chat_removed') openChat(ticketId, $('#notifications-bell'));
  pollUnread();
}

async function markAllRead() {
  const res = await api('/api/notifications/mark_all_read/', { method: 'POST', body: {} });
  if (res.ok) { setUnread(0); if (open) loadList(); } else if (res.status !== 401) toast(errorText(res, 'No se pudieron marcar como leídas.'), 'error');
}

export function startNotifications() {
  clearTimeout(timer);
  pollUnread();
}

export function stopNotifications() {
  clearTimeout(timer);
  timer = null;
  closePanel();
}

export function setupNotifications() {
  $('#notifications-bell').addEventListener('click', togglePanel);
  $('#notifications-mark-all').addEventListener('click', markAllRead);
  document.addEventListener('click', (ev) => {
    if (open && !ev.target.closest('#notifications-wrap')) closePanel();
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && open) { closePanel(); $('#notifications-bell').focus(); }
  });
}
