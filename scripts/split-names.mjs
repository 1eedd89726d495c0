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
//
// Then the small chunks that pages share (code used by more than one lazy page: 47 files of
// 0.3-30 KB behind the consumer list) become one file, `chunks.<hash>.wasm`, that the first
// lazy page loads and every later one reuses. Every chunk is a module of its own that only
// imports the shared memory, table and stack pointer and fills its own table slots and data,
// so `wasm-merge` can join them into one module with those three imports (a small shim module
// named `__wasm_split` makes them one import each). On a 60 ms link each request costs a round
// trip on one of the browser's six HTTP/1.1 connections; one file of 65 KB brotli instead of
// 47 saves far more than the few kilobytes a page gets that it does not use.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

mergeChunks();

// The promise this step makes: every WASM file is named by the MD5 of its bytes.
const stale = readdirSync(PKG)
  .filter((f) => f.endsWith('.wasm'))
  .filter((f) => {
    const named = f.split('.').at(-2);
    return createHash('md5').update(readFileSync(join(PKG, f))).digest('base64url') !== named;
  });
if (stale.length > 0) throw new Error(`WASM files not named by their content: ${stale.join(', ')}`);
console.log(`split-names: loader renamed, ${rewritten} files rewritten; every WASM file is named by its content`);

function md5(bytes) {
  return createHash('md5').update(bytes).digest('base64url');
}

function writeAsset(path, bytes) {
  writeFileSync(path, bytes);
  writeFileSync(`${path}.br`, brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
  writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
}

function removeAsset(path) {
  for (const suffix of ['', '.br', '.gz']) if (existsSync(path + suffix)) unlinkSync(path + suffix);
}

function mergeChunks() {
  const loaderPath = join(PKG, `__wasm_split.${PLACEHOLDER}.js`);
  let loader = readFileSync(loaderPath, 'utf8');
  // cargo-leptos 0.3.10 writes one loader per chunk:
  //   const __chunk_11 = makeLoad(() => {
  //       const src = fetch(new URL("./chunk_11.<hash>.wasm", import.meta.url));
  //       return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
  //   }
  //   , []);
  // Each preceded by a comment naming the pages that share it.
  const block = /(?:\/\*[^*]*\*\/\n)?const (__chunk_\d+) = makeLoad\(\(\) => \{\s*const src = fetch\(new URL\("\.\/(chunk_\d+\.[\w-]{22})\.wasm", import\.meta\.url\)\);\s*return async \(imports\) => \(WebAssembly\.instantiateStreaming\(src, imports\)\);\s*\}\s*, \[\]\);\n/g;
  const chunks = [...loader.matchAll(block)].map((m) => ({ loader: m[1], file: m[2] }));
  if (chunks.length === 0) {
    if (/chunk_\d/.test(loader)) throw new Error('split-names: the split loader names chunks in a form this script does not know');
    return;
  }
  const bin = join(ROOT, 'node_modules/.bin');
  const paths = chunks.map((c) => join(PKG, `${c.file}.wasm`));
  // The merged module may use what the chunks use, and nothing more.
  const features = execFileSync(join(bin, 'wasm-opt'), ['--print-features', paths[0], '-o', '/dev/null'], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => f.startsWith('--enable-'));
  // The shim's imports must be at least as large as every chunk's.
  let pages = 0;
  let slots = 0;
  for (const path of paths) {
    const text = execFileSync(join(bin, 'wasm-dis'), [path], { encoding: 'utf8', maxBuffer: 1 << 28 });
    for (const m of text.matchAll(/\(import "__wasm_split" "memory" \(memory \$\S+ (\d+)\)\)/g)) pages = Math.max(pages, Number(m[1]));
    for (const m of text.matchAll(/\(import "__wasm_split" "__indirect_function_table" \(table \$\S+ (\d+) funcref\)\)/g)) slots = Math.max(slots, Number(m[1]));
  }
  const work = mkdtempSync(join(tmpdir(), 'split-names-'));
  try {
    const shim = join(work, 'shim.wat');
    writeFileSync(
      shim,
      `(module
  (import "__wasm_split_all" "memory" (memory $m ${pages}))
  (import "__wasm_split_all" "__indirect_function_table" (table $t ${slots} funcref))
  (import "__wasm_split_all" "__wasm_split_shared0" (global $g (mut i32)))
  (export "memory" (memory $m))
  (export "__indirect_function_table" (table $t))
  (export "__wasm_split_shared0" (global $g)))
`,
    );
    execFileSync(join(bin, 'wasm-as'), [shim, ...features, '-o', join(work, 'shim.wasm')]);
    const out = join(work, 'chunks.wasm');
    const inputs = [join(work, 'shim.wasm'), '__wasm_split', ...chunks.flatMap((c, i) => [paths[i], c.loader])];
    execFileSync(join(bin, 'wasm-merge'), [...inputs, ...features, '-o', out]);
    const bytes = readFileSync(out);
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(bytes));
    if (imports.some((i) => i.module !== '__wasm_split_all') || imports.length !== 3) {
      throw new Error(`split-names: the merged chunks import ${JSON.stringify(imports)}`);
    }
    const merged = `chunks.${md5(bytes)}`;
    writeAsset(join(PKG, `${merged}.wasm`), bytes);

    // One loader for all of them, instantiated once; every page waits for it.
    const one = `/* The chunks all lazy pages share, merged by scripts/split-names.mjs */
const __chunks = makeLoad(() => {
    const src = fetch(new URL("./${merged}.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, { __wasm_split_all: imports.__wasm_split }));
}
, []);
`;
    let first = true;
    loader = loader.replace(block, () => {
      const text = first ? one : '';
      first = false;
      return text;
    });
    loader = loader.replace(/\[(__chunk_\d+)(, __chunk_\d+)*\]/g, '[__chunks]');
    if (/chunk_\d/.test(loader)) throw new Error('split-names: a chunk is still named in the split loader');
    writeAsset(loaderPath, Buffer.from(loader));

    // The manifest the server preloads from names the one file instead.
    const hashes = readFileSync(HASHES, 'utf8');
    const oldManifest = hashes.match(/^manifest: *(\S+)$/m)?.[1];
    const manifestPath = join(PKG, `__wasm_split_manifest.${oldManifest}.json`);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    const names = new Set(chunks.map((c) => c.file));
    for (const [page, modules] of Object.entries(manifest)) {
      const own = modules.filter((m) => !names.has(m));
      manifest[page] = own.length < modules.length ? [merged, ...own] : own;
    }
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const newManifest = md5(manifestBytes);
    removeAsset(manifestPath);
    writeAsset(join(PKG, `__wasm_split_manifest.${newManifest}.json`), manifestBytes);
    writeFileSync(HASHES, hashes.replace(/^manifest: *\S+$/m, `manifest: ${newManifest}`));

    for (const path of paths) removeAsset(path);
    console.log(`split-names: ${chunks.length} shared chunks merged into ${merged}.wasm (${bytes.length} bytes)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
