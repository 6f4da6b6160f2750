/** RFC 7807 problem details as the Sequin API returns them (validation problems carry `errors`). */
export interface ProblemDetails {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: Record<string, string[]>;
  [key: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: ProblemDetails;

  constructor(status: number, problem: ProblemDetails) {
    super(problem.detail || problem.title || `Request failed (${status})`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }

  /** Field errors keyed by the API's camelCase field name (e.g. `destination.connectionString`). */
  get fieldErrors(): Record<string, string[]> {
    return this.problem.errors ?? {};
  }
}

/** Normalizes an API field key: lower-cases it and drops index brackets, so `Tables[0].Object` ~ `tables.object`. */
function normalizeKey(key: string): string {
  return key
    .replace(/\[\d+\]/g, '')
    .replace(/^\$\./, '')
    .toLowerCase();
}

export interface MappedErrors {
  /** First message for each known form field. */
  fields: Record<string, string>;
  /** Messages that belong to no field of the form (shown in a banner). */
  general: string[];
}

/**
 * Splits an error into messages shown next to the form's fields and the rest. `fields` lists the form's field
 * names as the API spells them (camelCase, dotted for nested: `destination.connectionString`); matching is
 * case-insensitive and ignores list indexes. A nested key (`tables[0].fields`) falls back to its parent field
 * (`tables`) when the form has it.
 */
export function mapApiErrors(error: unknown, fields: readonly string[]): MappedErrors {
  const result: MappedErrors = { fields: {}, general: [] };
  if (!error) return result;
  if (!(error instanceof ApiError)) {
    result.general.push(error instanceof Error ? error.message : String(error));
    return result;
  }

  const known = new Map(fields.map((f) => [normalizeKey(f), f] as const));
  const entries = Object.entries(error.fieldErrors);
  for (const [key, messages] of entries) {
    const message = messages.filter(Boolean).join(' ');
    if (!message) continue;
    let normalized = normalizeKey(key);
    let target = known.get(normalized);
    while (!target && normalized.includes('.')) {
      normalized = normalized.slice(0, normalized.lastIndexOf('.'));
      target = known.get(normalized);
    }
    if (target) {
      result.fields[target] = result.fields[target] ? `${result.fields[target]} ${message}` : message;
    } else {
      result.general.push(message);
    }
  }

  if (entries.length === 0) {
    result.general.push(describeError(error));
  }
  return result;
}

/** A one-line human message for any error. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const { title, detail } = error.problem;
    if (detail && title && !detail.startsWith(title)) return `${title}: ${detail}`;
    if (detail || title) return (detail || title)!;
    if (error.status === 0) return 'The Sequin API could not be reached.';
    return `Request failed (${error.status}).`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
