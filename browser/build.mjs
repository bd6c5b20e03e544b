// Builds parcours.js into the Python package; `node build.mjs --check` fails when the shipped
// file differs from a fresh build (CI runs it through `make sdk-check`).
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";

const { version } = JSON.parse(readFileSync(new URL("package.json", import.meta.url)));
const shipped = new URL(`../engine/browser_sdk/parcours-${version}.js`, import.meta.url);
const result = await build({
  entryPoints: [new URL("src/parcours.ts", import.meta.url).pathname],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2019",
  charset: "utf8",
  legalComments: "none",
  define: { __VERSION__: JSON.stringify(version) },
  banner: { js: `/* parcours.js ${version} */` },
  write: false,
});
const fresh = result.outputFiles[0].contents;
if (process.argv.includes("--check")) {
  let current = null;
  try {
    current = readFileSync(shipped);
  } catch {}
  if (!current || Buffer.compare(current, Buffer.from(fresh)) !== 0) {
    console.error(`${shipped.pathname} differs from a fresh build: run make sdk`);
    process.exit(1);
  }
} else {
  writeFileSync(shipped, fresh);
  console.log(`wrote ${shipped.pathname} (${fresh.length} bytes)`);
}
