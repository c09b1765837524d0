/* Mostrador — panel de técnicos (/): inicio de sesión, pestañas y arranque de cada parte.
 * Contratos: seeds 000/001 (chat en vivo), 002 (auth, notificaciones, asignación), 003 (WebSocket) y
 * Resources/openapi.yaml. Regla: los datos se muestran con textContent/createElement, nunca innerHTML. */
import { api, errorText, onUnauthorized } from '../lib/api.js';
import { $, showText } from '../lib/dom.js';
import { placeIcons } from '../lib/icons.js';
import { forgetAgents, setupAssignment } from './assignment.js';
import { forgetAssignmentAdmin, setupAssignmentAdmin, showAssignmentEntry } from './assignment-admin.js';
import { forgetAttachments } from './attachments.js';
import { forgetAuditAdmin, setupAuditAdmin, showAuditEntry } from './audit-admin.js';
import { clearDrafts, forgetChats, openChat, setupChatPanel, showChat } from './chat-panel.js';
import { hideDashboard, loadDashboard, setupDashboard, showDashboard } from './dashboard.js';
import { setupDesktopNotify } from './desktop-notify.js';
import { forgetHoursAdmin, setupHoursAdmin, showHoursEntry } from './hours-admin.js';
import { closeAllDialogs, setupDialogs } from './dialogs.js';
import { forgetExports, setupExports, showExportsEntry } from './exports.js';
import { openHistory } from './history.js';
import { forgetLabels } from './labels.js';
import { forgetLabelsAdmin, onLabelsEdited, setupLabelsAdmin, showLabelsEntry } from './labels-admin.js';
import { forgetMessagesAdmin, setupMessagesAdmin, showMessagesEntry } from './messages-admin.js';
import { openNotify, setupNotify } from './notify.js';
import { setupNotifications, startNotifications, stopNotifications } from './notifications.js';
import { forgetSatisfaction } from './satisfaction.js';
import { forgetSecurityAdmin, setupSecurityAdmin, showSecurityEntry } from './security-admin.js';
import * as session from './session.js';
import { forgetSlaAdmin, setupSlaAdmin, showSlaEntry } from './sla-admin.js';
import { forgetTemplatesAdmin, setupTemplatesAdmin, showTemplatesEntry } from './templates-admin.js';
import { forgetTemplates } from './templates.js';
import { filterByEstado, loadTickets, setupTickets, startTickets, stopTickets } from './tickets.js';
import { forgetTwoFactor, loginCode, setupTwoFactor, twoFactorLogin } from './two-factor.js';
import { forgetWebhooksAdmin, setupWebhooksAdmin, showWebhooksEntry } from './webhooks-admin.js';

const TABS = ['tickets', 'dashboard'];

/* ----- sesión ----- */

function showLogin(message) {
  $('#app').hidden = true;
  $('#login-view').hidden = false;
  showText($('#login-error'), message);
  const pw = $('#password');
  pw.value = '';
  ($('#username').value ? pw : $('#username')).focus();
}

function showApp() {
  $('#login-view').hidden = true;
  $('#app').hidden = false;
  $('#current-user').textContent = session.displayName();
  showTemplatesEntry(); // «Plantillas de WhatsApp»: solo administradores
  showMessagesEntry(); // «Mensajes listos»: también
  showLabelsEntry(); // «Etiquetas» (el catálogo): también
  showAuditEntry(); // «Registro de auditoría»: también
  showWebhooksEntry(); // «Webhooks» salientes: también
  showSecurityEntry(); // «Seguridad» (la verificación en dos pasos de los agentes): también
  showAssignmentEntry(); // «Asignación» automática de chats: también
  showHoursEntry(); // «Horario» de atención y mensaje de ausencia: también
  showSlaEntry(); // «SLA», las políticas de plazos: también
  showExportsEntry(); // «Exportar (CSV)» en Indicadores: también
  selectTab('tickets', false, false);
  startTickets();
  startNotifications();
}

/** Fin de la sesión (cerrada, expirada o rechazada): nada de ella queda en pantalla ni en memoria. */
function logoutLocal(message) {
  session.end();
  hideDashboard();
  stopTickets();
  stopNotifications();
  forgetChats();
  closeAllDialogs();
  forgetAgents();
  forgetAttachments();
  forgetTemplates();
  forgetTemplatesAdmin();
  forgetMessagesAdmin();
  forgetLabelsAdmin();
  forgetAuditAdmin();
  forgetWebhooksAdmin();
  forgetSecurityAdmin();
  forgetTwoFactor();
  forgetAssignmentAdmin();
  forgetHoursAdmin();
  forgetSlaAdmin();
  forgetExports();
  forgetSatisfaction();
  forgetLabels();
  showLogin(message);
}

