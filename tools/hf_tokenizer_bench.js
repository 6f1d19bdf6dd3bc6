// Encoding speed of the Hugging Face `tokenizers` library (Rust, through
// the @anush008/tokenizers Node binding) on a text file, one line per
// encode, for docs/benchmarks.md next to `landermt tokenize --stats`.
//
//   node hf_tokenizer_bench.js text OUT_FILE [MEGABYTES]
//       writes the benchmark text: translations from the machine's gettext
//       catalogs (/usr/share/locale, every language there), one per line,
//       shuffled with a fixed seed, cut at MEGABYTES (default 10)
//   node hf_tokenizer_bench.js encode TOKENIZER_JSON TEXT_FILE
//       times encode() per line and encodeBatch() over blocks of 1000 lines;
//       run it with RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
//       UV_THREADPOOL_SIZE=1 for one thread
"use strict";
const fs = require("fs");
const path = require("path");

function moFiles(dir, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) moFiles(p, out);
    else if (e.name.endsWith(".mo")) out.push(p);
  }
  return out;
}

// The translated strings of a .mo catalog, split into lines.
function moLines(file) {
  const b = fs.readFileSync(file);
  if (b.length < 28) return [];
  const le = b.readUInt32LE(0) === 0x950412de;
  const u32 = (o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const n = u32(8), trans = u32(16), lines = [];
  for (let i = 0; i < n; i++) {
    const len = u32(trans + 8 * i), off = u32(trans + 8 * i + 4);
    if (off + len > b.length) break;
    const s = b.subarray(off, off + len).toString("utf8");
    if (i === 0 && s.startsWith("Project-Id-Version")) continue;  // the header
    for (const l of s.split(/[\0\n]/)) if (l.trim()) lines.push(l);
  }
  return lines;
}

function makeText(out, mb) {
  const seen = new Set(), lines = [];
  for (const f of moFiles("/usr/share/locale", []))
    for (const l of moLines(f)) if (!seen.has(l)) seen.add(l), lines.push(l);
  let x = 12345;  // deterministic shuffle (LCG)
  for (let i = lines.length - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = x % (i + 1);
    [lines[i], lines[j]] = [lines[j], lines[i]];
  }
  const chunks = [];
  let bytes = 0;
  for (const l of lines) {
    const b = Buffer.byteLength(l) + 1;
    if (bytes + b > mb * 1e6) break;
    chunks.push(l), bytes += b;
  }
  fs.writeFileSync(out, chunks.join("\n") + "\n");
  console.log(`wrote ${out}: ${chunks.length} lines, ${(bytes / 1e6).toFixed(1)} MB`);
}

async function encode(tokPath, textPath) {
  const { Tokenizer } = require("@anush008/tokenizers");
  const t0 = process.hrtime.bigint();
  const tok = await Tokenizer.fromFile(tokPath);
  const load = Number(process.hrtime.bigint() - t0) / 1e9;
  const lines = fs.readFileSync(textPath, "utf8").split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const mb = Buffer.byteLength(lines.join("\n")) / 1e6;
  let t = process.hrtime.bigint(), tokens = 0;
  for (const l of lines) tokens += (await tok.encode(l, null, { addSpecialTokens: false })).getLength();
  const single = Number(process.hrtime.bigint() - t) / 1e9;
  t = process.hrtime.bigint();
  let tokens2 = 0;
  for (let i = 0; i < lines.length; i += 1000)
    for (const e of await tok.encodeBatch(lines.slice(i, i + 1000), { addSpecialTokens: false }))
      tokens2 += e.getLength();
  const batch = Number(process.hrtime.bigint() - t) / 1e9;
  console.log(`${path.basename(path.dirname(tokPath))}: load ${load.toFixed(2)} s | ` +
    `encode per line: ${lines.length} lines, ${tokens} tokens, ${mb.toFixed(1)} MB in ${single.toFixed(2)} s = ${(mb / single).toFixed(2)} MB/s | ` +
    `encodeBatch(1000): ${tokens2} tokens in ${batch.toFixed(2)} s = ${(mb / batch).toFixed(2)} MB/s`);
}

const [mode, a, b, c] = process.argv.slice(2);
if (mode === "text" && a) makeText(a, Number(c || b || 10));
else if (mode === "encode" && b) encode(a, b).catch((e) => { console.error(e.message || e); process.exit(1); });
else {
  console.error("usage: node hf_tokenizer_bench.js text OUT [MB] | encode TOKENIZER_JSON TEXT");
  process.exit(2);
}
