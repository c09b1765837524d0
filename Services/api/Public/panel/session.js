/* Mostrador (panel) — la sesión del técnico: token, usuario y agente, guardados en sessionStorage. */
import { setAuthorization } from '../lib/api.js';

const KEY = 'mostrador.session';
let current = null; // {token, user, agent} de POST /api/auth/login/

setAuthorization(() => (current ? 'Token ' + current.token : null));

export function isLoggedIn() { return current !== null; }
export function token() { return current ? current.token : ''; }
/** {id, username, email, first_name, last_name} */
export function user() { return current ? current.user : null; }
/** {id (uuid), role, is_available, …} */
export function agent() { return current ? current.agent : null; }

export function displayName(u = user()) {
  if (!u) return '';
  return [u.first_name, u.last_name].filter(Boolean).join(' ').trim() || u.username;
}

/** La sesión guardada en esta pestaña, si la hay. */
export function restore() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    if (s && typeof s.token === 'string' && s.token) current = s;
  } catch (e) { /* sesión ilegible: se vuelve a iniciar */ }
  return isLoggedIn();
}

/** La respuesta de POST /api/auth/login/: {token, user, agent}. */
export function begin(login) {
  current = { token: login.token, user: login.user, agent: login.agent };
  try { sessionStorage.setItem(KEY, JSON.stringify(current)); } catch (e) { /* sin almacenamiento: solo en memoria */ }
}

export function end() {
  current = null;
  try { sessionStorage.removeItem(KEY); } catch (e) { /* nada que borrar */ }
}
