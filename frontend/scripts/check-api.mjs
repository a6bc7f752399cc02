// Fails when src/api/schema.d.ts is not what openapi-typescript makes of openapi.json today.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const committed = "src/api/schema.d.ts";
const dir = mkdtempSync(join(tmpdir(), "pulse-api-"));
const fresh = join(dir, "schema.d.ts");
try {
  execFileSync("npx", ["--no-install", "openapi-typescript", "openapi.json", "-o", fresh], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (readFileSync(fresh, "utf8") !== readFileSync(committed, "utf8")) {
    console.error(
      `check:api: ${committed} is out of date with openapi.json. Run \`npm run gen:api\` and commit the result.`,
    );
    process.exitCode = 1;
  } else {
    console.log(`check:api: ${committed} matches openapi.json.`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
