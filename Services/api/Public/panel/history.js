/* Mostrador (panel) — el historial de un ticket (sus mensajes), de solo lectura: el botón «Historial» de cada fila.
 * El de la persona, con todos sus tickets, es «Historial del cliente» (customer.js). */
import { api, errorText } from '../lib/api.js';
import { Conversation, fromConversation } from '../lib/conversation.js';
import { $ } from '../lib/dom.js';
import { setLabel } from '../lib/icons.js';
import { panelView } from './chat-panel.js';
import { openDialog } from './dialogs.js';
import { estadoBadge, ticketById, ticketLabel } from './tickets.js';

export async function openHistory(ticketId, opener) {
  const dlg = $('#history-modal');
  let ticket = ticketById(ticketId);
  const conv = new Conversation($('#history-messages'), panelView(() => ticket));
  setLabel($('#history-title'), 'history', 'Historial · Ticket #' + ticketId);
  const sub = (t) => { const l = ticketLabel(t); return l.nombre + ' · ' + l.telefono; };
  $('#history-sub').textContent = sub(ticket);
  conv.placeholder('Cargando historial…');
  openDialog(dlg, opener);
  const res = await api('/ticket/' + ticketId + '/conversacion');
  if (!dlg.open) return;
  if (!res.ok) {
    if (res.status !== 401) conv.placeholder('No se pudo cargar el historial: ' + errorText(res));
    return;
  }
  ticket = res.data.ticket;
  $('#history-sub').replaceChildren(sub(ticket) + ' · ', estadoBadge(ticket.estado));
  conv.merge(res.data.historial.map(fromConversation));
  if (!conv.size) conv.placeholder('Este ticket no tiene mensajes.');
  conv.scrollToEnd();
}
