import type { SyncTable } from '../api/types';

export const stateColor: Record<string, string> = {
  pending: 'gray', backfilling: 'blue', live: 'green', paused: 'yellow', error: 'red', active: 'green', deleting: 'gray',
};

export function formatLag(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 1) return '< 1 s';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function formatRows(t: Pick<SyncTable, 'rowsDone' | 'rowsEstimated'>): string {
  const done = t.rowsDone.toLocaleString('en-US');
  return t.rowsEstimated === null ? `${done} rows` : `${done} / ${t.rowsEstimated.toLocaleString('en-US')} rows`;
}

/** Percentage for a progress bar; null when the total is unknown (indeterminate bar). */
export function progressOf(t: Pick<SyncTable, 'rowsDone' | 'rowsEstimated' | 'state'>): number | null {
  if (t.state === 'live') return 100;
  if (t.rowsEstimated === null) return null;
  if (t.rowsEstimated === 0) return 100;
  return Math.min(100, Math.round((t.rowsDone / t.rowsEstimated) * 100));
}

export function timeAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}
