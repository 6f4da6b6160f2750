import { describe, expect, it } from 'vitest';
import { formatLag, formatRows, progressOf } from './syncFormat';

describe('sync formatting', () => {
  it('computes progress, indeterminate when the total is unknown', () => {
    expect(progressOf({ rowsDone: 30, rowsEstimated: 60, state: 'backfilling' })).toBe(50);
    expect(progressOf({ rowsDone: 30, rowsEstimated: null, state: 'backfilling' })).toBeNull();
    expect(progressOf({ rowsDone: 30, rowsEstimated: null, state: 'live' })).toBe(100);
    expect(progressOf({ rowsDone: 90, rowsEstimated: 60, state: 'backfilling' })).toBe(100);
  });
  it('formats rows and lag', () => {
    expect(formatRows({ rowsDone: 1234, rowsEstimated: 5000 })).toBe('1,234 / 5,000 rows');
    expect(formatRows({ rowsDone: 7, rowsEstimated: null })).toBe('7 rows');
    expect(formatLag(null)).toBe('—');
    expect(formatLag(0.2)).toBe('< 1 s');
    expect(formatLag(42)).toBe('42 s');
    expect(formatLag(600)).toBe('10 min');
  });
});
