/* Mostrador — fotos y archivos en el chat de invitados (/chat/). /attachments/{id} se descarga con la credencial
 * del visitante (`Authorization: Room <token>`): se pide con fetch y se muestra como blob: URL, como hace el panel
 * (panel/attachments.js). Las blob: URL de una conversación se liberan al salir de ella (forget). Nunca innerHTML. */
import { api } from '../lib/api.js';
import { $, h, nearBottom } from '../lib/dom.js';
import { icon, withIcon } from '../lib/icons.js';
import { toast } from '../lib/toast.js';

const ATTACHMENT = /^\/attachments\/\d+$/;
/** Lo que el navegador dibuja en un <img>; otra «foto» (HEIC) se ofrece para descargar. */
const DRAWABLE = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif']);
/** La extensión que se añade al guardar un archivo cuyo nombre no la trae. */
const EXTENSION = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/heic': 'heic', 'application/pdf': 'pdf',
  'application/msword': 'doc', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
};
const PHOTO_LABEL = '📷 Foto';
const FILE_PREFIX = /^📎\s*/u;

/** ¿Es una foto? Por el tipo del mensaje (consulta) o por el MIME (tramas del WebSocket). */
export function isImage(m) {
  return m.tipo === 'image' || /^image\//.test(m.adjunto_tipo || '');
}

/** El comentario de un adjunto, o null si el texto es solo la etiqueta que pone el servidor («📎 …», «📷 Foto»). */
export function captionOf(m) {
  const text = String(m.content ?? '').trim();
  return !text || text === PHOTO_LABEL || FILE_PREFIX.test(text) ? null : text;
}

/** El nombre del archivo: lo que sigue a «📎 » en el texto, o el comentario; si no hay ninguno, «archivo» (o
 * «foto» para una foto). */
export function fileNameOf(m) {
  const text = String(m.content ?? '').trim();
  const name = FILE_PREFIX.test(text) ? text.replace(FILE_PREFIX, '').trim() : captionOf(m);
  return name || (isImage(m) ? 'foto' : 'archivo');
}

/** El nombre con el que se guarda: sin rutas ni caracteres de control, y con extensión si no la tiene. */
function savedName(name, mime) {
  let clean = String(name).replace(/[\u0000-\u001f\u007f/\\]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 150) || 'archivo';
  const ext = EXTENSION[String(mime || '').toLowerCase()];
  if (ext && !/\.[a-z0-9]{1,5}$/i.test(clean)) clean += '.' + ext;
  return clean;
}

/**
 * Los adjuntos de una conversación del visitante. auth: la cabecera Authorization (`Room <token>`).
 * element(m, author) da el nodo del adjunto de un mensaje (para la vista `attachment` de Conversation);
 * forget() libera las blob: URL (y las que aún se estén descargando, en cuanto lleguen).
 */
export class GuestAttachments {
  constructor(auth) {
    this.auth = auth;
    /** URL del adjunto → Promise<{url, type} | null>; una descarga por adjunto. */
    this.blobs = new Map();
    this.forgotten = false;
  }

  /** La blob: URL de un adjunto (y su tipo), o null si no se pudo descargar (se podrá volver a intentar). */
  load(url) {
    if (this.forgotten || !ATTACHMENT.test(url)) return Promise.resolve(null);
    if (!this.blobs.has(url)) {
      this.blobs.set(url, api(url, { auth: this.auth, handle401: false, blob: true, timeout: 60000 }).then((res) => {
        if (!res.ok || !res.data) { this.blobs.delete(url); return null; }
        if (this.forgotten) return null; // la conversación ya se cerró: no se crea la URL
        return { url: URL.createObjectURL(res.data), type: (res.data.type || '').toLowerCase() };
      }));
    }
    return this.blobs.get(url);
  }

  forget() {
    this.forgotten = true;
    for (const p of this.blobs.values()) p.then((b) => { if (b) URL.revokeObjectURL(b.url); });
    this.blobs.clear();
    const dlg = $('#guest-lightbox');
    if (dlg?.open) dlg.close();
  }

