import type { Lang } from '../pages/i18n';
import { esc, page } from '../pages/layout';
import { CONSOLE_STRINGS } from './console-i18n';

/** Server-rendered sign-in pages and the console's landing page: every value escaped, no scripts. */
const FORM_CSS = `<style>
label{display:block;font-weight:600;margin:1rem 0 .25rem}
input[type=text],input[type=password]{display:block;width:100%;min-height:48px;padding:.5rem .75rem;font:inherit;border:2px solid #1a1a1a;border-radius:4px}
input:focus{outline:3px solid #f0b400;outline-offset:0}
.hint{color:#3d3d3d;margin:.25rem 0 0;font-size:.95rem}
.error-text{color:#a4161a;font-weight:600;margin:.25rem 0 0}
</style>`;

const other = (lang: Lang): Lang => (lang === 'zh' ? 'en' : 'zh');
const switchTo = (path: string, lang: Lang) => `${path}?lang=${other(lang)}`;
const hidden = (name: string, value: string) => `<input type="hidden" name="${esc(name)}" value="${esc(value)}">`;

function frame(lang: Lang, title: string, path: string, body: string): string {
  return page({ lang, title, body: `${FORM_CSS}${body}`, courtName: CONSOLE_STRINGS[lang].consoleName, switchHref: switchTo(path, lang) });
}

function box(kind: 'warn' | 'ok' | 'info', text: string, alert = false): string {
  return `<div class="box ${kind}"${alert ? ' role="alert"' : ' role="status"'}><p>${esc(text)}</p></div>`;
}

export interface LoginView {
  lang: Lang;
  csrf: string;
  login?: string;
  error?: 'failed' | 'missing' | 'expired' | 'too_many' | 'sso_unavailable';
  notice?: 'password_set' | 'signed_out' | 'session_ended';
  /** The identity provider's label when single sign-on is configured (staff.oidc): a button leads there. */
  sso?: string;
}

export function renderLogin(v: LoginView): string {
  const t = CONSOLE_STRINGS[v.lang];
  const error = v.error === 'failed' ? t.signInFailed : v.error === 'missing' ? t.missingFields : v.error === 'expired' ? t.formExpired : v.error === 'too_many' ? t.tooMany : v.error === 'sso_unavailable' ? t.ssoUnavailable : null;
  const notice = v.notice === 'password_set' ? t.passwordSetDone : v.notice === 'signed_out' ? t.signedOut : v.notice === 'session_ended' ? t.sessionEnded : null;
  return frame(v.lang, t.loginTitle, '/console/login', `
<h1>${esc(t.loginTitle)}</h1>
${error ? box('warn', error, true) : notice ? box('ok', notice) : ''}
<form method="post" action="/console/login" novalidate>
${hidden('csrf', v.csrf)}${hidden('lang', v.lang)}
<label for="login">${esc(t.login)}</label>
<input type="text" id="login" name="login" value="${esc(v.login ?? '')}" autocomplete="username" autocapitalize="none" spellcheck="false" required${error ? ' aria-invalid="true"' : ''}>
<label for="password">${esc(t.password)}</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${error ? ' aria-invalid="true"' : ''}>
<button type="submit">${esc(t.signIn)}</button>
</form>${v.sso ? `
<p><a class="button" href="${esc(withLangOf('/console/login/oidc', v.lang))}">${esc(t.ssoSignIn(v.sso))}</a></p>` : ''}`);
}

const withLangOf = (path: string, lang: Lang) => (lang === 'zh' ? path : `${path}?lang=${lang}`);

export interface SetPasswordView {
  lang: Lang;
  csrf: string;
  token: string;
  name: string;
  minLength: number;
  error?: 'too_short' | 'too_long' | 'mismatch' | 'expired';
}

export function renderSetPassword(v: SetPasswordView): string {
  const t = CONSOLE_STRINGS[v.lang];
  const path = `/console/set-password/${encodeURIComponent(v.token)}`;
  const error = v.error === 'too_short' ? t.tooShort(v.minLength) : v.error === 'too_long' ? t.tooLong : v.error === 'mismatch' ? t.mismatch : v.error === 'expired' ? t.formExpired : null;
  return frame(v.lang, t.setPasswordTitle, path, `
<h1>${esc(t.setPasswordTitle)}</h1>
<p>${esc(t.setPasswordIntro(v.name))}</p>
${error ? box('warn', error, true) : ''}
<form method="post" action="${esc(path)}" novalidate>
${hidden('csrf', v.csrf)}${hidden('lang', v.lang)}
<label for="password">${esc(t.newPassword)}</label>
<input type="password" id="password" name="password" autocomplete="new-password" aria-describedby="password-hint" required${error ? ' aria-invalid="true"' : ''}>
<p class="hint" id="password-hint">${esc(t.passwordHint(v.minLength))}</p>
<label for="confirm">${esc(t.confirmPassword)}</label>
<input type="password" id="confirm" name="confirm" autocomplete="new-password" required${error ? ' aria-invalid="true"' : ''}>
<button type="submit">${esc(t.savePassword)}</button>
</form>`);
}

export function renderInvalidLink(lang: Lang): string {
  const t = CONSOLE_STRINGS[lang];
  return frame(lang, t.invalidLinkTitle, '/console/login', `<h1>${esc(t.invalidLinkTitle)}</h1>${box('warn', t.invalidLinkText)}<p><a href="/console/login?lang=${lang}">${esc(t.loginTitle)}</a></p>`);
}

export function renderForbidden(lang: Lang): string {
  const t = CONSOLE_STRINGS[lang];
  return frame(lang, t.forbiddenTitle, '/console/login', `<h1>${esc(t.forbiddenTitle)}</h1>${box('warn', t.forbiddenText)}<p><a href="/console?lang=${lang}">${esc(t.consoleName)}</a></p>`);
}

export interface HomeView {
  lang: Lang;
  csrf: string;
  name: string;
  login: string;
  roles: readonly string[];
  courts: { code: string; name: string }[] | 'all';
}

export function renderConsoleHome(v: HomeView): string {
  const t = CONSOLE_STRINGS[v.lang];
  const roles = v.roles.map((r) => esc(t.roleNames[r] ?? r)).join('、');
  const courts = v.courts === 'all' ? esc(t.allCourts) : `<ul>${v.courts.map((c) => `<li>${esc(c.name)} (${esc(c.code)})</li>`).join('')}</ul>`;
  return frame(v.lang, t.consoleName, '/console', `
<h1>${esc(t.welcome(v.name))}</h1>
<dl>
<dt>${esc(t.login)}</dt><dd>${esc(v.login)}</dd>
<dt>${esc(t.roles)}</dt><dd>${roles}</dd>
<dt>${esc(t.courts)}</dt><dd>${courts}</dd>
</dl>
<p class="note">${esc(t.consoleNote)}</p>
<form method="post" action="/console/logout">
${hidden('csrf', v.csrf)}${hidden('lang', v.lang)}
<button type="submit">${esc(t.signOut)}</button>
</form>`);
}
