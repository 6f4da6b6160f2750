import { describe, expect, it } from 'vitest';
import { ApiError, describeError, mapApiErrors } from './errors';

describe('mapApiErrors', () => {
  it('puts validation messages next to their fields, case-insensitively', () => {
    const e = new ApiError(400, {
      title: 'One or more validation errors occurred.',
      errors: { Password: ['Too short.'], email: ['Not an email.'], 'destination.connectionString': ['Could not connect: timeout'] },
    });
    const m = mapApiErrors(e, ['email', 'password', 'destination.connectionString']);
    expect(m.fields).toEqual({ password: 'Too short.', email: 'Not an email.', 'destination.connectionString': 'Could not connect: timeout' });
    expect(m.general).toEqual([]);
  });

  it('maps indexed nested keys to the parent field the form has', () => {
    const e = new ApiError(400, { errors: { 'tables[0].fields': ["'Fields' must be null"], 'Tables[1].Object': ['bad'] } });
    const m = mapApiErrors(e, ['tables']);
    expect(m.fields.tables).toBe("'Fields' must be null bad");
  });

  it('sends unknown fields and plain problems to the banner', () => {
    expect(mapApiErrors(new ApiError(400, { errors: { other: ['x'] } }), ['email']).general).toEqual(['x']);
    const conflict = new ApiError(409, { title: 'Conflict', detail: 'That email is already registered.' });
    expect(mapApiErrors(conflict, ['email']).general).toEqual(['Conflict: That email is already registered.']);
    expect(mapApiErrors(new Error('boom'), []).general).toEqual(['boom']);
    expect(mapApiErrors(null, ['email'])).toEqual({ fields: {}, general: [] });
  });

  it('describes network failures', () => {
    expect(describeError(new ApiError(0, {}))).toBe('The Sequin API could not be reached.');
  });
});
