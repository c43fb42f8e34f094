// The SDK as users get it (docs/sdk.md, "Installing"): the committed builds are a fresh
// esbuild of the sources; `npm pack` makes a tarball that a scratch project installs, imports
// from Node, type-checks with tsc and bundles with esbuild (tree-shaken: `sideEffects`); and a
// plain HTML page of another origin loads the minified IIFE from Porch's versioned URL with a
// <script> tag and chats through it, in Chromium.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { build } from 'esbuild';

import { buildSdk } from '../sdk-package/build.mjs';
import { launch } from './lib/browser.mjs';
import { eventually } from './lib/engines.mjs';
import { startPorch } from './lib/porch.mjs';

const run = promisify(execFile);
const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = path.join(web, 'sdk-package');
const T = { timeout: 120_000 };

describe('the SDK package', { timeout: 400_000 }, () => {
  let scratch;
  let tarball;

  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'porch-sdk-pack-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('commits the builds a fresh esbuild makes', T, async () => {
    const fresh = await buildSdk({ write: false });
    const committed = path.join(web, 'public/sdk/dist');
    const names = fresh.map((f) => path.basename(f.path)).sort();
    assert.deepEqual(names, ['porch.esm.js', 'porch.esm.js.map', 'porch.iife.min.js', 'porch.iife.min.js.map']);
    assert.deepEqual((await readdir(committed)).sort(), names);
    for (const f of fresh) {
      const same = f.text === (await readFile(f.path, 'utf8'));
      assert.ok(same, `web/public/sdk/dist/${path.basename(f.path)} is stale: run scripts/regen-sdk-wire.sh (or, in web/, node sdk-package/build.mjs)`);
    }
  });

  it('follows the server version, and packs what its exports name', T, async () => {
    const pkg = JSON.parse(await readFile(path.join(pkgDir, 'package.json'), 'utf8'));
    const cargo = await readFile(path.join(web, '../Cargo.toml'), 'utf8');
    const serverVersion = /\[workspace\.package\][^[]*?version = "([^"]+)"/.exec(cargo)?.[1];
    assert.equal(pkg.version, serverVersion, 'web/sdk-package/package.json follows [workspace.package] version');
    const { API_VERSION } = await import('../public/sdk/wire.gen.js');
    assert.equal(API_VERSION, pkg.version, 'and so does the generated API_VERSION');
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: pkgDir, timeout: 60_000 });
    const [packed] = JSON.parse(stdout);
    tarball = path.join(scratch, packed.filename);
    const files = packed.files.map((f) => f.path).sort();
    assert.deepEqual(files, ['README.md', 'dist/porch.d.ts', 'dist/porch.esm.js', 'dist/porch.esm.js.map', 'dist/porch.iife.min.js',
      'dist/porch.iife.min.js.map', 'dist/wire-types.gen.d.ts', 'dist/wire.gen.d.ts', 'package.json']);
    const targets = JSON.stringify(pkg.exports).match(/\.\/dist\/[\w.-]+/g);
    for (const t of targets) assert.ok(files.includes(t.slice(2)), `exports names ${t}, which is packed`);
  });

  it('installs into a project that imports it from Node, type-checks it and bundles it', T, async () => {
    assert.ok(tarball, 'the pack test ran first');
    const project = path.join(scratch, 'project');
    await mkdir(project);
    await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--offline', tarball], { cwd: project, timeout: 60_000 });

    const { stdout } = await run(process.execPath, ['--input-type=module', '-e',
      "const sdk = await import('porch-sdk'); console.log(JSON.stringify({ guest: typeof sdk.PorchGuest, agent: typeof sdk.PorchAgent, version: sdk.API_VERSION, close: sdk.classifyClose(4200), gateway: sdk.PATHS.gateway }));"],
    { cwd: project });
    const seen = JSON.parse(stdout);
    assert.deepEqual(seen, { guest: 'function', agent: 'function', version: seen.version, close: 'immediate', gateway: '/api/v2/gateway' });

    // A user's TypeScript program against the package's own types, resolved through `exports`.
    await writeFile(path.join(project, 'main.ts'), [
      "import { PorchGuest, ERRORS, type ErrorCode, type GuestEvents } from 'porch-sdk';",
      "const chat = new PorchGuest({ baseUrl: 'https://chat.example', deploymentId: 'dep_1' });",
      "chat.on('refresh', (e: GuestEvents['refresh']) => { const inPlace: boolean = e.inPlace; void inPlace; });",
      "const code: ErrorCode = 'token_expired';",
      'const retry: boolean = ERRORS[code].retryable;',
      'void retry;',
      '',
    ].join('\n'));
    await writeFile(path.join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, lib: ['es2022', 'dom'], types: [] },
      files: ['main.ts'],
    }));
    await run(process.execPath, [path.join(web, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: project, timeout: 60_000 })
      .catch((e) => assert.fail(`tsc refused the user's program:\n${e.stdout}${e.stderr}`));

    // Bundled by a user's esbuild; importing one pure function leaves the clients out.
    await writeFile(path.join(project, 'app.js'), "import { PorchGuest } from 'porch-sdk';\nwindow.chat = new PorchGuest({ session: window.session });\n");
    await writeFile(path.join(project, 'small.js'), "import { classifyClose } from 'porch-sdk';\nwindow.kind = classifyClose(4200);\n");
    const bundle = async (entry) => (await build({ entryPoints: [path.join(project, entry)], bundle: true, write: false, format: 'esm', minify: true, absWorkingDir: project, logLevel: 'silent' })).outputFiles[0].text;
    const app = await bundle('app.js');
    const small = await bundle('small.js');
    assert.match(app, /NICE-WebSocket-Auth/, 'the guest client is in the app bundle');
    assert.ok(small.length < app.length / 3, `tree-shaken: ${small.length} bytes for classifyClose, ${app.length} for the client`);
    assert.doesNotMatch(small, /NICE-WebSocket-Auth/, 'no connection code in a bundle that uses none');
  });

  it('loads from Porch\'s versioned URL with a <script> tag and chats, in Chromium', T, async () => {
    // The host page: plain HTML from another origin, as a customer's site would be, whose one
    // script is the SDK from Porch's versioned URL.
    let scriptUrl = '';
    const page = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>shop</title><script src="${scriptUrl}"></script>`);
    });
    await new Promise((r) => page.listen(0, '127.0.0.1', r));
    const pageOrigin = `http://127.0.0.1:${page.address().port}`;
    const porch = await startPorch({ extraOrigins: [pageOrigin] });
    const browser = await launch();
    try {
      const plain = await fetch(`${porch.baseUrl}/sdk/dist/porch.iife.min.js`);
      const versioned = plain.headers.get('content-location');
      assert.match(versioned ?? '', /^\/v\/[0-9a-f]+\/sdk\/dist\/porch\.iife\.min\.js$/);
      const immutable = await fetch(`${porch.baseUrl}${versioned}`);
      assert.equal(immutable.status, 200);
      assert.match(immutable.headers.get('cache-control'), /immutable/);
      const map = await fetch(`${porch.baseUrl}${versioned}.map`);
      assert.equal(map.headers.get('content-type'), 'application/json');
      scriptUrl = `${porch.baseUrl}${versioned}`;

      const tab = await browser.newPage();
      const logs = [];
      tab.on('pageerror', (e) => logs.push(e.message));
      await tab.goto(`${pageOrigin}/`);
      const version = await tab.evaluate(() => window.Porch?.API_VERSION);
      assert.equal(version, JSON.parse(await readFile(path.join(pkgDir, 'package.json'), 'utf8')).version, `window.Porch is defined; page errors: ${logs}`);
      await tab.evaluate(async ({ baseUrl, deploymentId }) => {
        const chat = new window.Porch.PorchGuest({ baseUrl, deploymentId, storage: window.Porch.memoryStorage() });
        window.acks = [];
        chat.on('ack', (a) => window.acks.push(a));
        await chat.start();
        await chat.send('from a script tag');
      }, { baseUrl: porch.baseUrl, deploymentId: porch.deployment.id });
      await eventually('the ack', () => tab.evaluate(() => window.acks.length === 1));
      assert.deepEqual(logs, []);
    } finally {
      await browser.close();
      await porch.stop();
      page.close();
    }
  });
});
