/* Mostrador (panel) — las fotos y archivos que mandó el cliente (GET /ticket/{id}/evidencias). */
import { api, errorText } from '../lib/api.js';
import { $, h } from '../lib/dom.js';
import { formatBytes, formatTime } from '../lib/format.js';
import { icon, withIcon } from '../lib/icons.js';
import { downloadWithAuth, loadBlobUrl, openLightbox } from './attachments.js';
import { openDialog } from './dialogs.js';
import { ticketLabel } from './tickets.js';

function item(ev) {
  const caption = ev.caption || ev.nombre || 'Evidencia #' + ev.id;
  const info = h('div', { class: 'evidence-info' },
    h('span', { class: 'evidence-caption', text: caption }),
    h('span', { class: 'muted', text: [ev.nombre && ev.nombre !== caption ? ev.nombre : null, formatBytes(ev.tamano), formatTime(ev.created_at)].filter(Boolean).join(' · ') }));
  if (/^image\//.test(ev.tipo) && ev.tipo !== 'image/heic') {
    const open = h('button', { type: 'button', class: 'evidence-open', 'aria-label': 'Ampliar: ' + caption, onclick: () => openLightbox(ev.url, caption, ev.nombre) },
      h('span', { class: 'muted small', text: 'Cargando…' }));
    loadBlobUrl(ev.url).then((u) => {
      open.replaceChildren(u ? h('img', { src: u, alt: caption, loading: 'lazy' }) : h('span', { class: 'muted small' }, withIcon('alert', 'No disponible')));
    });
    return h('figure', { class: 'evidence-item', dataset: { evidenceId: ev.id } }, open, info);
  }
  const pdf = ev.tipo === 'application/pdf';
  return h('figure', { class: 'evidence-item', dataset: { evidenceId: ev.id } },
    h('div', { class: 'evidence-file' }, icon(pdf ? 'file' : /^image\//.test(ev.tipo) ? 'image' : 'paperclip')),
    info,
    h('div', { class: 'evidence-actions' }, h('button', {
      type: 'button', class: 'btn btn-ghost btn-sm', onclick: () => downloadWithAuth(ev.url, ev.nombre),
    }, withIcon('download', pdf ? 'Descargar PDF' : 'Descargar'))));
}

export async function openEvidence(ticketId, ticket, opener) {
  const dlg = $('#evidence-modal');
  const grid = $('#evidence-grid');
  $('#evidence-sub').textContent = 'Ticket #' + ticketId + ' · ' + ticketLabel(ticket).nombre;
  grid.replaceChildren(h('p', { class: 'muted', text: 'Cargando evidencias…' }));
  openDialog(dlg, opener);
  const res = await api('/ticket/' + ticketId + '/evidencias');
  if (!dlg.open) return;
  if (!res.ok) {
    if (res.status !== 401) grid.replaceChildren(h('p', { class: 'muted', text: 'No se pudieron cargar las evidencias: ' + errorText(res) }));
    return;
  }
  const list = res.data.evidencias;
  grid.replaceChildren(...(list.length ? list.map(item)
    : [h('p', { class: 'muted', text: 'El cliente aún no ha enviado fotos ni archivos.' })]));
}
