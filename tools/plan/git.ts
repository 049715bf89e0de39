/**
 * The repository at another commit, for `plan:diff`: resolves a ref and exports its tree into a temporary folder.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

/** Runs git in `repoDir` and returns its stdout; failures carry git's own message. */
export function git(repoDir: string, args: readonly string[], input?: Buffer): Buffer {
    try {
        return execFileSync("git", args, { cwd: repoDir, input, maxBuffer: 512 * 1024 * 1024, stdio: ["pipe", "pipe", "pipe"] });
    } catch (err) {
        const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
        throw new Error(`git ${args.join(" ")} failed${stderr ? `: ${stderr}` : ""}`);
    }
}

/** The commit a ref names (branch, tag, sha, `HEAD~1`, `origin/main`…); a clear error when it names none. */
export function resolveCommit(repoDir: string, ref: string): string {
    if (ref.startsWith("-")) {
        throw new Error(`"${ref}" is not a git ref`);
    }
    try {
        return git(repoDir, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]).toString().trim();
    } catch {
        throw new Error(`"${ref}" names no commit in ${repoDir} (in CI, fetch the history: actions/checkout with fetch-depth: 0)`);
    }
}

/** A checked-out copy of one commit: `dir` holds its files, `dispose` removes it. */
export interface ExportedTree {
    /** Folder holding the commit's files (plus `node_modules`, linked). */
    readonly dir: string;
    /** Removes the folder; safe to call twice. */
    dispose(): void;
}

/**
 * Exports the tree of `commit` (`git archive`, so no worktree bookkeeping is left behind) into a fresh temporary
 * folder and links `node_modules` there from `nodeModules`, so the old program runs with today's installed packages.
 */
export function exportTree(repoDir: string, commit: string, nodeModules: string): ExportedTree {
    const dir = mkdtempSync(path.join(tmpdir(), "homelab-plan-base-"));
    let disposed = false;
    const dispose = (): void => {
        if (!disposed) {
            disposed = true;
            rmSync(dir, { recursive: true, force: true });
        }
    };
    try {
        const tar = git(repoDir, ["archive", "--format=tar", commit]);
        execFileSync("tar", ["-x", "-f", "-", "-C", dir], { input: tar, stdio: ["pipe", "ignore", "pipe"] });
        // A committed node_modules (even a symlink) is replaced by the link.
        rmSync(path.join(dir, "node_modules"), { recursive: true, force: true });
        symlinkSync(nodeModules, path.join(dir, "node_modules"), "dir");
    } catch (err) {
        dispose();
        throw err;
    }
    return { dir, dispose };
}
