// Starts and stops a psp-sandbox child process for the node tests.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** Polls `predicate` every 20 ms until it returns a truthy value or time runs out. */
function waitFor(predicate, timeoutMs = 10000) {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    (function poll() {
      let value;
      try { value = predicate(); } catch (err) { return reject(err); }
      if (value) return resolve(value);
      if (Date.now() > until) return reject(new Error('timed out waiting'));
      setTimeout(poll, 20);
    })();
  });
}

/** The binary named by PSP_SANDBOX_BIN; throws a clear error otherwise. */
function sandboxBinary() {
  const bin = process.env.PSP_SANDBOX_BIN;
  if (!bin || !fs.existsSync(bin)) {
    throw new Error('PSP_SANDBOX_BIN must name the psp-sandbox binary (got: ' + bin + ')');
  }
  return bin;
}

/** Starts psp-sandbox on a free port; resolves to { port, child, stop() }. */
async function startSandbox(args) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psp-sandbox-node-'));
  const portFile = path.join(dir, 'port');
  const child = spawn(sandboxBinary(), ['--port', '0', '--port-file', portFile, ...args],
                      { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.resume();
  await waitFor(() => child.exitCode === null &&
                      fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').endsWith('\n'));
  const port = Number(fs.readFileSync(portFile, 'utf8').trim());
  async function stop() {
    if (child.exitCode !== null) return child.exitCode;
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const code = await exited;
    fs.rmSync(dir, { recursive: true, force: true });
    return code;
  }
  return { port, child, stop };
}

module.exports = { waitFor, startSandbox, sandboxBinary };
