// The sandbox's Salesforce org, read over its REST API by the harness: GET /upstream/{Object} → { Id: { Field: value } }.
export async function upstream(object) {
  const response = await fetch(`${process.env.UPSTREAM_URL}/upstream/${object}`);
  if (!response.ok) throw new Error(`upstream ${object}: ${response.status}`);
  return response.json();
}

export const direct = {
  host: '127.0.0.1',
  port: Number(process.env.DIRECT_PORT),
  user: process.env.DIRECT_USER,
  password: process.env.DIRECT_PASSWORD,
  database: process.env.PGDATABASE,
};

export const unique = (prefix) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
