/**
 * shellcheck for tests: runs it over named texts in a temp folder. Missing shellcheck skips the test locally and fails
 * it under CI=true (CI installs it).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const available = spawnSync("shellcheck", ["--version"]).status === 0;

/** `skip` option for tests that need shellcheck. */
export const shellcheckSkip: string | false =
    !available && process.env.CI !== "true" ? "shellcheck is not installed (apt-get install shellcheck)" : false;

/** Runs shellcheck (all severities) over the texts; returns its exit status and findings. */
export function shellcheck(files: Readonly<Record<string, string>>, shell: "bash" | "sh"): { status: number | null; output: string } {
    const dir = mkdtempSync(path.join(tmpdir(), "homelab-shellcheck-"));
    try {
        const paths = Object.entries(files).map(([name, text]) => {
            const file = path.join(dir, `${name}.sh`);
            writeFileSync(file, text);
            return file;
        });
        const result = spawnSync("shellcheck", ["--shell", shell, "--severity", "style", ...paths], { encoding: "utf8" });
        return { status: result.status, output: `${result.stdout}${result.stderr}` };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}
