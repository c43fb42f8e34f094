// `npm pack` and `npm publish` run this first: the package's dist/ is the committed build of
// web/public/sdk/dist/ (build.mjs) beside the SDK's types (porch.d.ts, checked against the
// code by tsc in web/test/types/conforms.ts; wire.gen.d.ts and wire-types.gen.d.ts, generated
// from porch-wire).
// dist/ here is a copy, never committed (.gitignore).

import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const sdk = path.resolve(here, '../public/sdk');
const dist = path.join(here, 'dist');

await rm(dist, { recursive: true, force: true });
await mkdir(dist);
for (const f of await readdir(path.join(sdk, 'dist'))) await copyFile(path.join(sdk, 'dist', f), path.join(dist, f));
for (const f of ['porch.d.ts', 'wire.gen.d.ts', 'wire-types.gen.d.ts']) await copyFile(path.join(sdk, f), path.join(dist, f));
