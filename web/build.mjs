// Builds the served tree of chatd's web UI: esbuild bundles src/main.js (with its CSS, KaTeX's
// fonts and highlight.js) into content-hashed files under <out>/assets/, and index.html is written
// with those names. nginx serves /assets/ as immutable and index.html uncached (nginx/snippets).
//
//   node build.mjs [--out DIR] [--dev]     (default DIR: ../build/web; --dev: no minification)
import * as esbuild from "esbuild";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const out = path.resolve(outIndex >= 0 ? args[outIndex + 1] : path.join(here, "..", "build", "web"));
const dev = args.includes("--dev");
const assets = path.join(out, "assets");

await rm(out, { recursive: true, force: true });
await mkdir(assets, { recursive: true });

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: "src/main.js", theme: "src/theme-init.js" },
  bundle: true,
  format: "esm",
  splitting: true, // KaTeX is a chunk of its own, imported when math first appears (markdown.js)
  target: ["chrome110", "firefox115", "safari16"],
  outdir: assets,
  entryNames: "[name]-[hash]",
  chunkNames: "chunk-[hash]",
  assetNames: "[name]-[hash]",
  loader: { ".woff2": "file", ".woff": "file", ".ttf": "file" },
  minify: !dev,
  sourcemap: "linked",
  metafile: true,
  legalComments: "linked",
  logLevel: "warning",
});

// theme-init.js runs as a classic script in <head> (before the CSS, so there is no flash): an
// ES-module bundle of a file without imports or exports is a plain script too.
const outputs = Object.entries(result.metafile.outputs);
const find = (entry, ext) => {
  const hit = outputs.find(([file, o]) => o.entryPoint === entry && file.endsWith(ext));
  if (!hit) throw new Error(`build: no output for ${entry} (${ext})`);
  return path.basename(hit[0]);
};
const names = {
  APP_JS: find("src/main.js", ".js"),
  APP_CSS: outputs.map(([f]) => f).filter((f) => f.endsWith(".css")).map((f) => path.basename(f))[0],
  THEME_JS: find("src/theme-init.js", ".js"),
};
if (!names.APP_CSS) throw new Error("build: no CSS output");
let html = await readFile(path.join(here, "index.html"), "utf8");
for (const [k, v] of Object.entries(names)) html = html.replaceAll(`@${k}@`, v);
await writeFile(path.join(out, "index.html"), html);
// The shared-link page and other deep links are served index.html by nginx's try_files.
console.log(`web: built ${out} (${names.APP_JS}, ${names.APP_CSS})`);
