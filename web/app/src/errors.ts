// What the app says when something is refused, in the current language: a
// shape the editor refuses (GeometryError) or an error answer of the server
// (ApiError: its stable code translated, the server's detail after it).
import { t } from './i18n';
import { ApiError } from './api';
import { GeometryError } from './geom';
import { serverErrorCodes } from './api_types';

/** The error codes of the server (server/errors.go codeOf), each with a key err.<code>. */
export { serverErrorCodes };

/** geometryReason is the reason a shape is refused, in the current language. */
export function geometryReason(e: GeometryError): string {
  const p = e.params;
  const what = p.part === undefined ? '' : Number(p.hole) > 0 ? t('geom.hole', p) : t('geom.part', p);
  const s = t('geom.' + e.code, { ...p, what });
  return s === 'geom.' + e.code ? e.message : s;
}

/** errorText says what went wrong, in the current language. */
export function errorText(e: unknown): string {
  if (e instanceof GeometryError) return geometryReason(e);
  if (e instanceof ApiError) {
    const code = e.code;
    const known = (serverErrorCodes as readonly string[]).includes(code);
    const what = known ? t('err.' + code) : `${t('error')} ${e.status}`;
    return e.message && e.message !== code ? t('err.withDetail', { what, detail: e.message }) : what;
  }
  if (e instanceof TypeError && /fetch/i.test(e.message)) return t('err.network');
  return e instanceof Error ? e.message : String(e);
}
