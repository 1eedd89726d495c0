// Run by `make build` after `cargo leptos build --split`: makes every WASM file's name the
// hash of the bytes it is served with, so that a browser keeping a file for a year can never
// be handed stale code after an upgrade.
//
// cargo-leptos names each file by the MD5 of its bytes, and then writes the split loader's
// own hashed name (`__wasm_split.<hash>.js`) into the main WASM and every chunk, which import
// from it. The loader's hash changes whenever any chunk changes, so an unchanged chunk would
// keep its name while its bytes changed: a browser holding the old bytes would link them
// against the new loader and fail. Here the loader gets back its fixed name
// (`__wasm_split.______________________.js`), written back into every file (the same length,
// so a WASM file's bytes are again exactly those its name was hashed from), and the server
// revalidates that one file on each visit (`no-cache`) instead of keeping it for a year.
// The `.br` and `.gz` beside a rewritten file are made again. Idempotent.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const ROOT = new URL('..', import.meta.url).pathname;
const PKG = join(ROOT, 'target/site/pkg');
const HASHES = join(ROOT, 'target/release/hash.txt');
const PLACEHOLDER = '______________________';

const hashes = readFileSync(HASHES, 'utf8');
const split = hashes.match(/^split: *(\S+)$/m)?.[1];
if (!split) {
  console.log('split-names: no split loader in this build; nothing to do');
  process.exit(0);
}

const from = Buffer.from(`__wasm_split.${split}.js`);
const to = Buffer.from(`__wasm_split.${PLACEHOLDER}.js`);
if (from.length !== to.length) throw new Error(`unexpected loader hash ${split}`);

function compressBeside(path, bytes) {
  if (existsSync(`${path}.br`)) {
    writeFileSync(`${path}.br`, brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
  }
  if (existsSync(`${path}.gz`)) writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
}

const files = readdirSync(PKG).filter((f) => !/\.(br|gz)$/.test(f));
let rewritten = 0;
if (split !== PLACEHOLDER) {
  for (const name of files) {
    const path = join(PKG, name);
    const bytes = readFileSync(path);
    let at = bytes.indexOf(from);
    if (at < 0) continue;
    while (at >= 0) {
      to.copy(bytes, at);
      at = bytes.indexOf(from, at + to.length);
    }
    writeFileSync(path, bytes);
    compressBeside(path, bytes);
    rewritten += 1;
  }
  for (const suffix of ['', '.br', '.gz']) {
    const old = join(PKG, `__wasm_split.${split}.js${suffix}`);
    if (existsSync(old)) renameSync(old, join(PKG, `__wasm_split.${PLACEHOLDER}.js${suffix}`));
  }
  writeFileSync(HASHES, hashes.replace(/^split: *\S+$/m, `split: ${PLACEHOLDER}`));
}

// The promise this step makes: every WASM file is named by the MD5 of its bytes.
const stale = readdirSync(PKG)
  .filter((f) => f.endsWith('.wasm'))
  .filter((f) => {
    const named = f.split('.').at(-2);
    return createHash('md5').update(readFileSync(join(PKG, f))).digest('base64url') !== named;
  });
if (stale.length > 0) throw new Error(`WASM files not named by their content: ${stale.join(', ')}`);
console.log(`split-names: loader renamed, ${rewritten} files rewritten; every WASM file is named by its content`);
