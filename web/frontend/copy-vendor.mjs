// Copies the browser builds of the npm packages the pages use into web/static/vendor/
// (gitignored). Run by `make setup` after `npm ci`, only when Node.js is present.
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const vendor = join(here, "..", "static", "vendor");

const copies = [
  ["bpmn-js/dist/bpmn-modeler.production.min.js", "bpmn-js/bpmn-modeler.production.min.js"],
  ["bpmn-js/dist/bpmn-navigated-viewer.production.min.js", "bpmn-js/bpmn-navigated-viewer.production.min.js"],
  ["bpmn-js/dist/assets", "bpmn-js/assets"],
  ["chart.js/dist/chart.umd.min.js", "chart.js/chart.umd.min.js"],
  // The build names its source map: collectstatic (hashed names) follows that reference.
  ["chart.js/dist/chart.umd.min.js.map", "chart.js/chart.umd.min.js.map"],
  ["bpmn-js/LICENSE", "bpmn-js/LICENSE"],
  ["chart.js/LICENSE.md", "chart.js/LICENSE.md"],
];

rmSync(vendor, { recursive: true, force: true });
for (const [from, to] of copies) {
  mkdirSync(dirname(join(vendor, to)), { recursive: true });
  cpSync(join(modules, from), join(vendor, to), { recursive: true });
}
console.log(`copied ${copies.length} vendor files to ${vendor}`);
