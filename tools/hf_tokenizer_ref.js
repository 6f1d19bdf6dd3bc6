// Reference token ids and decoded text from the Hugging Face `tokenizers`
// library itself (Rust, through the @anush008/tokenizers Node binding), for
// the equality test of landermt's tokenizer.json implementation.
//
//   node hf_tokenizer_ref.js TOKENIZER_JSON INPUT OUT_PREFIX [--json]
//   node hf_tokenizer_ref.js --batch JOBS    (one "TOKENIZER_JSON INPUT OUT_PREFIX [--json]" per line)
//
// INPUT has one text per line ("\n" ends a line); raw lines are read as
// UTF-8 with U+FFFD for invalid bytes (as any caller of the library must),
// --json lines are JSON strings. Writes, one line per input line:
//   OUT_PREFIX.ids           encode(text, addSpecialTokens=false)
//   OUT_PREFIX.ids_special   encode(text, addSpecialTokens=true)
//   OUT_PREFIX.text          decode(ids_special, skipSpecialTokens=true)  as JSON strings
//   OUT_PREFIX.text_special  decode(ids_special, skipSpecialTokens=false) as JSON strings
// These are the formats of `landermt tokenize` [--special] [--decode --json].
"use strict";
const fs = require("fs");
const { Tokenizer } = require("@anush008/tokenizers");

function inputLines(path, json) {
  const buf = fs.readFileSync(path);
  const lines = [];
  let start = 0;
  for (let i = 0; i <= buf.length; i++) {
    if (i === buf.length || buf[i] === 0x0a) {
      if (i === buf.length && start === i) break;
      const s = buf.subarray(start, i).toString("utf8");
      lines.push(json ? JSON.parse(s) : s);
      start = i + 1;
    }
  }
  return lines;
}

async function run(tokPath, input, prefix, flag) {
  const tok = await Tokenizer.fromFile(tokPath);
  const out = { ids: [], ids_special: [], text: [], text_special: [] };
  for (const line of inputLines(input, flag === "--json")) {
    const plain = Array.from((await tok.encode(line, null, { addSpecialTokens: false })).getIds());
    const special = Array.from((await tok.encode(line, null, { addSpecialTokens: true })).getIds());
    out.ids.push(JSON.stringify(plain));
    out.ids_special.push(JSON.stringify(special));
    out.text.push(JSON.stringify(await tok.decode(special, true)));
    out.text_special.push(JSON.stringify(await tok.decode(special, false)));
  }
  for (const [k, v] of Object.entries(out))
    fs.writeFileSync(`${prefix}.${k}`, v.map((l) => l + "\n").join(""));
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === "--batch" && args[1]) {
    let failed = 0;
    for (const job of fs.readFileSync(args[1], "utf8").split("\n").filter((l) => l.trim())) {
      const a = job.split(" ");
      try {
        await run(...a);
      } catch (e) {
        console.error(`hf_tokenizer_ref: ${a[0]}: ${e.message || e}`);
        failed = 1;
      }
    }
    process.exit(failed);
  }
  if (!args[2]) {
    console.error("usage: node hf_tokenizer_ref.js TOKENIZER_JSON INPUT OUT_PREFIX [--json] | --batch JOBS");
    process.exit(2);
  }
  await run(...args);
}

main().catch((e) => {
  console.error(`hf_tokenizer_ref: ${e.message || e}`);
  process.exit(1);
});
