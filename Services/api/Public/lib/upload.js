/* Mostrador — enviar un archivo al chat como dice la guía 003: por el WebSocket se pide permiso
 * (`file_upload_request` → `file_upload_authorized` o `error`) y el archivo se sube con POST multipart/form-data
 * a la URL que dio el servidor. El servidor vuelve a comprobar tamaño y tipo (por los bytes); estas comprobaciones
 * solo ahorran subir lo que va a rechazar. El mensaje nuevo llega después por las tramas de siempre. */
import { api, errorText } from './api.js';

/** 16 MB, lo mismo que el servidor (UploadGrants.maximumSize). */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** Los tipos que el servidor admite, por extensión. */
const TYPES = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  pdf: 'application/pdf',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
};
const MIMES = new Set(Object.values(TYPES));

/** Para el atributo `accept` del <input type="file">. */
export const ACCEPT = Object.keys(TYPES).map((ext) => '.' + ext).concat([...MIMES]).join(',');

/** El tipo MIME admitido de un archivo (por su extensión o, sin ella, por lo que dice el navegador), o null. */
export function fileMime(file) {
  const ext = /\.([a-z0-9]+)$/i.exec(file.name || '')?.[1].toLowerCase();
  if (ext && TYPES[ext]) return TYPES[ext];
  return MIMES.has(file.type) ? file.type : null;
}

/** «10.1 MB»: redondeado hacia arriba, para que un archivo apenas mayor que el máximo no se lea «10.0 MB». */
function megabytesUp(bytes) {
  const tenths = Math.ceil(bytes / (1024 * 1024 / 10));
  return (tenths / 10).toFixed(1) + ' MB';
}

/** Por qué no se puede enviar un archivo (texto para el técnico), o null si se puede. */
export function fileProblem(file) {
  const name = '«' + (file.name || 'archivo') + '»';
  if (!fileMime(file)) {
    return name + ' no es un tipo de archivo admitido: solo se pueden enviar jpg, png, pdf, doc o docx.';
  }
  if (file.size > MAX_FILE_BYTES) return name + ' pesa ' + megabytesUp(file.size) + ': el máximo es 16 MB.';
  if (!file.size) return name + ' está vacío.';
  return null;
}

/** La URL de subida solo puede ser una ruta de este mismo servidor. */
function sameOriginPath(url) {
  return typeof url === 'string' && url.startsWith('/') && !url.startsWith('//');
}

/**
 * Pide permiso por `channel` (un LiveChannel abierto) y sube `file` con su comentario opcional `caption`.
 * Devuelve {ok: true, data} (la respuesta 201: mensaje_id, tipo_mime, tamano, nombre) o {ok: false, error}: el
 * texto del servidor cuando rechaza (trama `error` o cuerpo `{detail}`), o uno propio si no contestó.
 */
export async function uploadFile(channel, file, caption) {
  const grant = await channel.request('file_upload_request', {
    nombre_archivo: file.name, 'tamaño': file.size, tipo_mime: fileMime(file),
  }, ['file_upload_authorized']);
  if (!grant) return { ok: false, error: 'El servidor no respondió a tiempo a la petición de subida; intenta de nuevo.' };
  if (grant.tipo === 'error') return { ok: false, error: grant.data.mensaje || 'El servidor no autorizó la subida.' };
  const url = grant.data.upload_url;
  if (!sameOriginPath(url)) return { ok: false, error: 'El servidor dio una dirección de subida no válida.' };

  const form = new FormData();
  form.append(typeof grant.data.campo === 'string' && grant.data.campo ? grant.data.campo : 'file', file, file.name);
  if (caption) form.append('caption', caption);
  // El permiso de un solo uso (upload_token en la URL) es la credencial: sin Authorization, y un 401 aquí es un
  // permiso vencido, no la sesión (no debe cerrarla).
  const res = await api(url, { method: 'POST', form, auth: false, handle401: false, timeout: 120000 });
  if (res.ok) return { ok: true, data: res.data || {} };
  return { ok: false, status: res.status, error: errorText(res, 'No se pudo subir el archivo') };
}
