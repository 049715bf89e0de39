import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { contentHash, runInline, runStaged, scriptHeader, shellQuote } from "../../components/remote/script";
import { shellcheck, shellcheckSkip } from "../helpers/shellcheck";

test("the command lines run by the login shell pass shellcheck as POSIX sh", { skip: shellcheckSkip }, () => {
    const { status, output } = shellcheck(
        {
            staged: runStaged("prepare.sh"),
            "staged-with-args": runStaged("credentials.sh", ["ca-cert-hash"]),
            inline: runInline(`${scriptHeader("demo", { X: "it's" })}log "$X"\n`, "HOMELAB_DEMO"),
        },
        "sh",
    );
    assert.equal(output, "");
    assert.equal(status, 0);
});

test("shellQuote survives any value through bash unchanged", () => {
    for (const value of ["plain", "with space", "it's", "$(rm -rf /)", "`x`", 'a"b', "back\\slash", "new\nline"]) {
        const result = spawnSync("bash", ["-c", `printf %s ${shellQuote(value)}`], { encoding: "utf8" });
        assert.equal(result.stdout, value);
    }
});

test("scriptHeader injects variables read-only and quoted", () => {
    const script = `${scriptHeader("demo", { GREETING: "it's $(not run)" })}printf '%s' "$GREETING"\n`;
    const result = spawnSync("bash", ["-c", script.replace('[ "$(id -u)" -eq 0 ] || die', "true ||")], { encoding: "utf8" });
    assert.equal(result.stdout, "it's $(not run)");
    assert.match(script, /^readonly GREETING=/m);
});

test("runStaged runs the staged script through sudo -n unless already root", () => {
    const line = runStaged("init.sh");
    assert.match(line, /exec bash '\.homelab\/init\.sh'/);
    assert.match(line, /exec sudo -n bash '\.homelab\/init\.sh'/);
});

test("runInline feeds the script to bash unchanged", { skip: process.getuid?.() !== 0 ? "needs root (runInline runs bash directly only as root)" : false }, () => {
    const result = spawnSync("sh", ["-c", runInline("printf '%s' \"$((6 * 7))\"", "END")], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "42");
});

test("contentHash is the sha256 of the text", () => {
    assert.equal(contentHash(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert.notEqual(contentHash("a"), contentHash("b"));
});
