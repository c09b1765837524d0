/* Mostrador (panel) — «Etiquetas» en la cabecera del chat: un diálogo con una casilla por etiqueta del catálogo
 * (panel/labels.js); «Guardar» manda el conjunto entero, por nombre (PUT /api/tickets/{id}/labels {labels: […]}; []
 * las quita todas). Puede hacerlo cualquier técnico que pueda leer el ticket; el servidor dice qué falla (400: una
 * etiqueta que ya no existe; 403/404). Al guardar, la cabecera y la lista muestran los chips nuevos. */
import { api, errorText } from '../lib/api.js';
import { $, h, showText } from '../lib/dom.js';
import { setLabel } from '../lib/icons.js';
import { toast } from '../lib/toast.js';
import { openDialog } from './dialogs.js';
import { asTicketLabels, labelChip, labelName, labels, labelsChanged, loadLabels, onLabelsChanged } from './labels.js';
import { isAdmin, openLabelsAdmin } from './labels-admin.js';

/** Lo que presta el chat (setupChatLabels): current() → el chat abierto; saved(c, etiquetas) tras guardar. */
let hooks = null;
/** El chat cuyo ticket se está etiquetando (null con el diálogo cerrado). */
let editing = null;

const dialog = () => $('#ticket-labels-modal');

const checkedBoxes = () => [...document.querySelectorAll('#ticket-labels-list input[type="checkbox"]')]
  .filter((box) => box.checked);

/** Los ids de las etiquetas marcadas (por id: una renombrada mientras tanto sigue marcada). */
const checkedIds = () => checkedBoxes().map((box) => Number(box.dataset.labelId));

/** Lo marcado para el chat `c`: las casillas marcadas y, de las etiquetas del ticket, las que aún no tienen casilla
 * (el catálogo guardado era de antes de crearlas). */
function marked(c) {
  const shown = new Set([...document.querySelectorAll('#ticket-labels-list input')].map((b) => Number(b.dataset.labelId)));
  return [...checkedIds(), ...(c.ticket.etiquetas || []).map((l) => l.id).filter((id) => !shown.has(id))];
}

/** Una casilla por etiqueta del catálogo; `checked`: los ids marcados. */
function render(list, checked) {
  const marked = new Set(checked);
  const items = list.map((l) => {
    const box = h('input', { type: 'checkbox', value: l.name, id: 'ticket-label-' + l.id, dataset: { labelId: l.id } });
    box.checked = marked.has(l.id);
    return h('li', { class: 'label-option' }, box, h('label', { for: box.id }, labelChip(l)));
  });
  $('#ticket-labels-list').replaceChildren(...items);
  $('#ticket-labels-list').hidden = !list.length;
  $('#ticket-labels-empty').hidden = !!list.length;
}

/** Las casillas con el catálogo recién leído (otro administrador pudo cambiarlo), conservando lo marcado. */
async function fill(c) {
  $('#ticket-labels-loading').hidden = false;
  const res = await loadLabels({ maxAge: 0 });
  if (editing !== c) return;
  $('#ticket-labels-loading').hidden = true;
  if (!res.ok) showText($('#ticket-labels-error'), 'No se pudieron leer las etiquetas: ' + res.error);
  render(res.list, marked(c));
}

/** Abre el diálogo para el chat `c` (desde el botón «Etiquetas» de su cabecera). */
export function openTicketLabels(c, opener) {
  if (!c || !c.ticket) return;
  editing = c;
  $('#ticket-labels-title-id').textContent = String(c.id);
  showText($('#ticket-labels-error'), null);
  $('#ticket-labels-manage').hidden = !isAdmin();
  $('#ticket-labels-submit').disabled = false;
  // Mientras llega el catálogo, el que ya se leyó.
  $('#ticket-labels-list').replaceChildren();
  render(labels(), marked(c));
  $('#ticket-labels-empty').hidden = true;
  openDialog(dialog(), opener);
  fill(c).then(() => {
    if (editing === c) ($('#ticket-labels-list input') || $('#ticket-labels-cancel')).focus();
  });
}

async function onSubmit(ev) {
  ev.preventDefault();
  const c = editing;
  if (!c || !hooks || hooks.current() !== c) { dialog().close(); return; }
  const names = checkedBoxes().map((box) => box.value);
  const err = $('#ticket-labels-error');
  showText(err, null);
  const btn = $('#ticket-labels-submit');
  btn.disabled = true;
  setLabel(btn, 'clock', 'Guardando…');
  const res = await api('/api/tickets/' + encodeURIComponent(c.id) + '/labels', { method: 'PUT', body: { labels: names } });
  btn.disabled = false;
  setLabel(btn, 'check', 'Guardar');
  if (res.status === 401 || editing !== c) return;
  if (!res.ok) {
    // 400: una etiqueta que otro administrador borró o renombró (el catálogo se vuelve a leer); 403/404: sin acceso.
    showText(err, errorText(res, 'No se pudieron guardar las etiquetas.'));
    if (res.status === 400) { labelsChanged(); fill(c); }
    return;
  }
  const etiquetas = asTicketLabels(res.data && res.data.labels);
  hooks.saved(c, etiquetas);
  dialog().close();
  toast(etiquetas.length ? 'Etiquetas del ticket #' + c.id + ': ' + etiquetas.map(labelName).join(', ') + '.'
    : 'El ticket #' + c.id + ' ya no tiene etiquetas.', 'success');
}

/** hooks: {current() → el chat abierto o null, saved(c, etiquetas) → mostrar las del ticket ya guardadas}. */
export function setupChatLabels(chatHooks) {
  hooks = chatHooks;
  $('#chat-labels-btn').addEventListener('click', (ev) => openTicketLabels(hooks.current(), ev.currentTarget));
  $('#ticket-labels-form').addEventListener('submit', onSubmit);
  $('#ticket-labels-manage').addEventListener('click', (ev) => openLabelsAdmin(ev.currentTarget));
  dialog().addEventListener('close', () => { editing = null; });
  // Un administrador cambió el catálogo (desde «Administrar etiquetas», encima de este diálogo): las casillas
  // nuevas, conservando lo marcado.
  onLabelsChanged((list) => { if (editing) render(list, marked(editing)); });
}
