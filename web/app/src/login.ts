// The sign-in form of the expert app (moved out of main.ts whole).
import * as api from './client';
import type { Me } from './api_types';
import { t } from './i18n';
import { errorText } from './errors';
import { $, esc } from './ui';

/** What the form calls: switch language, show itself again with an error, and go on once signed in. */
export interface LoginActions { lang: () => void; retry: (err: string) => void; signedIn: (me: Me) => Promise<void> }

/** loginForm shows the sign-in form with err, if any. */
export function loginForm(err: string, on: LoginActions) {
  const el = $('#login');
  el.hidden = false;
  el.innerHTML = `<form id="loginForm"><h1>${esc(t('app'))}</h1>
    ${err ? `<div class="msg err" role="alert">${esc(err)}</div>` : ''}
    <label class="f">${esc(t('username'))}<input name="username" autocomplete="username" required></label>
    <label class="f">${esc(t('password'))}<input name="password" type="password" autocomplete="current-password" required></label>
    <div class="row"><button class="primary" type="submit">${esc(t('login'))}</button>
    <button type="button" id="loginLang">${esc(t('lang'))}</button></div></form>`;
  $('#loginLang').onclick = on.lang;
  $<HTMLFormElement>('#loginForm').onsubmit = async (ev) => {
    ev.preventDefault();
    const fd = new FormData(ev.target as HTMLFormElement);
    try {
      const me = await api.auth.login({ username: String(fd.get('username') ?? ''), password: String(fd.get('password') ?? '') });
      if (!['expert', 'publisher', 'admin'].includes(me.role)) { on.retry(`role ${me.role}`); return; }
      await on.signedIn(me);
    } catch (e) {
      on.retry(errorText(e));
    }
  };
}
