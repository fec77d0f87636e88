// Bundles call.tsx into bot/join/static/call.js (one self-contained IIFE, minified), plus
// call.js.gz and call.js.br beside it: aiohttp's FileResponse (and add_static) sends those
// pre-compressed siblings to browsers that accept them, so 8 MB travel as about 2 MB.
// Run by `make bundle`; the outputs are git-ignored and built, never committed.
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const outfile = resolve(process.argv[2] ?? resolve(here, "../bot/join/static/call.js"));
mkdirSync(dirname(outfile), { recursive: true });

await build({
  entryPoints: [resolve(here, "call.tsx")],
  outfile,
  bundle: true,
  minify: true,
  format: "iife",
  platform: "browser",
  target: ["es2020"],
  legalComments: "eof",
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});

const code = readFileSync(outfile);
writeFileSync(`${outfile}.gz`, gzipSync(code, { level: 9 }));
writeFileSync(
  `${outfile}.br`,
  brotliCompressSync(code, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 9,
      [constants.BROTLI_PARAM_SIZE_HINT]: code.length,
    },
  }),
);
