// Type-checks every Grafana dashboard against @grafana/schema's Dashboard type.
// Each JSON file becomes an object literal assigned to `Dashboard` in generated/*.ts
// (literal types and excess-property checks apply), then `tsc --noEmit` runs.
// Every dashboard must also be at the package's current schemaVersion.
// Usage: node check.mjs [DASHBOARD_DIR]   (default: ../../../resources/grafana/dashboards)
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import * as schema from "@grafana/schema";

// String enums of the schema: JSON holds their values, TypeScript wants the members.
// [enum name, parent key, key] -> the value is written as `Enum.Member` when it is one.
const ENUM_FIELDS = [
  ["ThresholdsMode", "thresholds", "mode"],
  ["FieldColorModeId", "color", "mode"],
  ["MappingType", null, "type"],
];
const usedEnums = new Set();

function literal(value, parentKey = null, grandKey = null, key = null) {
  if (Array.isArray(value)) {
    return `[${value.map((v) => literal(v, key, parentKey, null)).join(", ")}]`;
  }
  if (value !== null && typeof value === "object") {
    const parts = Object.entries(value).map(
      ([k, v]) => `${JSON.stringify(k)}: ${literal(v, key ?? parentKey, parentKey, k)}`);
    return `{\n${parts.join(",\n")}\n}`;
  }
  if (typeof value === "string") {
    for (const [name, parent, field] of ENUM_FIELDS) {
      const inMappings = parent === null && (parentKey === "mappings" || grandKey === "mappings");
      if (key === field && (parent === parentKey || inMappings)) {
        const member = Object.entries(schema[name]).find(([, v]) => v === value);
        if (member) {
          usedEnums.add(name);
          return `${name}.${member[0]}`;
        }
      }
    }
  }
  return JSON.stringify(value);
}

const here = dirname(fileURLToPath(import.meta.url));
const dir = resolve(process.argv[2] ?? join(here, "../../../resources/grafana/dashboards"));
const out = join(here, "generated");
rmSync(out, { recursive: true, force: true });
mkdirSync(out);
const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
if (files.length === 0) {
  console.error(`no dashboards in ${dir}`);
  process.exit(2);
}
// The schema package's own dashboard default is the schemaVersion of the Grafana it ships
// with: a dashboard at an older one is migrated on every load (and saved back changed).
const current = schema.defaultDashboard.schemaVersion;
const stale = [];
for (const f of files) {
  usedEnums.clear();
  const parsed = JSON.parse(readFileSync(join(dir, f), "utf8"));
  if (parsed.schemaVersion !== current) {
    stale.push(`${f}: schemaVersion ${parsed.schemaVersion}, @grafana/schema has ${current}`);
  }
  const body = literal(parsed);
  const enums = [...usedEnums].sort();
  const ts = `import type { Dashboard } from "@grafana/schema";\n` +
    (enums.length ? `import { ${enums.join(", ")} } from "@grafana/schema";\n` : "") +
    `\nexport const dashboard: Dashboard = ${body};\n`;
  writeFileSync(join(out, f.replace(/\.json$/, ".ts")), ts);
}
writeFileSync(join(out, "tsconfig.json"), JSON.stringify({
  compilerOptions: {
    strict: true, noEmit: true, skipLibCheck: true, module: "nodenext",
    moduleResolution: "nodenext", target: "es2022", types: [],
  },
  include: ["*.ts"],
}));
if (stale.length) {
  console.error(stale.join("\n"));
  process.exit(1);
}
const tsc = join(here, "node_modules", "typescript", "bin", "tsc");
try {
  execFileSync(process.execPath, [tsc, "-p", join(out, "tsconfig.json")], { stdio: "inherit" });
} catch {
  process.exit(1);
}
console.log(`ok: ${files.length} dashboards type-check against @grafana/schema at schemaVersion ${current}`);
