import { ApiError, type ProblemDetails } from './errors';

const BASE = '/api/v1';
let csrf: { token: string; headerName: string } | null = null;

/** Forgets the CSRF token (after sign-out, or when the session changes). */
export function resetCsrf() {
  csrf = null;
}

/** Fetches the CSRF token tied to the current session; call after sign-in / sign-up. */
export async function refreshCsrf(): Promise<void> {
  const res = await fetch(`${BASE}/auth/csrf`, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (res.ok) csrf = (await res.json()) as { token: string; headerName: string };
  else csrf = null;
}

async function readProblem(res: Response): Promise<ProblemDetails> {
  const text = await res.text();
  if (!text) return { status: res.status, title: res.statusText || undefined };
  try {
    return JSON.parse(text) as ProblemDetails;
  } catch {
    return { status: res.status, detail: text.slice(0, 500) };
  }
}

export interface RequestOptions {
  signal?: AbortSignal;
}

async function send(method: string, path: string, body: unknown, options?: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers[csrf.headerName] = csrf.token;
  try {
    return await fetch(`${BASE}${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: options?.signal,
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, { title: 'Network error', detail: 'The Sequin API could not be reached.' });
  }
}

/** Calls the REST API; throws {@link ApiError} with the problem details on a non-2xx answer. */
export async function request<T>(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<T> {
  const mutating = method !== 'GET';
  if (mutating && !csrf && !path.startsWith('/auth/')) await refreshCsrf();
  let res = await send(method, path, body, options);
  if (mutating && res.status === 400) {
    const problem = await readProblem(res.clone());
    if (problem.title?.toLowerCase().includes('antiforgery')) {
      await refreshCsrf();
      res = await send(method, path, body, options);
    }
  }
  if (!res.ok) throw new ApiError(res.status, await readProblem(res));
  if (res.status === 204 || res.status === 202 && res.headers.get('content-length') === '0') return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const http = {
  get: <T>(path: string, options?: RequestOptions) => request<T>('GET', path, undefined, options),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {}),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  del: <T>(path: string) => request<T>('DELETE', path),
};
