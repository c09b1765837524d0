/* Mostrador (panel) — enviar una foto o un documento en el chat de un ticket. El botón del clip (con su
 * <input type="file"> oculto), arrastrar y soltar sobre el chat y pegar una imagen pasan todos por offerFile():
 * comprobaciones, y una franja de vista previa con comentario opcional, «Enviar» y «Cancelar». La subida es la de
 * lib/upload.js (guía 003) y solo se puede con el WebSocket abierto; el mensaje llega luego como cualquier otro. */
import { autoGrow } from '../lib/conversation.js';
import { $, h } from '../lib/dom.js';
import { formatBytes } from '../lib/format.js';
import { icon, setLabel } from '../lib/icons.js';
import { ACCEPT, fileMime, fileProblem, uploadFile } from '../lib/upload.js';

const NO_LIVE = 'Sin conexión en tiempo real: no se pueden enviar archivos ahora.';
const CLOSED = 'El ticket está cerrado; no se pueden enviar archivos.';

/** Lo que presta el chat (setupChatFiles): current() → el chat abierto {ticket, channel} o null;
 * alert(texto, tipo) y clearAlert(): el aviso del chat para los archivos; blocked(c)?: otro motivo por el que no
 * se puede enviar un archivo ahora (la ventana de 24 h de WhatsApp cerrada: chat-window.js), o null. */
let hooks = null;
/** El archivo elegido y aún no enviado: {file, thumbUrl}; null sin vista previa. */
let picked = null;
let uploading = false;
/** dragenter y dragleave llegan por cada elemento hijo: se cuentan para saber cuándo se salió del chat. */
let dragDepth = 0;

/* ----- estado ----- */

function isClosed(c) { return c?.ticket?.estado === 'closed'; }

/** Por qué no se puede enviar un archivo en este chat ahora, o null. */
function blockedReason(c) {
  if (isClosed(c)) return CLOSED;
  const other = hooks.blocked?.(c);
  if (other) return other;
  if (!c.channel?.isOpen()) return NO_LIVE;
  return null;
}

/** Habilita o no el clip y la vista previa según el ticket (cerrado), la conexión y la subida en curso.
 * El chat la llama cuando cambia la cabecera o el modo de conexión. */
export function refreshAttach() {
  const c = hooks?.current();
  const closed = isClosed(c);
  const live = !!c?.channel?.isOpen();
  const other = c ? hooks.blocked?.(c) || null : null;
  const attach = $('#chat-attach');
  attach.disabled = closed || uploading;
  attach.title = closed ? CLOSED : other || (live ? 'Adjuntar archivo: jpg, png, pdf, doc o docx de hasta 16 MB' : NO_LIVE);
  $('#chat-attach-send').disabled = closed || uploading || !live || !!other;
  $('#chat-attach-cancel').disabled = uploading;
  $('#chat-attach-caption').readOnly = uploading;
  $('#chat-attach-status').textContent = previewStatus(closed, live, other);
}

/** La línea bajo el comentario: la subida en curso, o por qué no se puede enviar ahora. */
function previewStatus(closed, live, other) {
  if (!picked) return '';
  if (uploading) return 'Subiendo «' + picked.file.name + '»…';
  if (closed) return CLOSED;
  if (other) return other;
  return live ? '' : NO_LIVE;
}

function setUploading(on) {
  uploading = on;
  $('#chat-attach-form').setAttribute('aria-busy', on ? 'true' : 'false');
  setLabel($('#chat-attach-send'), on ? 'clock' : 'send', on ? 'Subiendo…' : 'Enviar');
  refreshAttach();
}

/* ----- la entrada única: clip, arrastrar y soltar, pegar ----- */

/** Un archivo que el técnico quiere enviar, venga de donde venga: se comprueba y se muestra para confirmar. */
function offerFile(file) {
  const c = hooks.current();
  if (!c) return;
  if (uploading) { hooks.alert('Espera a que termine de subirse el archivo anterior.', 'info'); return; }
  const blocked = blockedReason(c);
  const why = blocked || fileProblem(file);
  if (why) { hooks.alert(why, blocked ? 'warning' : 'error'); return; }
  hooks.clearAlert();
  showPreview(file);
}

/** Lo soltado sobre el chat: un solo archivo a la vez. */
function offerFiles(files) {
  if (!files || !files.length) return;
  if (files.length > 1) { hooks.alert('Suelta un solo archivo a la vez.', 'warning'); return; }
  offerFile(files[0]);
}

/** Una imagen pegada llega como «image.png»: se le da un nombre que diga qué es y cuándo se pegó. */
function pastedImage(file) {
  const d = new Date();
  const two = (n) => String(n).padStart(2, '0');
  const stamp = d.getFullYear() + two(d.getMonth() + 1) + two(d.getDate())
    + '-' + two(d.getHours()) + two(d.getMinutes()) + two(d.getSeconds());
  const ext = file.type === 'image/jpeg' ? 'jpg' : (file.type.split('/')[1] || 'png');
  return new File([file], 'captura-' + stamp + '.' + ext, { type: file.type });
}

/** Del portapapeles solo se toma una imagen sin texto: lo que trae texto (p. ej. celdas copiadas de una hoja de
 * cálculo, que además traen su imagen) se pega como texto, como siempre. */
function onPaste(ev) {
  const data = ev.clipboardData;
  if (!data || !data.files.length || Array.from(data.types).includes('text/plain')) return;
  const image = Array.from(data.files).find((f) => f.type.startsWith('image/'));
  if (!image) return;
  ev.preventDefault();
  offerFile(pastedImage(image));
}

function hasFiles(ev) { return Array.from(ev.dataTransfer?.types || []).includes('Files'); }

