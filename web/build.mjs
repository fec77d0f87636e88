// Bundles call.tsx into bot/join/static/call.js (one self-contained IIFE, minified).
// Run by `make` through `npm run build`; the output is git-ignored and built, never committed.
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outfile = process.argv[2] ?? resolve(here, "../bot/join/static/call.js");
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
