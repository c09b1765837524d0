/* Mostrador (panel) — los estados de un ticket, dichos igual en todo el panel: la lista, la cabecera del chat, el
 * historial, el historial del cliente y los indicadores. El servidor: new (nadie respondió), waiting (un técnico
 * escribió; se espera al cliente), open (el cliente respondió), resolved (se reabre si el cliente escribe), closed
 * (final; un mensaje nuevo por WhatsApp abre otro ticket). */
import { h } from '../lib/dom.js';

/** El orden en que se muestran (el de la vida de un ticket). */
export const ESTADO_ORDER = ['new', 'open', 'waiting', 'resolved', 'closed'];

export const ESTADOS = {
  new: 'Nuevo',
  open: 'Abierto',
  waiting: 'Esperando al cliente',
  resolved: 'Resuelto',
  closed: 'Cerrado',
};

/** Qué significa cada estado (el título de la insignia). */
const MEANING = {
  new: 'Nadie ha respondido todavía',
  open: 'El cliente escribió; le toca a un técnico',
  waiting: 'Un técnico respondió; se espera la respuesta del cliente',
  resolved: 'Marcado como resuelto; se reabre si el cliente vuelve a escribir',
  closed: 'Cerrado: ya no admite mensajes; un mensaje nuevo por WhatsApp abre otro ticket',
};

/** El nombre de un estado en español (el código tal cual si el servidor trae uno que el panel no conoce). */
export function estadoLabel(estado) { return ESTADOS[estado] || estado || '—'; }

/** La insignia de un estado: <span class="badge estado-…" data-estado="…">Nombre</span>. */
export function estadoBadge(estado) {
  const known = Object.hasOwn(ESTADOS, estado);
  return h('span', {
    class: 'badge estado-badge estado-' + (known ? estado : 'unknown'),
    dataset: { estado: estado || '' },
    title: known ? MEANING[estado] : null,
    text: estadoLabel(estado),
  });
}
