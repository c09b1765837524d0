/* Mostrador (panel) — notificar al cliente con una plantilla de WhatsApp (POST /ticket/{id}/notificar). */
import { api, errorText } from '../lib/api.js';
import { $, h } from '../lib/dom.js';
import { uuid } from '../lib/format.js';
import { setLabel } from '../lib/icons.js';
import { toast } from '../lib/toast.js';
import { refreshChat } from './chat-panel.js';
import { openDialog } from './dialogs.js';
import { isAdmin, onMessagesChanged, openMessagesAdmin } from './messages-admin.js';
import { loadTickets, ticketById, ticketLabel } from './tickets.js';

/* Los mensajes listos viven en el api (GET /api/templates?tipo=mensaje; los administradores los editan en «Mensajes
 * listos»: panel/messages-admin.js): la lista se lee al abrir el diálogo y tras cada cambio. Mientras llega (o si
 * falla) queda la última leída, y la que el api devuelve en `plantillas` si rechaza una que no conoce. */
const DEFAULT = 'equipo listo';
let templates = [DEFAULT];
let ticketId = null;

/** Los nombres de los mensajes listos, sin repetir (cada uno puede estar en español y en inglés). */
async function loadNames() {
  const res = await api('/api/templates?tipo=mensaje');
  if (!res.ok || !Array.isArray(res.data)) return;
  const names = [...new Set(res.data.map((t) => String(t.nombre || '').toLowerCase()).filter(Boolean))];
  if (names.length) templates = names;
}

function fillTemplates(selected) {
  const sel = $('#notify-template');
  sel.replaceChildren(...templates.map((name) => h('option', { value: name, text: name.charAt(0).toUpperCase() + name.slice(1) })));
  sel.value = templates.includes(selected) ? selected : templates.includes(DEFAULT) ? DEFAULT : templates[0];
}

/** Vuelve a leer los nombres y conserva el elegido (si sigue existiendo). */
function reloadNames() {
  const id = ticketId;
  loadNames().then(() => { if (ticketId === id) fillTemplates($('#notify-template').value || DEFAULT); });
}

export function openNotify(id, opener) {
  ticketId = id;
  const lbl = ticketLabel(ticketById(id));
  $('#notify-sub').textContent = 'Ticket #' + id + ' · ' + lbl.nombre + ' · ' + lbl.telefono;
  fillTemplates(DEFAULT);
  reloadNames();
  $('#notify-manage').hidden = !isAdmin();
  $('#notify-result').hidden = true;
  $('#notify-submit').disabled = false;
  openDialog($('#notify-modal'), opener);
  $('#notify-template').focus();
}

async function onSubmit(ev) {
  ev.preventDefault();
  const id = ticketId;
  if (!id) return;
  const plantilla = $('#notify-template').value || DEFAULT;
  const btn = $('#notify-submit');
  const result = $('#notify-result');
  btn.disabled = true;
  btn.textContent = 'Enviando…';
  result.hidden = true;
  const res = await api('/ticket/' + id + '/notificar', { method: 'POST', body: { plantilla, client_id: uuid() }, timeout: 30000 });
  btn.disabled = false;
  setLabel(btn, 'notify', 'Enviar notificación');
  if (res.status === 401) return;
  const d = res.data || {};
  const show = (kind, text) => { result.className = 'banner banner-' + kind; result.textContent = text; result.hidden = false; };
  if (res.ok) {
    show('success', 'Notificación «' + plantilla + '» enviada al cliente.');
    toast('Notificación enviada al ticket #' + id + '.', 'success');
  } else if (res.status === 503 && d.guardado) {
    show('warning', 'WhatsApp desconectado: la notificación se guardó y se reenviará automáticamente.');
  } else if (res.status === 504 && d.guardado) {
    show('info', 'WhatsApp no respondió a tiempo: la notificación sigue en cola y se enviará automáticamente.');
  } else if (res.status === 400 && d.plantillas) {
    templates = d.plantillas;
    fillTemplates(plantilla);
    show('error', errorText(res) + '. Elige una de las plantillas disponibles.');
  } else {
    show('error', errorText(res, 'No se pudo enviar la notificación.'));
  }
  refreshChat(id);
  loadTickets({ silent: true });
}

export function setupNotify() {
  $('#notify-form').addEventListener('submit', onSubmit);
  $('#notify-manage').addEventListener('click', (ev) => openMessagesAdmin(ev.currentTarget));
  onMessagesChanged(() => { if ($('#notify-modal').open) reloadNames(); });
}
