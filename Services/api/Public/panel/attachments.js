/* Mostrador (panel) — fotos y archivos: /attachments/{id} se descarga con la sesión (Authorization), así que
 * se pide con fetch y se muestra como blob: URL. */
import { api } from '../lib/api.js';
import { $, h, nearBottom } from '../lib/dom.js';
import { icon, withIcon } from '../lib/icons.js';
import { toast } from '../lib/toast.js';
import { openDialog } from './dialogs.js';

const ATTACHMENT = /^\/attachments\/\d+$/;
/** URL del adjunto → Promise<blob: URL o null>; una descarga por adjunto. */
const blobs = new Map();

export function loadBlobUrl(url) {
  if (!ATTACHMENT.test(url)) return Promise.resolve(null);
  if (!blobs.has(url)) {
    blobs.set(url, api(url, { blob: true, timeout: 60000 }).then((res) => {
      if (res.ok) return URL.createObjectURL(res.data);
      blobs.delete(url);
      return null;
    }));
  }
  return blobs.get(url);
}

/** Al cerrar sesión: liberar las blob: URL. */
export function forgetAttachments() {
  for (const p of blobs.values()) p.then((u) => { if (u) URL.revokeObjectURL(u); });
  blobs.clear();
}

export async function downloadWithAuth(url, filename) {
  const objUrl = await loadBlobUrl(url);
  if (!objUrl) { toast('No se pudo descargar el archivo.', 'error'); return; }
  const a = h('a', { href: objUrl, download: filename || ('evidencia-' + url.split('/').pop()) });
  document.body.appendChild(a);
  a.click();
  a.remove();
}

export async function openLightbox(url, caption, filename) {
  const img = $('#lightbox-img');
  img.removeAttribute('src');
  img.alt = caption || 'Foto';
  $('#lightbox-title').textContent = caption || 'Foto';
  $('#lightbox-download').onclick = () => downloadWithAuth(url, filename);
  openDialog($('#lightbox'), document.activeElement);
  const objUrl = await loadBlobUrl(url);
  if (objUrl) img.src = objUrl;
  else $('#lightbox-title').textContent = 'No se pudo cargar la foto';
}

/** El adjunto dentro de una burbuja: miniatura que se amplía, o botón de descarga. */
export function attachmentEl(m) {
  const isImage = m.tipo === 'image' || /^image\//.test(m.adjunto_tipo || '');
  if (isImage && m.adjunto_tipo !== 'image/heic') {
    const btn = h('button', { type: 'button', class: 'attachment-thumb', 'aria-label': 'Ver foto ampliada' },
      h('span', { class: 'thumb-loading', text: 'Cargando foto…' }));
    loadBlobUrl(m.adjunto_url).then((url) => {
      if (!url) { btn.replaceChildren(h('span', { class: 'thumb-loading' }, withIcon('alert', 'No se pudo cargar la foto'))); return; }
      const box = btn.closest('.chat-messages');
      const stick = box ? nearBottom(box) : false;
      const img = h('img', { src: url, alt: m.content && m.content !== '📷 Foto' ? m.content : 'Foto enviada por el cliente', loading: 'lazy' });
      img.addEventListener('load', () => { if (stick) box.scrollTop = box.scrollHeight; });
      btn.replaceChildren(img);
    });
    btn.addEventListener('click', () => openLightbox(m.adjunto_url, m.content, null));
    return btn;
  }
  const pdf = m.adjunto_tipo === 'application/pdf';
  return h('button', { type: 'button', class: 'attachment-file', onclick: () => downloadWithAuth(m.adjunto_url, null) },
    icon(pdf ? 'file' : 'paperclip'), pdf ? 'Descargar PDF' : 'Descargar archivo');
}
