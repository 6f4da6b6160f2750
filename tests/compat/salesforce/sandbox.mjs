// Starts the standalone Sequin Salesforce sandbox for the conformance suite and drives its admin API.
// SANDBOX_DLL points at a built Sequin.Sandbox.dll; run.sh builds one (Release) when it is not set.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ADMIN_KEY = 'compat-admin-key';
export const CLIENT_SECRET = 'compat-client-secret';

export function sandboxDll() {
  const dll = process.env.SANDBOX_DLL
    ?? path.resolve(here, '../../../src/Sequin.Sandbox/bin/Release/net10.0/Sequin.Sandbox.dll');
  if (!fs.existsSync(dll)) {
    throw new Error(`Sandbox not built: ${dll} (run ./run.sh, or set SANDBOX_DLL)`);
  }
  return dll;
}

/** Spawns the sandbox on a free port and resolves once Kestrel reports its address. */
export async function startSandbox() {
  const child = spawn('dotnet', [
    sandboxDll(),
    '--urls', 'http://127.0.0.1:0',
    '--Sandbox:Salesforce:NoDemoOrg', 'true',
    '--Sandbox:Salesforce:AdminKey', ADMIN_KEY,
    '--Sandbox:Salesforce:ClientSecret', CLIENT_SECRET,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const baseUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sandbox did not start:\n${output}`)), 30_000);
    const onData = (chunk) => {
      output += chunk.toString();
      const match = output.match(/Now listening on: (http:\/\/[^\s]+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`sandbox exited with ${code}:\n${output}`)));
  });
  return {
    baseUrl,
    stop: () => new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    }),
  };
}

/** Calls the admin API (JSON in, JSON out). */
export async function admin(baseUrl, method, pathname, body) {
  const response = await fetch(baseUrl + '/_sandbox' + pathname, {
    method,
    headers: { 'X-Sandbox-Admin-Key': ADMIN_KEY, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    throw new Error(`${method} ${pathname}: ${response.status} ${await response.text()}`);
  }
  return response.status === 204 ? undefined : response.json();
}