function showDropHint(on) { $('#chat-drop-hint').hidden = !on; }

function bindDrop(target) {
  target.addEventListener('dragenter', (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    dragDepth++;
    showDropHint(true);
  });
  target.addEventListener('dragover', (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = 'copy';
  });
  target.addEventListener('dragleave', (ev) => {
    if (!hasFiles(ev)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) showDropHint(false);
  });
  target.addEventListener('drop', (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    dragDepth = 0;
    showDropHint(false);
    offerFiles(ev.dataTransfer.files);
  });
}

/* ----- vista previa ----- */

/** El texto del compositor, que se vacía (el cambio se anuncia como si se hubiera tecleado: borrador, altura). */
function takeComposerText() {
  const input = $('#chat-input');
  const text = input.value.trim() ? input.value : '';
  if (text) setComposer('');
  return text;
}

function setComposer(value) {
  const input = $('#chat-input');
  input.value = value;
  input.dispatchEvent(new Event('input'));
}

function thumbFor(file, url) {
  if (url) return h('img', { src: url, alt: '' });
  return icon(fileMime(file) === 'application/pdf' ? 'file' : 'paperclip');
}

function showPreview(file) {
  const caption = $('#chat-attach-caption');
  if (picked) forgetPicked(); // otro archivo en lugar del anterior: el comentario escrito se queda
  else {
    // Si el técnico ya había escrito en el compositor, ese texto es el comentario del archivo: se mueve (no se
    // copia) para que no se envíe dos veces ni quede un texto suelto. «Cancelar» lo devuelve al compositor.
    caption.value = takeComposerText();
  }
  const url = fileMime(file).startsWith('image/') ? URL.createObjectURL(file) : null;
  picked = { file, thumbUrl: url };
  $('#chat-attach-thumb').replaceChildren(thumbFor(file, url));
  $('#chat-attach-name').textContent = file.name;
  $('#chat-attach-size').textContent = formatBytes(file.size);
  $('#chat-attach-form').hidden = false;
  refreshAttach();
  autoGrow(caption);
  caption.focus();
}

function forgetPicked() {
  if (picked?.thumbUrl) URL.revokeObjectURL(picked.thumbUrl);
  picked = null;
}

/** Quita la vista previa. giveBack: el comentario no enviado vuelve al compositor (no se pierde lo escrito). */
function closePreview(giveBack) {
  if (!picked) return;
  const caption = $('#chat-attach-caption');
  if (giveBack && caption.value.trim()) {
    setComposer([caption.value, $('#chat-input').value].filter((t) => t.trim()).join('\n'));
  }
  forgetPicked();
  caption.value = '';
  $('#chat-attach-thumb').replaceChildren();
  $('#chat-attach-form').hidden = true;
  refreshAttach();
}

function cancel() {
  if (uploading) return;
  closePreview(true);
  $('#chat-input').focus();
}

/* ----- envío ----- */

async function send() {
  const c = hooks.current();
  if (!c || !picked || uploading) return;
  const why = blockedReason(c);
  if (why) { hooks.alert(why, 'warning'); refreshAttach(); return; }
  const { file } = picked;
  setUploading(true);
  const res = await uploadFile(c.channel, file, $('#chat-attach-caption').value.trim());
  if (hooks.current() !== c) return; // el chat se cerró mientras tanto: resetChatFiles ya limpió
  setUploading(false);
  if (!res.ok) {
    // La vista previa se queda: el técnico puede reintentar o cancelar.
    hooks.alert('No se pudo enviar «' + file.name + '»: ' + res.error, 'error');
    return;
  }
  closePreview(false);
  hooks.clearAlert();
  // La burbuja llega por el WebSocket (mensaje_recibido / file_uploaded); la consulta es el respaldo.
  c.channel.pollNow();
  $('#chat-input').focus();
}

/* ----- arranque ----- */

/** Al cerrar el chat (antes de soltarlo): sin vista previa (su comentario vuelve al compositor y así a su
 * borrador, salvo si ya se estaba enviando) ni subida en curso a la vista: su resultado ya no se muestra. */
export function resetChatFiles() {
  closePreview(!uploading);
  if (uploading) setUploading(false);
  dragDepth = 0;
  showDropHint(false);
}

/** hooks: {current(), alert(texto, tipo), clearAlert()} (ver arriba). */
export function setupChatFiles(chatHooks) {
  hooks = chatHooks;
  const input = $('#chat-file');
  input.accept = ACCEPT;
  input.addEventListener('change', () => {
    const file = input.files[0];
    input.value = ''; // elegir otra vez el mismo archivo también avisa
    if (file) offerFile(file);
  });
  $('#chat-attach').addEventListener('click', () => {
    const c = hooks.current();
    if (!c) return;
    const why = blockedReason(c);
    if (why) hooks.alert(why, 'warning');
    else input.click();
  });
  const form = $('#chat-attach-form');
  form.addEventListener('submit', (ev) => { ev.preventDefault(); send(); });
  $('#chat-attach-cancel').addEventListener('click', cancel);
  const caption = $('#chat-attach-caption');
  caption.addEventListener('input', () => autoGrow(caption));
  caption.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && !ev.altKey && !ev.ctrlKey && !ev.metaKey) {
      ev.preventDefault();
      form.requestSubmit();
    } else if (ev.key === 'Escape') {
      // Esc aquí cancela el archivo, no cierra el chat.
      ev.preventDefault();
      ev.stopPropagation();
      cancel();
    }
  });
  const dlg = $('#chat-modal');
  bindDrop(dlg);
  dlg.addEventListener('paste', onPaste);
}
