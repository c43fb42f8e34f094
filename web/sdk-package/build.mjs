// Builds the SDK for the npm package and for Porch to serve (ARCHITECTURE.md, "web/"): from
// the ES modules of web/public/sdk/, esbuild writes into web/public/sdk/dist/
//   porch.esm.js       one ES module (what `import 'porch-sdk'` loads), with its source map;
//   porch.iife.min.js  minified, for a plain <script> tag: `window.Porch`, with its source map.
// The output is committed (Porch embeds web/public/ and serves it at /sdk/dist/ and under
// /v/{version}/), and web/test/sdk-package.test.mjs fails when it differs from a fresh build.
//   node sdk-package/build.mjs     (from web/; scripts/regen-sdk-wire.sh runs it)

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const sdk = path.resolve(here, '../public/sdk');

/**
 * Builds both; with `write: false`, writes nothing and returns what it would write.
 * @returns {Promise<{path: string, text: string}[]>}
 */
export async function buildSdk({ write = true } = {}) {
  const outdir = path.join(sdk, 'dist');
  const { name, version } = JSON.parse(await readFile(path.join(here, 'package.json'), 'utf8'));
  const common = {
    entryPoints: [path.join(sdk, 'porch.js')],
    bundle: true,
    sourcemap: 'linked',
    // Source paths in the maps relative to the build (`../guest.js`), the same on every
    // machine; their text is in the maps too (`sourcesContent`), for the package.
    absWorkingDir: sdk,
    target: 'es2020',
    platform: 'browser',
    legalComments: 'none',
    banner: { js: `/* ${name} ${version}: the Porch browser SDK (docs/sdk.md) */` },
    logLevel: 'warning',
    write,
  };
  const builds = await Promise.all([
    build({ ...common, format: 'esm', outfile: path.join(outdir, 'porch.esm.js') }),
    build({ ...common, format: 'iife', globalName: 'Porch', minify: true, outfile: path.join(outdir, 'porch.iife.min.js') }),
  ]);
  return builds.flatMap((b) => b.outputFiles ?? []).map((f) => ({ path: f.path, text: f.text }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildSdk();
  process.stdout.write(`built ${path.relative(process.cwd(), path.join(sdk, 'dist'))}\n`);
}