  /** Descarga con la credencial y guarda con un <a download> temporal. */
  async download(m, button) {
    if (button) { button.disabled = true; button.setAttribute('aria-busy', 'true'); }
    const blob = await this.load(m.adjunto_url);
    if (button) { button.disabled = false; button.removeAttribute('aria-busy'); }
    if (!blob) {
      if (!this.forgotten) toast('No se pudo descargar «' + fileNameOf(m) + '». Intenta de nuevo.', 'error');
      return;
    }
    const a = h('a', { href: blob.url, download: savedName(fileNameOf(m), blob.type), hidden: true });
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  /** El adjunto dentro de una burbuja: una miniatura que se amplía, o un botón para descargar el archivo.
   * sender: quién lo envió, para el texto alternativo de una foto sin comentario («Foto enviada por …»). */
  element(m, sender) {
    return isImage(m) && m.adjunto_tipo !== 'image/heic' ? this.thumbnail(m, sender) : this.fileButton(m);
  }

  fileButton(m) {
    const name = fileNameOf(m);
    const pdf = m.adjunto_tipo === 'application/pdf' || /\.pdf$/i.test(name);
    const btn = h('button', { type: 'button', class: 'attachment-file', title: 'Descargar ' + name },
      icon(pdf ? 'file' : 'paperclip'),
      h('span', { class: 'sr-only', text: 'Descargar ' }),
      h('span', { class: 'attachment-name', text: name }),
      icon('download'));
    btn.addEventListener('click', () => this.download(m, btn));
    return btn;
  }

  thumbnail(m, sender) {
    const caption = captionOf(m);
    const alt = caption || 'Foto enviada por ' + (sender || 'el agente');
    const btn = h('button', { type: 'button', class: 'attachment-thumb', 'aria-label': 'Ver foto ampliada: ' + alt });
    const show = () => {
      btn.setAttribute('aria-busy', 'true');
      btn.dataset.state = 'loading';
      btn.replaceChildren(h('span', { class: 'thumb-loading', text: 'Cargando foto…' }));
      this.load(m.adjunto_url).then((blob) => {
        if (this.forgotten) return;
        btn.removeAttribute('aria-busy');
        if (blob && !DRAWABLE.has(blob.type) && blob.type) {
          // Una foto que el navegador no sabe dibujar (HEIC): se ofrece para descargar.
          btn.replaceWith(this.fileButton({ ...m, adjunto_tipo: blob.type }));
          return;
        }
        if (!blob) { failed(); return; }
        const box = btn.closest('.chat-messages');
        const stick = box ? nearBottom(box) : false;
        const img = h('img', { src: blob.url, alt, decoding: 'async' });
        img.addEventListener('load', () => {
          btn.dataset.state = 'ready';
          if (stick && box) box.scrollTop = box.scrollHeight;
        });
        img.addEventListener('error', failed);
        btn.replaceChildren(img);
      });
    };
    const failed = () => {
      btn.removeAttribute('aria-busy');
      btn.dataset.state = 'error';
      btn.setAttribute('aria-label', 'No se pudo cargar la foto. Reintentar');
      btn.replaceChildren(h('span', { class: 'thumb-loading thumb-error' },
        withIcon('alert', 'No se pudo cargar la foto'), h('span', { class: 'thumb-retry', text: 'Reintentar' })));
    };
    btn.addEventListener('click', () => {
      if (btn.dataset.state === 'error') { btn.setAttribute('aria-label', 'Ver foto ampliada: ' + alt); show(); return; }
      this.openLightbox(m, alt, btn);
    });
    show();
    return btn;
  }

  /** La foto ampliada en el <dialog id="guest-lightbox">, con «Descargar»; Esc, ✕ o el fondo la cierran. */
  async openLightbox(m, alt, opener) {
    const dlg = $('#guest-lightbox');
    const img = $('#guest-lightbox-img');
    const title = $('#guest-lightbox-title');
    img.removeAttribute('src');
    img.alt = alt;
    title.textContent = captionOf(m) || 'Foto';
    const download = $('#guest-lightbox-download');
    download.onclick = () => this.download(m, download);
    lightboxOpener = opener;
    if (!dlg.open) dlg.showModal();
    const blob = await this.load(m.adjunto_url);
    if (!dlg.open) return;
    if (blob) img.src = blob.url;
    else title.textContent = 'No se pudo cargar la foto';
  }
}

/** Quién abrió la foto ampliada: recibe el foco al cerrarla. */
let lightboxOpener = null;

/** Cierre del diálogo de la foto: ✕, clic en el fondo; Esc lo cierra el propio <dialog>. */
export function setupLightbox() {
  const dlg = $('#guest-lightbox');
  $('#guest-lightbox-close').addEventListener('click', () => dlg.close());
  dlg.addEventListener('mousedown', (ev) => {
    if (ev.target !== dlg) return;
    const r = dlg.getBoundingClientRect();
    const inside = ev.clientX >= r.left && ev.clientX <= r.right && ev.clientY >= r.top && ev.clientY <= r.bottom;
    if (!inside) dlg.close();
  });
  dlg.addEventListener('close', () => {
    $('#guest-lightbox-img').removeAttribute('src');
    const back = lightboxOpener;
    lightboxOpener = null;
    if (back && back.isConnected) back.focus();
  });
}