async function onLoginSubmit(ev) {
  ev.preventDefault();
  const username = $('#username').value.trim();
  const password = $('#password').value;
  const err = $('#login-error');
  showText(err, null);
  if (!username || !password) {
    showText(err, 'Escribe tu usuario y contraseña.');
    (username ? $('#password') : $('#username')).focus();
    return;
  }
  // El código de verificación en dos pasos, si el servidor ya lo pidió (panel/two-factor.js).
  const otp = loginCode();
  if (otp === '') {
    showText(err, 'Escribe el código de verificación.');
    $('#otp').focus();
    return;
  }
  const body = otp ? { username, password, otp } : { username, password };
  const btn = $('#login-submit');
  btn.disabled = true;
  btn.textContent = 'Entrando…';
  const res = await api('/api/auth/login/', { method: 'POST', body, auth: false, handle401: false });
  btn.disabled = false;
  btn.textContent = 'Entrar';
  // Verificación en dos pasos: pedir el código, o activarla antes de entrar.
  if (twoFactorLogin(res, { username, otp })) return;
  if (res.ok) {
    session.begin(res.data);
    $('#password').value = '';
    showApp();
    return;
  }
  showText(err, res.status === 401 ? 'Usuario o contraseña incorrectos.' : errorText(res, 'No se pudo iniciar sesión.'));
  $('#password').focus();
  $('#password').select();
}

async function onLogout() {
  const btn = $('#logout-btn');
  btn.disabled = true;
  await api('/api/auth/logout/', { method: 'POST', handle401: false, timeout: 5000 });
  btn.disabled = false;
  logoutLocal('Sesión cerrada.');
}

/* ----- pestañas ----- */

function currentTab() { return TABS.find((t) => !$('#tab-' + t).hidden); }

/** reload: al volver a Tickets, actualizar la lista ya (no al entrar: startTickets la carga). */
function selectTab(name, focus, reload = true) {
  for (const t of TABS) {
    const btn = $('#tab-btn-' + t);
    const on = t === name;
    btn.setAttribute('aria-selected', on ? 'true' : 'false');
    btn.tabIndex = on ? 0 : -1;
    $('#tab-' + t).hidden = !on;
    if (on && focus) btn.focus();
  }
  if (name === 'dashboard') showDashboard();
  else {
    hideDashboard();
    if (reload) loadTickets({ silent: true });
  }
}

/* ----- arranque ----- */

function init() {
  placeIcons();
  setupDialogs();
  setupTickets({ chat: openChat, history: openHistory, notify: openNotify });
  setupChatPanel();
  setupDashboard({
    // Un estado de «Tickets por estado»: la lista filtrada por él, con el foco en el filtro.
    showState: (estado) => { filterByEstado(estado); selectTab('tickets', false); $('#filter-estado').focus(); },
  });
  setupAssignment();
  setupNotify();
  setupNotifications();
  setupDesktopNotify({ open: (id) => { if (session.isLoggedIn()) showChat(id); } });
  setupTemplatesAdmin();
  setupMessagesAdmin();
  setupLabelsAdmin();
  // Un ticket del registro de auditoría: su chat, encima del registro (al cerrarlo se vuelve a él).
  setupAuditAdmin({ openTicket: (id, from) => openChat(id, from) });
  setupWebhooksAdmin();
  setupSecurityAdmin();
  setupTwoFactor();
  setupAssignmentAdmin();
  setupHoursAdmin();
  setupSlaAdmin();
  setupExports();
  // Una etiqueta renombrada, recoloreada o borrada: las filas de la lista la muestran como quedó.
  onLabelsEdited(() => loadTickets({ silent: true }));
  onUnauthorized(() => {
    if (session.isLoggedIn()) logoutLocal('Tu sesión expiró o no es válida. Vuelve a iniciar sesión.');
  });

  $('#login-form').addEventListener('submit', onLoginSubmit);
  $('#logout-btn').addEventListener('click', onLogout);
  $('#tab-btn-tickets').addEventListener('click', () => selectTab('tickets'));
  $('#tab-btn-dashboard').addEventListener('click', () => selectTab('dashboard'));
  $('.tabs').addEventListener('keydown', (ev) => {
    if (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft') return;
    ev.preventDefault();
    selectTab(currentTab() === 'tickets' ? 'dashboard' : 'tickets', true);
  });
  $('#dashboard-refresh').addEventListener('click', () => loadDashboard());

  if (session.restore()) showApp();
  else {
    clearDrafts(); // borradores de una sesión que ya no está (la pestaña se cerró sin «Cerrar sesión»)
    showLogin();
  }
}

init();
